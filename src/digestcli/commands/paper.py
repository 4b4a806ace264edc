"""One paper's way into an issue: PDF, text, summary, grounding, item file.

Each step reports progress through the session's reporter and returns an Outcome; one paper's
failure never raises past it. An item is written only when its summary is complete, and the
summary is cached before that, so a killed run repeats no paid call. Never prints.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .. import grounding, items, pricing
from ..errors import DigestError, Interrupted, LLMSetupError, PdfError, WorkspaceError
from ..models import Paper, PaperText, Summary
from ..pdftext import EXTRACTOR_VERSION, paper_text
from ..summarize import Request, prepare_request
from .outcomes import ItemOptions, Outcome, Plan, Status
from .session import Session

LOCK_POLL = 0.2  # seconds between looks at Ctrl-C while another process holds a summary's lock


def choose_code_url(suggested: str | None, found: tuple[str, ...]) -> str:
    """The LLM's code URL only if the paper itself links it; else the paper's first code link.

    A model can invent a plausible repository; the paper's own links cannot.
    """
    from ..codelinks import normal_url

    if suggested and any(normal_url(suggested).lower() == normal_url(link).lower() for link in found):
        return suggested
    return found[0] if found else ""


def _named(name: str, error: Exception) -> str:
    return str(error) if str(error).startswith(name) else f"{name}: {error}"


class NotStarted(Exception):
    """A paper whose paid summary would take the run past its cost cap: skipped, nothing spent on it."""


class SummaryGate:
    """Who may summarize now: at most ``jobs`` paid requests at once, one process per cached answer
    (another digest summarizing the same paper waits, then pays nothing), none once Ctrl-C came
    (``stopped``), none after the server refused the key or model, and none whose estimate would take
    the run past its cost cap (``cap``: what is spent, plus what requests in flight may spend)."""

    def __init__(self, session: Session, stopped: threading.Event) -> None:
        self.session = session
        self.stopped = stopped
        self.cap = pricing.CostCap(session.settings.max_cost)
        self._slots = threading.Semaphore(session.settings.jobs)
        self._setup_error: LLMSetupError | None = None  # a bad key or model: stop asking the server
        self._busy_lock = threading.Lock()
        self.busy = 0  # summaries being paid for right now

    def summarize(self, paper: Paper, text: PaperText) -> tuple[Summary, int]:
        """The summary and the input tokens it was given (0 when nothing is paid for)."""
        name, summarizer, reporter = paper.id.base, self.session.summarizer, self.session.reporter
        request = summarizer.request(paper, text)
        if not request.key:  # nothing paid, nothing cached
            reporter.stage(name, "summary", summarizer.describe(request))
            return summarizer.summarize(paper, text), 0
        # Taken before a slot, and never while holding the issue lock: no wait can close a circle.
        with self.lock(name, request.key):
            cached = summarizer.cached(request)
            if cached is not None:
                reporter.stage(name, "summary", "cached response, no tokens spent")
                return cached, request.tokens
            with self._slots:
                if self._setup_error is not None:
                    raise self._setup_error
                if self.stopped.is_set():
                    raise Interrupted(f"{name}: not summarized (interrupted)")
                estimate = self.session.estimate(request.tokens)
                if not self.cap.reserve(estimate):
                    raise NotStarted(self.over_cap(estimate))
                reporter.stage(name, "summary", summarizer.describe(request))
                with self._busy_lock:
                    self.busy += 1
                summary: Summary | None = None
                try:
                    summary = summarizer.summarize(paper, text, request.context)
                    return summary, request.tokens
                except LLMSetupError as error:
                    self._setup_error = error
                    raise
                finally:
                    with self._busy_lock:
                        self.busy -= 1
                    self.cap.settle(estimate, None if summary is None else 0.0 if summary.cached
                                    else pricing.cost(summary.usage, self.session.price))

    def over_cap(self, estimate: float | None) -> str:
        limit, committed = pricing.dollars(self.cap.limit), pricing.dollars(self.cap.committed)
        return (f"not started: its summary, about {pricing.dollars(estimate)}, would take this run past "
                f"the cost cap of {limit} ({committed} spent or being spent); raise --max-cost to add it")

    @contextmanager
    def lock(self, name: str, key: str) -> Iterator[None]:
        """Hold the lock of the answer cached under ``key`` while it is looked up, paid for and cached.

        A killed holder's lock is released by the OS; Ctrl-C stops the wait. Where no lock file can
        be made (an unwritable cache), it goes on without one.
        """
        from filelock import Timeout

        lock = None
        try:
            lock = self.session.summarizer.lock(key)
            told = False
            while lock is not None:
                try:
                    lock.acquire(timeout=LOCK_POLL)
                    break
                except Timeout:
                    pass
                if self.stopped.is_set():
                    raise Interrupted(f"{name}: not summarized (interrupted)")
                if not told:
                    self.session.reporter.stage(name, "summary", "waiting: another digest process is summarizing it")
                    told = True
        except OSError:
            lock = None
        try:
            yield
        finally:
            if lock is not None:
                lock.release()


class PaperSteps:
    """The steps of one `add` into ``issue``, shared by its worker threads."""

    def __init__(self, session: Session, issue: str, options: ItemOptions = ItemOptions(),
                 stopped: threading.Event | None = None) -> None:
        self.session = session
        self.issue = issue
        self.options = options
        self.batch = False  # --batch: summaries go through the Batch API, at its price
        self.gate = SummaryGate(session, stopped or threading.Event())
        self._figures: dict[str, Any] = {}  # paper -> what extraction rendered of its key figure

    @property
    def reporter(self) -> Any:
        return self.session.reporter

    def add(self, paper: Paper, given: str, *, backup: bool = False, queued: str = "") -> Outcome:
        """Text, summary and item of one paper."""
        name = paper.id.base
        try:
            text = self.text(paper)
            summary, context_tokens = self.gate.summarize(paper, text)
        except Interrupted as error:
            return Outcome(given, Status.INTERRUPTED, str(error))
        except NotStarted as skipped:
            return self.not_started(name, given, skipped)
        except DigestError as error:
            self.reporter.fail(_named(name, error))
            return Outcome(given, Status.FAILED, str(error))
        return self.save(paper, text, summary, context_tokens, given, backup=backup, queued=queued)

    def text(self, paper: Paper) -> PaperText:
        """The paper's text from its PDF, or its abstract alone when the PDF fails (with a warning)."""
        name, session = paper.id.base, self.session
        self.reporter.stage(name, "pdf")
        try:
            pdf = session.arxiv.fetch_pdf(paper)
        except PdfError as error:
            text = paper_text(paper, pdf_error=str(error))
        else:
            self.reporter.stage(name, "text")
            try:
                extracted = session.extractor.extract(pdf)
            except PdfError as error:
                text = paper_text(paper, pdf_error=str(error))
            else:
                text = paper_text(paper, extracted=extracted)
                self.keep_figure(paper, extracted)
        if text.warning:
            self.reporter.warn(f"{name}: {text.warning}; summarizing from the abstract only")
        self.keep_text(paper, text)
        return text

    def keep_text(self, paper: Paper, text: PaperText) -> None:
        """The paper's text, kept for `digest check`, `build` and items collected from a batch later."""
        self.session.texts.put(paper.id.versioned, paper.abstract, paper.comment, text.page_texts)

    def save(self, paper: Paper, text: PaperText, summary: Summary, context_tokens: int, given: str, *,
             backup: bool = False, queued: str = "", extra: dict[str, Any] | None = None,
             batch_api: bool = False) -> Outcome:
        """Write the item (under the issue lock); the summary is already cached. The item records what
        its summary cost when it was paid for (a cached one costs this run nothing)."""
        name, workspace, options = paper.id.base, self.session.workspace, self.options
        self.reporter.stage(name, "saving")
        tokenizer = self.session.counter.name if context_tokens else ""  # tokens were counted: by what
        verdict = self._ground(paper, text, summary)
        cost = pricing.cost(summary.usage, self.session.price, batch=batch_api)
        made = items.Provenance(context_tokens, tokenizer, EXTRACTOR_VERSION, queued=queued,
                                grounding=verdict.to_meta(), extra=extra, cost=cost)
        code_url = choose_code_url(summary.fields.code_url, text.code_links)
        try:
            with workspace.lock(self.issue):
                # --force regenerates the summary; the notes under the marker belong to the user.
                existing = self._existing(paper.id.filename)
                item = items.paper_item(paper, text, summary, code_url, self._notes(existing), made,
                                        section=options.section, title=options.title, quote=options.quote,
                                        template=self.session.settings.template)
                item = item.with_figure(self._figure(paper, item.key, existing))
                self._backup(item.key, backup)
                path = workspace.write_item(self.issue, item)
        except DigestError as error:
            self.reporter.fail(_named(name, error))
            return Outcome(given, Status.FAILED, str(error))
        for warning in summary.warnings:
            self.reporter.warn(f"{name}: {warning}")
        if verdict.unverified:
            listed = "; ".join(f"{c.field}: {c.text}" for c in verdict.unverified)
            self.reporter.warn(f"{name}: {len(verdict.unverified)} claim(s) not found in the paper ({listed}); "
                               f"check them, then fix the text or list them under accepted_claims")
        if not summary.cached:
            self.reporter.spent(name, summary.usage.input_tokens, summary.usage.output_tokens, cost)
        how = "cached summary, 0 tokens" if summary.cached else (
            f"{summary.usage.input_tokens} in / {summary.usage.output_tokens} out tokens"
            if context_tokens else "offline extractive summary")
        self.reporter.stage(name, "saved", f"{path.relative_to(workspace.root)} ({how})")
        return Outcome(given, Status.ADDED, str(path), paper.id.filename, summary, cost=cost)

    def not_started(self, name: str, given: str, skipped: NotStarted) -> Outcome:
        """A paper the cost cap kept from being summarized: reported as skipped, with the reason."""
        self.reporter.stage(name, "skipped", str(skipped))
        return Outcome(given, Status.NOT_STARTED, f"{name}: {skipped}")

    def keep_figure(self, paper: Paper, extracted: Any) -> None:
        """What extraction rendered of the paper's key figure, until its item is saved."""
        if extracted.figure is not None and extracted.figure_image:
            self._figures[paper.id.versioned] = (extracted.figure, extracted.figure_image, extracted.figure_format)

    def _figure(self, paper: Paper, key: str, existing: items.Item | None) -> items.Figure | None:
        """The figure the item shows: the writer's choice on the item on disk (--force keeps it), else
        the key figure extraction rendered, saved beside the item (the caller holds the issue lock)."""
        kept = existing.figure if existing is not None else None
        if kept is not None and kept.chosen == "writer":
            return kept
        rendered = self._figures.pop(paper.id.versioned, None)
        if rendered is None:
            return None
        found, image, extension = rendered
        file = self.session.workspace.write_figure(self.issue, key, image, extension)
        return items.Figure(found.number, found.page, found.caption, file)

    def _backup(self, key: str, backup: bool) -> None:
        """--force keeps the file it replaces (the caller holds the issue lock)."""
        if backup and self.session.workspace.has_item(self.issue, key):
            saved = self.session.workspace.backup_item(self.issue, key)
            self.reporter.notice(f"kept the previous {key}.md as {saved.name}")

    def _ground(self, paper: Paper, text: PaperText, summary: Summary) -> grounding.Verdict:
        """Every claim of the summary looked up in the paper's text: the pages in hand, or (for an item
        collected from a batch, whose text was extracted in an earlier run) the cached ones."""
        source = None if text.page_texts else self.session.texts.get(paper.id.versioned)
        source = source or grounding.PaperSource(paper.abstract, paper.comment, text.page_texts)
        settings = self.session.settings  # the template's editorial fields are opinion, not the paper's claims
        return grounding.check(summary.fields.model_dump(), source, editorial=settings.template.editorial,
                               translated=settings.translated)

    def notes_for(self, key: str) -> str:
        """The notes of an item being written: those under the marker of the item on disk (--force keeps
        them), then --note, once."""
        return self._notes(self._existing(key))

    def _notes(self, existing: items.Item | None) -> str:
        notes = items.split_notes(existing.body)[1].strip("\n") if existing is not None else ""
        note = self.options.note.strip()
        if note and note not in notes:
            notes = f"{notes}\n\n{note}".lstrip("\n")
        return f"{notes}\n" if notes else ""

    def _existing(self, key: str) -> items.Item | None:
        """The item on disk that is about to be replaced, if any."""
        path = self.session.workspace.item_path(self.issue, key)
        if not path.exists():
            return None
        try:
            return items.load_item(path)
        except WorkspaceError as error:
            raise WorkspaceError(f"{error}; not overwriting it") from None  # never lose notes we could not read

    def plan(self, paper: Paper, given: str) -> Outcome:
        """--dry-run: the tokens this paper would send and their price at most (its input counted, its
        output at most max_output_tokens); no LLM call, no file written."""
        session = self.session
        text = self.text(paper)
        request = prepare_request(session.prompts, session.counter, session.settings.input_budget, paper, text)
        cached = session.summarizer.cached(request) is not None
        plan = Plan(id=paper.id.versioned, title=paper.title, tokens=request.tokens, cached=cached,
                    full_text_tokens=sum(session.counter.count(section.text) for section in text.sections),
                    text_source=text.source, output_tokens=0 if cached else session.settings.max_output_tokens,
                    cost=0.0 if cached else session.estimate(request.tokens, batch=self.batch))
        return Outcome(given, Status.PLANNED, "", paper.id.filename, plan=plan)

    def queue_for_batch_api(self, paper: Paper, given: str, *, backup: bool, queued: str) -> Outcome:
        """--batch: everything up to the LLM request, which goes into the OpenAI batch (unless it is cached)."""
        from ..openai_batch import BatchEntry, paper_to_dict, text_to_dict

        text = self.text(paper)
        request: Request = self.session.llm.request(paper, text)
        cached = self.session.llm.cached(request)
        if cached is not None:
            return self.save(paper, text, cached, request.tokens, given, backup=backup, queued=queued)
        estimate = self.session.estimate(request.tokens, batch=True)
        if not self.gate.cap.reserve(estimate):  # paid when the batch runs: reserved for good
            return self.not_started(paper.id.base, given, NotStarted(self.gate.over_cap(estimate)))
        entry = BatchEntry(custom_id=paper.id.versioned, given=given, queued=queued, paper=paper_to_dict(paper),
                           messages=request.messages, text=text_to_dict(text), context_tokens=request.tokens)
        self.reporter.stage(paper.id.base, "queued", f"{request.tokens} tokens for the batch")
        return Outcome(given, Status.QUEUED, "", paper.id.filename, queued=entry)
