"""`digest doctor`: the set-up checked before a large run, one Check per line: settings, key, server,
model, response format, the context window the server really reads, tokenizer, cost and speed.

Session in, a list of Checks out, each saying what it found and what to change. Never prints, never
shows the API key (only where it was set); a probe that fails is a failed check, not an exception.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..budget import ESTIMATE_NOTE
from ..config import CONFIG_NAME, find_workspace, is_local_server
from ..errors import ConfigError, LLMError, LLMSetupError, ModelNotFoundError
from ..llm import TRUNCATION_RATIO
from ..llmserver import OVERFLOW, Refusal
from ..pricing import dollars
from .session import Session

if TYPE_CHECKING:
    from ..llm import LLMSummarizer
    from ..llmprobe import FormatProbe, ModelList, Timed, WindowProbe

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
MIN_BUDGET = 500  # the smallest input_budget digest takes (config.py's range)
HEADROOM = 1.25  # a paper's estimated time times this must fit the timeout: a slower paper still lands
LOCAL_HINT = "llama.cpp: --ctx-size; Ollama: num_ctx or OLLAMA_CONTEXT_LENGTH"
REFITS = 3  # smaller prompts tried after one did not fit the window


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, how it went (ok, warn, fail, skip), what was found
    and, unless ok, what to change; ``details`` holds the numbers behind it."""

    name: str
    status: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def diagnose(start: Path | None = None, **flags: Any) -> list[Check]:
    """Every check for the workspace at or above ``start`` with ``flags`` (model, input_budget, offline)
    applied; outside a workspace the defaults and the environment are checked."""
    start = Path(start) if start else Path.cwd()
    root = find_workspace(start)
    try:
        session = Session.open(start, dry_run=True, **flags)  # dry run: no workspace is made
    except ConfigError as error:
        return [Check("settings", FAIL, f"{error}; the other checks need valid settings")]
    if root is None:
        found = Check("settings", FAIL, f"no {CONFIG_NAME} in {start} or any parent folder: run `digest init`; "
                                        "the checks below use the defaults and the environment")
    else:
        found = Check("settings", OK, f"{root / CONFIG_NAME}")
    with session:
        return [found, *doctor(session)]


@dataclass
class _Found:
    """What the server's probes found, for the checks after them."""

    budget: int  # the input budget a paper can use: input_budget, or what fits the server's window
    small: Timed | None = None  # the format probe's answer: the server's writing speed
    timed: WindowProbe | None = None  # the long prompt answered (read whole or cut): its reading speed
    whole: WindowProbe | None = None  # the long prompt read whole: the server's count against digest's


def doctor(session: Session) -> list[Check]:
    """The checks of the session's settings: the key, then (with an LLM) the server, model, response
    format, context window, tokenizer, cost and speed, the server's probed with small requests."""
    from ..llmprobe import open_probe

    settings = session.settings
    checks = [_key(settings)]
    if not settings.use_llm:
        return [*checks, Check("server", SKIP, "not checked: the offline summarizer asks no server"),
                Check("cost", OK, "free: the offline summarizer")]
    found = _Found(settings.input_budget)
    llm = open_probe(settings, session.counter, session.prompts)
    try:
        checks += _server_checks(session, llm, found)
    finally:
        llm.close()
    checks += [_tokenizer(session, found.whole), _cost(session, found.budget, llm.server)]
    return checks + ([_speed(session, found)] if found.small else [])


def _key(settings: Any) -> Check:
    if settings.offline:
        return Check("summarizer", OK, "the offline extractive summarizer (--offline or DIGEST_OFFLINE): no server "
                                       "is asked, nothing is paid")
    if settings.api_key:  # config.py reads the key from this variable only; never from digest.toml
        return Check("API key", OK, "set in OPENAI_API_KEY (not shown)", {"source": "OPENAI_API_KEY"})
    if settings.base_url:
        return Check("API key", FAIL, "OPENAI_API_KEY is not set, so `digest add` would use the offline summarizer, "
                                      "not the server of OPENAI_BASE_URL; set it (a server on this machine takes "
                                      "any key, e.g. OPENAI_API_KEY=local)")
    return Check("API key", WARN, "OPENAI_API_KEY is not set: `digest add` uses the offline extractive summarizer "
                                  "(set it to summarize with an LLM)")


