"""PDF bytes -> positioned lines of text, per page, from one of two engines.

pdfium (pypdfium2, the default) reads each character's position, size, weight
and angle; pypdf (pure Python, slower) reads the same from its text operators.
Both give the same plain values (PageLayout, Line), so every cleaning rule
downstream serves both; each engine's reader is a module of its own
(pdfium_reader, pypdf_reader). A reader repairs only what character
positions alone can tell (an accent drawn over its letter, a raised footnote
digit), never decides what a line is, and never raises anything but PdfError (or MemoryError,
which the worker reading the PDF reports as the memory cap it ran into).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import PdfError

ENGINES = ("pdfium", "pypdf")
DEFAULT_ENGINE = "pdfium"
HYPHEN_AT_END = "\u00ad"  # a line that ends in a hyphen the engine says is a line-break hyphen

# Spacing accents LaTeX fonts draw as glyphs of their own, placed over (or, the cedilla, under)
# the letter they mark, with the combining mark each stands for. The pdfium reader joins them to
# their letter; characters.py rejoins those an engine reads apart.
ACCENTS = {"\u00a8": "\u0308", "\u00b4": "\u0301", "\u02c6": "\u0302", "\u02dc": "\u0303", "\u02c7": "\u030c",
           "\u02d8": "\u0306", "\u02da": "\u030a", "\u00af": "\u0304", "\u02d9": "\u0307", "\u02dd": "\u030b",
           "\u00b8": "\u0327"}
SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"  # a raised footnote mark after a word is read as these
FIGURE_LABEL = re.compile(r"^(?:Figure|Fig\.?)\s?(\d{1,3})\b")  # how a figure's caption opens


@dataclass(frozen=True)
class Line:
    """One run of text on one baseline. Coordinates in points, y downward from the page top."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float  # the baseline
    size: float  # font size in points (0 when the engine cannot say)
    font: str = ""  # the font's name, without a subset prefix ("NimbusRomNo9L-Medi", "CMBX12")
    weight: int = 0  # the weight the engine reports for the font (0 when it cannot say)
    bold: bool = False  # decided by the cleaning from font and weight, relative to the body text

    @property
    def width(self) -> float:
        return self.x1 - self.x0


@dataclass(frozen=True)
class Box:
    x0: float
    top: float
    x1: float
    bottom: float


@dataclass(frozen=True)
class Link:
    """A link annotation: its address, and the text of the lines it covers."""

    uri: str
    anchor: str = ""


@dataclass(frozen=True)
class PageLayout:
    number: int  # 1-based
    width: float
    height: float
    lines: tuple[Line, ...]
    graphics: tuple[Box, ...] = ()  # images and embedded drawings (figures) on the page
    links: tuple[Link, ...] = ()  # the page's link annotations to web addresses, in order
    # the boxes of its drawn objects (images, paths, forms), read only on a page with a line that
    # may open a figure's caption; None when the engine did not look (pypdf, or not asked)
    drawings: tuple[Box, ...] | None = None
    top: float = 0.0  # the page's top edge in PDF points: lines' and boxes' y run down from it


@dataclass(frozen=True)
class Document:
    pages: tuple[PageLayout, ...]
    engine: str
    metadata: dict[str, str] = field(default_factory=dict)  # /Title, /Author of the document info


def read_pdf(pdf: bytes, engine: str = DEFAULT_ENGINE, drawings: bool = False) -> Document:
    """The positioned lines of every page, and with ``drawings`` the drawn objects of the pages that
    may hold a figure (pdfium only). Raises PdfError for an encrypted or broken file."""
    # Each engine's reader builds on this module's values, so it is imported when it is called.
    if engine == "pypdf":
        from .pypdf_reader import read_pypdf

        return read_pypdf(pdf)
    if engine == "pdfium":
        from .pdfium_reader import read_pdfium

        return read_pdfium(pdf, drawings)
    raise PdfError(f"unknown PDF engine {engine!r} (choose {' or '.join(ENGINES)})")


def link_anchor(lines: list[Line], box: Box | None) -> str:
    """The lines a link annotation covers (the words a reader clicks), with the line before them."""
    if box is None:
        return ""
    covered = [i for i, line in enumerate(lines)
               if line.top - 2 <= box.bottom and line.bottom + 2 >= box.top and line.x0 <= box.x1 and line.x1 >= box.x0]
    if not covered:
        return ""
    return " ".join(lines[i].text for i in range(max(0, covered[0] - 1), covered[-1] + 1))
