"""PDF bytes -> the paper's figures: each "Figure N" caption, its page, and the region its figure fills.

Captions come from linekinds (the lines extraction already classified); a figure's region is the
union of the page's drawn objects (images, paths, forms) between its caption and the nearest body
text of its column. Pure of network; never renders (figure_image does); a broken PDF gives no figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .linekinds import KNOWN_HEADING, ClassifiedPage, is_caption, numbered_heading, words
from .pdfread import FIGURE_LABEL, HYPHEN_AT_END

_SUBFIGURE_LABEL = re.compile(r"^\(?[a-h]\)\s")
_BACK_MATTER = re.compile(r"^(?:[A-Z]\.?\s+|\d{1,2}\.?\s+)?(?:references|bibliography|appendix|appendices|"
                          r"supplementary materials?)\b", re.I)
_KEY_CAPTION = re.compile(r"\b(?:method|approach|architecture|framework|pipeline|overview)s?\b", re.I)
KEY_FIGURE_PAGES = 4  # Figure 1 on these first pages (title, contents, introduction) is the paper's teaser
_GAP = 12.0  # points: labels and legends this close to the drawing belong to it

Rect = tuple[float, float, float, float]  # x0, top, x1, bottom: points, y downward (as Line)


@dataclass(frozen=True)
class FigureInfo:
    """One captioned figure of a paper (picklable)."""

    number: int
    page: int  # 1-based
    caption: str  # one line, cleaned, "Figure 1: ..." as printed
    box: tuple[float, float, float, float]  # PDF points (left, bottom, right, top) of the figure, caption excluded
    appendix: bool  # after the references/appendix start


def find_figures(pdf: bytes) -> tuple[FigureInfo, ...]:
    """Every captioned figure of a PDF in page order; nothing for a broken, encrypted or scanned file."""
    from .errors import PdfError
    from .pdfclean import classify_document
    from .pdfread import read_pdf

    try:
        classified = classify_document(read_pdf(pdf, "pdfium", drawings=True))
    except PdfError:
        return ()
    return figures_of(classified)


def figures_of(classified: tuple[ClassifiedPage, ...]) -> tuple[FigureInfo, ...]:
    """The figures of a PDF whose pages extraction already classified, read by the pdfium engine
    with their drawings (``read_pdf(..., drawings=True)``)."""
    captions = {page.page.number: _caption_blocks(page) for page in classified}
    # a table's caption needs no drawing
    wanted = [page for page in classified
              if any(FIGURE_LABEL.match(page.lines[block[0]].text) for block in captions[page.page.number])]
    if not wanted:
        return ()
    back_matter = _back_matter_start(classified)
    prose_block = _text_block(classified)
    found: list[FigureInfo] = []
    seen: set[int] = set()
    for page in wanted:
        number, height = page.page.number, page.page.top
        objects = _off_margins([(box.x0, box.top, box.x1, box.bottom) for box in page.page.drawings or ()], prose_block)
        blocks = captions[number]
        for block in blocks:
            first = page.lines[block[0]]
            figure = FIGURE_LABEL.match(first.text)
            if not figure or int(figure.group(1)) in seen:
                continue
            region = _figure_region(page, block, blocks, objects)
            if region is None:
                continue
            seen.add(int(figure.group(1)))
            x0, top, x1, bottom = region
            found.append(FigureInfo(int(figure.group(1)), number, _caption_text(page, block),
                                    (round(x0, 1), round(height - bottom, 1), round(x1, 1), round(height - top, 1)),
                                    back_matter is not None and (number, first.top) > back_matter))
    return tuple(found)


def key_figure(figures: tuple[FigureInfo, ...] | list[FigureInfo]) -> FigureInfo | None:
    """The figure that shows the paper best: its Figure 1 when that opens the paper, else the first
    figure whose caption describes the method, architecture, framework, pipeline or overview, else
    the first figure; never one in the appendix."""
    main = [f for f in figures if not f.appendix]
    first = next((f for f in main if f.number == 1 and f.page <= KEY_FIGURE_PAGES), None)
    if first is not None:
        return first
    if not main:
        # a manuscript that sets every figure after its references (a journal's style, as on
        # astro-ph) numbers them from 1: those are the paper's own, not an appendix's
        return next((f for f in figures if f.number == 1), None)
    return next((f for f in main if _KEY_CAPTION.search(f.caption)), main[0])


# -- captions -------------------------------------------------------------------------------------


def _caption_blocks(page: ClassifiedPage) -> list[list[int]]:
    """Each caption of the page (figure or table) as the indices of its lines: a line linekinds
    calls a caption that opens like one, and the caption lines that follow it."""
    blocks: list[list[int]] = []
    for index, kind in enumerate(page.kinds):
        if kind != "caption":
            continue
        if is_caption(page.lines[index]):
            blocks.append([index])
        elif blocks and blocks[-1][-1] == index - 1:
            blocks[-1].append(index)
    return blocks


def _caption_text(page: ClassifiedPage, block: list[int]) -> str:
    from .characters import clean_chars

    text = ""
    for index in block:
        piece = page.lines[index].text
        text = text[:-1] + piece if text.endswith(HYPHEN_AT_END) else f"{text} {piece}"
    text = " ".join(clean_chars(text.replace(HYPHEN_AT_END, "-")).split())
    return text if len(text) <= 500 else text[:499].rsplit(" ", 1)[0] + "…"


def _back_matter_start(classified: tuple[ClassifiedPage, ...]) -> tuple[int, float] | None:
    """(page, top) of the first References, Bibliography or Appendix heading."""
    for page in classified:
        for index, line in enumerate(page.lines):
            text = line.text.strip()
            if page.kinds[index] == "body" and len(text) < 40 and _BACK_MATTER.match(text) and (
                    KNOWN_HEADING.match(re.sub(r"^(?:[A-Z]\.?|\d{1,2}\.?)\s+", "", text)) or line.bold):
                return page.page.number, line.top
    return None


# -- regions --------------------------------------------------------------------------------------


def _text_block(classified: tuple[ClassifiedPage, ...]) -> tuple[float, float]:
    """The x-range of the paper's prose on every page (wide open when it has none)."""
    prose = [line for page in classified for line, is_prose in zip(page.lines, page.prose) if is_prose]
    if not prose:
        return float("-inf"), float("inf")
    return min(line.x0 for line in prose) - 5, max(line.x1 for line in prose) + 5


