"""PDF bytes -> a paper's text: sections for the summary, pages for grounding, its own code links.

Wires the PDF stages: pdfread (an engine reads positioned lines), pdfclean
(lines -> prose and page text), sections (prose -> top-level sections) and
codelinks (links -> the paper's own release). extract_pdf does the heavy,
metadata-free part and is what the process pool runs; paper_text adds what
needs the paper's metadata. A corrupt, encrypted or text-less PDF never
crashes: paper_text falls back to the abstract and says why.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .codelinks import link_mentions, metadata_mentions, own_code_links
from .errors import PdfError
from .figures import FigureInfo, figures_of, find_figures, key_figure
from .files import sha256_hex
from .models import Paper, PaperText, Section
from .pdfclean import Paragraph, clean_document
from .pdfread import DEFAULT_ENGINE, ENGINES, read_pdf
from .sections import split_sections
from .text import squash

EXTRACTOR_VERSION = "2"  # 2: pdfium by default, layout-aware cleaning, real-paper sections and code links
MIN_TEXT_CHARS = 1500  # less than this from a whole PDF means no usable text layer

__all__ = ["ENGINES", "DEFAULT_ENGINE", "EXTRACTOR_VERSION", "ExtractedPdf", "Extractor", "extract_pdf",
           "paper_text", "pdf_document_info"]


@dataclass(frozen=True)
class ExtractedPdf:
    """Everything read from a PDF that does not depend on the paper's metadata (picklable)."""

    engine: str
    pages: tuple[str, ...]  # each page's full text: prose, captions, tables, footnotes (for grounding)
    paragraphs: tuple[Paragraph, ...]  # the prose, paragraph by paragraph, headings on their own
    body_size: float
    raw_pages: tuple[str, ...]  # each page's lines as read (links, title and authors of non-arXiv papers)
    links: tuple[tuple[tuple[str, str], ...], ...] = ()  # per page: (address, words it covers)
    metadata: dict[str, str] = field(default_factory=dict)
    figures: tuple[FigureInfo, ...] = ()  # each captioned figure and where it is
    figure: FigureInfo | None = None  # the one rendered: the key figure, or the one asked for
    figure_image: bytes = b""  # its image (PNG or WebP, within the byte budget)
    figure_format: str = ""  # "png" or "webp": also the file's extension

    @property
    def chars(self) -> int:
        return sum(len(page) for page in self.pages)

    @cached_property
    def sections(self) -> list[Section]:
        """The top-level sections of the paper's prose (the PDF's own abstract among them)."""
        return split_sections(self.paragraphs, self.body_size)


def extract_pdf(pdf: bytes, engine: str = DEFAULT_ENGINE, figure: int | None = None,
                figures: bool = True) -> ExtractedPdf:
    """Read and clean a PDF, find its figures (unless ``figures`` is False) and render one: the key
    figure, or Figure ``figure`` (0: none). Raises PdfError for a corrupt or encrypted file.

    Top-level and picklable so a process pool can run it (the figure is rendered there too, bounded
    like the rest of the paper).
    """
    document = read_pdf(pdf, engine, drawings=figures)
    clean = clean_document(document)
    links = tuple(tuple((link.uri, link.anchor) for link in page.links) for page in document.pages)
    found = _figures(pdf, clean.classified, document.engine) if figures else ()
    chosen = key_figure(found) if figure is None else next((f for f in found if f.number == figure), None)
    image = _image(pdf, chosen) if chosen is not None and figure != 0 else None
    return ExtractedPdf(document.engine, clean.pages, clean.paragraphs, clean.body_size, clean.raw_pages, links,
                        dict(document.metadata), found, chosen if image else None,
                        image.data if image else b"", image.format if image else "")


def _image(pdf: bytes, figure: FigureInfo) -> Any:
    """The figure's image, or None when it cannot be rendered (the paper's text matters more)."""
    from .figure_image import render_figure

    try:
        return render_figure(pdf, figure)
    except MemoryError:
        raise
    except Exception:
        return None


def _figures(pdf: bytes, classified: tuple, engine: str) -> tuple[FigureInfo, ...]:
    """The figures, found on the lines already classified when pdfium read them. A figure is an
    extra: a PDF whose drawings cannot be read still gives its text."""
    try:
        return figures_of(classified) if engine == "pdfium" else find_figures(pdf)
    except MemoryError:
        raise
    except Exception:  # pdfium surfaces odd drawings variously; the paper's text matters more
        return ()


