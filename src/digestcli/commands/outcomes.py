"""What adding papers and links produces: one Outcome per input, gathered in an AddReport.

Plain data shared by add, feed and the Batch API commands; the CLI turns a report into lines and
an exit code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..models import Summary


class Status(str, Enum):
    """What became of one input."""

    ADDED = "added"  # an item was written
    REFRESHED = "refreshed"  # --refresh: its arXiv metadata was updated
    SKIPPED = "skipped"  # already in the issue (or a link in a dry run)
    FAILED = "failed"  # named in the outcome's message
    INTERRUPTED = "interrupted"  # Ctrl-C came first; rerunning finishes it
    PLANNED = "planned"  # --dry-run: what would be sent
    QUEUED = "queued"  # --batch: its request waits in an OpenAI Batch API batch
    NOT_STARTED = "not started (cost cap)"  # skipped: its summary would have taken the run past --max-cost

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ItemOptions:
    """What the author sets on the items of one `digest add`: section, own title, note, quote."""

    section: str = ""
    title: str = ""
    note: str = ""
    quote: str = ""


@dataclass(frozen=True)
class Plan:
    """--dry-run: what one paper would send, and what it would cost at most (None: price unknown)."""

    id: str
    title: str
    tokens: int
    cached: bool
    full_text_tokens: int
    text_source: str
    output_tokens: int = 0  # the most it may write: max_output_tokens (0 when cached)
    cost: float | None = 0.0
    over_cap: bool = False  # --max-cost would not start it


@dataclass
class Outcome:
    input: str
    status: Status
    message: str = ""
    key: str = ""
    summary: Summary | None = None
    plan: Plan | None = None
    queued: Any = None  # --batch: the Batch API entry of this paper
    position: int = 0  # place in the command's queue (outcomes arrive in completion order)
    cost: float | None = 0.0  # dollars its item records (None: price unknown); this run paid it unless cached


@dataclass
class AddReport:
    """Outcomes are appended as they happen, so a caller that is interrupted still knows what was saved."""

    issue: str
    outcomes: list[Outcome] = field(default_factory=list)
    batch_id: str = ""  # --batch: the batch that was created

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def in_order(self) -> list[Outcome]:
        return sorted(self.outcomes, key=lambda o: o.position)

    @property
    def plans(self) -> list[Plan]:
        return [o.plan for o in self.in_order() if o.plan]

    @property
    def tokens(self) -> tuple[int, int]:
        spent = [o.summary.usage for o in self.outcomes if o.summary and not o.summary.cached]
        return sum(u.input_tokens for u in spent), sum(u.output_tokens for u in spent)

    @property
    def paid(self) -> list[float | None]:
        """The cost of each summary this run paid for (None where the price is unknown)."""
        return [o.cost for o in self.outcomes if o.summary and not o.summary.cached]

    def summary(self) -> str:
        """One line: how many inputs came to what, and the tokens spent."""
        count = self.count
        capped = f", {count(Status.NOT_STARTED)} {Status.NOT_STARTED}" if count(Status.NOT_STARTED) else ""
        where = f"{count(Status.SKIPPED)} skipped, {count(Status.FAILED)} failed{capped} in {self.issue}"
        if count(Status.QUEUED):
            return f"{count(Status.QUEUED)} queued in the batch, {count(Status.ADDED)} added from the cache, {where}"
        if count(Status.PLANNED):
            return f"{count(Status.PLANNED)} planned, {where}"
        counts = [f"{count(status)} {status}" for status in (Status.ADDED, Status.REFRESHED, Status.SKIPPED,
                                                             Status.FAILED, Status.NOT_STARTED)
                  if count(status) or status not in (Status.REFRESHED, Status.NOT_STARTED)]
        tokens_in, tokens_out = self.tokens
        spent = f"; {tokens_in} input / {tokens_out} output tokens spent" if tokens_in or tokens_out else ""
        return f"{', '.join(counts)} in {self.issue}{spent}"
