"""An issue's items as data: JSON, BibTeX or CSV (for reference managers, spreadsheets, other tools).

Pure, like render.py: the same items give byte-identical output.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from .models import Item
from .store import parse_body

FORMATS = ("json", "bibtex", "csv")
CSV_COLUMNS = ("id", "title", "authors", "published", "section", "paper_url", "code_url", "tldr")


def records(items: list[Item]) -> list[dict[str, Any]]:
    """One plain record per item: its metadata and its summary fields as they are on disk now."""
    out = []
    for item in items:
        parts = parse_body(item.body)
        meta = item.meta
        out.append({
            "id": str(meta.get("arxiv_id") or meta.get("url") or item.key),
            "title": item.title,
            "authors": [str(a) for a in meta.get("authors") or []],
            "published": str(meta.get("published") or ""),
            "categories": [str(c) for c in meta.get("categories") or []],
            "section": item.section,
            "paper_url": str(meta.get("paper_url") or meta.get("url") or ""),
            "code_url": str(meta.get("code_url") or ""),
            "doi": str(meta.get("doi") or ""),
            **{name: parts[name] for name in ("tldr", "whats_new", "how_it_works", "key_insights", "results")},
            "notes": parts["notes"],
        })
    return out


def export(items: list[Item], fmt: str) -> str:
    rows = records(items)
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow([("; ".join(row[c]) if isinstance(row[c], list) else row[c]) for c in CSV_COLUMNS])
        return buffer.getvalue()
    if fmt == "bibtex":
        return "\n".join(_bibtex(row) for row in rows)
    raise ValueError(f"unknown format {fmt!r}")


def _bibtex(row: dict[str, Any]) -> str:
    arxiv = re.fullmatch(r"(.+?)(v\d+)?", row["id"]).group(1) if row["id"] else ""
    first = (row["authors"][0].split()[-1] if row["authors"] else "anon").lower()
    year = row["published"][:4]
    key = re.sub(r"[^a-z0-9]", "", f"{first}{year}{_first_word(row['title'])}") or "item"
    fields = {
        "title": "{" + _tex(row["title"]) + "}",
        "author": " and ".join(_tex(a) for a in row["authors"]),
        "year": year,
        "eprint": arxiv if row["paper_url"].startswith("https://arxiv.org/") else "",
        "archivePrefix": "arXiv" if row["paper_url"].startswith("https://arxiv.org/") else "",
        "primaryClass": row["categories"][0] if row["categories"] else "",
        "doi": row["doi"],
        "url": row["paper_url"],
    }
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields.items() if value)
    return f"@misc{{{key},\n{body}\n}}\n"


def _first_word(title: str) -> str:
    words = [w for w in re.findall(r"[A-Za-z0-9]+", title.lower()) if w not in {"a", "an", "the", "on", "of"}]
    return words[0] if words else ""


def _tex(text: str) -> str:
    """Escape the characters BibTeX and LaTeX treat specially."""
    return re.sub(r"([&%$#_{}])", r"\\\1", " ".join(str(text).split()))
