"""The `digest add` workflow: ids -> metadata -> PDF -> text -> context -> summary -> item.

Wires the stages together and reports progress through a Reporter; it never
prints. One paper's failure is recorded as its outcome and never stops the
others. An item file is written only when its summary is complete, and the
LLM response is cached before that, so a killed run repeats no paid call.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from . import grounding
from .arxiv import ArxivClient
from .budget import TokenCounter, select_context
from .config import Settings
from .errors import DigestError, IdentifierError, Interrupted, LLMError, LLMSetupError, PdfError, WorkspaceError
from .ids import parse_many
from .links import document_key, document_pdf_url, fetch_link, legacy_item_key, split_url, web_address
from .links import item_key as link_key
from .models import ArxivId, Item, Paper, PaperText, Summary
from .pdftext import EXTRACTOR_VERSION, Extractor, paper_text
from .store import (STATE, IssueExists, Workspace, body_hash, format_body, format_link_body, is_edited, load_item,
                    split_notes)
from .offline import OfflineSummarizer
from .summarize import LLMSummarizer, build_messages, load_prompts


MAX_WORKERS = 32  # papers in progress at once (downloads are throttled, LLM calls capped by jobs)
MAX_LLM_ANSWER_BYTES = 64 * 1024 * 1024  # a chat answer is kilobytes; a Batch API result file, megabytes


def _wait_all(done: list[threading.Event]) -> None:
    """Wait until every worker has set its event, in short steps so Ctrl-C is delivered.

    Events, not Thread.join: a join interrupted by Ctrl-C can leave CPython believing
    a running thread has ended (is_alive() False), and we would stop waiting for it.
    """
    for event in done:
        while not event.wait(0.2):
            pass


def _acquire(lock: Any, seconds: float) -> bool:
    """True once ``lock`` (a FileLock) is held; False when ``seconds`` passed first."""
    from filelock import Timeout

    try:
        lock.acquire(timeout=seconds)
    except Timeout:
        return False
    return True


class Reporter(Protocol):
    def stage(self, paper: str, stage: str, detail: str = "") -> None: ...
    def spent(self, paper: str, tokens_in: int, tokens_out: int) -> None: ...
    def warn(self, message: str) -> None: ...
    def fail(self, message: str) -> None: ...
    def notice(self, message: str) -> None: ...


@dataclass
class Outcome:
    input: str
    status: str  # added | skipped | failed
    message: str = ""
    key: str = ""
    summary: Summary | None = None
    plan: dict[str, Any] | None = None  # --dry-run: what would be sent
    position: int = 0  # place in the command's queue (outcomes arrive in completion order)


@dataclass(frozen=True)
class ItemOptions:
    """What the author sets on the items of one `digest add`: section, own title, note, quote."""

    section: str = ""
    title: str = ""
    note: str = ""
    quote: str = ""


@dataclass
class AddReport:
    issue: str
    outcomes: list[Outcome] = field(default_factory=list)
    batch_id: str = ""  # --batch: the batch that was created

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def tokens(self) -> tuple[int, int]:
        spent = [o.summary.usage for o in self.outcomes if o.summary and not o.summary.cached]
        return sum(u.input_tokens for u in spent), sum(u.output_tokens for u in spent)


def make_http_client(settings: Settings) -> Any:
    """The client for the arXiv API, PDFs and linked pages: each request ends within the deadline."""
    from . import net
    from .arxiv import MAX_FEED_BYTES
    from .links import MAX_PAGE_BYTES

    return net.make_client(timeout=settings.http_timeout, deadline=settings.http_deadline,
                           max_body_bytes=max(settings.max_pdf_bytes, MAX_FEED_BYTES, MAX_PAGE_BYTES),
                           user_agent=settings.user_agent)


def make_llm_http_client(settings: Settings) -> Any:
    """The client under the openai SDK: each request (each of its retries) ends within the LLM deadline."""
    from . import net

    return net.make_client(timeout=settings.llm_timeout, deadline=settings.llm_deadline,
                           max_body_bytes=MAX_LLM_ANSWER_BYTES, connections=64)


def make_arxiv_client(settings: Settings, http: Any) -> ArxivClient:
    return ArxivClient(
        http,
        api_url=settings.arxiv_api_url,
        pdf_url=settings.arxiv_pdf_url,
        cache_dir=settings.cache_dir,
        api_interval=settings.arxiv_api_interval,
        pdf_interval=settings.pdf_interval,
        max_pdf_bytes=settings.max_pdf_bytes,
    )


def make_summarizer(settings: Settings, counter: TokenCounter | None) -> LLMSummarizer | OfflineSummarizer:
    """The LLM backend when an API key is set (and not --offline), else the offline one."""
    if not settings.use_llm:
        return OfflineSummarizer()
    return LLMSummarizer(
        model=settings.model,
        api_key=settings.api_key or "",
        base_url=settings.base_url,
        cache_dir=settings.cache_dir,
        prompts=load_prompts(settings.workspace),
        counter=counter or TokenCounter(settings.model, settings.tokenizer),
        max_output_tokens=settings.max_output_tokens,
        response_format=settings.response_format,
        timeout=settings.llm_timeout,
        retries=settings.llm_retries,
        http_client=make_llm_http_client(settings),
    )


def choose_code_url(suggested: str | None, found: tuple[str, ...]) -> str:
    """The LLM's code URL only if the paper itself links it; else the paper's first code link.

    A model can invent a plausible repository; the paper's own links cannot.
    """
    from .codelinks import normal_url

    if suggested and any(normal_url(suggested).lower() == normal_url(link).lower() for link in found):
        return suggested
    return found[0] if found else ""


def _looks_like_arxiv(url: str) -> bool:
    """An arXiv-style address on another host (a mirror typo or a lookalike): an error, not a link."""
    host = (split_url(url).hostname or "").lower()
    return "arxiv" in host or bool(re.search(r"/(abs|pdf)/(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})", url))


def is_withdrawn(paper: Paper) -> bool:
    comment = paper.comment.lower()
    return "withdrawn" in comment and ("paper has been withdrawn" in comment or comment.startswith("withdrawn"))


def paper_meta(paper: Paper) -> dict[str, Any]:
    """Front-matter fields that come from arXiv alone (what --refresh updates)."""
    if paper.source != "arxiv":
        return {"title": paper.title, "doc_id": paper.id.base, "authors": list(paper.authors),
                "published": paper.published, "paper_url": paper.abs_url, "pdf_url": paper.pdf_url,
                "abstract": paper.abstract}
    return {
        "title": paper.title,
        "arxiv_id": paper.id.versioned,
        "authors": list(paper.authors),
        "published": paper.published,
        "updated": paper.updated,
        "primary_category": paper.primary_category,
        "categories": list(paper.categories),
        "paper_url": f"https://arxiv.org/abs/{paper.id.base}",
        "pdf_url": f"https://arxiv.org/pdf/{paper.id.versioned}",
        "comment": paper.comment,
        "abstract": paper.abstract,
        "journal_ref": paper.journal_ref,
        "doi": paper.doi,
    }


def item_meta(paper: Paper, text: PaperText, summary: Summary, context_tokens: int, tokenizer: str,
              body: str, section: str = "Research") -> dict[str, Any]:
    fields = summary.fields
    return {
        "title": paper.title,
        "short_name": fields.short_name,
        "section": section,
        **paper_meta(paper),
        "code_url": choose_code_url(fields.code_url, text.code_links),
        "provenance": {
            "backend": summary.backend,
            "model": summary.model,
            "prompt_hash": summary.prompt_hash,
            "input_tokens": summary.usage.input_tokens,
            "output_tokens": summary.usage.output_tokens,
            "context_tokens": context_tokens,
            "tokenizer": tokenizer,
            "text_source": text.source,
            "source_text_hash": text.text_hash[:16],
            "extractor_version": EXTRACTOR_VERSION,
            "pdf_engine": text.engine,
            # Milliseconds keep the order of a batch when build sorts by creation time.
            "created": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "body_hash": body_hash(body),
            "evidence": list(fields.evidence),  # quotes the model gave for its figures (checked by grounding)
        },
    }


class AddPipeline:
    def __init__(self, settings: Settings, workspace: Workspace, reporter: Reporter, *,
                 arxiv: ArxivClient | None = None, summarizer: Any = None) -> None:
        self.settings = settings
        self.workspace = workspace
        self.reporter = reporter
        self._http = None
        if arxiv is None:
            self._http = make_http_client(settings)
            arxiv = make_arxiv_client(settings, self._http)
        self.arxiv = arxiv
        self.summarizer = summarizer or make_summarizer(settings, None)
        self._setup_error: LLMSetupError | None = None  # a bad key or model: stop asking the server
        self._llm_slots = threading.Semaphore(settings.jobs)
        self._stop = threading.Event()
        self._busy_lock = threading.Lock()
        self._llm_busy = 0
        # PDFs are read in worker processes, each paper bounded in time and memory (started on first use)
        self._extractor = Extractor(settings.extract_processes, settings.pdf_engine,
                                    timeout=settings.extract_timeout, memory_mb=settings.extract_memory_mb)
        self._texts = grounding.text_cache(settings.cache_dir)
        self.options = ItemOptions()
        self.counter: TokenCounter | None = getattr(self.summarizer, "counter", None)
        if self.counter is not None and self.counter.notice:
            reporter.notice(self.counter.notice)

    def close(self) -> None:
        self._extractor.close()  # no worker outlives the command
        if self._http is not None:
            self._http.close()
        close = getattr(self.summarizer, "close", None)  # the LLM's connections (the offline backend has none)
        if callable(close):
            close()

    def run(self, inputs: list[str], issue: str, *, force: bool = False, refresh: bool = False,
            dry_run: bool = False, batch: bool = False, report: AddReport | None = None,
            options: ItemOptions = ItemOptions()) -> AddReport:
        """Add each input to ``issue``. Outcomes are appended to ``report`` as they happen,
        so a caller that is interrupted still knows what was saved."""
        report = report if report is not None else AddReport(issue)
        self.options = options
        ids, bad = parse_many(inputs)
        links: list[str] = []
        for text, error in bad:
            try:
                url = web_address(text)
            except IdentifierError as malformed:  # "http://[::1": this input fails, the batch goes on
                url, error = "", malformed
            if url and not _looks_like_arxiv(url):
                links.append(url)
                continue
            report.outcomes.append(Outcome(text, "failed", str(error)))
            self.reporter.fail(str(error))
        if not dry_run:  # a dry run writes nothing, not even a lock file
            with self.workspace.lock(issue):  # two `digest add --issue new` at once create it once
                if not self.workspace.issue_exists(issue):
                    try:
                        self.workspace.create_issue(issue)
                        self.reporter.notice(f"created issue {issue}")
                    except IssueExists:
                        pass  # `digest new` made it a moment ago: add to it
        todo: list[ArxivId] = []
        refreshing: list[ArxivId] = []
        for arxiv_id in ids:
            if not self.workspace.has_item(issue, arxiv_id.filename) or force:
                todo.append(arxiv_id)
            elif refresh and not dry_run:  # a dry run writes nothing: no metadata refresh either
                refreshing.append(arxiv_id)
            else:
                message = self._skip_message(issue, arxiv_id)
                report.outcomes.append(Outcome(str(arxiv_id), "skipped", message, arxiv_id.filename))
                self.reporter.notice(message)
        for url in dict.fromkeys(links):
            try:
                if document_pdf_url(url) and not dry_run:
                    report.outcomes.append(self._add_document(url, issue, force=force))
                else:
                    report.outcomes.append(self._add_link(url, issue, force=force, dry_run=dry_run))
            except Exception as error:  # a bug in one address must not cost the rest of the batch (as for papers)
                message = f"{url}: internal error: {type(error).__name__}: {error}"
                report.outcomes.append(Outcome(url, "failed", message))
                self.reporter.fail(message)
        if not todo and not refreshing:
            return report
        for arxiv_id in todo + refreshing:
            self.reporter.stage(arxiv_id.base, "metadata")
        papers = self.arxiv.fetch_papers(todo + refreshing)
        queue: list[tuple[str, Paper]] = []
        for arxiv_id in todo + refreshing:
            result = papers[arxiv_id.base]
            if isinstance(result, DigestError):
                message = str(result) if arxiv_id.base in str(result) else f"{arxiv_id.base}: {result}"
                report.outcomes.append(Outcome(str(arxiv_id), "failed", message))
                self.reporter.fail(message)
            elif is_withdrawn(result):
                message = f"{result.id}: withdrawn by its authors on arXiv ({result.comment[:120]})"
                report.outcomes.append(Outcome(str(arxiv_id), "failed", message))
                self.reporter.fail(message)
            elif arxiv_id in refreshing:
                report.outcomes.append(self._refresh_one(result, issue, str(arxiv_id)))
            else:
                queue.append((str(arxiv_id), result))
        self._add_all(queue, issue, report, backup=force, dry_run=dry_run, batch=batch)
        if batch:
            self._submit_batch(issue, report)
        return report

    def _add_all(self, queue: list[tuple[str, Paper]], issue: str, report: AddReport, *,
                 backup: bool, dry_run: bool, batch: bool = False) -> None:
        """Each paper in its own worker: download (throttled), extract (process pool),
        summarize (at most ``jobs`` at once), save. A paper's LLM call starts as soon as
        its own text is ready. Ctrl-C stops new work, waits for summaries already being
        paid for (a second Ctrl-C drops them) and re-raises."""
        if not queue:
            return
        queued_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        self._extractor.warm()  # its start-up overlaps the first download

        def work(index: int, given: str, paper: Paper) -> None:
            try:
                if self._stop.is_set():
                    return
                if dry_run:
                    outcome = self._plan_one(paper, given)
                elif batch:
                    outcome = self._batch_one(paper, issue, given, backup=backup, queued=f"{queued_at}#{index:05d}")
                else:
                    outcome = self._add_one(paper, issue, given, backup=backup, queued=f"{queued_at}#{index:05d}")
            except Interrupted as error:  # Ctrl-C stopped the PDF workers before this paper's text was read
                outcome = Outcome(given, "interrupted", str(error))
            except BaseException as error:  # never let a worker die silently
                outcome = Outcome(given, "failed", f"{paper.id.base}: internal error: {type(error).__name__}: {error}")
                self.reporter.fail(outcome.message)
            outcome.position = index
            report.outcomes.append(outcome)

        slots = threading.Semaphore(min(len(queue), MAX_WORKERS))
        done: list[threading.Event] = []
        try:
            for index, (given, paper) in enumerate(queue):
                while not slots.acquire(timeout=0.2):
                    pass  # stays interruptible by Ctrl-C
                if self._stop.is_set():
                    slots.release()
                    break

                finished = threading.Event()

                def run(index: int = index, given: str = given, paper: Paper = paper,
                        finished: threading.Event = finished) -> None:
                    try:
                        work(index, given, paper)
                    finally:
                        slots.release()
                        finished.set()

                done.append(finished)  # before start(): an interrupted start() must still be waited for
                threading.Thread(target=run, name=f"digest-{paper.id.base}", daemon=True).start()
            _wait_all(done)
        except KeyboardInterrupt:
            self._stop.set()  # no new download or LLM call starts from here on
            if not all(event.is_set() for event in done):
                busy = self._llm_busy
                paying = f", {busy} of them summaries already being paid for" if busy else ""
                self.reporter.notice(f"stopping: finishing the papers in progress{paying} "
                                     "(Ctrl-C again to drop them)")
                try:
                    _wait_all(done)
                except KeyboardInterrupt:
                    pass
            raise

    def _add_document(self, url: str, issue: str, *, force: bool) -> Outcome:
        """A paper from any PDF address (OpenReview, a direct .pdf link): summarized like an arXiv
        paper, with its title, authors and abstract read from the PDF itself."""
        from .pdftext import pdf_document_info

        key = self._resource_key(issue, url, "doc")
        if self.workspace.has_item(issue, key) and not force:
            message = f"{url} is already in {issue} (--force regenerates it and keeps a backup)"
            self.reporter.notice(message)
            return Outcome(url, "skipped", message, key)
        pdf_url = document_pdf_url(url) or url
        try:
            data = self.arxiv.download_pdf(pdf_url)
            extracted = self._extractor.extract(data)
        except DigestError as error:
            self.reporter.fail(f"{url}: {error}")
            return Outcome(url, "failed", str(error))
        title, authors, abstract = pdf_document_info(extracted)
        paper = Paper(id=ArxivId(key), title=title or url, abstract=abstract, authors=tuple(authors),
                      published="", updated="", primary_category="", categories=(), abs_url=url,
                      pdf_url=pdf_url, source="pdf")
        text = paper_text(paper, extracted=extracted)
        self._keep_text(paper, text)
        try:
            summary, context_tokens = self._summarize(paper, text)
        except DigestError as error:
            self.reporter.fail(f"{url}: {error}")
            return Outcome(url, "failed", str(error))
        return self._save(paper, text, summary, context_tokens, issue, url, backup=force)

    def _add_link(self, url: str, issue: str, *, force: bool, dry_run: bool) -> Outcome:
        """A link that is not an arXiv paper: its page read for a title and description, filed by kind."""
        key = self._resource_key(issue, url, "link")
        if self.workspace.has_item(issue, key) and not force:
            message = f"{url} is already in {issue} (--force fetches it again and keeps a backup)"
            self.reporter.notice(message)
            return Outcome(url, "skipped", message, key)
        if dry_run:
            return Outcome(url, "skipped", "links cost no tokens", key)
        info = fetch_link(self.arxiv.http, url)
        if info.warning:
            self.reporter.warn(info.warning)
        options = self.options
        meta: dict[str, Any] = {
            "title": options.title or info.title, "section": options.section or info.section,
            "kind": info.kind, "url": info.url, "emoji": info.emoji,
        }
        if info.stars is not None:
            meta["stars"] = info.stars
        if options.quote:
            meta["quote"] = options.quote
        try:
            with self.workspace.lock(issue):  # the old notes are read and kept under the same lock, as for papers
                body = format_link_body(info.description, self._notes_for(issue, key))
                meta["provenance"] = {"backend": "link", "fetched": not info.warning,
                                      "created": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                                      "body_hash": body_hash(body)}
                if force and self.workspace.has_item(issue, key):  # --force keeps the old file, as for papers
                    saved = self.workspace.backup_item(issue, key)
                    self.reporter.notice(f"kept the previous {key}.md as {saved.name}")
                path = self.workspace.write_item(issue, Item(key, meta, body))
        except DigestError as error:
            self.reporter.fail(f"{url}: {error}")
            return Outcome(url, "failed", str(error))
        self.reporter.stage(url, "saved", f"{path.relative_to(self.workspace.root)} ({info.section})")
        return Outcome(url, "added", str(path), key)

    def _notes_for(self, issue: str, key: str) -> str:
        """The notes of an item being written: those under the marker of the item on disk (--force keeps
        them), then --note, once."""
        notes = self._existing_notes(issue, key).strip("\n")
        note = self.options.note.strip()
        if note and note not in notes:
            notes = f"{notes}\n\n{note}".lstrip("\n")
        return f"{notes}\n" if notes else ""

    def _resource_key(self, issue: str, url: str, prefix: str) -> str:
        """The item name of the link or document at ``url``. An item an earlier version named by host and
        path alone keeps that name when it records this very resource, so a workspace's items still match."""
        name_of = document_key if prefix == "doc" else link_key
        key, legacy = name_of(url), legacy_item_key(url, prefix)
        if legacy == key or self.workspace.has_item(issue, key) or not self.workspace.has_item(issue, legacy):
            return key
        try:
            meta = self.workspace.read_item(issue, legacy).meta
            recorded = str(meta.get("url") or meta.get("paper_url") or "")
            same = bool(recorded) and name_of(recorded) == key
        except DigestError:  # a broken or foreign file: leave it alone
            same = False
        return legacy if same else key

    def feed(self, categories: list[str], since: datetime, until: datetime, match: Any = None) -> list[Paper]:
        """New submissions in ``categories``, filtered by ``match`` (a compiled regex) on title and abstract."""
        papers = self.arxiv.search(categories, since, until)
        if match is not None:
            papers = [p for p in papers if match.search(f"{p.title}\n{p.abstract}")]
        return papers

    def _skip_message(self, issue: str, arxiv_id: ArxivId) -> str:
        try:
            edited = is_edited(self.workspace.read_item(issue, arxiv_id.filename))
        except DigestError:
            edited = False  # a broken file is reported by build; add only leaves it alone
        how = " and edited by hand; kept" if edited else ""
        return (f"{arxiv_id.base} is already in {issue}{how} (--force regenerates it and keeps a backup, "
                "--refresh updates its metadata only)")

    def _refresh_one(self, paper: Paper, issue: str, given: str) -> Outcome:
        """New metadata from arXiv into the front matter; the summary text is not touched."""
        name = paper.id.base
        try:
            with self.workspace.lock(issue):
                item = self.workspace.read_item(issue, paper.id.filename)
                item.meta.update(paper_meta(paper))
                path = self.workspace.write_item(issue, item)
        except DigestError as error:
            self.reporter.fail(f"{name}: {error}")
            return Outcome(given, "failed", str(error))
        self.reporter.stage(name, "saved", f"{path.relative_to(self.workspace.root)} (metadata refreshed)")
        return Outcome(given, "refreshed", str(path), paper.id.filename)

    def _add_one(self, paper: Paper, issue: str, given: str, backup: bool = False, queued: str = "") -> Outcome:
        name = paper.id.base
        try:
            text = self._paper_text(paper)
            summary, context_tokens = self._summarize(paper, text)
        except Interrupted as error:
            return Outcome(given, "interrupted", str(error))
        except DigestError as error:
            self.reporter.fail(f"{name}: {error}" if not str(error).startswith(name) else str(error))
            return Outcome(given, "failed", str(error))
        return self._save(paper, text, summary, context_tokens, issue, given, backup=backup, queued=queued)

    def _save(self, paper: Paper, text: PaperText, summary: Summary, context_tokens: int, issue: str, given: str,
              *, backup: bool = False, queued: str = "", extra: dict[str, Any] | None = None) -> Outcome:
        """Write the item (under the issue lock); the summary is already cached."""
        name = paper.id.base
        self.reporter.stage(name, "saving")
        tokenizer = self.counter.name if self.counter else ""
        try:
            with self.workspace.lock(issue):
                # --force regenerates the summary; the notes under the marker belong to the user.
                body = format_body(summary.fields, self._notes_for(issue, paper.id.filename))
                meta = item_meta(paper, text, summary, context_tokens, tokenizer, body,
                                 section=self.options.section or "Research")
                if self.options.title:
                    meta = {"title": self.options.title, "paper_title": paper.title,
                            **{k: v for k, v in meta.items() if k != "title"}}
                if self.options.quote:
                    meta["quote"] = self.options.quote
                if queued:
                    meta["provenance"]["queued"] = queued  # keeps the command's order when build sorts
                meta["provenance"].update(extra or {})
                verdict = self._ground(paper, text, summary)
                meta["provenance"]["grounding"] = verdict.to_meta()
                if backup and self.workspace.has_item(issue, paper.id.filename):
                    saved = self.workspace.backup_item(issue, paper.id.filename)
                    self.reporter.notice(f"kept the previous {paper.id.filename}.md as {saved.name}")
                path = self.workspace.write_item(issue, Item(paper.id.filename, meta, body))
        except DigestError as error:
            self.reporter.fail(f"{name}: {error}" if not str(error).startswith(name) else str(error))
            return Outcome(given, "failed", str(error))
        for warning in summary.warnings:
            self.reporter.warn(f"{name}: {warning}")
        if verdict.unverified:
            listed = "; ".join(f"{c.field}: {c.text}" for c in verdict.unverified)
            self.reporter.warn(f"{name}: {len(verdict.unverified)} claim(s) not found in the paper ({listed}); "
                               f"check them, then fix the text or list them under accepted_claims")
        if not summary.cached:
            self.reporter.spent(name, summary.usage.input_tokens, summary.usage.output_tokens)
        how = "cached summary, 0 tokens" if summary.cached else (
            f"{summary.usage.input_tokens} in / {summary.usage.output_tokens} out tokens"
            if summary.backend != "offline" else "offline extractive summary")
        self.reporter.stage(name, "saved", f"{path.relative_to(self.workspace.root)} ({how})")
        return Outcome(given, "added", str(path), paper.id.filename, summary)

    def fetch_texts(self, inputs: list[str]) -> None:
        """Metadata, PDF and text of each paper, into the text cache (for `digest check`)."""
        ids, _ = parse_many(inputs)
        for result in self.arxiv.fetch_papers(ids).values():
            if isinstance(result, DigestError):
                self.reporter.warn(str(result))
            else:
                self._paper_text(result)

    def _ground(self, paper: Paper, text: PaperText, summary: Summary) -> grounding.Verdict:
        """Every claim of the summary looked up in the paper's text: the pages in hand, or (for an item
        collected from a batch, whose text was extracted in an earlier run) the cached ones."""
        record = None if text.page_texts else self._texts.get(grounding.text_cache_key(paper.id.versioned))
        record = record or grounding.source_record(paper.abstract, paper.comment, text.page_texts)
        return grounding.check(summary.fields.model_dump(), grounding.source_from_record(record))

    def _existing_notes(self, issue: str, key: str) -> str:
        """The text under the notes marker of an item already on disk ('' if none)."""
        path = self.workspace.item_path(issue, key)
        if not path.exists():
            return ""
        try:
            item = load_item(path)
        except WorkspaceError as error:
            raise WorkspaceError(f"{error}; not overwriting it") from None  # never lose notes we could not read
        return split_notes(item.body)[1]

    def _paper_text(self, paper: Paper) -> PaperText:
        name = paper.id.base
        self.reporter.stage(name, "pdf")
        try:
            pdf = self.arxiv.fetch_pdf(paper)
        except PdfError as error:
            text = paper_text(paper, pdf_error=str(error))
        else:
            self.reporter.stage(name, "text")
            try:
                extracted = self._extractor.extract(pdf)
            except PdfError as error:
                text = paper_text(paper, pdf_error=str(error))
            else:
                text = paper_text(paper, extracted=extracted)
        if text.warning:
            self.reporter.warn(f"{name}: {text.warning}; summarizing from the abstract only")
        self._keep_text(paper, text)
        return text

    def _keep_text(self, paper: Paper, text: PaperText) -> None:
        """The paper's text, kept for `digest check`, `build` and items collected from a batch later."""
        self._texts.put(grounding.text_cache_key(paper.id.versioned),
                        grounding.source_record(paper.abstract, paper.comment, text.page_texts))

    def _context(self, paper: Paper, text: PaperText, counter: TokenCounter, prompts: Any) -> tuple[Any, int]:
        """The context that fits the budget next to the prompt, and the input tokens it makes."""
        overhead = sum(counter.count(m["content"]) + 4 for m in build_messages(prompts, paper, text, ""))
        context = select_context(text, max(200, self.settings.input_budget - overhead), counter)
        return context, context.tokens + overhead

    def _batch_one(self, paper: Paper, issue: str, given: str, *, backup: bool, queued: str) -> Outcome:
        """--batch: everything up to the LLM request, which goes into the batch (unless it is cached)."""
        from .batch import BatchEntry, paper_to_dict, text_to_dict

        assert isinstance(self.summarizer, LLMSummarizer) and self.counter is not None
        text = self._paper_text(paper)
        context, sent = self._context(paper, text, self.counter, self.summarizer.prompts)
        if self.summarizer.is_cached(paper, text, context):
            summary = self.summarizer.summarize(paper, text, context)
            return self._save(paper, text, summary, sent, issue, given, backup=backup, queued=queued)
        entry = BatchEntry(custom_id=paper.id.versioned, given=given, queued=queued, paper=paper_to_dict(paper),
                           messages=build_messages(self.summarizer.prompts, paper, text, context.text),
                           text=text_to_dict(text), context_tokens=sent)
        self.reporter.stage(paper.id.base, "summary", f"{sent} tokens queued for the batch")
        return Outcome(given, "batched", "", paper.id.filename, plan={"entry": entry, "tokens": sent})

    def _submit_batch(self, issue: str, report: AddReport) -> None:
        from . import batch

        entries = [o.plan["entry"] for o in sorted(report.outcomes, key=lambda o: o.position)
                   if o.status == "batched" and o.plan]
        if not entries:
            return
        assert isinstance(self.summarizer, LLMSummarizer)
        record = batch.submit(self.summarizer.client, entries, self.summarizer.request_params,
                              issue=issue, model=self.settings.model)
        self.batches.save(record)
        report.batch_id = record["id"]

    @property
    def batches(self) -> Any:
        from .batch import BatchStore

        return BatchStore(self.workspace.root / STATE / "batches")

    def collect(self, record: dict[str, Any], report: AddReport) -> Any:
        """Write the items of a finished batch. Returns the batch as the server describes it."""
        from . import batch as batches

        assert isinstance(self.summarizer, LLMSummarizer)
        remote = batches.fetch(self.summarizer.client, record["id"])
        if remote.status != "completed":
            return remote
        found = batches.answers(self.summarizer.client, remote)
        issue = record["issue"]
        for entry in record["entries"]:
            paper = batches.paper_from_dict(entry["paper"])
            given = entry["given"]
            if self.workspace.has_item(issue, paper.id.filename):
                message = f"{paper.id.base} is already in {issue}; skipped"
                report.outcomes.append(Outcome(given, "skipped", message, paper.id.filename))
                continue
            answer = found.get(entry["custom_id"], "the batch has no answer for it")
            try:
                if isinstance(answer, str):
                    raise LLMError(answer)
                with self._summary_lock(paper.id.base, self.summarizer.cache_key(paper, entry["messages"])):
                    summary = self.summarizer.summarize_reply(paper, entry["messages"], answer)
            except DigestError as error:
                message = f"{paper.id.base}: {error}; `digest add {paper.id.base}` summarizes it directly"
                self.reporter.fail(message)
                report.outcomes.append(Outcome(given, "failed", message))
                continue
            report.outcomes.append(self._save(paper, batches.text_from_dict(entry["text"]), summary,
                                              entry["context_tokens"], issue, given, queued=entry["queued"],
                                              extra={"batch": record["id"]}))
        return remote

    def _plan_one(self, paper: Paper, given: str) -> Outcome:
        """--dry-run: the tokens this paper would send; no LLM call, no file written."""
        text = self._paper_text(paper)
        if self.counter is None:
            self.counter = TokenCounter(self.settings.model, self.settings.tokenizer)
            if self.counter.notice:
                self.reporter.notice(self.counter.notice)
        prompts = getattr(self.summarizer, "prompts", None) or load_prompts(self.settings.workspace)
        context, sent = self._context(paper, text, self.counter, prompts)
        cached = isinstance(self.summarizer, LLMSummarizer) and self.summarizer.is_cached(paper, text, context)
        plan = {
            "id": paper.id.versioned, "title": paper.title, "tokens": sent, "cached": cached,
            "full_text_tokens": sum(self.counter.count(section.text) for section in text.sections),
            "text_source": text.source,
        }
        return Outcome(given, "planned", "", paper.id.filename, plan=plan)

    def _summarize(self, paper: Paper, text: PaperText) -> tuple[Summary, int]:
        """The summary and the input tokens it was given (0 offline)."""
        name = paper.id.base
        if isinstance(self.summarizer, OfflineSummarizer) or self.counter is None:
            self.reporter.stage(name, "summary", "offline extractive summarizer")
            return self.summarizer.summarize(paper, text), 0
        context, sent = self._context(paper, text, self.counter, self.summarizer.prompts)
        key = self.summarizer.cache_key(paper, build_messages(self.summarizer.prompts, paper, text, context.text))
        # Taken before an LLM slot, and never while holding the issue lock: no wait can close a circle.
        with self._summary_lock(name, key):
            if self.summarizer.is_cached(paper, text, context):
                self.reporter.stage(name, "summary", "cached response, no tokens spent")
                return self.summarizer.summarize(paper, text, context), sent
            with self._llm_slots:
                if self._setup_error is not None:
                    raise self._setup_error
                if self._stop.is_set():
                    raise Interrupted(f"{name}: not summarized (interrupted)")
                self.reporter.stage(name, "summary", f"{sent} tokens → {self.settings.model}")
                with self._busy_lock:
                    self._llm_busy += 1
                try:
                    return self.summarizer.summarize(paper, text, context), sent
                except LLMSetupError as error:
                    self._setup_error = error
                    raise
                finally:
                    with self._busy_lock:
                        self._llm_busy -= 1

    @contextmanager
    def _summary_lock(self, name: str, key: str) -> Iterator[None]:
        """Hold the lock of the LLM cache entry ``key`` while it is looked up, paid for and cached.

        Another digest process summarizing the same paper waits, then finds the answer in the cache
        and pays nothing. A killed holder's lock is released by the OS; Ctrl-C stops the wait. Where
        no lock file can be made (an unwritable cache), it goes on without one, as before.
        """
        assert isinstance(self.summarizer, LLMSummarizer)
        lock = None
        try:
            lock = self.summarizer.cache.lock(key)
            told = False
            while not _acquire(lock, 0.2):
                if self._stop.is_set():
                    raise Interrupted(f"{name}: not summarized (interrupted)")
                if not told:
                    self.reporter.stage(name, "summary", "waiting: another digest process is summarizing it")
                    told = True
        except OSError:
            lock = None
        try:
            yield
        finally:
            if lock is not None:
                lock.release()
