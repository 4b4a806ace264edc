"""The pdfium engine (pypdfium2): PDF bytes -> a Document of positioned lines, images and links.

Reads each character's position, size, font, weight and angle through pdfium's C API, one
call at a time per process. Never decides what a line is, never imports pypdfium2 before it
reads, and never raises anything but PdfError (or MemoryError).
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata

from .errors import PdfError
from .pdfread import ACCENTS, FIGURE_LABEL, HYPHEN_AT_END, SUPERSCRIPT_DIGITS, Box, Document, Line, Link, PageLayout, link_anchor

# pdfium is not thread-safe, not even across documents: one call at a time per process.
_PDFIUM_LOCK = threading.Lock()


def read_pdfium(pdf: bytes, drawings: bool = False) -> Document:
    """Every page's positioned lines, images and links, and with ``drawings`` the drawn objects of each
    page with a line that may open a figure's caption. Raises PdfError for an encrypted or broken file."""
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(pdf)
        except pdfium.PdfiumError as error:
            if "password" in str(error).lower():
                raise PdfError("PDF is encrypted (it needs a password)") from None
            raise PdfError(f"PDF is corrupt or truncated ({_reason(error)})") from None
        try:
            if len(document) == 0:
                raise PdfError("PDF has no pages")
            pages = []
            for index in range(len(document)):
                page = document[index]
                try:
                    pages.append(_pdfium_page(document, page, index + 1, drawings))
                finally:
                    page.close()
            return Document(tuple(pages), "pdfium", _pdfium_metadata(document))
        except (PdfError, MemoryError):
            raise
        except Exception as error:  # pdfium and the bytes it hands back surface broken files variously
            raise PdfError(f"PDF is corrupt or truncated ({_reason(error)})") from None
        finally:
            document.close()


def _pdfium_metadata(document: object) -> dict[str, str]:
    """The document information (Title, Author), or nothing when it cannot be decoded."""
    try:
        return {key: str(value) for key, value in (document.get_metadata_dict() or {}).items() if value}
    except Exception:  # a broken information dictionary is not worth losing the paper for
        return {}


def _reason(error: Exception) -> str:
    reason = str(error).split("(PDFium:")[-1].strip().rstrip(" ).")
    return reason or type(error).__name__


class _PdfiumChars:
    """Character-level queries on one pdfium text page, with reusable ctypes buffers."""

    def __init__(self, textpage: object, height: float) -> None:
        import ctypes

        import pypdfium2.raw as raw

        self.raw = raw
        self.page = textpage
        self.height = height
        self._x, self._y = ctypes.c_double(), ctypes.c_double()
        self._box = [ctypes.c_double() for _ in range(4)]
        self._name = ctypes.create_string_buffer(128)
        self._flags = ctypes.c_int()
        self._matrix = raw.FS_MATRIX()

    def origin(self, index: int) -> tuple[float, float]:
        self.raw.FPDFText_GetCharOrigin(self.page, index, self._x, self._y)
        return self._x.value, self.height - self._y.value

    def extent(self, index: int) -> tuple[float, float, float, float]:
        """(x0, top, x1, bottom) of the character's glyph, y downward."""
        left, right, bottom, top = self._box
        self.raw.FPDFText_GetCharBox(self.page, index, left, right, bottom, top)
        return left.value, self.height - top.value, right.value, self.height - bottom.value

    def box(self, index: int) -> tuple[float, float]:
        """(left, right) of the character's glyph."""
        left, right, bottom, top = self._box
        self.raw.FPDFText_GetCharBox(self.page, index, left, right, bottom, top)
        return left.value, right.value

    def size(self, index: int) -> float:
        """The size the character is drawn at: the font size times the scale of its matrix
        (a PDF printed from a browser sets every font at size 1 and scales it)."""
        self.raw.FPDFText_GetMatrix(self.page, index, self._matrix)
        m = self._matrix
        scale = math.sqrt(abs(m.a * m.d - m.b * m.c)) or 1.0
        return float(self.raw.FPDFText_GetFontSize(self.page, index)) * scale

    def rotated(self, index: int) -> bool:
        angle = float(self.raw.FPDFText_GetCharAngle(self.page, index))
        return 0.05 < angle < 2 * math.pi - 0.05

    def font(self, index: int) -> tuple[str, int]:
        length = self.raw.FPDFText_GetFontInfo(self.page, index, self._name, len(self._name), self._flags)
        name = self._name.raw[: max(0, length - 1)].decode("latin-1", "replace").split("+")[-1]
        return name, max(0, int(self.raw.FPDFText_GetFontWeight(self.page, index)))


