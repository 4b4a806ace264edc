"""Plain data passed between the pipeline stages.

Nothing here does I/O: each stage can be tested by building these by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .schema import SummaryFields


# Section kinds found in a paper, in the order the token budget prefers them.
SECTION_PRIORITY = ("abstract", "introduction", "method", "results", "conclusion", "other", "appendix")
NEVER_SENT = ("references",)


@dataclass(frozen=True)
class ArxivId:
    """A normalised arXiv identifier: base id plus optional version."""

    base: str  # "2305.17333" or "hep-th/9901001"
    version: int | None = None

    @property
    def versioned(self) -> str:
        return f"{self.base}v{self.version}" if self.version else self.base

    @property
    def filename(self) -> str:
        """Safe file stem: old-style ids have a slash."""
        return self.base.replace("/", "_")

    def __str__(self) -> str:
        return self.versioned


@dataclass(frozen=True)
class Paper:
    """Metadata of one paper version as the arXiv API reports it."""

    id: ArxivId  # always carries the version arXiv returned
    title: str
    abstract: str
    authors: tuple[str, ...]
    published: str  # ISO date, YYYY-MM-DD
    updated: str
    primary_category: str
    categories: tuple[str, ...]
    comment: str = ""
    journal_ref: str = ""
    doi: str = ""
    abs_url: str = ""
    pdf_url: str = ""  # from the feed; only a fallback for download
    source: str = "arxiv"  # or "pdf": a paper from any PDF address (OpenReview, a conference site)
    affiliations: tuple[str, ...] = ()  # the authors' affiliations where arXiv lists them, distinct, in order


@dataclass(frozen=True)
class Section:
    kind: str  # one of SECTION_PRIORITY or NEVER_SENT
    heading: str
    text: str
    page: int = 1  # first page the section appears on


@dataclass(frozen=True)
class PaperText:
    """Cleaned text of a paper, split into sections."""

    sections: tuple[Section, ...]
    pages: int
    source: str  # "pdf" or "abstract" (fallback)
    code_links: tuple[str, ...] = ()
    warning: str = ""  # why the PDF was not used, if it was not
    text_hash: str = ""
    page_texts: tuple[str, ...] = ()  # cleaned text of each PDF page, for grounding checks
    engine: str = ""  # the PDF engine that read it ("pdfium" or "pypdf"; "" without a PDF)
    figures: tuple = ()  # figures.FigureInfo of each captioned figure (found in the PDF, not rendered)

    def text_of(self, *kinds: str) -> str:
        return "\n\n".join(s.text for s in self.sections if s.kind in kinds)

    @property
    def full_text(self) -> str:
        return "\n\n".join(s.text for s in self.sections)


@dataclass(frozen=True)
class ContextPart:
    kind: str
    heading: str
    text: str
    tokens: int
    full_tokens: int  # before cutting

    @property
    def truncated(self) -> bool:
        return self.tokens < self.full_tokens


@dataclass(frozen=True)
class Context:
    """The paper text selected to fit the LLM input budget."""

    parts: tuple[ContextPart, ...]
    tokens: int  # tokens of the joined context text
    full_tokens: int  # tokens of all sendable sections uncut
    budget: int
    tokenizer: str  # encoding name, or "estimate"

    @property
    def text(self) -> str:
        return "\n\n".join(f"## {p.heading}\n{p.text}" for p in self.parts)

    @property
    def kept_sections(self) -> list[str]:
        return [p.kind + ("(cut)" if p.truncated else "") for p in self.parts]


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0  # of input_tokens, those the server read from its prompt cache (billed less)
    reasoning_tokens: int = 0  # the part of output_tokens a reasoning model spent thinking

    def __add__(self, other: Usage) -> Usage:
        """Two requests' usage together (an answer and its repair), every count summed."""
        from dataclasses import fields

        return Usage(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


@dataclass(frozen=True)
class Summary:
    """A filled per-paper template plus how it was made."""

    fields: SummaryFields
    backend: str  # "openai" (any OpenAI-compatible server) or "offline"
    model: str
    prompt_hash: str = ""
    usage: Usage = Usage()
    cached: bool = False  # True when no tokens were spent this run
    warnings: tuple[str, ...] = ()
    filled: tuple[str, ...] = ()  # fields the model failed twice, taken from the offline extractive summary


@dataclass
class IssueInfo:
    name: str
    title: str
    date: str  # YYYY-MM-DD
    description: str = ""
    tags: list[str] = field(default_factory=list)
    intro: str = ""
    image: str = ""


def __getattr__(name: str) -> Any:
    # SummaryFields is a pydantic model; importing pydantic costs ~0.1-0.2 s, which
    # `digest build` and `digest list` never need. Load it on first use.
    if name == "SummaryFields":
        from .schema import SummaryFields

        return SummaryFields
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
