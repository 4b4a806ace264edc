"""PDF bytes -> cleaned text split into sections, plus the paper's code links.

Uses pypdf only. Cleaning re-joins hyphenated line breaks, expands ligatures,
drops running headers/footers and page numbers. A corrupt, encrypted or
text-less PDF never crashes: paper_text falls back to the abstract and says why.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections import Counter
from typing import Any

from .errors import PdfError
from .files import sha256_hex
from .models import Paper, PaperText, Section
from .text import squash

EXTRACTOR_VERSION = "1"
MIN_TEXT_CHARS = 1500  # less than this from a whole PDF means no usable text layer

_LIGATURES = {
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
    "\ufb05": "st", "\ufb06": "st", "\u00ad": "", "\u2010": "-", "\u2011": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ",
}
_LIGATURE_RE = re.compile("|".join(map(re.escape, _LIGATURES)))

_HEADING_WORDS: list[tuple[str, re.Pattern[str]]] = [
    ("abstract", re.compile(r"abstract", re.I)),
    ("introduction", re.compile(r"introduction|overview|motivation", re.I)),
    ("references", re.compile(r"references|bibliography|works cited", re.I)),
    ("appendix", re.compile(r"appendix|appendices|supplementary( material)?", re.I)),
    ("conclusion", re.compile(r"conclusions?|concluding remarks|discussion and conclusions?|summary and outlook|"
                              r"limitations|discussion|future work|broader impacts?", re.I)),
    ("results", re.compile(r"experiments?|experimental (results|setup|evaluation)|results|evaluation|"
                           r"empirical (results|evaluation|study)|benchmarks?|ablations?( study| studies)?|analysis", re.I)),
    ("method", re.compile(r"methods?|methodology|approach|our approach|proposed method|model|framework|"
                          r"architecture|preliminar(y|ies)|background|problem (setup|formulation|statement)|"
                          r"algorithm|training|setup", re.I)),
    ("other", re.compile(r"related work|prior work|literature review|acknowledge?ments?", re.I)),
]
_NUMBERED = re.compile(r"^(?P<num>\d{1,2}|[IVX]{1,5}|[A-H])(?:\.|\s)\s*(?P<title>[A-Z][^\n]{1,78})$")
_UNNUMBERED = re.compile(r"^(?P<title>[A-Z][A-Za-z &-]{2,40})\.?$")
_CODE_HOST = r"(?:github\.com|gitlab\.com|huggingface\.co)"
_CODE_LINK = re.compile(rf"(?:https?://)?(?:www\.)?{_CODE_HOST}/[A-Za-z0-9_.~-]+(?:/[A-Za-z0-9_.~-]+)?", re.I)
_NOT_CODE = ("github.com/features", "github.com/about", "huggingface.co/docs", "huggingface.co/papers")


def _ignore_sigint() -> None:
    """Pool workers leave Ctrl-C to the parent, which stops the batch cleanly."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Extractor:
    """extract_pages in a pool of ``processes`` worker processes (pypdf is CPU-bound and
    holds the GIL, so threads would block the downloads and LLM calls), or in-process
    when ``processes`` is 0 or 1. The pool starts on first use."""

    def __init__(self, processes: int = 0) -> None:
        self.processes = processes if processes > 1 else 0
        self._pool: Any = None
        self._lock = threading.Lock()

    def pages(self, pdf: bytes) -> list[str]:
        if not self.processes:
            return extract_pages(pdf)
        from concurrent.futures.process import BrokenProcessPool

        with self._lock:
            if self._pool is None:
                from concurrent.futures import ProcessPoolExecutor
                from multiprocessing import get_context

                self._pool = ProcessPoolExecutor(self.processes, mp_context=get_context("spawn"),
                                                 initializer=_ignore_sigint)
            pool = self._pool
        try:
            return pool.submit(extract_pages, pdf).result()
        except (BrokenProcessPool, RuntimeError):  # a worker died, or the pool is shutting down
            return extract_pages(pdf)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                # Wait for the workers to exit: one still starting up when the interpreter exits
                # reads a closed pipe and prints "Bad file descriptor" on our stderr.
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