def _off_margins(objects: list[Rect], block: tuple[float, float]) -> list[Rect]:
    """The objects not wholly in the side margins, beside the paper's text block: the arXiv stamp
    (rotated text) or a column of line numbers is no figure's."""
    return [o for o in objects if o[2] > block[0] and o[0] < block[1]]


def _bounds(rects: list[Rect]) -> Rect:
    return min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects), max(r[3] for r in rects)


def _overlaps(a: Rect, b: Rect, slack: float = 0.0) -> bool:
    return a[0] - slack < b[2] and b[0] - slack < a[2] and a[1] - slack < b[3] and b[1] - slack < a[3]


def _column(page: ClassifiedPage, block: list[int], blocks: list[list[int]]) -> tuple[float, float]:
    """The x-range a caption's figure may fill: its column of a two-column page, the whole width
    for a caption across both, and half of that when another caption sits beside it (minipages)."""
    width = page.page.width or 612
    middle = width / 2
    caption = _bounds([_line_rect(page, i) for i in block])
    sides = {page.side(page.lines[i]) for i in block}
    left, right = (0.0, middle) if sides == {"L"} else (middle, width) if sides == {"R"} else (0.0, width)
    for other in blocks:
        if other is block:
            continue
        beside = _bounds([_line_rect(page, i) for i in other])
        if beside[1] < caption[3] and caption[1] < beside[3] and not (beside[0] < caption[2] and caption[0] < beside[2]):
            if beside[0] >= caption[2]:
                right = min(right, (caption[2] + beside[0]) / 2)
            else:
                left = max(left, (beside[2] + caption[0]) / 2)
    return left, right


def _line_rect(page: ClassifiedPage, index: int) -> Rect:
    line = page.lines[index]
    return line.x0, line.top, line.x1, line.bottom + 0.25 * max(line.size, 1.0)


def _legends(page: ClassifiedPage, lines: list[int]) -> set[int]:
    """The lines of sub-figure legends: each line opening "(a) ..." and the lines of its paragraph
    after it (a legend of several sentences under its panel reads like prose)."""
    found: set[int] = set()
    for index in lines:
        line = page.lines[index]
        if page.kinds[index] != "body" or not _SUBFIGURE_LABEL.match(line.text):
            continue
        found.add(index)
        previous = line
        for after in range(index + 1, len(page.lines)):
            nxt = page.lines[after]
            size = max(previous.size, nxt.size, 1.0)
            if (page.kinds[after] != "body" or _SUBFIGURE_LABEL.match(nxt.text) or abs(nxt.size - line.size) > 0.6
                    or not 0 < nxt.bottom - previous.bottom <= 1.5 * size or not line.x0 - 3 <= nxt.x0 <= line.x1):
                break
            found.add(after)
            previous = nxt
    return found


