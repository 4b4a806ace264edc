"""The per-paper template as a pydantic model: what the LLM must return, and what the offline backend fills.

Its limits are the contract with the server: summarize.summary_json_schema sends exactly these, so
a server that enforces the schema answers within them. What can be cleaned (a name or list too
long, bullets, blank items) is cleaned here, never rejected. Kept apart from models.py so that
commands that never validate a summary (build, list, show) never import pydantic.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, field_validator

SHORT_NAME_CHARS = 80
PROSE_CHARS = 2000  # a field the prompt asks 1-4 sentences of; the cap stops a small model that loops
ITEM_CHARS = 500  # one insight, one quote
MAX_INSIGHTS = 8
MAX_EVIDENCE = 16

# No "pattern" keyword (it would say "not blank" as "\S"): llama.cpp's grammar converter drops
# minLength/maxLength from a string that has one, demands ^...$ anchors, and lets its "." emit a bare quote.
Prose = Annotated[str, Field(min_length=1, max_length=PROSE_CHARS)]
Item = Annotated[str, StringConstraints(min_length=1, max_length=ITEM_CHARS)]


def cut_at_word(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters: whole words and an ellipsis when it was longer."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    if " " in head.strip():
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:-") + "…"


class SummaryFields(BaseModel):
    """What the LLM must return; also what the offline backend produces."""

    short_name: str = Field(min_length=1, max_length=SHORT_NAME_CHARS,
                            description="Short name of the method or paper, e.g. 'MeZO'")
    tldr: Prose = Field(description="Two or three sentences: what the paper does and why it matters")
    whats_new: Prose = Field(description="The new idea or contribution")
    how_it_works: Prose = Field(description="How the method works, concretely")
    key_insights: list[Item] = Field(min_length=1, max_length=MAX_INSIGHTS,
                                     description="Key insights, one sentence each")
    results: Prose = Field(description="Main results with the paper's own numbers")
    code_url: str | None = Field(default=None, description="Code repository URL stated in the paper, or null")
    evidence: list[Item] = Field(default_factory=list, max_length=MAX_EVIDENCE,
                                 description="Short verbatim quotes from the paper backing the figures and names "
                                             "in results and key_insights")

    @field_validator("short_name", mode="before")
    @classmethod
    def _name_within_limit(cls, value: Any) -> Any:
        return cut_at_word(value.strip(), SHORT_NAME_CHARS) if isinstance(value, str) else value

    @field_validator("tldr", "whats_new", "how_it_works", "results", mode="before")
    @classmethod
    def _prose_within_limit(cls, value: Any) -> Any:
        return cut_at_word(value.strip(), PROSE_CHARS) if isinstance(value, str) else value

    @field_validator("key_insights", mode="before")
    @classmethod
    def _insights(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        cleaned = [v.strip().lstrip("-*• ").strip() if isinstance(v, str) else v for v in value]
        return [cut_at_word(v, ITEM_CHARS) if isinstance(v, str) else v for v in cleaned if v != ""][:MAX_INSIGHTS]

    @field_validator("evidence", mode="before")
    @classmethod
    def _quotes(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        joined = [" ".join(v.split()) if isinstance(v, str) else v for v in value]
        return [cut_at_word(v, ITEM_CHARS) if isinstance(v, str) else v for v in joined if v != ""][:MAX_EVIDENCE]

    @field_validator("code_url")
    @classmethod
    def _http_only(cls, value: str | None) -> str | None:
        if value and not value.strip().lower().startswith(("http://", "https://")):
            return None
        return value.strip() if value else None
