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

import corpus  # noqa: E402  (the shared corpus, its metadata and our labels of it, as the tests read them)
from corpus import heading_scores  # noqa: E402,F401
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


def corpus_arxiv(count: int) -> tuple[str, list[tuple[FakePaper, bytes]], FakeArxiv]:
    """(where the PDFs came from, ``count`` numbered papers, a started local arXiv serving them)."""
    source, pdfs = corpus_pdfs()
    papers = numbered(count, pdfs)
    arxiv = FakeArxiv().start()
    for paper, pdf in papers:
        arxiv.add(paper, pdf)
    return source, papers, arxiv


def real_arxiv(stems: list[str]) -> tuple[list[str], FakeArxiv]:
    """(the arXiv ids, a started local arXiv) serving these corpus papers under their own ids,
    titles, abstracts and authors, so a model summarizes them as it would the real ones."""
    arxiv = FakeArxiv().start()
    ids = []
    for stem in stems:
        record = corpus.metadata()[stem]
        arxiv.add(FakePaper(record["id"], int(record.get("version") or 1), record["title"], record["abstract"],
                            record["authors"]), corpus.pdf_bytes(stem))
        ids.append(record["id"])
    return ids, arxiv


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


GOOD_SUMMARY_JSON = (
    '{"short_name": "Bench", "tldr": "A benchmark paper measures speed.", "whats_new": "Nothing, on purpose.", '
    '"how_it_works": "It is a copy of a real paper.", "key_insights": ["Copies are fast.", "Speed is measurable."], '
    '"results": "It measures speed.", "code_url": null}'
)


SECTION_KINDS = ("introduction", "method", "results", "conclusion")
PROSE_DEFECTS = ("control character", "arXiv stamp", "caption", "math garbage")  # narrative "et al." is prose


def read_corpus(engine: str) -> dict:
    """Every corpus paper read with one engine: seconds, pages, and each paper's text (the
    extraction timed alone, then made into sections and code links as digest add does)."""
    import time

    from digestcli.errors import PdfError
    from digestcli.pdftext import extract_pdf, paper_text

    from digestcli.pdfread import read_pdf

    texts, documents, pages, seconds, reading = {}, {}, 0, 0.0, 0.0
    for stem in corpus.stems():
        data = corpus.pdf_bytes(stem)
        started = time.perf_counter()
        try:
            read_pdf(data, engine)
            reading += time.perf_counter() - started
            started = time.perf_counter()
            done = extract_pdf(data, engine)
        except PdfError as error:
            seconds += time.perf_counter() - started
            texts[stem] = paper_text(corpus.paper(stem), pdf_error=str(error))
            continue
        seconds += time.perf_counter() - started
        pages += len(done.pages)
        documents[stem] = done
        texts[stem] = paper_text(corpus.paper(stem), extracted=done)
    return {"engine": engine, "seconds": seconds, "reading": reading, "pages": pages, "texts": texts,
            "documents": documents}


def prose_defects(texts: dict) -> dict[str, int]:
    """Paragraphs of sent prose (not references or appendices) holding each kind of defect."""
    counts = {name: 0 for name in PROSE_DEFECTS}
    for text in texts.values():
        for section in text.sections:
            if section.kind in ("references", "appendix"):
                continue
            for paragraph in section.text.split("\n\n"):
                for name in corpus.defects(paragraph):
                    if name in counts:
                        counts[name] += 1
    return counts


def section_shares(texts: dict) -> dict[str, float]:
    """Share of papers in which each section kind was found."""
    return {kind: sum(1 for t in texts.values() if any(s.kind == kind for s in t.sections)) / max(1, len(texts))
            for kind in SECTION_KINDS}


def code_link_verdicts(texts: dict) -> dict[str, int]:
    """The paper's Code link against our labels: right, wrong link, missed (paper has one, none
    given), invented (paper has none, one given)."""
    from digestcli.codelinks import normal_url

    verdicts = {"right": 0, "wrong": 0, "missed": 0, "invented": 0}
    for stem, label in corpus.labels("code_links").items():
        if stem not in texts:
            continue
        got = texts[stem].code_links[0] if texts[stem].code_links else None
        accepted = {normal_url(u) for u in [label["code"], *label.get("also", [])] if u}
        if not accepted:
            verdicts["right" if got is None else "invented"] += 1
        elif got is None:
            verdicts["missed"] += 1
        else:
            verdicts["right" if got in accepted else "wrong"] += 1
    return verdicts
