"""A Session: one command's settings and workspace, and the clients it needs, each made on first
use and all closed at the end.

Commands take a Session and plain values; the CLI opens one per command, a Python caller may open
one and run several commands on it. Never prints: progress goes to the session's reporter.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings, find_workspace, load_settings
from ..errors import Interrupted, WorkspaceError
from ..progress import QuietReporter, Reporter
from ..store import STATE, Workspace

if TYPE_CHECKING:
    from ..arxiv import ArxivClient
    from ..budget import TokenCounter
    from ..llm import LLMSummarizer
    from ..openai_batch import BatchStore
    from ..pdftext import Extractor
    from ..pricing import Price
    from ..prompts import Prompts
    from ..summarize import Summarizer
    from ..textcache import TextCache

DEFAULT_TITLE = "Research Digest"


def make_http_client(settings: Settings) -> Any:
    """The client for the arXiv API, PDFs and linked pages: each request ends within the deadline."""
    from .. import net
    from ..arxiv import MAX_FEED_BYTES
    from ..links import MAX_PAGE_BYTES

    return net.make_client(timeout=settings.http_timeout, deadline=settings.http_deadline,
                           max_body_bytes=max(settings.max_pdf_bytes, MAX_FEED_BYTES, MAX_PAGE_BYTES),
                           user_agent=settings.user_agent)


def make_arxiv_client(settings: Settings, http: Any, **options: Any) -> ArxivClient:
    """The arXiv client of ``settings``; ``options`` go to ArxivClient as they are (a test's clock and sleep)."""
    from ..arxiv import ArxivClient

    return ArxivClient(http, api_url=settings.arxiv_api_url, pdf_url=settings.arxiv_pdf_url,
                       cache_dir=settings.cache_dir, api_interval=settings.arxiv_api_interval,
                       pdf_interval=settings.pdf_interval, max_pdf_bytes=settings.max_pdf_bytes, **options)


class Session:
    """Settings, workspace and reporter, plus lazily made clients: HTTP, arXiv, token counter,
    prompts, summarizer, PDF extractor, text cache and Batch API records."""

    def __init__(self, settings: Settings, workspace: Workspace, reporter: Reporter | None = None, *,
                 arxiv: ArxivClient | None = None, summarizer: Summarizer | None = None,
                 owns_reporter: bool = True) -> None:
        self.settings = settings
        self.workspace = workspace
        self.reporter: Reporter = reporter or QuietReporter()
        self.created = False  # open() made the workspace
        self._owns_reporter = owns_reporter  # close() closes it (a live display gives the terminal back)
        self._made: dict[str, Any] = {}
        self._closers: list[Any] = []
        self._making = threading.RLock()  # worker threads may be the first to ask (making one asks for others)
        self._closed = False
        if arxiv is not None:
            self._made["arxiv"] = arxiv
        if summarizer is not None:
            self._made["summarizer"] = summarizer

    @classmethod
    def open(cls, start: Path | str | None = None, *, create: bool = False, dry_run: bool = False,
             reporter: Reporter | None = None, **flags: Any) -> Session:
        """The workspace at or above ``start`` (default: the current folder) with its settings and
        ``flags`` applied. ``create`` makes one in ``start`` if there is none; ``dry_run`` stands the
        defaults in for the one it would make, writing nothing."""
        start = Path(start) if start else Path.cwd()
        root = find_workspace(start)
        if root is None and dry_run:
            return cls(load_settings(None).with_flags(**flags), Workspace(start), reporter)
        created = False
        if root is None:
            if not create:
                raise WorkspaceError(f"no digest.toml in {start} or any parent folder; run `digest init` to "
                                     "create a workspace")
            Workspace.create(start, DEFAULT_TITLE)
            root, created = start, True
        session = cls(load_settings(root).with_flags(**flags), Workspace(root), reporter)
        session.created = created
        return session

    def offline(self) -> Session:
        """A session on the same workspace and reporter that summarizes offline (no key, no cost)."""
        return Session(replace(self.settings, offline=True), self.workspace, self.reporter, owns_reporter=False)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the PDF workers, close every connection this session opened, and close the reporter
        (a live display gives the terminal back)."""
        with self._making:
            self._closed = True  # a worker thread still running after a second Ctrl-C makes nothing new
            try:
                for close in reversed(self._closers):
                    close()
            finally:
                self._closers.clear()
                self._made.clear()
                if self._owns_reporter:
                    self.reporter.close()

    def _once(self, name: str, make: Any, close: Any = None) -> Any:
        with self._making:
            if self._closed:
                raise Interrupted(f"the session is closed: no {name} is made after it")
            if name not in self._made:
                value = make()
                self._made[name] = value
                if close is not None:
                    self._closers.append(lambda: close(value))
            return self._made[name]

    # -- what commands use ------------------------------------------------------------------

    @property
    def http(self) -> Any:
        return self._once("http", lambda: make_http_client(self.settings), lambda client: client.close())

    @property
    def arxiv(self) -> ArxivClient:
        return self._once("arxiv", lambda: make_arxiv_client(self.settings, self.http))

    @property
    def counter(self) -> TokenCounter:
        def make() -> TokenCounter:
            from ..budget import TokenCounter

            counter = TokenCounter(self.settings.model, self.settings.tokenizer)
            if counter.notice:
                self.reporter.notice(counter.notice)
            return counter

        return self._once("counter", make)

    @property
    def prompts(self) -> Prompts:
        from ..prompts import load_prompts

        settings = self.settings
        return self._once("prompts", lambda: load_prompts(settings.workspace, settings.template, settings.language))

    @property
    def summarizer(self) -> Summarizer:
        """The backend the settings choose; the LLM one shares this session's counter and prompts."""
        def make() -> Summarizer:
            from ..summarize import make_summarizer

            counter = self.counter if self.settings.use_llm else None
            made = make_summarizer(self.settings, counter, self.prompts)
            if getattr(made, "notice", ""):  # e.g. the offline summarizer cannot write in [llm] language
                self.reporter.notice(made.notice)  # type: ignore[attr-defined]
            return made

        return self._once("summarizer", make, lambda summarizer: summarizer.close())

    @property
    def llm(self) -> LLMSummarizer:
        """The LLM backend itself, for what only it can do (the Batch API, ranking by topic)."""
        if not self.settings.use_llm:
            raise WorkspaceError("this needs OPENAI_API_KEY (and no --offline or DIGEST_OFFLINE)")
        llm: LLMSummarizer = self.summarizer  # type: ignore[assignment]  # use_llm: the openai backend
        return llm

    @property
    def price(self) -> Price | None:
        """What the summaries cost per million tokens (None: unknown, never taken as free)."""
        from ..pricing import price_for

        return price_for(self.settings)  # a look-up: asked for after close() too, by the closing lines

    def estimate(self, input_tokens: int, *, batch: bool = False) -> float | None:
        """Dollars of one summary request sending ``input_tokens``, at most: its output is taken as the
        whole max_output_tokens (a reasoning model's thinking is output too)."""
        from ..pricing import estimate

        return estimate(input_tokens, self.settings.max_output_tokens, self.price, batch=batch)

    @property
    def extractor(self) -> Extractor:
        """PDFs are read in worker processes, each paper bounded in time and memory (started on first use)."""
        def make() -> Extractor:
            from ..pdftext import Extractor

            s = self.settings
            return Extractor(s.extract_processes, s.pdf_engine, timeout=s.extract_timeout,
                             memory_mb=s.extract_memory_mb, figures=s.figures)

        return self._once("extractor", make, lambda extractor: extractor.close())

    @property
    def texts(self) -> TextCache:
        from ..textcache import TextCache

        return self._once("texts", lambda: TextCache(self.settings.cache_dir))

    @property
    def batches(self) -> BatchStore:
        from ..openai_batch import BatchStore

        return BatchStore(self.workspace.root / STATE / "batches")