def _server_checks(session: Session, llm: LLMSummarizer, found: _Found) -> list[Check]:
    from ..llmprobe import list_models, probe_format

    try:
        listed = list_models(llm)
    except LLMError as error:
        return [Check("server", FAIL, str(error)), _skipped("the server did not answer")]
    checks = [_server(llm, listed)]
    try:
        formats = probe_format(llm)
    except ModelNotFoundError as error:
        return [*checks, Check("model", FAIL, _not_listed(llm.model, listed, str(error))),
                _skipped("the server does not serve the model")]
    except LLMSetupError as error:  # the key refused (HTTP 401), or the model to this key (403)
        return [*checks, Check("access", FAIL, str(error)), _skipped("the server refused the request")]
    except LLMError as error:
        return [*checks, _model(llm.model, listed), Check("format", FAIL, str(error)),
                _skipped("the server refused a request of a few tokens")]
    found.small = formats.answer
    return [*checks, _model(llm.model, listed), _format(formats, session.settings.response_format),
            _window(session, llm, found)]


def _skipped(why: str) -> Check:
    return Check("LLM checks", SKIP, f"model, format, window and speed not checked: {why}")


def _server(llm: LLMSummarizer, listed: ModelList) -> Check:
    details = {"server": llm.server, "seconds": round(listed.seconds, 3)}
    if listed.names is None:
        return Check("server", WARN, f"{llm.server} answers, but has no /models list (HTTP 404): most servers' "
                                     "base URL ends in /v1", details)
    count = len(listed.names)
    return Check("server", OK, f"{llm.server} answers: /models in {_duration(listed.seconds)}, {count} "
                               f"{'model' if count == 1 else 'models'} listed", details)


def _model(model: str, listed: ModelList) -> Check:
    """The model after it answered a request: listed, or served under a name the list lacks."""
    if listed.names is None:
        return Check("model", OK, f"'{model}' answered (the server lists no models)")
    if model in listed.names:
        return Check("model", OK, f"'{model}' is listed and answered")
    return Check("model", WARN, f"'{model}' is not among the models listed ({_some(listed.names)}) but answered "
                                "(a llama.cpp server serves its one model under any name)")


def _not_listed(model: str, listed: ModelList, error: str) -> str:
    if not listed.names:
        return error
    return (f"'{model}' is not served here; the server lists {_some(listed.names)}: set [llm] model in "
            f"{CONFIG_NAME}, DIGEST_MODEL or --model")


