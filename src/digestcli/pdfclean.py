"""Positioned lines of a real paper -> its prose, and the full text of each page.

A paper's PDF holds more than prose: arXiv's margin stamp, running heads and
page numbers, figure labels and legends, captions, table cells, display
equations and their numbers, footnotes. Each line is classified by what its
position, size and words say it is; only body text and headings become
prose. Characters are repaired on the way (control and private-use bytes
dropped, math letters and ligatures unfolded, broken diacritics rejoined,
line-break hyphens resolved against the paper's own vocabulary) and inline
citations are removed. Pure: no I/O, the same lines always give the same text.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace

from .pdfread import ACCENTS, HYPHEN_AT_END, SUPERSCRIPT_DIGITS, Document, Line, PageLayout

# -- characters ----------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufff0-\uffff\ue000-\uf8ff\U000f0000-\U0010ffff]")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_MATH_LETTERS = re.compile(r"[\U0001d400-\U0001d7ff\u2100-\u214f\ufb00-\ufb06]")  # 𝑊 ℝ ℓ, ﬁ ﬂ
_SPACES = str.maketrans({"\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u202f": " ", "\u2007": " ",
                         "\u2010": "-", "\u2011": "-", "\u2212": "−"})
# LaTeX's accents drawn as glyphs of their own, read before the letter they mark ("R¨uckl´e")
# (the cedilla before or after its letter).
_ACCENT_GLYPHS = "".join(accent for accent in ACCENTS if accent != "\u00b8")
_ACCENT_BEFORE = re.compile(rf"([{_ACCENT_GLYPHS}])([A-Za-z\u0131])|(\u00b8)([CcSsTt])")
_LONE_ACCENT = re.compile(rf"(?<!\S)[{_ACCENT_GLYPHS}\u00b8]\s")
_CEDILLA = re.compile(r"([CcSsTt]) ?\u00b8")
# Glyphs no paper sets inside a word: a PDF whose math font has a broken encoding shows them in
# place of Greek letters and relations (max⇡✓ Ex⇠D,y⇠⇡✓ for max_πθ E_x∼D,y∼πθ). Plain arrows stay.
_GLYPHS = "\u21e0-\u21ff\u2300-\u23ff\u2700-\u27bf"
_GARBAGE = re.compile(rf"(?<!\S)[^\s{_GLYPHS}\ufffd]*[{_GLYPHS}\ufffd]\S*")


def clean_chars(text: str) -> str:
    """Printable text: control and private-use characters removed, math letters and ligatures
    unfolded (𝑊 -> W, ﬁ -> fi), broken diacritics rejoined (R¨uckl´e -> Rücklé)."""
    # A control or private-use character is an engine's stand-in for a glyph it could not map: a gap.
    text = _INVISIBLE.sub("", _CONTROL.sub(" ", text.translate(_SPACES)))
    if _MATH_LETTERS.search(text):
        text = _MATH_LETTERS.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    if "\u00b8" in text:
        text = _CEDILLA.sub(lambda m: m.group(1) + "\u0327", text)
    if _ACCENT_BEFORE.search(text):
        text = _ACCENT_BEFORE.sub(lambda m: (m.group(2) or m.group(4)).replace("\u0131", "i")
                                  + ACCENTS[m.group(1) or m.group(3)], text)
    if _LONE_ACCENT.search(text):
        text = _LONE_ACCENT.sub("", text)
    return unicodedata.normalize("NFC", text)


def drop_garbage(text: str) -> str:
    """Words holding mis-encoded math glyphs removed, the end of a sentence kept (prose only;
    tables keep their symbols)."""
    if not _GARBAGE.search(text):
        return text
    return _GARBAGE.sub(lambda m: m.group()[-1] if m.group()[-1] in ".!?" else " ", text)


# -- inline citations and footnote marks ----------------------------------------------------------

_YEAR = r"(?:19|20)\d{2}[a-z]?"
_NAME = r"(?:[A-Z][\w'’\-]*\.?|van|von|de|der|den|da|di|del|la|le)"
_AUTHORS = rf"{_NAME}(?: {_NAME})*(?:(?:,? (?:and|&) | & ){_NAME}(?: {_NAME})*)?(?: et al\.?)?"
_CITE_PART = re.compile(
    rf"^(?:(?:see|e\.g\.|i\.e\.|cf\.|inter alia|and|also)[,:]? )*{_AUTHORS},? "
    rf"(?:{_YEAR}|[a-z])(?:[,;] ?(?:{_YEAR}|[a-z]\b))*(?:[,;]? (?:inter alia|among others))?\.?$")
_PARENS = re.compile(r" ?\(([^()]{3,400})\)")
_NUMERIC_CITE = re.compile(r"(?P<before>\w+)?(?P<space> ?)\[(?P<numbers>\d{1,3}(?:\s*[-–,]\s*\d{1,3})*)\]"
                           r"| ?\[[A-Z][A-Za-z+]{1,8}\d{2}[a-z]?(?:\s*[,;]\s*[A-Z][A-Za-z+]{1,8}\d{2}[a-z]?)*\]")
_INTERVAL_WORDS = {"in", "to", "within", "range", "interval", "between", "from", "of", "is", "are", "at"}
_NARRATIVE_YEAR = re.compile(rf"(?<=et al\.) ?\(({_YEAR}(?:[,;] ?{_YEAR})*)\)|(?<=[A-Za-z]) \(({_YEAR})\)")
# A footnote mark follows a word of two letters or more ("LFM’s⁷" too), punctuation or a closing
# quote; a raised digit after a single letter, a digit or a bracket is an exponent (R², O(n²), 10⁴)
# and stays. Superscript citations the engine read partly full size ("design, 18,¹⁹") go whole.
_SUP = f"[{SUPERSCRIPT_DIGITS}]+(?![{SUPERSCRIPT_DIGITS}])"
_FOOTNOTE_MARK = re.compile(rf"(?<=[a-z][.,;:)])\d{{1,2}}(?=\s|$)|(?<=[a-z])[∗†‡§¶⇤]+(?=[\s,.;:]|$)"
                            rf"|(?<=[A-Za-z)],) (?:\d{{1,3}}[,–-])+{_SUP}"
                            rf"|(?:(?<=[A-Za-z]{{2}})|(?<=[’'][a-z])|(?<=[.,;:”\"]))" + _SUP)
# "(see Figure 3)⁵" is a footnote mark; "(a + b)²" an exponent: words inside tell them apart
_PAREN_MARK = re.compile(rf"(\([^()]{{0,120}}\)){_SUP}")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"(?<! ) +([,.;:])")


def remove_citations(text: str, *, marks: bool = True) -> str:
    """Inline citations out of prose: (Radford et al., 2019; Brown et al., 2020), [12], [3, 5-7],
    [XLS+23], the year of "Radford et al. (2019)"; an interval ("in [0, 1]") stays. With
    ``marks``, footnote marks too (a PDF's raised digits; a model's text has none to strip)."""
    def parens(match: re.Match[str]) -> str:
        inner = match.group(1)
        parts = [part.strip() for part in inner.split(";")]
        kept = [part for part in parts if not _CITE_PART.match(part)]
        if len(kept) == len(parts):
            return match.group(0)
        return f" ({'; '.join(kept)})" if kept else ""

    if "(" in text:
        text = _PARENS.sub(parens, text)
        text = _NARRATIVE_YEAR.sub("", text)
    if "[" in text:
        text = _NUMERIC_CITE.sub(_numbered_citation, text)
    if marks:
        text = _FOOTNOTE_MARK.sub("", text)
        if ")" in text:
            text = _PAREN_MARK.sub(lambda m: m.group(1) if re.search(r"[A-Za-z]{3}", m.group(1)) else m.group(0),
                                   text)
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)


def _numbered_citation(match: re.Match[str]) -> str:
    """A bracket of reference numbers goes; an interval ("in [0, 1]", "[10, 1]") stays."""
    if match.group("numbers") is None:
        return ""  # [XLS+23, FAHA23]
    values = [int(n) for n in re.findall(r"\d+", match.group("numbers"))]
    word = (match.group("before") or "").lower()
    if 0 in values or values != sorted(values) or word in _INTERVAL_WORDS:
        return match.group(0)
    return match.group("before") or ""


# -- what a line is ----------------------------------------------------------------------------

STAMP = re.compile(r"arXiv:\s?\d{4}\.\d{4,5}v\d+\s*\[[a-zA-Z.-]+\]\s*\d{1,2}\s*[A-Z][a-z]{2}\s*\d{4}"
                   r"|arXiv:\s?[a-z-]+(?:\.[A-Z]{2})?/\d{7}v\d+\s*\[[a-zA-Z.-]+\]\s*\d{1,2}\s*[A-Z][a-z]{2}\s*\d{4}")
CAPTION = re.compile(r"^(?:Figure|Fig\.?|Table|Tab\.?|Algorithm|Listing|Exhibit|Chart)\s?"
                     r"(?:S?\d{1,3}|[A-Z]\.?\d{1,2}|[IVX]{1,5})(?:\s?\([a-z]\))?\s?(?:[:.|]|—|–| -)")
_SUBFIGURE = re.compile(r"\([a-h]\)\s")
_NUMERIC_TOKEN = re.compile(r"^[-+±~≈<>]?\(?(?=[\d.,/]*\d)[\d.,/%×x±]+[kKMBGT%x×]?\)?[*†‡]*$|^[-–—/]$|^[✓✗×]$")
_WORD = re.compile(r"[A-Za-z][a-z]{2,}")
_MATHS = set("=+−±×÷·∑∏∫√∞≤≥≈≠∈∉⊂⊆∪∩→←↔⇒∀∃∂∇‖^_|∝∼⊤⊥⊙⊗⊕αβγδεϵζηθλμνξπρσςτφϕχψωΓΔΘΛΞΠΣΦΨΩ")
_EQUATION_NUMBER = re.compile(r"^\(\d{1,3}[a-z]?\)$|\s\(\d{1,3}[a-z]?\)$")
_BULLET = re.compile(r"^(?:[•◦▪▸►∙·‣⁃]|[-–]\s)")
_SENTENCE_END = re.compile(r"[.!?:;]['”’)\]]*$")
_FOOTNOTE_START = re.compile(r"^(?:[\d∗*†‡§¶⇤⇤]|\(?[a-z]\)\s|https?://|Corresponding|Equal contribution|Work done|"
                             r"Preprint|Proceedings|Published|Accepted|Code|Project|\S+@)", re.I)


@dataclass(frozen=True)
class Paragraph:
    """Prose as the paper sets it: a paragraph of body text, or one line that may be a heading."""

    text: str
    page: int
    size: float
    bold: bool
    lines: int
    top: float = 0.0  # of its first line
    gap_before: float = 0.0  # white space above it, in points


@dataclass(frozen=True)
class CleanDocument:
    paragraphs: tuple[Paragraph, ...]
    pages: tuple[str, ...]  # each page's full text (prose, captions, tables, footnotes), for grounding
    raw_pages: tuple[str, ...]  # each page's lines (all but the stamp), one per line: for links and metadata
    body_size: float


_REGULAR_FONT = re.compile(r"regu|roman|book|light|thin|cmr\d|cmti|cmsl|cmss\d|cmtt|cmmi|cmsy|italic|oblique|-it$|"
                           r"\.it$|-i$|normal", re.I)
_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi|medi|cmbx|\bbx|[-,.+]b$|-bd", re.I)


class Fonts:
    """Which lines are bold: by the font's name when it says (NimbusRomNo9L-Medi, CMBX10,
    Times-Roman); else by a weight above the body text's from another font (some PDFs report a
    weight of 700 for every font, or name their fonts F1, F2)."""

    def __init__(self, lines: list[Line], body: float) -> None:
        counts: Counter[tuple[str, int]] = Counter()
        for line in lines:
            if body and abs(line.size - body) <= 0.06 * body:
                counts[(line.font, line.weight)] += len(line.text)
        ((self.body_font, self.body_weight), _), = counts.most_common(1) or [(("", 0), 0)]

    def bold(self, line: Line) -> bool:
        if _BOLD_FONT.search(line.font):
            return True
        if _REGULAR_FONT.search(line.font):
            return False
        if line.weight < 600:
            return False
        return line.weight > self.body_weight + 30 or line.font != self.body_font and line.weight > self.body_weight


def words(text: str) -> int:
    return len(_WORD.findall(text))


def _is_numeric(token: str) -> bool:
    return bool(_NUMERIC_TOKEN.match(token))


def numeric_share(text: str) -> float:
    tokens = text.split()
    return sum(1 for t in tokens if _is_numeric(t)) / len(tokens) if tokens else 0.0


def math_share(text: str) -> float:
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return 0.0
    mathy = sum(1 for c in visible if c in _MATHS or "\U0001d400" <= c <= "\U0001d7ff")
    return mathy / len(visible)


def _mode_size(lines: list[Line]) -> float:
    weights: Counter[float] = Counter()
    for line in lines:
        if line.size > 3:
            weights[round(line.size * 2) / 2] += len(line.text)
    return weights.most_common(1)[0][0] if weights else 0.0


def _shape(text: str) -> str:
    return re.sub(r"\d+", "#", text.lower().strip())


def _running_shapes(pages: tuple[PageLayout, ...]) -> set[str]:
    """Lines that open or close at least half the pages (3 at least; both of a two-page paper):
    running heads and feet. Only such a line at the page's edge is dropped (see _Page._margins)."""
    if len(pages) < 2:
        return set()
    counts: Counter[str] = Counter()
    for page in pages:
        texts = [line.text for line in page.lines if line.text.strip()]
        counts.update({_shape(t) for t in texts[:4] + texts[-4:]})
    floor = 2 if len(pages) == 2 else max(3, len(pages) // 2)
    return {shape for shape, count in counts.items() if count >= floor and len(shape) < 150}


def _is_page_number(text: str) -> bool:
    return bool(re.fullmatch(r"(?:page\s*)?[-–]?\s*\d{1,3}\s*[-–]?(?:\s*(?:of|/)\s*\d{1,3})?|[ivxlc]{1,6}", text.strip(), re.I))


class _Page:
    """One page's lines with their kinds, decided rule by rule."""

    def __init__(self, page: PageLayout, body: float, column: float, running: set[str]) -> None:
        self.page = page
        self.body = body
        self.column = column  # typical width of a full line of body text
        self.lines = list(page.lines)
        self.kinds = ["body"] * len(self.lines)
        self.prose = [self.prose_like(line) for line in self.lines]  # what a line is never changes that
        middle = (page.width or 612) / 2
        left = sum(1 for line, prose in zip(self.lines, self.prose) if prose and line.x1 <= middle + 5)
        right = sum(1 for line, prose in zip(self.lines, self.prose) if prose and line.x0 >= middle - 5)
        self.two_columns = left >= 5 and right >= 5
        self._margins(running)
        self._captions()
        self._tables()
        self._figures()
        self._footnotes()
        self._equations()
        self._fragments()

    def body_sized(self, line: Line) -> bool:
        """Set in the body font's size (footnotes and captions are a point or two smaller)."""
        return not line.size or not self.body or abs(line.size - self.body) <= 0.06 * self.body

    def prose_like(self, line: Line) -> bool:
        """A line of running text: about body size, words, and either wide or ending a sentence."""
        near_body = not line.size or not self.body or 0.85 * self.body <= line.size <= 1.15 * self.body
        if not near_body or words(line.text) < 3 or numeric_share(line.text) > 0.4:
            return False
        wide = not self.column or line.width >= 0.55 * self.column
        return wide or bool(_SENTENCE_END.search(line.text)) or words(line.text) >= 6

    def _margins(self, running: set[str]) -> None:
        height = self.page.height or 792
        edge = [i for i, line in enumerate(self.lines)
                if not line.bottom or line.bottom < 0.1 * height or line.bottom > 0.88 * height]
        first_last = set(range(min(4, len(self.lines)))) | set(range(max(0, len(self.lines) - 4), len(self.lines)))
        for index, line in enumerate(self.lines):
            text = line.text.strip()
            if STAMP.search(text) and len(STAMP.sub("", text).strip()) < 3:
                self.kinds[index] = "stamp"
            elif index in edge and index in first_last and (_shape(text) in running or _is_page_number(text)):
                self.kinds[index] = "margin"

    def _captions(self) -> None:
        index = 0
        while index < len(self.lines):
            line = self.lines[index]
            if self.kinds[index] != "body" or not CAPTION.match(line.text):
                index += 1
                continue
            self.kinds[index] = "caption"
            x0, x1, previous = line.x0, max(line.x1, line.x0 + 1), line
            index += 1
            while index < len(self.lines) and self.kinds[index] == "body":
                nxt = self.lines[index]
                size = max(previous.size, nxt.size, 1.0)
                pitch = nxt.bottom - previous.bottom
                if (abs(nxt.size - line.size) > 0.6 or not (-0.3 * size <= pitch <= 1.5 * size)
                        or nxt.x0 < x0 - 3 or nxt.x0 > x1 or CAPTION.match(nxt.text)):
                    # a caption line may continue beside a sub- or superscript on the same baseline
                    if not (abs(pitch) < 0.6 * size and nxt.x0 >= previous.x1 - 2 and nxt.x0 <= x1):
                        break
                self.kinds[index] = "caption"
                x1 = max(x1, nxt.x1)
                previous = nxt
                index += 1

    def _side(self, line: Line) -> str:
        """Which column of a two-column page a line sits in: L, R, or W (across both, or one column)."""
        middle = (self.page.width or 612) / 2
        if not self.two_columns:
            return "W"
        return "L" if line.x1 <= middle + 5 else "R" if line.x0 >= middle - 5 else "W"

    def _tables(self) -> None:
        rows: dict[tuple[int, str], list[int]] = {}
        for index, line in enumerate(self.lines):
            if self.kinds[index] == "body" and line.bottom:
                rows.setdefault((round(line.bottom / 2.5), self._side(line)), []).append(index)
        for members in rows.values():
            cells = [i for i in members if not self.prose[i]]
            if not cells:
                continue
            text = " ".join(self.lines[i].text for i in cells)
            if len(cells) >= 3 or (len(cells) >= 2 and numeric_share(text) >= 0.5):
                for i in cells:
                    self.kinds[i] = "table"
        for index, line in enumerate(self.lines):
            tokens = line.text.split()
            if self.kinds[index] == "body" and len(tokens) >= 4 and numeric_share(line.text) >= 0.5:
                self.kinds[index] = "table"
            elif self.kinds[index] == "body" and len(re.findall(r"[↑↓]", line.text)) >= 2:
                self.kinds[index] = "table"  # a header row: "Memory (GB)↓ Latency (ms)↓ PPL↓"
        # Row labels between table rows, and header rows in the table's smaller type, belong to the table.
        for _ in range(3):
            for index, line in enumerate(self.lines):
                if self.kinds[index] != "body":
                    continue
                near = [j for j in (index - 1, index + 1) if 0 <= j < len(self.lines) and self.kinds[j] == "table"
                        and abs(self.lines[j].bottom - line.bottom) < 2.5 * max(line.size, 1.0)]
                small = bool(line.size and self.body and line.size < 0.95 * self.body)
                if len(near) == 2 and not self.prose[index] or near and small:
                    self.kinds[index] = "table"

    def _figures(self) -> None:
        boxes = [b for b in self.page.graphics
                 if (b.x1 - b.x0) * (b.bottom - b.top) < 0.8 * (self.page.width or 612) * (self.page.height or 792)]
        for index, line in enumerate(self.lines):
            if self.kinds[index] != "body":
                continue
            x, y = (line.x0 + line.x1) / 2, (line.top + line.bottom) / 2
            inside = any(b.x0 <= x <= b.x1 and b.top <= y <= b.bottom for b in boxes)
            if inside and not self.prose[index] and not (_numbered(line.text) and _possible_heading(line, self.body)):
                self.kinds[index] = "figure"
            elif len(_SUBFIGURE.findall(line.text)) >= 2 and not _SENTENCE_END.search(line.text):
                self.kinds[index] = "figure"  # "(a) Winogrande (b) PIQA": the legends of sub-figures
            elif line.size and self.body and line.size < 0.55 * self.body:
                self.kinds[index] = "figure"  # drawn text scaled down with its figure

    def _footnotes(self) -> None:
        """Runs of small lines at the foot of a column with no body text below them, that open
        with a footnote mark or sit in the page's last sixth."""
        height = self.page.height or 792
        text_lines = [(other.bottom, other.x0, other.x1) for j, other in enumerate(self.lines)
                      if self.kinds[j] == "body" and self.body_sized(other) and words(other.text) >= 3]

        def body_below(line: Line) -> bool:
            return any(bottom > line.bottom + 1 and x0 < line.x1 and x1 > line.x0 for bottom, x0, x1 in text_lines)

        candidates = [i for i, line in enumerate(self.lines) if self.kinds[i] == "body" and line.size and self.body
                      and line.size <= 0.93 * self.body and line.bottom > 0.55 * height and not body_below(line)]
        runs: list[list[int]] = []
        for index in candidates:
            if runs and index == runs[-1][-1] + 1:
                runs[-1].append(index)
            else:
                runs.append([index])
        for run in runs:
            first = self.lines[run[0]]
            if _FOOTNOTE_START.match(first.text) or first.top > 0.83 * height:
                for index in run:
                    self.kinds[index] = "footnote"

    def _equations(self) -> None:
        for index, line in enumerate(self.lines):
            if self.kinds[index] != "body":
                continue
            text = line.text.strip()
            if _EQUATION_NUMBER.search(text) and (math_share(text) > 0.04 or words(text) <= 3):
                self.kinds[index] = "equation"
            elif math_share(text) > 0.15 and words(text) < 4:
                self.kinds[index] = "equation"

    def _fragments(self) -> None:
        """Short scraps of words between paragraphs (pieces of a display equation, labels of a
        drawn figure) are not prose; a short last line of a paragraph is."""
        previous: int | None = None  # the last line still taken for body text
        for index, line in enumerate(self.lines):
            if self.kinds[index] != "body":
                continue
            text = line.text.strip()
            if words(text) >= 3 or (self.column and line.width >= 0.45 * self.column) or _possible_heading(line, self.body):
                previous = index
                continue
            before = self.lines[previous] if previous is not None else None
            ends_paragraph = (before is not None and self.prose[previous] and not _SENTENCE_END.search(before.text)
                              and 0 < line.bottom - before.bottom <= 1.6 * max(before.size, 1.0)
                              and abs(line.x0 - before.x0) < 0.25 * max(self.column, 40))
            if ends_paragraph:
                previous = index
            else:
                self.kinds[index] = "fragment"


# The names of sections papers set without a number, or with one: a line that is one of them alone
# may be a heading whatever its style (sections.py uses the same list).
KNOWN_HEADING = re.compile(
    r"^(abstract|introduction|related works?|background|conclusions?|discussion|references|bibliography|"
    r"acknowledge?ments?|appendix|appendices|limitations|broader impacts?|supplementary materials?|"
    r"ethics statement|ethical considerations|author contributions?|reproducibility statement|"
    r"conclusions? and future work|summary|methods|results|experiments|evaluation|impact statements?|"
    r"checklist|ccs concepts|keywords|index terms|limitations and future work|discussion and conclusions?|"
    r"funding|data availability|code availability|competing interests|list of figures|list of tables)$", re.I)


def _possible_heading(line: Line, body: float) -> bool:
    text = line.text.strip()
    if len(text) > 120 or not re.search(r"[A-Za-z]{2}", text):
        return False
    numbered = re.match(r"^(?:\d{1,2}(?:\.\d{1,2})*\.?|[IVX]{1,5}\.|[A-H](?:\.\d{1,2})*\.?|Appendix [A-Z]\b)\s+\S", text)
    styled = line.bold or (body and line.size >= body * 1.08) or (text.isupper() and len(text) > 3)
    return bool(numbered or styled or KNOWN_HEADING.match(text))


def _merge_scripts(lines: list[Line]) -> list[Line]:
    """Lines the engine split at a sub- or superscript, or a change of font, on one baseline, joined again."""
    merged: list[Line] = []
    for line in lines:
        if merged:
            last = merged[-1]
            size = max(last.size, line.size, 1.0)
            same_row = abs(line.bottom - last.bottom) < 0.7 * size
            adjacent = last.x1 - 2 <= line.x0 <= last.x1 + 1.2 * size
            if same_row and adjacent and line.size and last.size:
                script = line.size < 0.85 * last.size or last.size < 0.85 * line.size
                joiner = "" if script else " "
                text = last.text + joiner + line.text
                main = last if last.size >= line.size else line
                merged[-1] = replace(last, text=text, x1=max(last.x1, line.x1), top=min(last.top, line.top),
                                     bottom=main.bottom, size=main.size)
                continue
        merged.append(line)
    return merged


# -- reading order ---------------------------------------------------------------------------


def _column_order(page: _Page) -> list[int]:
    """Indices in reading order. The engine's order is kept unless it hops between the two
    columns of a two-column page line by line; then the page is read band by band, left
    column first."""
    lines, kinds = page.lines, page.kinds
    if not page.two_columns:
        return list(range(len(lines)))
    side = [page._side(line) for line in lines]
    prose = [i for i, k in enumerate(kinds) if k == "body" and side[i] != "W" and page.prose[i]]
    hops = sum(1 for a, b in zip(prose, prose[1:]) if side[a] != side[b])
    if len(prose) < 10 or hops <= max(4, len(prose) // 8):
        return list(range(len(lines)))
    # Bands are cut by full-width lines; inside a band, the left column then the right.
    order: list[int] = []
    band: list[int] = []

    def flush() -> None:
        band.sort(key=lambda i: (side[i] == "R", lines[i].bottom))
        order.extend(band)
        band.clear()

    for index in sorted(range(len(lines)), key=lambda i: lines[i].bottom):
        if side[index] == "W" and kinds[index] == "body":
            flush()
            order.append(index)
        else:
            band.append(index)
    flush()
    return order


# -- joining lines -------------------------------------------------------------------------------


Vocabulary = tuple[Counter[str], Counter[str]]
_BROKEN_WORD = re.compile(rf"([A-Za-z0-9]+)[{HYPHEN_AT_END}-]$")


def _vocabulary(pages: tuple[PageLayout, ...]) -> Vocabulary:
    """How often the paper writes each word whole, and each with a hyphen, inside its lines."""
    plain: Counter[str] = Counter()
    hyphenated: Counter[str] = Counter()
    for page in pages:
        for line in page.lines:
            for token in re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", line.text.rstrip(HYPHEN_AT_END + "-")):
                (hyphenated if "-" in token else plain)[token.lower()] += 1
    return plain, hyphenated


def join_lines(texts: list[str], vocabulary: Vocabulary) -> str:
    """Lines of one paragraph as one string; a word broken at a line end is rejoined, keeping its
    hyphen when the paper writes it hyphenated more often than whole (pre-trained)."""
    plain, hyphenated = vocabulary
    out = ""
    for text in texts:
        text = text.strip()
        if not out:
            out = text
            continue
        broken = _BROKEN_WORD.search(out[-60:])
        if broken and re.match(r"[A-Z0-9]", text):
            out = out[:-1] + "-" + text  # "GPT-" "4", "Stanford-" "Berkeley": a hyphen that stays
        elif broken and out[-1] == HYPHEN_AT_END or broken and re.match(r"[a-z]", text):
            head = broken.group(1)
            tail = re.match(r"[A-Za-z]+", text)
            tail_word = tail.group() if tail else ""
            whole, joined = (head + tail_word).lower(), f"{head}-{tail_word}".lower()
            keep = hyphenated[joined] > plain[whole] or tail_word[:1].isupper() or not tail_word
            out = out[:-1] + ("-" if keep else "") + text
        else:
            out = f"{out} {text}"
    return out.replace(HYPHEN_AT_END, "-")


def _paragraphs(page: _Page, order: list[int], vocabulary: Vocabulary) -> list[Paragraph]:
    """Body lines grouped into paragraphs; a line that may be a heading stands alone."""
    paragraphs: list[Paragraph] = []
    group: list[Line] = []
    gap_before = 0.0

    def flush() -> None:
        nonlocal group
        if group:
            text = prose_text(join_lines([line.text for line in group], vocabulary))
            if text:
                first = group[0]
                paragraphs.append(Paragraph(text, page.page.number, first.size, first.bold, len(group), first.top,
                                            round(gap_before, 1)))
        group = []

    previous: Line | None = None
    for index in order:
        if page.kinds[index] != "body":
            continue
        line = page.lines[index]
        size = max(line.size, 1.0)
        pitch = line.bottom - previous.bottom if previous else 0.0
        new_column = previous is not None and (pitch < -size or abs(line.x0 - previous.x0) > 0.4 * max(page.column, 50)
                                               and pitch > 2 * size)
        continues = previous is not None and previous.text.endswith(HYPHEN_AT_END) and 0 < pitch < 1.6 * size
        heading = not continues and _standalone(line, page) and (previous is None or _SENTENCE_END.search(previous.text) is not None
                                               or pitch > 1.55 * size or _numbered(line.text))
        after_heading = len(group) == 1 and _standalone(group[-1], page) and (
            group[-1].bold != line.bold or abs(group[-1].size - line.size) > 0.3 or _numbered(group[-1].text)) and not (
            group[-1].text.endswith(HYPHEN_AT_END) and group[-1].bold == line.bold and 0 < pitch < 1.6 * size)
        indented = previous is not None and line.x0 > previous.x0 + 0.6 * size and 0 < pitch < 2 * size and (
            _SENTENCE_END.search(previous.text) is not None)
        starts = (not group or heading or after_heading or new_column or indented or _BULLET.match(line.text)
                  or (previous is not None and pitch > 1.55 * size) or abs(line.size - group[-1].size) > 0.8)
        if starts:
            flush()
            gap_before = pitch - size if previous and pitch > 0 else 0.0
        group.append(line)
        previous = line
    flush()
    return paragraphs


def _standalone(line: Line, page: _Page) -> bool:
    """A line that may be a heading on its own: styled or numbered like one, and short. A bold
    phrase that opens a full-width line of a paragraph is a run-in head, part of the paragraph."""
    if not _possible_heading(line, page.body) or len(line.text) >= 100:
        return False
    return _numbered(line.text) or not page.column or line.width < 0.75 * page.column


def _numbered(text: str) -> bool:
    return bool(re.match(r"^(?:\d{1,2}(?:\.\d{1,2})*\.?|[IVX]{1,5}\.|[A-H](?:\.\d{1,2})*\.?)\s+[A-Z]", text))


def prose_text(text: str, *, marks: bool = True) -> str:
    """Text a reader can publish: clean characters, no inline citation, no arXiv stamp, no math
    glyph salad, one space between words. Applied to the PDF's prose and, without ``marks`` (the
    raised footnote digits only a PDF has), to every summary field of a model."""
    text = STAMP.sub(" ", clean_chars(text))
    text = " ".join(drop_garbage(remove_citations(text, marks=marks)).split())
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)


def _other_text(page: _Page, order: list[int], vocabulary: Vocabulary) -> str:
    """What a reader sees on the page besides its prose and margins: captions, tables, footnotes,
    equations and figure labels, line by line."""
    others = [page.lines[i].text for i in order if page.kinds[i] not in ("body", "stamp", "margin")]
    return remove_citations(clean_chars(join_lines(others, vocabulary))) if others else ""


def clean_document(document: Document) -> CleanDocument:
    """The prose paragraphs of a paper and the full text of each page."""
    everything = [line for page in document.pages for line in page.lines]
    body = _mode_size(everything)
    fonts = Fonts(everything, body)
    document = Document(tuple(replace(page, lines=tuple(_merge_scripts([replace(line, bold=fonts.bold(line))
                                                                         for line in page.lines if line.text.strip()])))
                              for page in document.pages), document.engine, document.metadata)
    everything = [line for page in document.pages for line in page.lines]
    widths = sorted(line.width for line in everything if body and abs(line.size - body) <= 0.12 * body
                    and words(line.text) >= 6)
    column = widths[int(len(widths) * 0.8)] if widths else 0.0
    running = _running_shapes(document.pages)
    vocabulary = _vocabulary(document.pages)
    paragraphs: list[Paragraph] = []
    others: list[str] = []
    raw: list[str] = []
    for layout in document.pages:
        page = _Page(layout, body, column, running)
        order = _column_order(page)
        paragraphs.extend(_paragraphs(page, order, vocabulary))
        others.append(_other_text(page, order, vocabulary))
        raw.append(clean_chars("\n".join(page.lines[i].text for i in order if page.kinds[i] != "stamp")
                               .replace(HYPHEN_AT_END, "-")))
    joined = _join_across_pages(paragraphs, vocabulary)
    # Each page's text holds the paragraphs that start on it, whole, then the rest of what it shows:
    # a sentence that runs on to the next page is found on one page.
    pages = []
    for number, extra in enumerate(others, start=1):
        prose = "\n".join(p.text for p in joined if p.page == number)
        pages.append("\n".join(part for part in (prose, extra) if part))
    return CleanDocument(joined, tuple(pages), tuple(raw), body)


def _join_across_pages(paragraphs: list[Paragraph], vocabulary: Vocabulary) -> tuple[Paragraph, ...]:
    """A paragraph cut by a page or column break (it ends mid-sentence and the next one starts
    in lower case) is one paragraph again."""
    joined: list[Paragraph] = []
    for paragraph in paragraphs:
        if joined:
            last = joined[-1]
            cut = last.text.endswith((",", ";", "(")) or (last.text[-1:].islower() and paragraph.lines > 1)
            if (not _SENTENCE_END.search(last.text) and (re.match(r"[a-z(]", paragraph.text) or cut)
                    and abs(last.size - paragraph.size) <= 0.5 and last.lines > 1):
                joined[-1] = replace(last, text=join_lines([last.text, paragraph.text], vocabulary),
                                     lines=last.lines + paragraph.lines)
                continue
        joined.append(paragraph)
    return tuple(joined)
