"""One page's positioned lines -> what each line is: body text, the arXiv stamp, a running head or
page number, a caption, a table cell, a figure label, a footnote, an equation or a stray fragment.

A line's kind comes from its position, size, font and words, rule by rule; only body text and
headings become prose (pdfclean). Pure: no I/O, and never changes a line's text.
"""

from __future__ import annotations

import re
from collections import Counter

from .pdfread import Line, PageLayout

STAMP = re.compile(r"arXiv:\s?\d{4}\.\d{4,5}v\d+\s*\[[a-zA-Z.-]+\]\s*\d{1,2}\s*[A-Z][a-z]{2}\s*\d{4}"
                   r"|arXiv:\s?[a-z-]+(?:\.[A-Z]{2})?/\d{7}v\d+\s*\[[a-zA-Z.-]+\]\s*\d{1,2}\s*[A-Z][a-z]{2}\s*\d{4}")
CAPTION = re.compile(r"^(?:Figure|Fig\.?|Table|Tab\.?|Algorithm|Listing|Exhibit|Chart)\s?"
                     r"(?:S?\d{1,3}|[A-Z]\.?\d{1,2}|[IVX]{1,5})(?:\s?\([a-z]\))?\s?(?:[:.|]|—|–| -)")
# "Figure 1 We show ..." with no stop after the number is a caption only when its label is bold:
# body prose says "Figure 2 depicts ..." at a line's start in the body font
BARE_CAPTION = re.compile(r"^(?:Figure|Fig\.?|Table)\s?\d{1,3}\s+[A-Z]")
_SUBFIGURE = re.compile(r"\([a-h]\)\s")
_NUMERIC_TOKEN = re.compile(r"^[-+±~≈<>]?\(?(?=[\d.,/]*\d)[\d.,/%×x±]+[kKMBGT%x×]?\)?[*†‡]*$|^[-–—/]$|^[✓✗×]$")
_WORD = re.compile(r"[A-Za-z][a-z]{2,}")
_MATHS = set("=+−±×÷·∑∏∫√∞≤≥≈≠∈∉⊂⊆∪∩→←↔⇒∀∃∂∇‖^_|∝∼⊤⊥⊙⊗⊕αβγδεϵζηθλμνξπρσςτφϕχψωΓΔΘΛΞΠΣΦΨΩ")
_EQUATION_NUMBER = re.compile(r"^\(\d{1,3}[a-z]?\)$|\s\(\d{1,3}[a-z]?\)$")
SENTENCE_END = re.compile(r"[.!?:;]['”’)\]]*$")
_FOOTNOTE_START = re.compile(r"^(?:[\d∗*†‡§¶⇤⇤]|\(?[a-z]\)\s|https?://|Corresponding|Equal contribution|Work done|"
                             r"Preprint|Proceedings|Published|Accepted|Code|Project|\S+@)", re.I)


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


def is_caption(line: Line) -> bool:
    """A line that opens a figure's, table's or listing's caption."""
    return bool(CAPTION.match(line.text) or line.bold and BARE_CAPTION.match(line.text))


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


def _shape(text: str) -> str:
    return re.sub(r"\d+", "#", text.lower().strip())


def running_shapes(pages: tuple[PageLayout, ...]) -> set[str]:
    """Lines that open or close at least half the pages (3 at least; both of a two-page paper):
    running heads and feet. Only such a line at the page's edge is dropped (see ClassifiedPage._margins)."""
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


class ClassifiedPage:
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
        return wide or bool(SENTENCE_END.search(line.text)) or words(line.text) >= 6

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
            if self.kinds[index] != "body" or not is_caption(line):
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
                        or nxt.x0 < x0 - 3 or nxt.x0 > x1 or is_caption(nxt)):
                    # a caption line may continue beside a sub- or superscript on the same baseline
                    if not (abs(pitch) < 0.6 * size and nxt.x0 >= previous.x1 - 2 and nxt.x0 <= x1):
                        break
                self.kinds[index] = "caption"
                x1 = max(x1, nxt.x1)
                previous = nxt
                index += 1

    def side(self, line: Line) -> str:
        """Which column of a two-column page a line sits in: L, R, or W (across both, or one column)."""
        middle = (self.page.width or 612) / 2
        if not self.two_columns:
            return "W"
        return "L" if line.x1 <= middle + 5 else "R" if line.x0 >= middle - 5 else "W"

    def _tables(self) -> None:
        rows: dict[tuple[int, str], list[int]] = {}
        for index, line in enumerate(self.lines):
            if self.kinds[index] == "body" and line.bottom:
                rows.setdefault((round(line.bottom / 2.5), self.side(line)), []).append(index)
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
            if inside and not self.prose[index] and not (numbered_heading(line.text)
                                                         and possible_heading(line, self.body)):
                self.kinds[index] = "figure"
            elif len(_SUBFIGURE.findall(line.text)) >= 2 and not SENTENCE_END.search(line.text):
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
            if words(text) >= 3 or (self.column and line.width >= 0.45 * self.column) or possible_heading(line, self.body):
                previous = index
                continue
            before = self.lines[previous] if previous is not None else None
            ends_paragraph = (before is not None and self.prose[previous] and not SENTENCE_END.search(before.text)
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


def possible_heading(line: Line, body: float) -> bool:
    text = line.text.strip()
    if len(text) > 120 or not re.search(r"[A-Za-z]{2}", text):
        return False
    numbered = re.match(r"^(?:\d{1,2}(?:\.\d{1,2})*\.?|[IVX]{1,5}\.|[A-H](?:\.\d{1,2})*\.?|Appendix [A-Z]\b)\s+\S", text)
    styled = line.bold or (body and line.size >= body * 1.08) or (text.isupper() and len(text) > 3)
    return bool(numbered or styled or KNOWN_HEADING.match(text))


def numbered_heading(text: str) -> bool:
    """The text opens with a section number ("3", "2.1", "IV.", "B.2") and a capital letter."""
    return bool(re.match(r"^(?:\d{1,2}(?:\.\d{1,2})*\.?|[IVX]{1,5}\.|[A-H](?:\.\d{1,2})*\.?)\s+[A-Z]", text))
