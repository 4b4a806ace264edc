"""Small requests that show what an OpenAI-compatible server does before a large run: the models it
lists, the richest response format it accepts, how much of a long prompt it really reads, how fast.

Sends through an LLMSummarizer (its client, deadline, token parameter and format steps, which keep
what they learn in the server's notes). Measures and never judges: commands/doctor.py says what the
numbers mean. Never prints, never retries, never lets the API key through.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .errors import LLMError
from .llm import SERVER_NOTES, LLMSummarizer, make
from .llmserver import FORMAT, OVERFLOW, SCHEMA_LIMITS, Refusal, ServerNotes, api_error, read_refusal
from .models import Usage
from .redaction import redact

if TYPE_CHECKING:
    from .budget import TokenCounter
    from .config import Settings
    from .prompts import Prompts

LIST_TIMEOUT = 10.0  # seconds for GET /models: a server that is up answers it at once
PROBE_OUTPUT_TOKENS = 32  # the format probe's answer: enough to time the output, cheap everywhere
MAX_LISTED = 1000  # model names kept from a /models answer
_FILLER = "Line {n} of a long prompt: digest sends it to learn how much of a paper this server reads."
_PROBE = [{"role": "system", "content": "This is a set-up check of digest. Answer briefly."},
          {"role": "user", "content": "Write the numbers from one to forty in words, separated by commas."}]


@dataclass(frozen=True)
class Timed:
    """One answered request: what the server counted and how long it took, wall clock."""

    usage: Usage
    seconds: float
    finish_reason: str


@dataclass(frozen=True)
class ModelList:
    names: tuple[str, ...] | None  # None: the server has no /models (HTTP 404)
    seconds: float


@dataclass(frozen=True)
class FormatProbe:
    """The richest response format the server accepted (and whether with the schema's length limits),
    its answer, and the server's reasons for the richer formats it refused."""

    format: str
    schema_limits: bool
    answer: Timed
    refused: tuple[str, ...] = ()


@dataclass(frozen=True)
class WindowProbe:
    """A prompt of ``sent`` tokens (as digest counts them): the server's answer, its refusal, or why
    neither came (a timeout, a server error)."""

    sent: int
    answer: Timed | None = None
    refusal: Refusal | None = None
    error: str = ""


def open_probe(settings: Settings, counter: TokenCounter, prompts: Prompts) -> LLMSummarizer:
    """The summarizer the probes send through: every format from json_schema down, no retries. The
    format a former check noted is forgotten first, so it is found again rather than assumed."""
    notes = ServerNotes(settings.cache_dir / SERVER_NOTES, settings.base_url, settings.model)
    if notes.get().get("response_format"):
        notes.put(response_format=None)
    return make(replace(settings, response_format="auto", llm_retries=0), counter, prompts)


def list_models(llm: LLMSummarizer) -> ModelList:
    """GET /models through the openai SDK, within LIST_TIMEOUT. An LLMError when the server cannot be
    reached or refuses the key."""
    import openai

    started = time.monotonic()
    try:
        raw = llm.client.with_options(timeout=LIST_TIMEOUT, max_retries=0).models.with_raw_response.list()
    except openai.NotFoundError:
        return ModelList(None, time.monotonic() - started)
    except openai.APIError as error:
        raise api_error(error, llm.server, llm.model) from None
    return ModelList(_model_names(raw.content), time.monotonic() - started)


def _model_names(body: bytes) -> tuple[str, ...]:
    """The ids of a /models answer; anything else in it (or a malformed one) is ignored."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return ()
    listed = data.get("data") if isinstance(data, dict) else None
    names = (entry.get("id") for entry in (listed if isinstance(listed, list) else []) if isinstance(entry, dict))
    return tuple(redact(name)[:200] for name in names if isinstance(name, str))[:MAX_LISTED]


def probe_format(llm: LLMSummarizer) -> FormatProbe:
    """A tiny request in json_schema, then json_object, then plain text, until the server accepts one;
    a refused token parameter or temperature is changed on the way (and noted for later runs, as is
    the format found). An LLMError when the server refuses them all or fails otherwise."""
    import openai

    refused: list[str] = []
    adapted: set[str] = set()
    while True:
        version, step = llm.accepted.version, llm.accepted.step
        started = time.monotonic()
        try:
            reply = llm.send(llm.request_params(_PROBE, PROBE_OUTPUT_TOKENS))
        except openai.APIStatusError as error:
            refusal = read_refusal(error, llm.accepted.token_parameter)
            if refusal.kind in (FORMAT, SCHEMA_LIMITS):
                refused.append(f"{step}: {refusal.reason}")
            if refusal.kind == OVERFLOW or refusal.kind in adapted or not llm.accepted.adapt(refusal, version):
                raise LLMError(f"LLM server {llm.server} refused a request of a few tokens (HTTP "
                               f"{error.status_code}): {refusal.reason}") from None
            if refusal.kind not in (FORMAT, SCHEMA_LIMITS):
                adapted.add(refusal.kind)  # a parameter flips once; a format steps down to the last
            continue
        answer = Timed(reply.usage, time.monotonic() - started, reply.finish_reason)
        llm.accepted.notes.put(response_format=step)  # the next run starts with it
        return FormatProbe(step, llm.accepted.schema_limits, answer, tuple(refused))


def probe_window(llm: LLMSummarizer, tokens: int) -> WindowProbe:
    """A prompt of about ``tokens`` tokens and an answer of one: what the server counted and how long
    it took to read it, or its refusal. An LLMError when it fails otherwise (a timeout, an error)."""
    import openai

    messages = filler_messages(llm.counter, tokens)
    sent = sum(llm.counter.count(m["content"]) + 4 for m in messages)  # as llm.py counts what it sends
    started = time.monotonic()
    try:
        reply = llm.send(llm.request_params(messages, 1))
    except openai.APIStatusError as error:
        return WindowProbe(sent, refusal=read_refusal(error, llm.accepted.token_parameter))
    return WindowProbe(sent, Timed(reply.usage, time.monotonic() - started, reply.finish_reason))


def filler_messages(counter: TokenCounter, tokens: int) -> list[dict[str, Any]]:
    """A system and a user message of about ``tokens`` tokens together, as ``counter`` counts them."""
    system = dict(_PROBE[0])
    head = "Read the numbered lines below, then answer with the word OK.\n"
    fixed = counter.count(system["content"]) + 8  # the system message and each message's framing
    line = counter.count(_FILLER.format(n=10_000)) + 1
    count = max((tokens - fixed) // line, 1)
    text = head + "\n".join(_FILLER.format(n=n) for n in range(1, count + 1))
    more = (tokens - fixed - counter.count(text)) // line  # lines count differently as their numbers grow
    if more > 0:
        text += "".join(f"\n{_FILLER.format(n=n)}" for n in range(count + 1, count + more + 1))
    return [system, {"role": "user", "content": text}]