def _stops(page: ClassifiedPage, index: int, frames: list[Rect], legends: set[int]) -> bool:
    """Whether a line bounds a figure: body text, a heading, the title, another caption, a running
    head. Text inside a drawn frame or picture (``frames``), figure labels and sub-figure legends do not."""
    kind, line = page.kinds[index], page.lines[index]
    if kind in ("caption", "margin"):
        return True
    if kind != "body" or index in legends:
        return False
    x, y = (line.x0 + line.x1) / 2, (line.top + line.bottom) / 2
    if any(c[0] <= x <= c[2] and c[1] <= y <= c[3] and c[3] - c[1] > 2.5 * max(line.size, 1.0) for c in frames):
        return False
    large = bool(line.size and page.body and line.size > 1.15 * page.body)
    heading = numbered_heading(line.text) and words(line.text) <= 12 or bool(KNOWN_HEADING.match(line.text.strip()))
    return page.prose[index] or large or heading


def _figure_region(page: ClassifiedPage, block: list[int], blocks: list[list[int]], objects: list[Rect]) -> Rect | None:
    """The figure above its caption or, failing that, below it, bounded by the text around it; a
    narrow caption that finds none may be a figure set beside the text (wrapfigure): above it, in its width."""
    left, right = _column(page, block, blocks)
    caption = _bounds([_line_rect(page, i) for i in block])
    inside = [o for o in objects if left - 2 <= (o[0] + o[2]) / 2 <= right + 2]
    region = _around(page, block, caption, (left, right), inside)
    if region is None and page.column and caption[2] - caption[0] < 0.6 * page.column:
        beside = [o for o in objects if o[0] < caption[2] and caption[0] < o[2]]
        region = _around(page, block, caption, (caption[0] - 5, caption[2] + 5), beside, below=False)
    return region


def _around(page: ClassifiedPage, block: list[int], caption: Rect, column: tuple[float, float],
            objects: list[Rect], below: bool = True) -> Rect | None:
    left, right = column
    others = [i for i in range(len(page.lines)) if i not in block
              and page.lines[i].x1 > left and page.lines[i].x0 < right]
    tall = 0.5 * (page.page.height or 792)  # a frame taller than that is a page background, not a figure's
    frames = [o for o in objects if 10 < o[3] - o[1] < tall and o[2] - o[0] > 10]
    legends = _legends(page, others)
    stopping = [i for i in others if _stops(page, i, frames, legends)]
    above = max((page.lines[i].bottom for i in stopping if page.lines[i].bottom <= caption[1] + 1), default=0.0)
    # sub-figure legends set as paragraphs under their panels: the panels above them, without them
    legend_top = min((page.lines[i].top for i in legends if above < page.lines[i].top < caption[1]), default=None)
    drawn_below = legend_top is not None and any(legend_top < (o[1] + o[3]) / 2 < caption[1] for o in objects)
    region = _drawing(page, (left, above + 1, right, legend_top - 1), objects, others, stopping) \
        if legend_top is not None and not drawn_below else None
    region = region or _drawing(page, (left, above + 1, right, caption[1] - 1), objects, others, stopping)
    if region is None and below:
        under = min((page.lines[i].top for i in stopping if page.lines[i].top >= caption[3] - 1),
                    default=page.page.height or 792)
        region = _drawing(page, (left, caption[3] + 1, right, under - 1), objects, others, stopping)
    return region


def _drawing(page: ClassifiedPage, band: Rect, objects: list[Rect], others: list[int],
             stopping: list[int]) -> Rect | None:
    """The union of the drawn objects in a band, with the labels and legends set around them;
    None when the band holds no drawing worth the name."""
    if band[3] - band[1] < 15:
        return None
    clipped = [(max(o[0], band[0]), max(o[1], band[1]), min(o[2], band[2]), min(o[3], band[3])) for o in objects
               if band[1] <= (o[1] + o[3]) / 2 <= band[3]]
    solid = [c for c in clipped if c[2] - c[0] >= 4 and c[3] - c[1] >= 4]
    if not solid:
        return None
    region = _bounds(solid)
    if region[2] - region[0] < 30 or region[3] - region[1] < 20:
        return None
    thin = [c for c in clipped if c not in solid and _overlaps(c, region, 5)]
    region = _bounds([region, *thin])
    # text set around the drawing: labels, legends, axis titles (smaller than the body, or not body text)
    labels = [_line_rect(page, i) for i in others if i not in stopping and (
        page.kinds[i] != "body" or not words(page.lines[i].text)  # tick labels: numbers in the body's size
        or page.lines[i].size and page.body and page.lines[i].size < 0.9 * page.body)]
    for _ in range(3):  # a label beside the drawing may bring its neighbour in (a legend of several lines)
        near = [r for r in labels if band[1] - 1 <= (r[1] + r[3]) / 2 <= band[3] + 1 and _overlaps(r, region, _GAP)]
        grown = _bounds([region, *near])
        if grown == region:
            break
        region = grown
    return max(region[0], band[0]), max(region[1], band[1]), min(region[2], band[2]), min(region[3], band[3])
