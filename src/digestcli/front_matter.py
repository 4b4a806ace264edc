"""Markdown files with YAML front matter: read safely, written in one stable form.

Reading refuses YAML nested too deeply or made of many aliases, and names the file and line of
broken YAML; checks fields against a schema the caller gives. Knows no field name: what the fields
mean is items.py's business.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

from .errors import WorkspaceError


class FileVanished(WorkspaceError):
    """A file listed a moment ago is gone (removed or being replaced, as `git pull` does)."""


def dump(meta: dict[str, Any], body: str) -> str:
    """Front matter in the order given, then the body."""
    import yaml

    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)
    return f"---\n{front}---\n\n{body.strip()}\n"


def read(path: Path) -> tuple[dict[str, Any], str]:
    """(front matter, body) of a file, or one WorkspaceError naming it (FileVanished when it is gone)."""
    import frontmatter
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileVanished(f"{path}: no such file (removed while it was being read?)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise WorkspaceError(f"{path}: cannot read: {error}") from None
    try:
        meta, body = frontmatter.parse(text, handler=_yaml_handler() if text.startswith("---") else None)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        # The YAML text starts right after the opening "---", so its 0-based line is the file's 1-based line.
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise WorkspaceError(f"{path}: front matter is broken{where}: {problem}; fix it by hand") from None
    except _OddYaml as error:
        raise WorkspaceError(f"{path}: front matter {error}; fix it by hand") from None
    if not isinstance(meta, dict) or not meta:
        raise WorkspaceError(f"{path}: front matter is missing or not a mapping; fix it by hand")
    return dict(meta), body


MAX_YAML_DEPTH = 32  # digest writes 3 levels (provenance.grounding.unverified); libyaml's C stack is finite
MAX_YAML_ALIASES = 64  # aliases can make a small file expand into gigabytes of text


class _OddYaml(Exception):
    pass


def _check_yaml_shape(front: str, loader: Any) -> None:
    """Refuse YAML nested too deeply (it overflows the C parser's stack) or made of many aliases, before loading
    it. Reads parse events only, which libyaml makes without recursion, and stops at the first excess."""
    import yaml

    depth = aliases = 0
    for event in yaml.parse(front, Loader=loader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise _OddYaml(f"is nested more than {MAX_YAML_DEPTH} levels deep")
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                raise _OddYaml(f"uses more than {MAX_YAML_ALIASES} YAML aliases (*name)")


@functools.cache
def _yaml_handler() -> Any:
    """python-frontmatter's YAML handler, on libyaml's C loader when PyYAML has it (5-10x faster)."""
    import yaml
    from frontmatter.default_handlers import YAMLHandler

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Handler(YAMLHandler):
        def load(self, fm: str, **kwargs: object) -> Any:
            _check_yaml_shape(fm, loader)
            return yaml.load(fm, Loader=loader)  # noqa: S506 - a safe loader

    return Handler()


# -- checking fields by a schema (the caller's: this module knows no field) ----------------------

TEXT = "text"
TEXTS = "a list of texts"
MAPPING = "a mapping"
WHOLE = "a whole number"
NUMBER = "a number"
FLAG = "true or false"


def validate(path: Path | str, meta: dict[str, Any], fields: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``meta`` with every field digest reads made well-typed, or one WorkspaceError naming the file and field."""
    checked = dict(meta)
    for name, kind in fields.items():
        value = meta.get(name)
        if value is None:
            continue
        field = f"{prefix}{name}"
        if isinstance(kind, dict):
            if not isinstance(value, dict):
                raise _wrong(path, field, MAPPING, value)
            checked[name] = validate(path, value, kind, f"{field}.")
        elif kind == TEXT:
            checked[name] = _text(path, field, value)
        elif kind == TEXTS:
            values = value if isinstance(value, list) else [value]
            checked[name] = [_text(path, field, v, TEXTS) for v in values if v is not None]
        elif kind == WHOLE:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise _wrong(path, field, WHOLE, value)
            checked[name] = value
        elif kind == NUMBER:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise _wrong(path, field, NUMBER, value)
            checked[name] = value
        elif kind == FLAG and not isinstance(value, bool):
            raise _wrong(path, field, FLAG, value)
    return checked


def _text(path: Path | str, field: str, value: Any, kind: str = TEXT) -> str:
    from datetime import date

    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, date)):  # bool is an int
        return str(value)
    raise _wrong(path, field, kind, value, inside=kind == TEXTS)


def _wrong(path: Path | str, field: str, kind: str, value: Any, inside: bool = False) -> WorkspaceError:
    got = "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) else repr(value)[:40]
    where = " inside the list" if inside else ""
    return WorkspaceError(f"{path}: front-matter field '{field}' must be {kind}, got {got}{where}; fix it by hand")
