"""The per-paper template as a pydantic model: what the LLM must return, and what the offline backend fills.

Kept apart from models.py so that commands that never validate a summary
(build, list, show) never import pydantic.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator


class SummaryFields(BaseModel):
    """What the LLM must return; also what the offline backend produces."""

    short_name: str = Field(min_length=1, max_length=80, description="Short name of the method or paper, e.g. 'MeZO'")
    tldr: str = Field(min_length=1, description="Two or three sentences: what the paper does and why it matters")
    whats_new: str = Field(min_length=1, description="The new idea or contribution")
    how_it_works: str = Field(min_length=1, description="How the method works, concretely")
    key_insights: list[str] = Field(min_length=1, max_length=8, description="Key insights, one sentence each")
    results: str = Field(min_length=1, description="Main results with the paper's own numbers")
    code_url: str | None = Field(default=None, description="Code repository URL stated in the paper, or null")
    evidence: list[str] = Field(default_factory=list, max_length=16,
                                description="Short verbatim quotes from the paper backing the figures and names "
                                            "in results and key_insights")

    @field_validator("short_name", "tldr", "whats_new", "how_it_works", "results")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("key_insights")
    @classmethod
    def _insights_not_blank(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip().lstrip("-*• ").strip() for v in value if v and v.strip()]
        if not cleaned:
            raise ValueError("must contain at least one insight")
        return cleaned

    @field_validator("evidence")
    @classmethod
    def _quotes(cls, value: list[str]) -> list[str]:
        return [" ".join(v.split()) for v in value if v and v.strip()]

    @field_validator("code_url")
    @classmethod
    def _http_only(cls, value: str | None) -> str | None:
        if value and not value.strip().lower().startswith(("http://", "https://")):
            return None
        return value.strip() if value else None
