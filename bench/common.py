"""Shared by the benchmarks: the paper corpus and the local fake servers.

The corpus is ../shared/corpus/pdf (real arXiv PDFs) when it exists; without
it the benchmarks fall back to paper-like PDFs built by tests/papers.py and
say so in their output, so their numbers are never mistaken for real-corpus
ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the fake servers and the PDF builder the tests use
sys.path.insert(0, str(ROOT / "src"))

from fakes import FakeArxiv, FakeOpenAI, FakePaper, Reply, chat_completion  # noqa: E402,F401
from papers import LLAVA, LLAVA_SECTIONS, MEZO, MEZO_SECTIONS, SHARED_CORPUS, make_pdf  # noqa: E402


def corpus_pdfs() -> tuple[str, list[tuple[str, bytes]]]:
    """(where the PDFs came from, [(name, bytes)]). Deliberately broken corpus files are left out."""
    folder = SHARED_CORPUS / "pdf"
    found = sorted(p for p in folder.glob("*.pdf") if "truncated" not in p.stem) if folder.is_dir() else []
    if found:
        return f"real arXiv PDFs from {folder}", [(p.stem, p.read_bytes()) for p in found]
    built = []
    for n in range(6):
        base, sections = (MEZO, MEZO_SECTIONS) if n % 2 == 0 else (LLAVA, LLAVA_SECTIONS)
        built.append((f"built-{n}", make_pdf(f"{base.title} ({n})", base.authors, base.abstract, sections * (1 + n))))
    return f"paper-like PDFs built by tests/papers.py ({folder} not found)", built


def numbered(count: int, pdfs: list[tuple[str, bytes]]) -> list[tuple[FakePaper, bytes]]:
    """``count`` papers with distinct ids, cycling through the corpus PDFs."""
    papers = []
    for n in range(count):
        name, pdf = pdfs[n % len(pdfs)]
        paper = FakePaper(id=f"2401.{n + 1:05d}", version=1, title=f"Benchmark paper {n + 1} ({name})",
                          abstract=f"Benchmark paper number {n + 1}. It is a copy of {name}. It measures speed.",
                          authors=["B. Enchmark"])
        papers.append((paper, pdf))
    return papers


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


GOOD_SUMMARY_JSON = (
    '{"short_name": "Bench", "tldr": "A benchmark paper measures speed.", "whats_new": "Nothing, on purpose.", '
    '"how_it_works": "It is a copy of a real paper.", "key_insights": ["Copies are fast.", "Speed is measurable."], '
    '"results": "It measures speed.", "code_url": null}'
)
