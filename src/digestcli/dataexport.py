"""An issue's items as data: JSON, BibTeX or CSV (for reference managers, spreadsheets, other tools).

Pure, like render.py: the same items give byte-identical output.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from .items import Item, parse_body
from .sanitize import safe_url, without_controls
from .template import DEFAULT_TEMPLATE, Template

FORMATS = ("json", "bibtex", "csv")
CSV_COLUMNS = ("id", "title", "authors", "published", "section", "paper_url", "code_url", "tldr")


def records(items: list[Item], template: Template = DEFAULT_TEMPLATE) -> list[dict[str, Any]]:
    """One plain record per item: its metadata and its summary fields (read under ``template``) as they
    are on disk now."""
    out = []
    for item in items:
        parts = parse_body(item.body, template)
        out.append({
            "id": item.arxiv_id or item.url or item.key,
            "title": item.title,
            "authors": item.authors,
            "published": item.published,
            "categories": item.categories,
            "section": item.section,
            "paper_url": item.paper_url or item.url,
            "code_url": item.code_url,
            "doi": item.doi,
            **{name: value for name, value in parts.items() if name != "notes"},
            "notes": parts["notes"],
        })
    return out


def _inert(value: Any) -> Any:
    """A record's value without control characters (no format carries them to a terminal or a tool)."""
    if isinstance(value, str):
        return without_controls(value)
    if isinstance(value, list):
        return [_inert(entry) for entry in value]
    return value


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: one that would start a formula gets a leading quote."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export(items: list[Item], fmt: str, template: Template = DEFAULT_TEMPLATE) -> str:
    rows = [{name: _inert(value) for name, value in row.items()} for row in records(items, template)]
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow([_cell("; ".join(row[c]) if isinstance(row[c], list) else row[c]) for c in CSV_COLUMNS])
        return buffer.getvalue()
    if fmt == "bibtex":
        return "\n".join(_bibtex(row) for row in rows)
    raise ValueError(f"unknown format {fmt!r}")


def _bibtex(row: dict[str, Any]) -> str:
    arxiv = re.fullmatch(r"(.+?)(v\d+)?", row["id"]).group(1) if row["id"] else ""
    first = (row["authors"][0].split()[-1] if row["authors"] else "anon").lower()
    year = row["published"][:4] if re.fullmatch(r"\d{4}", row["published"][:4]) else ""
    key = re.sub(r"[^a-z0-9]", "", f"{first}{year}{_first_word(row['title'])}") or "item"
    fields = {
        "title": "{" + _tex(row["title"]) + "}",
        "author": " and ".join(_tex(a) for a in row["authors"]),
        "year": year,
        "eprint": _tex(arxiv) if row["paper_url"].startswith("https://arxiv.org/") else "",
        "archivePrefix": "arXiv" if row["paper_url"].startswith("https://arxiv.org/") else "",
        "primaryClass": _tex(row["categories"][0]) if row["categories"] else "",
        "doi": _tex(row["doi"]),
        "url": safe_url(row["paper_url"]),
    }
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields.items() if value)
    return f"@misc{{{key},\n{body}\n}}\n"


def _first_word(title: str) -> str:
    words = [w for w in re.findall(r"[A-Za-z0-9]+", title.lower()) if w not in {"a", "an", "the", "on", "of"}]
    return words[0] if words else ""


def _tex(text: str) -> str:
    """Escape the characters BibTeX and LaTeX treat specially; a backslash can start no command."""
    text = " ".join(str(text).split()).replace("\\", "\x00")
    text = re.sub(r"([&%$#_{}~^])", lambda m: {"~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}.get(
        m.group(1), "\\" + m.group(1)), text)
    return text.replace("\x00", r"\textbackslash{}")
