"""Summarizers: the one protocol every backend satisfies, the request it answers, and the checks
on the fields it fills.

Backends: the OpenAI-compatible LLM (llm.py) and the offline extractive one (offline.py). Adding
one is a module with a ``make(settings, counter, prompts)`` and a line in BACKENDS. Never prints,
never calls a server itself.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from .budget import TokenCounter, select_context
from .models import Context, Paper, PaperText, Summary
from .prompts import Prompts, build_messages
from .schema import SummaryFields, summary_model
from .template import DEFAULT_TEMPLATE, Template

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .config import Settings

FIELD_NAMES = tuple(SummaryFields.model_fields)  # under the default template; field_names(template) for any
OPTIONAL_FIELDS = ("evidence",)  # an answer without them is still a summary
REQUIRED_FIELDS = tuple(name for name, spec in SummaryFields.model_fields.items() if spec.is_required())
MIN_CONTEXT_TOKENS = 200  # the least of the paper sent, whatever the prompt costs

# backend name -> "module:factory"; the factory takes (settings, counter, prompts)
BACKENDS = {
    "openai": "digestcli.llm:make",
    "offline": "digestcli.offline:make",
}


@dataclass(frozen=True)
class Request:
    """What a summarizer sends for one paper: the context that fits, the chat messages, the input
    tokens they make, and the key its answer is cached (and paid for once) under; "" when the
    backend pays for nothing and caches nothing."""

    paper: Paper
    text: PaperText
    context: Context | None
    messages: list[dict[str, str]]
    tokens: int
    key: str = ""


class Summarizer(Protocol):
    backend: str  # recorded in each item's provenance
    model: str

    def request(self, paper: Paper, text: PaperText) -> Request: ...

    def cached(self, request: Request) -> Summary | None:
        """The answer already paid for, if any."""

    def summarize(self, paper: Paper, text: PaperText, context: Context | None = None) -> Summary: ...

    def lock(self, key: str) -> Any:
        """A file lock (acquire/release) on the cache entry ``key`` across processes, or None."""

    def describe(self, request: Request) -> str:
        """What summarizing the request means, for the progress line."""

    def close(self) -> None: ...


def make_summarizer(settings: Settings, counter: TokenCounter | None, prompts: Prompts) -> Summarizer:
    """The backend the settings choose (see Settings.backend)."""
    module, factory = BACKENDS[settings.backend].split(":")
    made: Summarizer = getattr(import_module(module), factory)(settings, counter, prompts)
    return made


def prepare_request(prompts: Prompts, counter: TokenCounter, budget: int, paper: Paper, text: PaperText) -> Request:
    """The context that fits ``budget`` input tokens next to the prompt, and the messages it makes."""
    overhead = sum(counter.count(m["content"]) + 4 for m in build_messages(prompts, paper, text, ""))
    context = select_context(text, max(MIN_CONTEXT_TOKENS, budget - overhead), counter)
    return Request(paper, text, context, build_messages(prompts, paper, text, context.text),
                   context.tokens + overhead)


def field_names(template: Template = DEFAULT_TEMPLATE) -> tuple[str, ...]:
    """Every field of a summary under ``template``, the machinery (short_name, code_url, evidence) included."""
    return tuple(summary_model(template).model_fields)


def required_fields(template: Template = DEFAULT_TEMPLATE) -> tuple[str, ...]:
    return tuple(name for name, spec in summary_model(template).model_fields.items() if spec.is_required())


def summary_json_schema(template: Template = DEFAULT_TEMPLATE, *, limits: bool = True) -> dict[str, Any]:
    """The JSON schema of the template's summary model as servers enforce it: every field required
    (nullable where the model allows null), nothing else allowed, and, with ``limits``, each length
    and count the model checks. Only keywords that both OpenAI's strict mode and llama.cpp's grammar
    converter read."""
    source = summary_model(template).model_json_schema()
    properties = {name: _portable(spec, limits) for name, spec in source["properties"].items()}
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


_LIMITS = ("minLength", "maxLength", "minItems", "maxItems")


def _portable(spec: dict[str, Any], limits: bool) -> dict[str, Any]:
    if "anyOf" in spec:  # Optional[str]: one list of types, as strict mode wants a nullable field
        merged = {key: value for option in spec["anyOf"] for key, value in option.items() if key != "type"}
        spec = {**merged, **{k: v for k, v in spec.items() if k != "anyOf"},
                "type": [option["type"] for option in spec["anyOf"]]}
    kept = ("type", "description", *(_LIMITS if limits else ()))
    portable = {key: spec[key] for key in kept if key in spec}
    if "items" in spec:
        portable["items"] = _portable(spec["items"], limits)
    return portable


# -- the fields a backend fills -----------------------------------------------------------


def extract_json_object(content: str) -> dict[str, Any] | None:
    """The first JSON object in ``content``: bare, in a code fence, or inside prose."""
    content = content.strip()
    fenced = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", content, re.S)
    candidates = [fenced.group(1)] if fenced else []
    candidates.append(content)
    decoder = json.JSONDecoder()
    for candidate in candidates:
        for match in re.finditer(r"\{", candidate):
            try:
                value, _ = decoder.raw_decode(candidate, match.start())
            except ValueError:
                continue
            except RecursionError:  # nested deeper than any summary: not an answer
                return None
            if isinstance(value, dict):
                return value
    return None


def validate_fields(data: dict[str, Any], *, clean: bool = True,
                    template: Template = DEFAULT_TEMPLATE) -> tuple[BaseModel | None, dict[str, str]]:
    """Validated fields of ``template``, or the problems per field name. A model's prose is cleaned as
    the paper's is (no citation, stamp, control byte or glyph salad survives into an item); a cached
    answer was cleaned before it was cached."""
    from .pdfclean import prose_text

    model = summary_model(template)
    known = {k: v for k, v in data.items() if k in model.model_fields}
    for field in template.fields:
        value = known.get(field.name)
        if field.kind == "list" and isinstance(value, str):  # one entry a line
            known[field.name] = value = [line for line in value.splitlines() if line.strip()]
        if clean and isinstance(value, str):
            known[field.name] = prose_text(value, marks=False)
        elif clean and isinstance(value, list):
            known[field.name] = [prose_text(v, marks=False) if isinstance(v, str) else v for v in value]
    try:
        return model.model_validate(known), {}
    except ValidationError as error:
        problems: dict[str, str] = {}
        for detail in error.errors():
            field = str(detail["loc"][0]) if detail["loc"] else "object"
            problems.setdefault(field, detail["msg"].lower())
        return None, problems


def salvage_fields(data: dict[str, Any], problems: dict[str, str], fallback: BaseModel,
                   template: Template = DEFAULT_TEMPLATE) -> tuple[BaseModel | None, tuple[str, ...]]:
    """An answer whose fields ``problems`` still fail after its repair, field by field: a failed field
    with a default (code_url, evidence) gets it, a failed required one the ``fallback``'s value (a
    summary under the same ``template``). Returns the fields and the names taken from the fallback;
    no fields when none of the required ones came from the answer (then it is no summary at all)."""
    names, required = field_names(template), required_fields(template)
    failed = {name for name in names if name in problems or (name in required and name not in data)}
    filled = tuple(name for name in required if name in failed)
    if len(filled) == len(required):
        return None, filled
    kept = {name: value for name, value in data.items() if name in names and name not in failed}
    kept.update({name: getattr(fallback, name) for name in filled})
    fields, _ = validate_fields(kept, template=template)
    return fields, filled if fields is not None else ()
