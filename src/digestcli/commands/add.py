"""`digest add`: ids and links -> items in an issue.

Sorts the inputs (arXiv ids, other links, malformed ones), creates the issue, skips what is there,
fetches arXiv metadata once for all papers, then runs each paper's steps (commands/paper.py) on the
runner: a paper's summary starts as soon as its own text is ready. Never prints; the report holds
every outcome, appended as it happens.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from ..errors import DigestError, IdentifierError, Interrupted, UsageError, WorkspaceError
from ..ids import parse_many, read_id_lines
from ..links import split_url, web_address
from ..llmserver import server_name
from ..models import ArxivId, Paper
from ..pricing import dollars, is_openai, shown_total, total
from ..progress import shown
from ..store import IssueExists, validate_issue_name
from .links import add_address
from .outcomes import AddReport, ItemOptions, Outcome, Status
from .paper import PaperSteps
from .runner import Runner
from .session import Session

MAX_WORKERS = 32  # papers in progress at once (downloads are throttled, LLM calls capped by jobs)


def _looks_like_arxiv(url: str) -> bool:
    """An arXiv-style address on another host (a mirror typo or a lookalike): an error, not a link."""
    host = (split_url(url).hostname or "").lower()
    return "arxiv" in host or bool(re.search(r"/(abs|pdf)/(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})", url))


def is_withdrawn(paper: Paper) -> bool:
    comment = paper.comment.lower()
    return "withdrawn" in comment and ("paper has been withdrawn" in comment or comment.startswith("withdrawn"))


def add(session: Session, inputs: list[str], issue: str, *, force: bool = False, refresh: bool = False,
        dry_run: bool = False, batch: bool = False, options: ItemOptions = ItemOptions(),
        report: AddReport | None = None) -> AddReport:
    """Add each input (arXiv id or URL) to ``issue``. ``batch`` sends the summaries through the OpenAI
    Batch API (finish with batch.collect); ``dry_run`` only plans. Outcomes are appended to ``report``
    as they happen, so a caller that is interrupted still knows what was saved."""
    check_request(session, issue, force=force, refresh=refresh, dry_run=dry_run, batch=batch)
    session.summarizer  # noqa: B018 - made now: a token counter's notice comes before any paper's line
    report = report if report is not None else AddReport(issue)
    ids, links = _sort_inputs(session, inputs, report)
    if not dry_run:  # a dry run writes nothing, not even a lock file
        _ensure_issue(session, issue)
    steps = PaperSteps(session, issue, options)
    steps.batch = batch
    todo, refreshing = _split_known(steps, ids, report, force=force, refresh=refresh and not dry_run)
    for url in dict.fromkeys(links):
        report.outcomes.append(add_address(steps, url, force=force, dry_run=dry_run))
    if not todo and not refreshing:
        return report
    for arxiv_id in todo + refreshing:
        session.reporter.stage(arxiv_id.base, "metadata")
    papers = session.arxiv.fetch_papers(todo + refreshing)
    queue: list[tuple[str, Paper]] = []
    for arxiv_id in todo + refreshing:
        result = papers[arxiv_id.base]
        if isinstance(result, DigestError):
            _fail(session, report, str(arxiv_id), str(result) if arxiv_id.base in str(result)
                  else f"{arxiv_id.base}: {result}")
        elif is_withdrawn(result):
            _fail(session, report, str(arxiv_id), f"{result.id}: withdrawn by its authors on arXiv "
                                                  f"({result.comment[:120]})")
        elif arxiv_id in refreshing:
            report.outcomes.append(_refresh(steps, result, str(arxiv_id)))
        else:
            queue.append((str(arxiv_id), result))
    _run_papers(steps, queue, report, backup=force, dry_run=dry_run, batch=batch)
    if dry_run:
        _cap_plans(steps, report)
    elif batch:
        from .batch import submit

        submit(session, issue, report)
    return report


def read_inputs(given: list[str], stdin: TextIO | None = None, from_file: Path | None = None) -> list[str]:
    """The ids of ``given``, with "-" standing for the lines of ``stdin``, and of the file ``from_file``
    (one id or URL per line, # starts a comment). Bytes that are not UTF-8 stay as escapes, so that line
    alone fails, naming it, and the others still land."""
    inputs = [i for i in given if i != "-"]
    if "-" in given and stdin is not None:
        raw = getattr(stdin, "buffer", None)  # the bytes, where there are any: a BOM or bad UTF-8 is ours to handle
        data = raw.read() if raw is not None else stdin.read().encode("utf-8", "surrogateescape")
        inputs += read_id_lines(data.decode("utf-8-sig", "surrogateescape"))
    if from_file is not None:
        try:
            inputs += read_id_lines(from_file.read_bytes().decode("utf-8-sig", "surrogateescape"))
        except OSError as error:
            raise WorkspaceError(f"cannot read ids from {from_file}: {getattr(error, 'strerror', None) or error}") from None
    if not inputs:
        raise UsageError("give at least one arXiv id, --from FILE, or - to read ids from stdin")
    return inputs


def check_request(session: Session, issue: str, *, force: bool = False, refresh: bool = False,
                  dry_run: bool = False, batch: bool = False) -> None:
    """Refuse what cannot be done, before anything is fetched or shown."""
    validate_issue_name(issue)
    if force and refresh:
        raise UsageError("use either --force or --refresh, not both")
    if batch and not session.settings.use_llm:
        raise UsageError("--batch needs OPENAI_API_KEY (and no --offline)")
    if session.settings.max_cost is not None and session.price is None:
        raise UsageError(f"a cost cap (--max-cost, [llm] max_cost) needs a price: {unknown_price(session)}",
                         param="--max-cost")


def unknown_price(session: Session) -> str:
    """Why a cost is unknown, and what to set."""
    settings = session.settings
    where = "" if is_openai(settings.base_url) else f" on {server_name(settings.base_url)}"
    return (f"no price is known for model '{settings.model}'{where}; set [llm] price_input and price_output "
            "($ per million tokens) in digest.toml (0 for a free local server)")


def spending(session: Session, report: AddReport) -> str:
    """The line on what the summaries this run paid for cost ("" when it paid for none)."""
    paid = report.paid
    if not paid or not session.settings.use_llm:  # the offline summarizer pays for nothing
        return ""
    known, unknown = total(paid)
    price = session.price
    if unknown or price is None:
        return f"cost {shown_total(known, unknown)} for {len(paid)} summaries: {unknown_price(session)}"
    return f"spent {dollars(known)} on {len(paid)} summaries (prices: {price.source})"


def dry_run_plan(session: Session, report: AddReport, batch: bool = False) -> tuple[list[str], str]:
    """--dry-run: one tab-separated line per paper (id, input tokens, dollars at most, text source or why
    nothing is sent, title), then the total; and the sentence saying how the dollars were estimated."""
    plans = report.plans
    lines = []
    for plan in plans:
        why = "cached" if plan.cached else "over --max-cost" if plan.over_cap else plan.text_source
        lines.append(f"{plan.id}\t{plan.tokens}\t{dollars(plan.cost)}\t{why}\t{shown(plan.title)}")
    sent = [p for p in plans if not p.cached and not p.over_cap]
    capped = sum(p.over_cap for p in plans)
    money = shown_total(*total([p.cost for p in sent]))
    lines.append(f"total\t{sum(p.tokens for p in sent)}\t{money}\t\t{len(plans)} papers, "
                 f"{sum(p.cached for p in plans)} cached" + (f", {capped} over --max-cost" if capped else ""))
    tokens = f"{sum(p.tokens for p in sent)} input tokens would be sent to {session.settings.model}"
    price = session.price
    if price is None:
        return lines, f"{tokens}, cost unknown: {unknown_price(session)}"
    return lines, (f"{tokens}, {money} at most: input as counted and {session.settings.max_output_tokens} output "
                   f"tokens a paper (max_output_tokens, an upper bound); prices: "
                   f"{price.for_batch().source if batch else price.source}")


def summarizer_notice(session: Session) -> str:
    """The line that says the offline summarizer fills the template, and why ("" with an LLM)."""
    if session.settings.use_llm:
        return ""
    why = "--offline" if session.settings.offline else "no OPENAI_API_KEY set"
    return f"{why}: using the offline extractive summarizer (fields are the paper's own sentences)"


def _fail(session: Session, report: AddReport, given: str, message: str) -> None:
    report.outcomes.append(Outcome(given, Status.FAILED, message))
    session.reporter.fail(message)


def _sort_inputs(session: Session, inputs: list[str], report: AddReport) -> tuple[list[ArxivId], list[str]]:
    """(arXiv ids, other web addresses); each malformed input fails on its own."""
    ids, bad = parse_many(inputs)
    links: list[str] = []
    for text, error in bad:
        try:
            url = web_address(text)
        except IdentifierError as malformed:  # "http://[::1": this input fails, the batch goes on
            url, error = "", malformed
        if url and not _looks_like_arxiv(url):
            links.append(url)
        else:
            _fail(session, report, text, str(error))
    return ids, links


def _ensure_issue(session: Session, issue: str) -> None:
    workspace = session.workspace
    with workspace.lock(issue):  # two `digest add --issue new` at once create it once
        if not workspace.issue_exists(issue):
            try:
                workspace.create_issue(issue)
                session.reporter.notice(f"created issue {issue}")
            except IssueExists:
                pass  # `digest new` made it a moment ago: add to it


def _cap_plans(steps: PaperSteps, report: AddReport) -> None:
    """--dry-run --max-cost: the papers, in the order given, that the cap would not start."""
    for outcome in report.in_order():
        plan = outcome.plan
        if plan is not None and not plan.cached and not steps.gate.cap.reserve(plan.cost):
            outcome.plan = replace(plan, over_cap=True)


def _split_known(steps: PaperSteps, ids: list[ArxivId], report: AddReport, *, force: bool,
                 refresh: bool) -> tuple[list[ArxivId], list[ArxivId]]:
    """(papers to add, papers whose metadata to refresh); the others are skipped, with the reason."""
    workspace, issue = steps.session.workspace, steps.issue
    todo: list[ArxivId] = []
    refreshing: list[ArxivId] = []
    for arxiv_id in ids:
        if not workspace.has_item(issue, arxiv_id.filename) or force:
            todo.append(arxiv_id)
        elif refresh:
            refreshing.append(arxiv_id)
        else:
            try:
                edited = workspace.read_item(issue, arxiv_id.filename).is_edited
            except DigestError:
                edited = False  # a broken file is reported by build; add only leaves it alone
            how = " and edited by hand; kept" if edited else ""
            message = (f"{arxiv_id.base} is already in {issue}{how} (--force regenerates it and keeps a backup, "
                       "--refresh updates its metadata only)")
            report.outcomes.append(Outcome(str(arxiv_id), Status.SKIPPED, message, arxiv_id.filename))
            steps.reporter.notice(message)
    return todo, refreshing


def _refresh(steps: PaperSteps, paper: Paper, given: str) -> Outcome:
    """New metadata from arXiv into the front matter; the summary text is not touched."""
    name, workspace = paper.id.base, steps.session.workspace
    try:
        path = workspace.update_item(steps.issue, paper.id.filename, lambda item: item.with_paper(paper))
    except DigestError as error:
        steps.reporter.fail(f"{name}: {error}")
        return Outcome(given, Status.FAILED, str(error))
    steps.reporter.stage(name, "saved", f"{path.relative_to(workspace.root)} (metadata refreshed)")
    return Outcome(given, Status.REFRESHED, str(path), paper.id.filename)


def _run_papers(steps: PaperSteps, queue: list[tuple[str, Paper]], report: AddReport, *, backup: bool,
                dry_run: bool, batch: bool) -> None:
    """Each paper in its own worker: download (throttled), extract (process pool), summarize (at most
    ``jobs`` at once), save. Ctrl-C stops new work, waits for summaries already being paid for (a second
    Ctrl-C drops them) and is raised again."""
    if not queue:
        return
    session = steps.session
    queued_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    session.extractor.warm()  # its start-up overlaps the first download

    def on_stop() -> None:
        busy = steps.gate.busy
        paying = f", {busy} of them summaries already being paid for" if busy else ""
        session.reporter.notice(f"stopping: finishing the papers in progress{paying} (Ctrl-C again to drop them)")

    runner = Runner(MAX_WORKERS, on_stop)
    steps.gate.stopped = runner.stopped  # no new download or LLM call starts once Ctrl-C came

    def step(index: int, entry: tuple[str, Paper]) -> None:
        given, paper = entry
        queued = f"{queued_at}#{index:05d}"
        try:
            if dry_run:
                outcome = steps.plan(paper, given)
            elif batch:
                outcome = steps.queue_for_batch_api(paper, given, backup=backup, queued=queued)
            else:
                outcome = steps.add(paper, given, backup=backup, queued=queued)
        except Interrupted as error:  # Ctrl-C stopped the PDF workers before this paper's text was read
            outcome = Outcome(given, Status.INTERRUPTED, str(error))
        except BaseException as error:  # never let a worker die silently
            outcome = Outcome(given, Status.FAILED, f"{paper.id.base}: internal error: {type(error).__name__}: {error}")
            steps.reporter.fail(outcome.message)
        outcome.position = index
        report.outcomes.append(outcome)

    runner.run(queue, step, name=lambda entry: entry[1].id.base)