def _pdfium_page(document: object, page: object, number: int, drawings: bool) -> PageLayout:
    left, bottom, right, top = page.get_bbox()
    height = top
    textpage = page.get_textpage()
    try:
        chars = _PdfiumChars(textpage.raw, height)
        codes = _pdfium_codes(textpage.raw)
        runs = _pdfium_runs(codes)
        lines = [line for start, end in runs for line in _pdfium_lines(chars, codes, start, end)]
        # a figure's rotated text (axis titles) is no line, but its figure's crop must hold it
        may_hold_figure = drawings and any(FIGURE_LABEL.match(line.text) for line in lines)
        turned = _rotated_text(chars, codes, runs) if may_hold_figure else ()
    finally:
        textpage.close()
    graphics = _pdfium_graphics(page, height)
    links = tuple(Link(uri, link_anchor(lines, box)) for uri, box in _pdfium_links(document, page, height))
    drawn = None
    if drawings:
        # read while the page is open: opening it again costs more than the walk
        from .pdfium_drawings import drawn_boxes

        drawn = (*drawn_boxes(page), *turned) if may_hold_figure else ()
    return PageLayout(number, right - left, top - bottom, tuple(lines), graphics, links, drawn, top)


def _rotated_text(chars: _PdfiumChars, codes: list[int], runs: list[tuple[int, int]]) -> tuple[Box, ...]:
    """The boxes of the page's runs of rotated text (y downward, as Line)."""
    boxes = []
    for start, end in runs:
        real = _visible(codes, start, end)
        if not real or not chars.rotated(real[0]):
            continue
        corners = [chars.extent(index) for index in real]
        boxes.append(Box(min(c[0] for c in corners), min(c[1] for c in corners),
                         max(c[2] for c in corners), max(c[3] for c in corners)))
    return tuple(boxes)


def _pdfium_runs(codes: list[int]) -> list[tuple[int, int]]:
    """Index ranges of pdfium's own lines: it ends one with a generated CR LF, and joins a
    line that ends in a hyphen to the next, marking the hyphen with 0x02 or 0xFFFE."""
    runs, start = [], 0
    for index, code in enumerate(codes):
        if code in (13, 10):
            if index > start:
                runs.append((start, index))
            start = index + 1
        elif code in (2, 0xFFFE):
            runs.append((start, index + 1))
            start = index + 1
    if start < len(codes):
        runs.append((start, len(codes)))
    return runs


def _pdfium_codes(textpage: object) -> list[int]:
    """The UTF-16 unit of each character of the page, by character index. One bulk call when
    pdfium writes exactly one unit per character (almost always), else one call per character."""
    import ctypes

    import pypdfium2.raw as raw

    count = raw.FPDFText_CountChars(textpage)
    if count <= 0:
        return []
    buffer = (ctypes.c_ushort * (count + 1))()
    written = raw.FPDFText_GetText(textpage, 0, count, buffer)
    if written == count + 1:
        return list(buffer[:count])
    return [raw.FPDFText_GetUnicode(textpage, index) & 0xFFFF for index in range(count)]


_PDFIUM_MARKS = str.maketrans({"\x02": HYPHEN_AT_END, "\ufffe": HYPHEN_AT_END, "\x00": None})


def _text_of(codes: list[int]) -> str:
    """Characters of pdfium's UTF-16 units: surrogate pairs joined, line-break hyphens marked."""
    from array import array

    text = array("H", codes).tobytes().decode("utf-16-le", "replace")
    return unicodedata.normalize("NFC", text.translate(_PDFIUM_MARKS))


