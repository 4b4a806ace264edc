"""Progress of a command: the Reporter protocol the command layer calls, and its three reporters
(a live rich table on a terminal, one line per event otherwise, silence for the Python API).

Every reporter takes the same calls (stage, warn, fail, notice, spent, close), possibly from
several worker threads at once. The one home of a line on stderr (``echo_err``). Prices live in
pricing.py; a reporter only adds up the dollars it is told.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import typer

from .redaction import redact
from .sanitize import terminal_text

STAGES = ("metadata", "pdf", "text", "summary", "queued", "saving", "saved")
HEARTBEAT = 30.0  # seconds between the line reporter's "still summarizing" lines for a slow paper


class Reporter(Protocol):
    def stage(self, paper: str, stage: str, detail: str = "") -> None: ...
    def spent(self, paper: str, tokens_in: int, tokens_out: int, cost: float | None) -> None: ...
    def warn(self, message: str) -> None: ...
    def fail(self, message: str) -> None: ...
    def notice(self, message: str) -> None: ...
    def close(self) -> None: ...


class QuietReporter:
    """Says nothing: for the Python API, where the result carries the outcomes."""

    def stage(self, paper: str, stage: str, detail: str = "") -> None:
        pass

    def spent(self, paper: str, tokens_in: int, tokens_out: int, cost: float | None) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def fail(self, message: str) -> None:
        pass

    def notice(self, message: str) -> None:
        pass

    def close(self) -> None:
        pass


def shown(text: str) -> str:
    """Text bound for the terminal as one line: no API key, no escape sequence from a title or a server.
    (Redacted before and after, so a key split by a control character or a line break is caught too.)"""
    return redact(terminal_text(redact(text)))


def echo_err(message: str) -> None:
    """One line on stderr, as every digest message is written."""
    typer.echo(shown(message), err=True)


def echo_traceback(error: BaseException) -> None:
    """--debug: the traceback on stderr, redacted and without control characters (it quotes outside
    text too); printed here, not by Python, so that it passes through redaction."""
    import traceback

    from .sanitize import without_controls

    typer.echo(without_controls(redact("".join(traceback.format_exception(error)).rstrip("\n"))), err=True)



def _rich(text: str) -> str:
    """Outside text for a rich console: ``shown``, and no rich markup of its own."""
    from rich.markup import escape

    return escape(shown(text))


def _paper_of(message: str) -> str:
    """The paper a failure line names ("2304.08485v1: ..." -> "2304.08485")."""
    return message.split(":", 1)[0].rsplit("v", 1)[0]


def elapsed(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


class SummaryClock:
    """When each paper's summary started, until the paper moves on: how long a slow server has had it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.since: dict[str, float] = {}

    def track(self, paper: str, stage: str) -> None:
        if stage == "summary":
            self.since.setdefault(paper, self.clock())
        else:
            self.since.pop(paper, None)

    def running(self) -> list[tuple[str, float]]:
        now = self.clock()
        return [(paper, now - start) for paper, start in self.since.items()]


class LineReporter:
    """One line per event on stderr: for logs, pipes and CI; and every ``heartbeat`` seconds a line for
    each paper whose summary is still running (a slow local server is still reading it)."""

    def __init__(self, heartbeat: float = HEARTBEAT, clock: Callable[[], float] = time.monotonic) -> None:
        self._said: set[str] = set()
        self._lock = threading.Lock()
        self.heartbeat = heartbeat
        self.summaries = SummaryClock(clock)
        self._closed = threading.Event()
        self._beating = False

    def stage(self, paper: str, stage: str, detail: str = "") -> None:
        with self._lock:
            self.summaries.track(paper, stage)
            if stage == "summary" and not self._beating and self.heartbeat > 0:
                self._beating = True
                threading.Thread(target=self._beat_until_closed, daemon=True, name="digest-heartbeat").start()
        if stage in ("metadata", "pdf", "text", "saving"):
            return  # quick steps; the summary and saved lines carry the news
        separator = " " if stage == "saved" else " ("
        closing = "" if stage == "saved" else ")"
        with self._lock:
            echo_err(f"{paper}: {stage}" + (f"{separator}{detail}{closing}" if detail else ""))

    def beat(self) -> None:
        """A line for each paper summarizing for at least ``heartbeat`` seconds."""
        with self._lock:
            for paper, seconds in self.summaries.running():
                if seconds >= self.heartbeat:
                    echo_err(f"{paper}: still summarizing, {elapsed(seconds)} so far")

    def _beat_until_closed(self) -> None:
        while not self._closed.wait(self.heartbeat):
            self.beat()

    def warn(self, message: str) -> None:
        with self._lock:
            echo_err(f"digest: warning: {message}")

    def fail(self, message: str) -> None:
        with self._lock:
            self.summaries.track(_paper_of(message), "failed")
            echo_err(f"digest: error: {message}")

    def notice(self, message: str) -> None:
        with self._lock:
            if message not in self._said:
                self._said.add(message)
                echo_err(f"digest: {message}")

    def spent(self, paper: str, tokens_in: int, tokens_out: int, cost: float | None) -> None:
        pass  # the closing summary line gives the totals

    def close(self) -> None:
        self._closed.set()


