"""The shared corpus of real arXiv papers (../shared/corpus), read once per test session.

Every corpus test asks here for a paper's extracted text, so each PDF is read
and cleaned once per engine however many tests look at it. Tests that need
the corpus skip with the reason when it is absent. Our own labels of the
corpus (headings, code links) live in tests/corpus_labels/.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from papers import SHARED_CORPUS

PDF_DIR = SHARED_CORPUS / "pdf"
LABELS = Path(__file__).parent / "corpus_labels"
FAULT_FILES = ("encrypted-", "scanned-", "truncated")

# What no published field may hold: control bytes, arXiv's margin stamp, an inline citation,
# a caption or sub-figure legend, mis-encoded math glyphs. (Shared by tests and bench/quality.py.)
DEFECTS = {
    "control character": re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ue000-\uf8ff\ufffd\ufffe]"),
    "arXiv stamp": re.compile(r"arXiv:\s?(?:\d{4}\.\d{4,5}|[a-z-]+/\d{7})v\d+\s*\[[a-zA-Z.-]+\]"),
    "citation": re.compile(r"\([A-Z][A-Za-z'’\-]+(?: et al\.?|,| and| &)[^()]{0,80}?(?:19|20)\d{2}[a-z]?\)"
                           r"|\[\d{1,3}(?:\s*[,–-]\s*\d{1,3})*\]|\bet al\.|\[[A-Z][A-Za-z+]{1,8}\d{2}[a-z]?\]"),
    "caption": re.compile(r"(?:^|[.!?]\s+)(?:Figure|Fig\.|Table)\s?\d+\s?[:|]\s|\([a-h]\)\s[A-Z][\w-]+\s\([b-h]\)\s"),
    # glyphs a broken math font shows in place of letters (DPO: "max⇡✓ Ex⇠D"); plain arrows are prose
    "math garbage": re.compile(r"[\u21e0-\u21ff\u2300-\u23ff\u2700-\u27bf]"),
}


def defects(text: str) -> list[str]:
    """The kinds of defect in ``text`` (empty when it is publishable)."""
    return [name for name, pattern in DEFECTS.items() if pattern.search(text)]


def available() -> bool:
    return PDF_DIR.is_dir() and any(PDF_DIR.glob("*.pdf"))


def skip_reason() -> str:
    return f"shared corpus not found at {PDF_DIR}"


def needs_corpus() -> pytest.MarkDecorator:
    return pytest.mark.skipif(not available(), reason=skip_reason())


def stems(papers_only: bool = True) -> list[str]:
    """File stems of the corpus PDFs (the deliberately broken fault files left out by default)."""
    if not available():
        return []
    found = sorted(p.stem for p in PDF_DIR.glob("*.pdf"))
    return [s for s in found if not papers_only or not s.startswith(FAULT_FILES)]


def params(papers_only: bool = True) -> list:
    """pytest parameters, one per corpus paper, or one skipped parameter saying why there are none."""
    found = stems(papers_only)
    if not found:
        return [pytest.param(None, marks=pytest.mark.skip(reason=skip_reason()), id="no-corpus")]
    return [pytest.param(stem, id=stem) for stem in found]


@cache
def pdf_bytes(stem: str) -> bytes:
    return (PDF_DIR / f"{stem}.pdf").read_bytes()


@cache
def metadata() -> dict[str, dict]:
    """papers.jsonl by file stem: the metadata read off each PDF."""
    path = SHARED_CORPUS / "papers.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {record["file"].removesuffix(".pdf"): record for record in records}


def paper(stem: str):
    """The Paper the arXiv client would have made for this corpus file (abstract, authors, comment)."""
    from digestcli.ids import parse_arxiv_id
    from digestcli.models import ArxivId, Paper

    record = metadata().get(stem)
    if record is None:  # a fault file: no metadata
        return Paper(id=ArxivId("0704.0001", 1), title=stem, abstract="Abstract from the API.", authors=(),
                     published="", updated="", primary_category="", categories=())
    arxiv_id = parse_arxiv_id(f"{record['id']}v{record['version']}" if record.get("version") else record["id"])
    return Paper(id=arxiv_id, title=record["title"], abstract=record["abstract"], authors=tuple(record["authors"]),
                 published=record.get("version_date", ""), updated=record.get("version_date", ""),
                 primary_category=record.get("primary_category", ""),
                 categories=(record.get("primary_category", ""),), comment=record.get("comment", ""))


@cache
def layout(stem: str, engine: str = "pdfium"):
    """The positioned lines the engine reads off a corpus paper, before cleaning (once per session)."""
    from digestcli.pdfread import read_pdf

    return read_pdf(pdf_bytes(stem), engine)


@cache
def extracted(stem: str, engine: str = "pdfium"):
    from digestcli.pdftext import extract_pdf

    return extract_pdf(pdf_bytes(stem), engine)


@cache
def text(stem: str, engine: str = "pdfium"):
    """The PaperText of a corpus paper, as digest add makes it (cached for the session)."""
    from digestcli.errors import PdfError
    from digestcli.pdftext import paper_text

    try:
        done = extracted(stem, engine)
    except PdfError as error:
        return paper_text(paper(stem), pdf_error=str(error))
    return paper_text(paper(stem), extracted=done)


@cache
def labels(name: str) -> dict:
    """Our own labels of the corpus: 'headings' (read off the PDFs) or 'code_links'."""
    merged: dict = {}
    for path in sorted(LABELS.glob(f"{name}*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def same_heading(found: str, labelled: str) -> bool:
    """A detected heading title matches a labelled one: same letters and digits, case aside
    (small capitals come out as capitals), or the same first 25 of them."""
    a, b = (re.sub(r"[^a-z0-9]", "", t.lower()) for t in (found, labelled))
    return a == b or (len(a) >= 25 and a[:25] == b[:25])


def heading_scores(engine: str = "pdfium", documents: dict | None = None) -> dict[str, float]:
    """Our labelled top-level headings against digest's: how many found (recall), how many of
    digest's are labelled (precision), and how many found have the labelled kind. ``documents``
    are papers already extracted with ``engine``, by stem."""
    from digestcli.sections import find_headings

    wanted = found = detected = kinds = 0
    for stem, label in labels("headings").items():
        if stem not in stems(papers_only=False):
            continue
        done = (documents or {}).get(stem) or extracted(stem, engine)
        headings = find_headings(done.paragraphs, done.body_size)
        detected += len(headings)
        for expected in label["headings"]:
            wanted += 1
            match = next((h for h in headings if same_heading(h.title, expected["title"])), None)
            if match is not None:
                found += 1
                kinds += match.kind == expected["kind"]
    return {"labelled": wanted, "found": found, "recall": found / max(1, wanted),
            "precision": found / max(1, detected), "kind_accuracy": kinds / max(1, found)}
