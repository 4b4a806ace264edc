"""The per-paper template: which fields a summary has, in what order, under what label, within what
limits, and which are editorial (never grounding-checked). Built-in fields and the writer's own from
[template] in digest.toml, as plain data that the schema, the prompt, the item body and the styles read.

Plain data and checks only: never imports pydantic, never reads a file (config.py hands it the table).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from .errors import ConfigError

SHORT_NAME_CHARS = 80
PROSE_CHARS = 2000  # a field the prompt asks 1-4 sentences of; the cap stops a small model that loops
ITEM_CHARS = 500  # one insight, one quote
MAX_INSIGHTS = 8
MAX_EVIDENCE = 16
KINDS = ("text", "list")
LEAD = "tldr"  # the item's first paragraph, written without a label
DEFAULT_LANGUAGE = "English"
# Always present, never chosen: the name in the front matter, the code link, the quotes grounding reads.
MACHINERY = ("short_name", "code_url", "evidence")
_RESERVED = {*MACHINERY, "notes",
             # an exported record's other keys
             "id", "title", "authors", "published", "categories", "section", "paper_url", "doi",
             # pydantic's own names on a model
             "copy", "dict", "json", "schema", "schema_json", "validate", "construct", "fields", "parse_obj",
             "parse_raw", "parse_file", "from_orm", "update_forward_refs"}
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_WORDS = r"[^\W\d_]+(?:[ '-][^\W\d_]+)*"
_LANGUAGE = re.compile(rf"{_WORDS}(?: \({_WORDS}\))?")  # "German", "Brazilian Portuguese", "Portuguese (Brazil)"
MAX_LABEL_CHARS = 60


@dataclass(frozen=True)
class TemplateField:
    """One field of the per-paper template. ``description`` goes into the JSON schema, ``instruction``
    into the prompt; ``max_length`` bounds a text, or each entry of a list of at most ``max_items``."""

    name: str
    label: str  # "" for the lead (tldr): the item's first paragraph
    description: str
    instruction: str
    kind: str = "text"
    editorial: bool = False
    max_length: int = PROSE_CHARS
    max_items: int = MAX_INSIGHTS
    builtin: bool = False


BUILTIN_FIELDS: dict[str, TemplateField] = {field.name: field for field in (
    TemplateField("tldr", "", "Two or three sentences: what the paper does and why it matters",
                  "2-3 sentences: what the paper does and why it matters.", builtin=True),
    TemplateField("whats_new", "What's new", "The new idea or contribution",
                  "1-3 sentences: the new idea or contribution, compared with prior work.", builtin=True),
    TemplateField("how_it_works", "How it works", "How the method works, concretely",
                  "2-4 sentences: how the method works, concretely.", builtin=True),
    TemplateField("key_insights", "Key insights", "Key insights, one sentence each",
                  "a list of 2-4 strings, one insight per string, each a single sentence.", kind="list",
                  max_length=ITEM_CHARS, builtin=True),
    TemplateField("results", "Results", "Main results with the paper's own numbers",
                  "1-3 sentences with the paper's main results, quoting its own numbers and benchmark names "
                  "exactly.", builtin=True),
)}


@dataclass(frozen=True)
class Template:
    """The fields of every summary, in the order the item, the prompt and the newsletter show them."""

    fields: tuple[TemplateField, ...] = tuple(BUILTIN_FIELDS.values())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.fields)

    @property
    def editorial(self) -> tuple[str, ...]:
        """The fields grounding never checks: the writer's opinion, not the paper's claims."""
        return tuple(field.name for field in self.fields if field.editorial)

    def field(self, name: str) -> TemplateField | None:
        """The definition of ``name``: this template's, else the built-in one (an older item may hold it)."""
        return next((field for field in self.fields if field.name == name), BUILTIN_FIELDS.get(name))

    @property
    def fingerprint(self) -> str:
        """Changes whenever anything a model is asked for changes (for cache keys and prompt hashes)."""
        from .files import stable_hash

        return stable_hash([asdict(field) for field in self.fields])[:16]


DEFAULT_TEMPLATE = Template()


def is_default_language(language: str) -> bool:
    return language.strip().casefold() in ("english", "en")


# -- [template] in digest.toml ---------------------------------------------------------------------

_FIELD_KEYS = {"label": str, "description": str, "kind": str, "editorial": bool, "max_length": int,
               "max_items": int}
_LIMITS = {"max_length": (1, 20_000), "max_items": (1, 50)}


def read_template(table: dict[str, Any], path: Any) -> Template:
    """The template [template] in digest.toml at ``path`` describes; one ConfigError line naming the key."""
    unknown = sorted(set(table) - {"fields", "field"})
    if unknown:
        raise ConfigError(f"{path}: unknown setting 'template.{_in_key(unknown[0])}' "
                          "(template.fields or [template.field.NAME])")
    defined = table.get("field", {})
    if not isinstance(defined, dict) or not all(isinstance(v, dict) for v in defined.values()):
        raise ConfigError(f"{path}: 'template.field' must hold tables like [template.field.why_it_matters]")
    fields = {name: _field(name, spec, f"{path}: 'template.field.{_in_key(name)}") for name, spec in defined.items()}
    listed = _listed(table, fields, path)
    chosen = tuple(fields.get(name) or BUILTIN_FIELDS[name] for name in listed)
    labels: dict[str, str] = {}
    for field in chosen:
        if field.label and field.label.casefold() in labels:
            raise ConfigError(f"{path}: 'template.field.{field.name}.label' {field.label!r} is already the label "
                              f"of {labels[field.label.casefold()]}")
        labels[field.label.casefold()] = field.name
    return Template(chosen)