class RichReporter:
    """A live table on a terminal: each paper's stage, and the running totals (tokens, dollars)."""

    def __init__(self, model: str, console: Any = None, clock: Callable[[], float] = time.monotonic) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = console or Console(stderr=True)
        self.model = model
        self.rows: dict[str, tuple[str, str]] = {}
        self.tokens = [0, 0]
        self.cost: float | None = 0.0  # None once a summary's cost is unknown: never shown as $0
        self.summaries = SummaryClock(clock)
        self._said: set[str] = set()
        self._lock = threading.RLock()
        # Guards what the table shows; never held while waiting for another lock (the live display's
        # refresh thread takes it inside its own lock).
        self._shown_lock = threading.Lock()
        # Drawn anew at each refresh, so the time a summary has been running keeps counting.
        self._live = Live(console=self.console, refresh_per_second=4, transient=False, get_renderable=self._table)
        self._live.start()

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column("paper", style="bold")
        table.add_column("stage")
        table.add_column("detail", overflow="ellipsis", no_wrap=True, max_width=80)
        colours = {"saved": "green", "failed": "red", "summary": "yellow"}
        with self._shown_lock:
            running = dict(self.summaries.running())
            rows = list(self.rows.items())
            tokens = list(self.tokens)
            spent = self.cost
        for paper, (stage, detail) in rows:
            shown_stage = f"{stage} {elapsed(running[paper])}" if paper in running else stage
            table.add_row(_rich(paper), f"[{colours.get(stage, 'cyan')}]{shown_stage}[/]", _rich(detail))
        done = sum(1 for _, (stage, _) in rows if stage in ("saved", "failed", "skipped", "queued"))
        money = f", ~${spent:.4f}" if spent is not None else ", cost unknown"
        table.add_row("", "", f"[dim]{done}/{len(rows)} done; {tokens[0]} in / {tokens[1]} out "
                              f"tokens{money}[/]")
        return table

    def _update(self) -> None:
        self._live.refresh()

    def stage(self, paper: str, stage: str, detail: str = "") -> None:
        with self._lock:
            with self._shown_lock:
                self.rows[paper] = (stage, detail)  # shown through _rich, redacted there
                self.summaries.track(paper, stage)
            self._update()

    def warn(self, message: str) -> None:
        with self._lock:
            self.console.print(f"[yellow]digest: warning:[/] {_rich(message)}", markup=True, highlight=False)

    def fail(self, message: str) -> None:
        with self._lock:
            paper = _paper_of(message)
            with self._shown_lock:
                self.summaries.track(paper, "failed")
                if paper in self.rows:
                    self.rows[paper] = ("failed", message.split(":", 1)[1].strip())
            self._update()
            self.console.print(f"[red]digest: error:[/] {_rich(message)}", markup=True, highlight=False)

    def notice(self, message: str) -> None:
        message = redact(message)
        with self._lock:
            if message not in self._said:
                self._said.add(message)
                self.console.print(f"digest: {shown(message)}", markup=False, highlight=False)

    def spent(self, paper: str, tokens_in: int, tokens_out: int, cost: float | None) -> None:
        with self._lock:
            with self._shown_lock:
                self.tokens[0] += tokens_in
                self.tokens[1] += tokens_out
                self.cost = None if cost is None or self.cost is None else self.cost + cost
            self._update()

    def close(self) -> None:
        with self._lock:
            self._update()
            self._live.stop()


def make_reporter(model: str) -> LineReporter | RichReporter:
    """The live table when stderr is a terminal, plain lines otherwise."""
    if sys.stderr.isatty():
        return RichReporter(model)
    return LineReporter()
