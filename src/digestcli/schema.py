"""The per-paper template as a pydantic model: what the LLM must return, and what the offline backend fills.

Built from the template's definition (template.py), so the model's limits, the JSON schema
summarize.summary_json_schema sends and the validation are one list: a server that enforces the
schema answers within them. What can be cleaned (a name or list too long, bullets, blank items) is
cleaned here, never rejected. Kept apart from models.py so that commands that never validate a
summary (build, list, show) never import pydantic.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Callable

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StringConstraints, create_model

from .template import (DEFAULT_TEMPLATE, ITEM_CHARS, MAX_EVIDENCE, MAX_INSIGHTS, PROSE_CHARS,  # noqa: F401
                       SHORT_NAME_CHARS, Template, TemplateField)


def cut_at_word(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters: whole words and an ellipsis when it was longer."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    if " " in head.strip():
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:-") + "…"


def _within(limit: int) -> Callable[[Any], Any]:
    def clean(value: Any) -> Any:
        return cut_at_word(value.strip(), limit) if isinstance(value, str) else value
    return clean


def _entries(limit: int, count: int, tidy: Callable[[str], str]) -> Callable[[Any], Any]:
    """A list's entries tidied, blank ones and repeats dropped (a small model may list one insight four
    times), each within ``limit`` and at most ``count`` of them."""
    def clean(value: Any) -> Any:
        if not isinstance(value, list):
            return value
        kept, seen = [], set()
        for entry in value:
            entry = tidy(entry) if isinstance(entry, str) else entry
            key = " ".join(entry.lower().split()) if isinstance(entry, str) else None
            if entry == "" or key is not None and key in seen:
                continue
            seen.add(key)
            kept.append(cut_at_word(entry, limit) if isinstance(entry, str) else entry)
        return kept[:count]
    return clean


def _bullet(text: str) -> str:
    return text.strip().lstrip("-*• ").strip()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _http_only(value: str | None) -> str | None:
    if value and not value.strip().lower().startswith(("http://", "https://")):
        return None
    return value.strip() if value else None


# No "pattern" keyword (it would say "not blank" as "\S"): llama.cpp's grammar converter drops
# minLength/maxLength from a string that has one, demands ^...$ anchors, and lets its "." emit a bare quote.
def _annotation(field: TemplateField) -> Any:
    """The type of one template field: its limits for the schema, its cleaning for the validator."""
    if field.kind == "list":
        entry = Annotated[str, StringConstraints(min_length=1, max_length=field.max_length)]
        tidy = BeforeValidator(_entries(field.max_length, field.max_items, _bullet))
        return Annotated[list[entry], tidy,  # type: ignore[valid-type]
                         Field(min_length=1, max_length=field.max_items, description=field.description)]
    return Annotated[str, BeforeValidator(_within(field.max_length)),
                     Field(min_length=1, max_length=field.max_length, description=field.description)]


_QUOTE = Annotated[str, StringConstraints(min_length=1, max_length=ITEM_CHARS)]


@lru_cache(maxsize=16)
def summary_model(template: Template = DEFAULT_TEMPLATE) -> type[BaseModel]:
    """The model of a summary under ``template``: the short name, the template's fields in order, the
    code URL and the evidence quotes (the machinery every template has)."""
    fields: dict[str, Any] = {
        "short_name": (Annotated[str, BeforeValidator(_within(SHORT_NAME_CHARS)),
                                 Field(min_length=1, max_length=SHORT_NAME_CHARS,
                                       description="Short name of the method or paper, e.g. 'MeZO'")], ...),
        **{field.name: (_annotation(field), ...) for field in template.fields},
        "code_url": (Annotated[str | None, AfterValidator(_http_only)],
                     Field(default=None, description="Code repository URL stated in the paper, or null")),
        "evidence": (Annotated[list[_QUOTE], BeforeValidator(_entries(ITEM_CHARS, MAX_EVIDENCE, _one_line))],
                     Field(default_factory=list, max_length=MAX_EVIDENCE,
                           description="Short verbatim quotes from the paper backing the figures and names in "
                                       "results and key_insights")),
    }
    model: type[BaseModel] = create_model("SummaryFields", __doc__="What the LLM must return; also what the "
                                          "offline backend produces.", **fields)
    return model


SummaryFields = summary_model(DEFAULT_TEMPLATE)