def _listed(table: dict[str, Any], fields: dict[str, TemplateField], path: Any) -> list[str]:
    """template.fields, checked: names known, none twice, the lead first; without it, the built-in
    fields followed by the writer's own."""
    if "fields" not in table:
        return [*BUILTIN_FIELDS, *(name for name in fields if name not in BUILTIN_FIELDS)]
    listed = table["fields"]
    where = f"{path}: 'template.fields'"
    if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
        raise ConfigError(f"{where} must be a list of field names")
    if not listed:
        raise ConfigError(f"{where} is empty: name at least one field, e.g. [\"tldr\", \"results\"]")
    for name in listed:
        if listed.count(name) > 1:
            raise ConfigError(f"{where} names {name!r} twice")
        if name not in BUILTIN_FIELDS and name not in fields:
            raise ConfigError(f"{where} names {name!r}, which is neither a built-in field "
                              f"({', '.join(BUILTIN_FIELDS)}) nor defined under [template.field.{_in_key(name)}]")
    missing = [name for name in fields if name not in listed]
    if missing:
        raise ConfigError(f"{path}: 'template.field.{_in_key(missing[0])}' is defined but not listed in "
                          "template.fields")
    if LEAD in listed and listed[0] != LEAD:
        raise ConfigError(f"{where} must start with {LEAD!r}: the TL;DR is the item's first paragraph")
    return listed


def _field(name: str, spec: dict[str, Any], where: str) -> TemplateField:
    """[template.field.NAME]: a built-in field retold (label, description, limits), or a new one."""
    if name in _RESERVED or name.startswith("model_"):
        raise ConfigError(f"{where}' is not a usable field name: digest uses {_quoted(name)} itself")
    if not _NAME.fullmatch(name):
        raise ConfigError(f"{where}' is not a usable field name: a lower-case letter, then lower-case letters, "
                          "digits and _ (at most 40 in all)")
    for key, value in spec.items():
        expected = _FIELD_KEYS.get(key)
        if expected is None:
            raise ConfigError(f"{where}.{key}' is not a setting of a field ({', '.join(_FIELD_KEYS)})")
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            wanted = "true or false" if expected is bool else f"a {expected.__name__}"
            raise ConfigError(f"{where}.{key}' must be {wanted}")
        if key in _LIMITS and not _LIMITS[key][0] <= value <= _LIMITS[key][1]:
            raise ConfigError(f"{where}.{key}' must be from {_LIMITS[key][0]} to {_LIMITS[key][1]}, got {value}")
    builtin = BUILTIN_FIELDS.get(name)
    kind = spec.get("kind", builtin.kind if builtin else "text")
    if kind not in KINDS:
        raise ConfigError(f"{where}.kind' must be text or list, got {_quoted(kind)}")
    if builtin and kind != builtin.kind:
        raise ConfigError(f"{where}.kind' cannot change: {name} is a built-in {builtin.kind} field")
    if kind == "text" and "max_items" in spec:
        raise ConfigError(f"{where}.max_items' is for a list field; a text has max_length only")
    label = _label(spec, builtin, where)
    description = " ".join(str(spec.get("description", "")).split())
    if not builtin and not description:
        raise ConfigError(f"{where}.description' is missing: say what the model should write there")
    if builtin:
        field = replace(builtin, label=label, editorial=spec.get("editorial", False))
        if description:
            field = replace(field, description=description, instruction=description)
    else:
        field = TemplateField(name, label, description, description if kind == "text" else
                              f"a list of strings, one per entry: {description}", kind, spec.get("editorial", False),
                              PROSE_CHARS if kind == "text" else ITEM_CHARS)
    return replace(field, max_length=spec.get("max_length", field.max_length),
                   max_items=spec.get("max_items", field.max_items))


def _label(spec: dict[str, Any], builtin: TemplateField | None, where: str) -> str:
    """The field's label in the item and the newsletter: one short line a body can be split at."""
    if "label" not in spec:
        if builtin is None:
            raise ConfigError(f"{where}.label' is missing: the heading the field is written under")
        return builtin.label
    if builtin is not None and not builtin.label:
        raise ConfigError(f"{where}.label' cannot be set: the TL;DR is the item's first paragraph, unlabelled")
    label = spec["label"]
    if label != label.strip() or not label or re.search(r"[\x00-\x1f\x7f*]|:$", label) or len(label) > MAX_LABEL_CHARS:
        raise ConfigError(f"{where}.label' must be one line of 1 to {MAX_LABEL_CHARS} characters without * or a "
                          f"trailing colon, got {_quoted(label)}")
    return label


def read_language(value: str, where: str) -> str:
    """[llm] language: a language's name, as the prompt names it ("German", "Brazilian Portuguese")."""
    if not _LANGUAGE.fullmatch(value) or len(value) > 40:
        raise ConfigError(f"{where} must be the name of a language, e.g. \"German\", got {_quoted(value)}")
    return value


def _in_key(name: str) -> str:
    """A name from digest.toml as part of a key in a message: one line, short."""
    text = name if name.isprintable() else name.encode("unicode_escape").decode()
    return text if len(text) <= 40 else text[:37] + "..."


def _quoted(value: Any) -> str:
    """A value from digest.toml in a message: quoted, one line, short."""
    text = repr(value)
    return text if len(text) <= 42 else text[:39] + "..."
