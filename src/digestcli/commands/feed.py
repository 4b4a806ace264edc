"""`digest feed`: new arXiv submissions in some categories, filtered and optionally ranked by topic.

Never prints; adding the papers found is `add`'s work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ..errors import UsageError
from ..models import Paper
from ..text import split_sentences
from .session import Session


@dataclass(frozen=True)
class FeedEntry:
    paper: Paper
    authors: str  # the first three, then "et al."
    first_sentence: str  # of the abstract


def _entry(paper: Paper) -> FeedEntry:
    authors = ", ".join(paper.authors[:3]) + (" et al." if len(paper.authors) > 3 else "")
    return FeedEntry(paper, authors, (split_sentences(paper.abstract) or [""])[0])


def since_time(text: str, now: datetime | None = None) -> datetime:
    """'1d', '12h', '2w' before ``now``, or a date YYYY-MM-DD (UTC)."""
    now = now or datetime.now(timezone.utc)
    relative = re.fullmatch(r"(\d+)\s*([hdw])", text.strip().lower())
    try:
        if relative:
            amount, unit = int(relative.group(1)), relative.group(2)
            return now - timedelta(hours=amount * {"h": 1, "d": 24, "w": 168}[unit])
        return datetime.fromisoformat(text.strip()).replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError):  # OverflowError: 999999d is before the year 1
        raise UsageError(f"{text!r}: use 12h, 1d, 2w or a date such as 2026-11-20", "--since") from None


def check_query(categories: list[str], match: str | None) -> re.Pattern[str] | None:
    """The --match pattern, compiled, once the categories are known to be arXiv's."""
    for category in categories:
        if not re.fullmatch(r"[a-z-]+(\.[A-Za-z-]+)?", category):
            raise UsageError(f"{category!r} is not an arXiv category such as cs.CL", "CATEGORY")
    try:
        return re.compile(match, re.IGNORECASE) if match else None
    except re.error as error:
        raise UsageError(f"{match!r}: {error}", "--match") from None


def feed(session: Session, categories: list[str], since: datetime, *, match: str | None = None,
         rank: bool = False, until: datetime | None = None) -> list[FeedEntry]:
    """Submissions in ``categories`` from ``since`` to ``until`` (default now) whose title or abstract
    matches the regular expression ``match`` (any case); ``rank`` orders them by relevance to the
    newsletter's topic, in one LLM request."""
    pattern = check_query(categories, match)
    if rank and not (session.settings.use_llm and session.settings.topic):
        raise UsageError("--rank needs OPENAI_API_KEY and a topic under [newsletter] in digest.toml")
    papers = session.arxiv.search(categories, since, until or datetime.now(timezone.utc))
    if pattern is not None:
        papers = [p for p in papers if pattern.search(f"{p.title}\n{p.abstract}")]
    entries = [_entry(p) for p in papers]
    if rank and len(entries) > 1:
        from ..llm import rank_by_topic

        order = rank_by_topic(session.llm, session.settings.topic,
                              [(e.paper.title, e.first_sentence) for e in entries])
        entries = [entries[i] for i in order]
    return entries