def _some(names: tuple[str, ...], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more if names else "none"


def _format(formats: FormatProbe, configured: str) -> Check:
    details = {"format": formats.format, "schema_limits": formats.schema_limits, "refused": list(formats.refused)}
    limits = "" if formats.schema_limits else " without the schema's length limits"
    found = f"{formats.format}{limits} (a {formats.answer.usage.output_tokens}-token answer in " \
            f"{_duration(formats.answer.seconds)})"
    if formats.refused:
        found += f"; refused: {'; '.join(formats.refused)}"
    if configured not in ("auto", formats.format):
        return Check("format", WARN, f"{found}; [llm] response_format = {configured} in {CONFIG_NAME}: set it to "
                                     "auto", details)
    status = OK if formats.format == "json_schema" else WARN
    noted = "" if status == OK else "; noted, so the next run starts with it (answers are checked and repaired)"
    return Check("format", status, found + noted, details)


def _window(session: Session, llm: LLMSummarizer, found: _Found) -> Check:
    """A prompt of input_budget tokens: read whole, refused (and the window the server names), or cut
    silently; past the window, smaller prompts until one is read whole, for the budget that fits."""
    from ..llmprobe import probe_window

    settings = session.settings
    try:
        first = probe_window(llm, settings.input_budget)
    except LLMError as error:  # a timeout, a server error: the check fails and says it
        return Check("window", FAIL, f"a prompt of about {settings.input_budget} tokens got no answer: {error}; raise "
                                     "[llm] timeout and deadline, or lower --budget")
    if first.refusal is not None and first.refusal.kind != OVERFLOW:
        return Check("window", FAIL, f"a prompt of {first.sent} tokens was refused: {first.refusal.reason}")
    found.timed = first if first.answer else None
    if _room(first) is None:
        found.whole = first
        return _read_whole(first, settings.input_budget)
    fitting, budget = _refit(llm, first, settings.max_output_tokens)
    if budget >= MIN_BUDGET:
        found.budget = budget
    if fitting is not None:
        found.timed = found.whole = fitting
    return _too_small(first, fitting, budget, settings.max_output_tokens)


def _room(probe: WindowProbe) -> int | None:
    """The window a probe showed too small (0: refused without saying its size), or None when it fit."""
    if probe.refusal is not None:
        return probe.refusal.window if probe.refusal.kind == OVERFLOW else None
    counted = probe.answer.usage.input_tokens if probe.answer else 0
    return counted if counted and counted < TRUNCATION_RATIO * probe.sent else None


def _refit(llm: LLMSummarizer, probe: WindowProbe, max_output: int) -> tuple[WindowProbe | None, int]:
    """The prompt read whole after ``probe`` did not fit (None when none was), and its budget: up to
    REFITS smaller prompts, each sized by the window the last refusal named or the last cut showed."""
    from ..llmprobe import probe_window

    budget = probe.sent
    for _ in range(REFITS):
        shown = probe.refusal or Refusal(OVERFLOW, "", window=_room(probe) or 0)
        budget = shown.smaller_budget(probe.sent, max_output)
        if budget < MIN_BUDGET:
            return None, budget
        try:
            probe = probe_window(llm, budget)
        except LLMError:
            return None, budget
        if probe.answer and _room(probe) is None:
            return probe, budget
        if probe.refusal is not None and probe.refusal.kind != OVERFLOW:
            return None, budget
    return None, budget


def _read_whole(probe: WindowProbe, budget: int) -> Check:
    counted = probe.answer.usage.input_tokens if probe.answer else 0
    details = {"sent": probe.sent, "counted": counted, "budget": budget}
    if not counted:
        return Check("window", WARN, f"a prompt of {probe.sent} tokens was answered, but the server counts no "
                                     "tokens: whether it read all of it is unknown", details)
    return Check("window", OK, f"a prompt of {probe.sent} tokens (--budget {budget}) is read whole: the server "
                               f"counted {counted}", details)


def _too_small(first: WindowProbe, fitting: WindowProbe | None, budget: int, max_output: int) -> Check:
    room = _room(first)
    details = {"sent": first.sent, "counted": first.answer.usage.input_tokens if first.answer else None,
               "window": room or None, "budget": budget if budget >= MIN_BUDGET else None,
               "fits": fitting.sent if fitting else None}
    if first.refusal is not None:
        size = f"{room} tokens" if room else "smaller"
        found = f"the server refused a prompt of {first.sent} tokens: its context window is {size} " \
                f"({first.refusal.reason})"
    else:
        found = f"the server read only {room} of the {first.sent} tokens sent: it cuts long prompts silently " \
                f"(a window of about {room} tokens), so papers would lose most of their text"
    if budget < MIN_BUDGET:
        advice = f"that leaves too little room for a paper and a {max_output}-token answer: give the server a " \
                 f"larger window ({LOCAL_HINT}), or lower [llm] max_output_tokens"
    elif fitting is None:
        advice = f"set --budget below {budget}, or give the server a larger window ({LOCAL_HINT})"
    else:
        advice = f"set --budget {budget} or [llm] input_budget = {budget} (a prompt of {fitting.sent} tokens was " \
                 f"read whole), or give the server a larger window ({LOCAL_HINT})"
    return Check("window", FAIL, f"{found}; {advice}", details)


def _tokenizer(session: Session, measured: WindowProbe | None) -> Check:
    counter, model = session.counter, session.settings.model
    counted = measured.answer.usage.input_tokens if measured and measured.answer else 0
    ratio = counted / measured.sent if counted and measured else None
    compared = f"; the server counted {ratio:.2f} tokens for each of digest's" if ratio else ""
    details = {"tokenizer": counter.name, "guessed": counter.guessed, "server_ratio": round(ratio, 3) if ratio else None}
    if counter.notice:
        return Check("tokenizer", WARN, counter.notice + compared, details)
    if counter.name == "estimate":
        found, status = f"{ESTIMATE_NOTE}, as [llm] tokenizer asks", OK
    elif counter.guessed:
        found, status = f"{counter.name}, OpenAI's encoding standing in for the tokenizer of '{model}': budgets are " \
                        "approximate", WARN
    else:
        found, status = f"{counter.name}, the encoding of '{model}'", OK
    if ratio and ratio > 1.1:  # prompts are larger than the budget says: the window check is the one to trust
        return Check("tokenizer", WARN, f"{found}{compared}: papers are {ratio:.0%} of their budget; lower --budget "
                                        "to match", details)
    return Check("tokenizer", status, found + compared, details)


def _cost(session: Session, budget: int, server: str) -> Check:
    settings, price = session.settings, session.price
    if price is None:
        if is_local_server(settings.base_url):
            return Check("cost", OK, "free (local server)")
        return Check("cost", WARN, f"unknown price of '{settings.model}' on {server}: set [llm] price_input and "
                                   f"price_output (dollars per million tokens) in {CONFIG_NAME}")
    estimate = session.estimate(budget)
    return Check("cost", OK, f"at most {dollars(estimate)} a paper ({budget} input and {settings.max_output_tokens} "
                             f"output tokens at ${price.input:g}/${price.output:g} per million, {price.source})",
                 {"per_paper": estimate, "input_budget": budget, "max_output_tokens": settings.max_output_tokens})


def _speed(session: Session, found: _Found) -> Check:
    """How fast the server reads (the long prompt) and writes (the format probe's answer), and whether a
    paper fits the timeouts at this many jobs."""
    small, big = found.small, found.timed.answer if found.timed else None
    if big is None or small is None:
        return Check("speed", WARN, "not measured: no prompt of a paper's size was answered")
    if not small.usage.output_tokens:
        return Check("speed", WARN, "not measured: the server counts no tokens")
    settings = session.settings
    reading = (big.usage.input_tokens or found.timed.sent) / max(big.seconds, 1e-3)  # type: ignore[union-attr]
    writing = small.usage.output_tokens / max(small.seconds - small.usage.input_tokens / reading, small.seconds / 4,
                                              1e-3)
    return speed_advice(reading, writing, found.budget, settings.max_output_tokens, timeout=settings.llm_timeout,
                        deadline=settings.llm_deadline, jobs=settings.jobs, local=is_local_server(settings.base_url))


def speed_advice(reading: float, writing: float, budget: int, max_output: int, *, timeout: float, deadline: float,
                 jobs: int, local: bool) -> Check:
    """Whether a paper (``budget`` tokens read at ``reading`` tokens/s, up to ``max_output`` written at
    ``writing``) ends within the timeout and deadline; a server on this machine answers one request at
    a time, so there the last of ``jobs`` requests waits for the others."""
    paper = budget / reading + max_output / writing
    waits = jobs if local else 1
    allowed = min(timeout, deadline)
    found = f"reads {reading:.0f} tokens/s, writes {writing:.1f} tokens/s: a paper ({budget} in, up to {max_output} " \
            f"out) takes up to {_duration(paper)}"
    details = {"prompt_tokens_per_s": round(reading, 1), "output_tokens_per_s": round(writing, 1),
               "paper_seconds": round(paper, 1), "timeout": timeout, "deadline": deadline, "jobs": jobs}
    if paper * waits * HEADROOM <= allowed:
        return Check("speed", OK, f"{found}; timeout {timeout:g} s, deadline {deadline:g} s and jobs {jobs} fit", details)
    suggested = min(math.ceil(paper * 2 / 60) * 60, 86_400)
    one_job = local and jobs > 1
    queue = f" (and {jobs} requests at once wait in line on a server on this machine)" if one_job else ""
    advice = f"set timeout = {suggested} and deadline = {suggested} in [llm] of {CONFIG_NAME}" + \
             (", and jobs = 1" if one_job else "")
    if one_job and paper * HEADROOM <= allowed:
        advice = f"set jobs = 1 in [llm] of {CONFIG_NAME} (or --jobs 1)"
    return Check("speed", FAIL, f"{found}{queue}, past timeout {timeout:g} s / deadline {deadline:g} s: {advice}",
                 {**details, "suggested_timeout": suggested})


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"