def _pdfium_lines(chars: _PdfiumChars, codes: list[int], start: int, end: int) -> list[Line]:
    """One pdfium line, split where it really holds several: a jump of baseline (lines the engine
    merged) or a wide gap (a heading beside a figure label, table cells, two columns)."""
    real = _visible(codes, start, end)
    if not real:
        return []
    first, last = real[0], real[-1]
    if chars.rotated(first):
        return []  # vertical text: the arXiv stamp, rotated axis labels
    size = _median([chars.size(i) for i in (first, real[len(real) // 2], last)])
    x_first, y_first = chars.origin(first)
    x_last, y_last = chars.origin(last)
    expected = (last - first + 1) * 0.75 * max(size, 1.0) + 2 * max(size, 1.0)
    if abs(y_last - y_first) <= 0.5 * max(size, 1.0) and x_last - x_first <= expected:
        return [_line(chars, codes, start, end, first, last, size, x_first, y_first)]
    # Several lines in one: split at every baseline jump or wide gap between neighbours.
    pieces, piece_start = [], start
    previous = None
    for index in real:
        x, y = chars.origin(index)
        if previous is not None:
            px, py, p_index = previous
            if abs(y - py) > 0.5 * max(size, 1.0) or x - px > 2.2 * max(size, 1.0) or x < px - 2 * max(size, 1.0):
                pieces.append((piece_start, p_index + 1))
                piece_start = p_index + 1
        previous = (x, y, index)
    pieces.append((piece_start, end))
    lines = []
    for a, b in pieces:
        inner = _visible(codes, a, b)
        if not inner:
            continue
        piece_size = _median([chars.size(i) for i in (inner[0], inner[len(inner) // 2], inner[-1])])
        x0, y0 = chars.origin(inner[0])
        lines.append(_line(chars, codes, a, b, inner[0], inner[-1], piece_size, x0, y0))
    return lines


def _visible(codes: list[int], start: int, end: int) -> list[int]:
    """Indices of the characters that show: not spaces, line breaks or pdfium's hyphen marks."""
    return [i for i in range(start, end) if codes[i] > 32 and codes[i] not in (0xFFFE, 0xA0)]


def _line(chars: _PdfiumChars, codes: list[int], start: int, end: int, first: int, last: int, size: float,
          x0: float, baseline: float) -> Line:
    units = _repair_marks(chars, codes, start, end, size, baseline)
    text = " ".join(_text_of(units).split())
    font, weight = chars.font(first)
    return Line(text, round(x0, 1), round(max(chars.box(last)[1], x0), 1), round(baseline - 0.8 * size, 1),
                round(baseline, 1), round(size, 2), font, weight)


# The accents drawn over a letter, by UTF-16 unit, with the combining mark each stands for.
_ACCENT_CODES = {ord(accent): ord(mark) for accent, mark in ACCENTS.items() if accent != "\u00b8"}
_LETTER = re.compile(r"[A-Za-z\u0131\u00c0-\u024f]")
# TeX's math symbol fonts (cmsy, msbm's kin) draw the prime as a raised "0": B′A′, not B⁰A⁰
_SYMBOL_FONT = re.compile(r"CMSY|SY\d+$|Symbol", re.IGNORECASE)


def _gaps_around(codes: list[int], index: int, start: int, end: int) -> list[int]:
    def code(at: int) -> int:
        return codes[at] if start <= at < end else 0

    def letter(at: int) -> bool:
        return bool(_LETTER.match(chr(code(at)))) if code(at) else False

    if code(index - 1) == 32 and code(index + 1) == 32:
        return [index - 1, index + 1] if letter(index - 2) and letter(index + 2) else []
    if code(index - 1) == 32 and letter(index + 1) and letter(index - 2):
        return [index - 1]
    if code(index + 1) == 32 and letter(index - 1) and letter(index + 2):
        return [index + 1]
    return []


def _repair_marks(chars: _PdfiumChars, codes: list[int], start: int, end: int, size: float,
                  baseline: float) -> list[int]:
    """The line's units with raised digits after a word or punctuation set as superscripts
    ("community¹": a footnote mark, which the cleaning drops from prose, or an exponent "R²"), and
    each accent glyph joined to the letter it sits over ("Ruckl ¨ e" -> "Rücklé"). Digits raised
    after a digit (10^4) are not told apart: checking every digit's size costs too much. A raised
    "0" in a math symbol font is TeX's prime (B′)."""
    units = codes[start:end]
    digits = [i for i in range(start + 1, end) if 48 <= codes[i] <= 57 and not 48 <= codes[i - 1] <= 57
              and (chr(codes[i - 1]).isalpha() or chr(codes[i - 1]) in ").,;:")
              and not (codes[i - 1] == 46 and i - 2 >= start and 48 <= codes[i - 2] <= 57)]  # 1.5: a decimal
    accents = [i for i in range(start, end) if codes[i] in _ACCENT_CODES]
    if not digits and not accents:
        return units
    drop: set[int] = set()
    after: dict[int, int] = {}  # index -> combining mark to put after it
    replace: dict[int, int] = {}  # index -> unit to put instead
    for index in digits:
        if chars.size(index) >= 0.8 * size or chars.origin(index)[1] > baseline - 0.15 * size:
            continue  # full size, or a subscript (W0): plain digits
        run = index
        while run < end and 48 <= codes[run] <= 57:
            prime = codes[run] == 48 and _SYMBOL_FONT.search(chars.font(run)[0])
            replace[run] = 0x2032 if prime else ord(SUPERSCRIPT_DIGITS[codes[run] - 48])
            run += 1
    for index in accents:
        left, right = chars.box(index)
        middle = (left + right) / 2
        nearest = sorted((c for c in range(start, end) if c != index and _LETTER.match(chr(codes[c]))),
                         key=lambda c: abs(c - index))
        for candidate in nearest:
            letter_left, letter_right = chars.box(candidate)
            if letter_left - 0.5 <= middle <= letter_right + 0.5:
                drop.add(index)
                after[candidate] = _ACCENT_CODES[codes[index]]
                # the gaps the engine saw where the accent was drawn are no gaps in the word
                drop.update(_gaps_around(codes, index, start, end))
                break
    out: list[int] = []
    for index in range(start, end):
        if index in replace:
            out.append(replace[index])
        elif index not in drop:
            out.append(codes[index] if codes[index] != 0x131 or index not in after else 0x69)
        if index in after:
            out.append(after[index])
    return out


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else 0.0


def _pdfium_graphics(page: object, height: float) -> tuple[Box, ...]:
    """Bounding boxes of images and embedded drawings (form XObjects) worth calling a figure."""
    import ctypes

    import pypdfium2.raw as raw

    boxes = []
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    for index in range(raw.FPDFPage_CountObjects(page.raw)):
        obj = raw.FPDFPage_GetObject(page.raw, index)
        if raw.FPDFPageObj_GetType(obj) not in (raw.FPDF_PAGEOBJ_IMAGE, raw.FPDF_PAGEOBJ_FORM):
            continue
        if not raw.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
            continue
        box = Box(round(left.value, 1), round(height - top.value, 1), round(right.value, 1),
                  round(height - bottom.value, 1))
        if box.x1 - box.x0 >= 30 and box.bottom - box.top >= 20:
            boxes.append(box)
    return tuple(boxes)


def _pdfium_links(document: object, page: object, height: float) -> list[tuple[str, Box | None]]:
    import ctypes

    import pypdfium2.raw as raw

    found: list[tuple[str, Box | None]] = []
    position = ctypes.c_int(0)
    link = raw.FPDF_LINK()
    buffer = ctypes.create_string_buffer(2048)
    rect = raw.FS_RECTF()
    while raw.FPDFLink_Enumerate(page.raw, position, link):
        action = raw.FPDFLink_GetAction(link)
        if not action or raw.FPDFAction_GetType(action) != raw.PDFACTION_URI:
            continue
        length = raw.FPDFAction_GetURIPath(document.raw, action, buffer, len(buffer))
        if not 0 < length <= len(buffer):
            continue
        uri = buffer.raw[: length - 1].decode("utf-8", "replace").strip()
        box = None
        if raw.FPDFLink_GetAnnotRect(link, rect):
            box = Box(min(rect.left, rect.right), height - max(rect.top, rect.bottom), max(rect.left, rect.right),
                      height - min(rect.top, rect.bottom))
        if uri and all(uri != known for known, _ in found):
            found.append((uri, box))
    return found