def extract_pages(pdf: bytes) -> list[str]:
    """Raw text of each page. Raises PdfError for corrupt or encrypted files.

    Top-level and picklable so a process pool can run it.
    """
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(pdf))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception:  # pypdf raises several types for unsupported crypto
                opened = 0
            if not opened:
                raise PdfError("PDF is encrypted")
        return [page.extract_text() or "" for page in reader.pages]
    except PdfError:
        raise
    except (PdfReadError, PyPdfError) as error:
        raise PdfError(f"PDF is corrupt or truncated ({error})") from None
    except Exception as error:  # pypdf surfaces broken files as assorted errors
        raise PdfError(f"PDF is corrupt or truncated ({type(error).__name__})") from None


def clean_pages(pages: list[str]) -> list[str]:
    """Fix ligatures and hyphenation; drop running headers/footers and page numbers."""
    split = [[line.strip() for line in _LIGATURE_RE.sub(lambda m: _LIGATURES[m.group()], page).splitlines()]
             for page in pages]
    repeated = _running_lines(split)
    cleaned: list[str] = []
    for lines in split:
        kept = [line for i, line in enumerate(lines)
                if line and not _is_page_number(line) and not (_edge(i, lines) and _shape(line) in repeated)]
        text = "\n".join(kept)
        # "repre-\nsentation" -> "representation"; keep hyphens before capitals ("GPT-\n4").
        text = re.sub(r"(?<=[a-z])-\n(?=[a-z])", "", text)
        cleaned.append(text)
    return cleaned


def _edge(index: int, lines: list[str]) -> bool:
    return index < 3 or index >= len(lines) - 3


