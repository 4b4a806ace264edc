"""`digest add --batch` and `digest batch status|collect`: summaries through the OpenAI Batch API.

Submitting records each batch in the workspace; collecting writes the items of a finished batch,
checked and cached like direct answers, and collecting twice is harmless. Never prints.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .. import openai_batch
from ..errors import DigestError, LLMError, PdfError, WorkspaceError
from ..models import Paper
from .outcomes import AddReport, Outcome, Status
from .paper import PaperSteps
from .session import Session


@dataclass(frozen=True)
class BatchState:
    id: str
    issue: str
    state: str  # the server's status, described for a person
    papers: int


@dataclass
class Collected:
    id: str
    state: str
    done: bool  # False: not finished yet, nothing written
    report: AddReport


def submit(session: Session, issue: str, report: AddReport) -> None:
    """Send the requests the add queued (in the order given) as one batch, and record it."""
    entries = [o.queued for o in report.in_order() if o.status == Status.QUEUED and o.queued]
    if not entries:
        return
    llm = session.llm
    record = openai_batch.submit(llm.client, entries, llm.request_params, issue=issue, model=session.settings.model)
    session.batches.save(record)
    report.batch_id = record["id"]


def check_ready(session: Session) -> None:
    """Batches need the LLM backend: refuse before anything is shown or asked."""
    if not session.settings.use_llm:
        raise WorkspaceError("batches need OPENAI_API_KEY (and no DIGEST_OFFLINE)")


def _records(session: Session, batch_id: str | None) -> list[dict[str, Any]]:
    check_ready(session)
    return [session.batches.load(batch_id)] if batch_id else session.batches.all()


def status(session: Session, batch_id: str | None = None) -> Iterator[BatchState]:
    """Each batch asked for (default: every batch of the workspace) as the server describes it now,
    one at a time: a batch the server fails on stops the walk, not what came before."""
    for record in _records(session, batch_id):
        remote = openai_batch.fetch(session.llm.client, record["id"])
        yield BatchState(record["id"], record["issue"], openai_batch.describe(remote), len(record["entries"]))


def collect(session: Session, batch_id: str | None = None) -> Iterator[Collected]:
    """Write the items of each finished batch asked for (default: every batch of the workspace), one
    batch at a time."""
    for record in _records(session, batch_id):
        report = AddReport(record["issue"])
        remote = _collect_one(session, record, report)
        yield Collected(record["id"], openai_batch.describe(remote), remote.status == "completed", report)


def _collect_one(session: Session, record: dict[str, Any], report: AddReport) -> Any:
    """Write the items of a finished batch. Returns the batch as the server describes it."""
    llm = session.llm
    remote = openai_batch.fetch(llm.client, record["id"])
    if remote.status != "completed":
        return remote
    found = openai_batch.answers(llm.client, remote)
    steps = PaperSteps(session, record["issue"])
    for entry in record["entries"]:
        paper = openai_batch.paper_from_dict(entry["paper"])
        given = entry["given"]
        if session.workspace.has_item(steps.issue, paper.id.filename):
            message = f"{paper.id.base} is already in {steps.issue}; skipped"
            report.outcomes.append(Outcome(given, Status.SKIPPED, message, paper.id.filename))
            continue
        answer = found.get(entry["custom_id"], "the batch has no answer for it")
        try:
            if isinstance(answer, str):
                raise LLMError(answer)
            text = openai_batch.text_from_dict(entry["text"])
            with steps.gate.lock(paper.id.base, llm.cache_key(paper, entry["messages"])):
                summary = llm.summarize_reply(paper, entry["messages"], answer, text)
        except DigestError as error:
            message = f"{paper.id.base}: {error}; `digest add {paper.id.base}` summarizes it directly"
            session.reporter.fail(message)
            report.outcomes.append(Outcome(given, Status.FAILED, message))
            continue
        _key_figure(session, steps, paper)
        report.outcomes.append(steps.save(paper, text, summary,
                                          entry["context_tokens"], given, queued=entry["queued"],
                                          extra={"batch": record["id"]}, batch_api=True))
    return remote


def _key_figure(session: Session, steps: PaperSteps, paper: Paper) -> None:
    """The paper's key figure for its item, rendered again from the PDF its add kept (the batch
    carries no images); none when that PDF is gone or unreadable: the summary matters more."""
    pdf = session.arxiv.cached_pdf(paper) if session.settings.figures else None
    if pdf is None:
        return
    try:
        steps.keep_figure(paper, session.extractor.extract(pdf))
    except PdfError:
        pass