class Extractor:
    """extract_pdf in up to ``processes`` worker processes (pdfworkers): reading and cleaning are
    CPU-bound and hold the GIL, pdfium allows one call at a time per process, and only a process can
    be stopped when a paper runs past ``timeout`` seconds or needs more than ``memory_mb`` MB. In-process
    only when no limit is set and ``processes`` is 0 or 1. Workers start on first use."""

    def __init__(self, processes: int = 0, engine: str = DEFAULT_ENGINE, *, timeout: float = 0.0,
                 memory_mb: int = 0, figures: bool = True) -> None:
        bounded = timeout > 0 or memory_mb > 0
        self.processes = max(1, processes) if processes > 1 or bounded else 0
        self.engine = engine
        self.figures = figures  # find figures and render the key one (a figure asked for is always found)
        self.timeout = timeout
        self.memory_mb = memory_mb
        self._pool: Any = None
        self._lock = threading.Lock()

    def extract(self, pdf: bytes, figure: int | None = None) -> ExtractedPdf:
        """Raises PdfError for a corrupt, runaway or crashing PDF (Interrupted once closed).
        ``figure``: the figure to render (default: the key figure; 0: none)."""
        find = self.figures or figure is not None
        if not self.processes:
            return extract_pdf(pdf, self.engine, figure, find)
        return self._workers().extract(pdf, self.engine, figure, find)

    def warm(self) -> None:
        """Start a worker ahead of the first PDF."""
        if self.processes:
            self._workers().warm()

    def _workers(self) -> Any:
        with self._lock:
            if self._pool is None:
                from .pdfworkers import WorkerPool

                self._pool = WorkerPool(self.processes, timeout=self.timeout, memory_mb=self.memory_mb)
            return self._pool

    def close(self) -> None:
        """Stop the workers; a paper still being read ends with Interrupted."""
        with self._lock:
            if self._pool is not None:
                self._pool.close()


def paper_text(paper: Paper, pdf: bytes | None = None, *, extracted: ExtractedPdf | None = None,
               pdf_error: str = "", engine: str = DEFAULT_ENGINE) -> PaperText:
    """The paper's sections and code links from its PDF, or its abstract when the PDF is unusable.

    Give the PDF's bytes, or what extract_pdf already made of them.
    """
    warning = pdf_error
    if extracted is None and pdf is not None and not warning:
        try:
            extracted = extract_pdf(pdf, engine)
        except PdfError as error:
            warning = str(error)
    sections: list[Section] = []
    if extracted is not None and not warning:
        if extracted.chars < MIN_TEXT_CHARS:
            warning = "PDF has no usable text layer (scanned?)"
        else:
            sections = extracted.sections
    abstract = Section("abstract", "Abstract", paper.abstract, 1)
    metadata_links = metadata_mentions(paper.comment, paper.abstract)
    if warning or not sections or extracted is None:
        links = own_code_links(metadata_links, paper.authors)
        return PaperText((abstract,), len(extracted.pages) if extracted else 0, "abstract", links,
                         warning or "PDF gave no text", sha256_hex(paper.abstract))
    # The API abstract is clean; prefer it to the PDF's.
    body = tuple(s for s in sections if s.kind != "abstract")
    mentions = [*metadata_links, *link_mentions(extracted.raw_pages, extracted.links, _reference_pages(sections))]
    links = own_code_links(mentions, paper.authors, _front(extracted))
    full = (abstract, *body)
    return PaperText(full, len(extracted.pages), "pdf", links, "", sha256_hex("\n".join(s.text for s in full)),
                     extracted.pages, extracted.engine, extracted.figures)


def _reference_pages(sections: list[Section]) -> tuple[int, int] | None:
    """First and last page of the reference list (the last is where the next section starts)."""
    for index, section in enumerate(sections):
        if section.kind == "references":
            following = sections[index + 1].page if index + 1 < len(sections) else 10**6
            return section.page, following
    return None


def _front(extracted: ExtractedPdf) -> str:
    """The first page up to the abstract: title, authors and their organisations."""
    first = extracted.raw_pages[0] if extracted.raw_pages else ""
    return re.split(r"\bAbstract\b|\bABSTRACT\b", first, maxsplit=1)[0][:2000]


def pdf_document_info(extracted: ExtractedPdf) -> tuple[str, list[str], str]:
    """(title, authors, abstract) of a paper that has no arXiv record: from the PDF's metadata,
    else its first lines, and the text of its Abstract section."""
    info = extracted.metadata
    title = squash(info.get("Title", ""))
    author_field = info.get("Author", "")
    authors = [squash(a) for a in re.split(r",|;| and ", author_field) if squash(a)]
    lines = [squash(line) for line in (extracted.raw_pages[0] if extracted.raw_pages else "").splitlines()]
    lines = [line for line in lines if line]
    if not title or title.lower() in ("untitled", "microsoft word"):
        elsewhere = {squash(line) for page in extracted.raw_pages[1:] for line in page.splitlines()}  # running heads
        title = next((line for line in lines if len(line.split()) >= 3 and line not in elsewhere), "")
    abstract = next((s.text for s in extracted.sections if s.kind == "abstract"), "")
    if not abstract:
        abstract = next((p.text for p in extracted.paragraphs if len(p.text.split()) >= 40), "")
    return title[:300], authors[:50], squash(abstract)[:3000]