def _shape(line: str) -> str:
    return re.sub(r"\d+", "#", line.lower())


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Lines that open or close at least half the pages: running headers and footers."""
    if len(pages) < 3:
        return set()
    counts: Counter[str] = Counter()
    for lines in pages:
        nonblank = [line for line in lines if line]
        counts.update({_shape(line) for line in nonblank[:3] + nonblank[-3:]})
    return {shape for shape, count in counts.items() if count >= max(3, len(pages) // 2) and len(shape) < 120}


def _is_page_number(line: str) -> bool:
    return bool(re.fullmatch(r"(page\s*)?\d{1,3}(\s*(of|/)\s*\d{1,3})?|[ivx]{1,6}", line, re.I))


def _heading_kind(title: str) -> str | None:
    words = title.strip().rstrip(".:")
    for kind, pattern in _HEADING_WORDS:
        if pattern.fullmatch(words) or pattern.match(words) and len(words.split()) <= 6:
            return kind
    return None


def split_sections(pages: list[str]) -> list[Section]:
    """Sections by heading detection. Unknown numbered headings inherit a kind by position."""
    sections: list[Section] = []
    heading, kind, page_no, buffer = "Front matter", "front", 1, []
    last_number = 0
    seen_references = False

    def flush() -> None:
        text = squash(" ".join(buffer))
        if text:
            sections.append(Section(kind=kind, heading=heading, text=text, page=page_no))

    for number, page in enumerate(pages, start=1):
        for line in page.splitlines():
            found = _match_heading(line, last_number, seen_references)
            if found is None:
                buffer.append(line)
                continue
            new_heading, new_kind, numbered = found
            flush()
            if numbered is not None:
                last_number = numbered
            if new_kind is None:
                new_kind = _kind_by_position(kind, seen_references)
            seen_references = seen_references or new_kind == "references"
            if seen_references and new_kind not in ("references",):
                new_kind = "appendix"
            heading, kind, page_no, buffer = new_heading, new_kind, number, []
    flush()
    return _fold_front_matter(sections)


def _match_heading(line: str, last_number: int, after_references: bool) -> tuple[str, str | None, int | None] | None:
    line = line.strip()
    if not line or len(line) > 80 or line.endswith((",", ";")) or len(line.split()) > 10:
        return None
    numbered = _NUMBERED.match(line)
    if numbered:
        title = numbered["title"].strip()
        number_text = numbered["num"]
        if number_text.isdigit():
            number = int(number_text)
            if number != last_number + 1 or re.search(r"\d", title) or title.endswith("."):
                return None
            return title, _heading_kind(title), number
        if after_references and len(number_text) == 1 and number_text.isalpha() and not title.endswith("."):
            return f"{number_text} {title}", "appendix", None
        return None
    plain = _UNNUMBERED.match(line)
    if plain:
        kind = _heading_kind(plain["title"])
        if kind and (plain["title"].isupper() or plain["title"].istitle() or len(plain["title"].split()) <= 2):
            return plain["title"].strip(), kind, None
    return None


def _kind_by_position(previous: str, after_references: bool) -> str:
    if after_references:
        return "appendix"
    if previous in ("front", "abstract", "introduction", "other", "method"):
        return "method"
    if previous == "results":
        return "results"
    return "other"


def _fold_front_matter(sections: list[Section]) -> list[Section]:
    # Title/author block before the first heading is not worth tokens when the
    # API gives us the abstract; keep it only if nothing else was found.
    if len(sections) > 1 and sections[0].kind == "front":
        return sections[1:]
    if sections and sections[0].kind == "front":
        return [Section("other", "Text", sections[0].text, sections[0].page)]
    return sections


def find_code_links(*texts: str) -> list[str]:
    """github/gitlab/huggingface links in order of first appearance, de-duplicated."""
    links: list[str] = []
    for text in texts:
        # URLs are often broken across lines in PDFs: "github.com/org-\nname/repo".
        # After a dot, join only a lowercase continuation: "repo.\nWe show" ends a sentence.
        joined = re.sub(r"(?<=[/\-_])\s*\n\s*|(?<=\.)\s*\n\s*(?=[a-z])", "", text)
        for match in _CODE_LINK.finditer(joined):
            url = match.group().rstrip(".,;:)")
            if not url.lower().startswith("http"):
                url = "https://" + url
            url = url.replace("http://", "https://", 1).replace("://www.", "://", 1)
            if url.count("/") < 4 or any(bad in url.lower() for bad in _NOT_CODE):
                continue  # a bare host or org page is not a code link
            if url.lower().endswith(".git"):
                url = url[:-4]
            if url.lower() not in (known.lower() for known in links):
                links.append(url)
    return links


def paper_text(paper: Paper, pdf: bytes | None, pages: list[str] | None = None,
               pdf_error: str = "") -> PaperText:
    """The paper's sections from its PDF, or its abstract when the PDF is unusable."""
    warning = pdf_error
    sections: list[Section] = []
    page_count = 0
    if pages is None and pdf is not None and not warning:
        try:
            pages = extract_pages(pdf)
        except PdfError as error:
            warning = str(error)
    if pages is not None and not warning:
        page_count = len(pages)
        cleaned = clean_pages(pages)
        if sum(len(p) for p in cleaned) < MIN_TEXT_CHARS:
            warning = "PDF has no usable text layer (scanned?)"
        else:
            sections = split_sections(cleaned)
            raw = "\n".join(pages)
    abstract = Section("abstract", "Abstract", paper.abstract, 1)
    if warning or not sections:
        links = find_code_links(paper.comment, paper.abstract)
        return PaperText((abstract,), page_count, "abstract", tuple(links),
                         warning or "PDF gave no text", sha256_hex(paper.abstract))
    # The API abstract is clean; prefer it to the PDF's.
    body = tuple(s for s in sections if s.kind != "abstract")
    links = find_code_links(paper.comment, paper.abstract, raw)
    full = (abstract, *body)
    return PaperText(full, page_count, "pdf", tuple(links), "", sha256_hex("\n".join(s.text for s in full)),
                     tuple(cleaned))


def pdf_document_info(pdf: bytes, pages: list[str]) -> tuple[str, list[str], str]:
    """(title, authors, abstract) of a paper that has no arXiv record: from the PDF's metadata,
    else its first lines, and the text of its Abstract section."""
    from pypdf import PdfReader

    title, authors = "", []
    try:
        info = PdfReader(io.BytesIO(pdf)).metadata or {}
        title = squash(str(info.get("/Title") or ""))
        authors = [squash(a) for a in re.split(r",|;| and ", str(info.get("/Author") or "")) if squash(a)]
    except Exception:  # metadata is optional; a broken dictionary must not stop the paper
        pass
    cleaned = clean_pages(pages)
    lines = [squash(line) for line in (cleaned[0] if cleaned else "").splitlines() if squash(line)]
    if not title or title.lower() in ("untitled", "microsoft word"):
        elsewhere = {squash(line) for page in cleaned[1:] for line in page.splitlines()}  # running headers
        title = next((line for line in lines if len(line.split()) >= 3 and line not in elsewhere), "")
    sections = split_sections(cleaned) if cleaned else []
    abstract = next((s.text for s in sections if s.kind == "abstract"), "")
    if not abstract:
        abstract = next((line for line in lines if len(line.split()) >= 12), "")
    return title[:300], authors[:50], squash(abstract)[:3000]
