"""The pypdf engine (pure Python, slower): PDF bytes -> a Document of positioned lines and links.

Places pypdf's text lines by the text operators that start them. Never decides what a line is,
never imports pypdf before it reads, and never raises anything but PdfError (or MemoryError).
"""

from __future__ import annotations

import io
import logging
import math

from .errors import PdfError
from .pdfread import HYPHEN_AT_END, Box, Document, Line, Link, PageLayout, link_anchor


def read_pypdf(pdf: bytes) -> Document:
    """Every page's positioned lines and links. Raises PdfError for an encrypted or broken file."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, LimitReachedError, PdfReadError, PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(pdf))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except DependencyError:
                raise PdfError("PDF is encrypted with AES, which pypdf reads only with the "
                               "'cryptography' package installed") from None
            except Exception:  # pypdf raises several types for unsupported crypto
                opened = 0
            if not opened:
                raise PdfError("PDF is encrypted (it needs a password)")
        if len(reader.pages) == 0:
            raise PdfError("PDF has no pages")
        pages = tuple(_pypdf_page(page, number) for number, page in enumerate(reader.pages, start=1))
        metadata: dict[str, str] = {}
        try:
            info = reader.metadata or {}
            metadata = {str(key).lstrip("/"): str(value) for key, value in info.items()
                        if value and isinstance(value, str)}
        except Exception:  # a broken info dictionary is not worth losing the paper for
            pass
        return Document(pages, "pypdf", metadata)
    except (PdfError, MemoryError):
        raise
    except LimitReachedError as error:  # pypdf's own caps, such as 75 MB for a decompressed stream
        raise PdfError(f"PDF is past pypdf's safety limits ({str(error).rstrip('.')})") from None
    except (PdfReadError, PyPdfError) as error:
        raise PdfError(f"PDF is corrupt or truncated ({error})") from None
    except Exception as error:  # pypdf surfaces broken files as assorted errors
        raise PdfError(f"PDF is corrupt or truncated ({type(error).__name__})") from None


def _pypdf_page(page: object, number: int) -> PageLayout:
    """pypdf's text, split into lines where it breaks them, each placed by its first text operator."""
    box = page.mediabox
    height = float(box.top)
    pieces: list[tuple[str, float, float, float, str]] = []  # text, x, baseline, size, font name

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if not text:
            return
        a, b, _, _, x, y = (float(v) for v in tm)  # the text origin, in text space
        ca, cb, cc, cd, ce, cf = (float(v) for v in cm)
        x, y = ca * x + cc * y + ce, cb * x + cd * y + cf
        scale = math.hypot(a * ca + b * cc, a * cb + b * cd) or 1.0
        name = str(font.get("/BaseFont", "")).lstrip("/").split("+")[-1] if hasattr(font, "get") else ""
        pieces.append((text, x, height - y, float(size or 0) * scale, name))

    text = page.extract_text(visitor_text=visit) or ""
    lines = _pypdf_lines(text, pieces)
    links: list[Link] = []
    try:
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            action = annotation.get("/A")
            uri = action.get_object().get("/URI") if action is not None else None
            if not uri or any(str(uri) == known.uri for known in links):
                continue
            x0, y0, x1, y1 = (float(v) for v in annotation.get("/Rect", (0, 0, 0, 0)))
            area = Box(min(x0, x1), height - max(y0, y1), max(x0, x1), height - min(y0, y1))
            links.append(Link(str(uri), link_anchor(lines, area)))
    except Exception:  # annotations are a bonus; a broken one must not cost the page
        pass
    return PageLayout(number, float(box.width), float(box.height), tuple(lines), (), tuple(links))


def _pypdf_lines(text: str, pieces: list[tuple[str, float, float, float, str]]) -> list[Line]:
    """Lines of pypdf's text, each placed by the first piece whose text starts it."""
    from bisect import bisect_right

    lines: list[Line] = []
    cursor = 0
    joined = "".join(p[0] for p in pieces)
    offsets, position = [], 0
    for piece in pieces:
        offsets.append(position)
        position += len(piece[0])
    for raw_line in text.split("\n"):
        content = " ".join(raw_line.split())
        if not content:
            continue
        found = joined.find(raw_line.strip()[:12], cursor)
        anchor = None
        if found >= 0:
            cursor = found
            anchor = pieces[bisect_right(offsets, found) - 1]
        ends_hyphen = content.endswith("-") and len(content) > 1 and content[-2].isalpha()
        if ends_hyphen:
            content = content[:-1] + HYPHEN_AT_END
        if anchor is None:
            lines.append(Line(content, 0.0, 0.0, 0.0, 0.0, 0.0))
            continue
        _, x, baseline, size, name = anchor
        width = len(content) * 0.5 * (size or 10)
        lines.append(Line(content, round(x, 1), round(x + width, 1), round(baseline - 0.8 * size, 1),
                          round(baseline, 1), round(size, 2), name))
    return lines
