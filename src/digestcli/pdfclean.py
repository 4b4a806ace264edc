"""Positioned lines of a real paper -> its prose paragraphs, and the full text of each page.

A paper's PDF holds more than prose: arXiv's margin stamp, running heads and
page numbers, figure labels and legends, captions, table cells, display
equations and their numbers, footnotes. linekinds says what each line is;
here the body lines are read in order and joined into paragraphs (line-break
hyphens resolved against the paper's own vocabulary, a paragraph cut by a
page or column break joined again), and prose_text makes their text
publishable (characters repaired, inline citations removed).
Pure: no I/O, the same lines always give the same text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace

from .characters import clean_chars, drop_garbage
from .citations import SPACE_BEFORE_PUNCTUATION, remove_citations
from .linekinds import (SENTENCE_END, STAMP, ClassifiedPage, Fonts, numbered_heading, possible_heading,
                        running_shapes, words)
from .pdfread import HYPHEN_AT_END, Document, Line, PageLayout

_BULLET = re.compile(r"^(?:[•◦▪▸►∙·‣⁃]|[-–]\s)")


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
    # each page's lines with their kinds (figures.py finds captions among them); not compared
    classified: tuple[ClassifiedPage, ...] = field(default=(), compare=False, repr=False)


def _mode_size(lines: list[Line]) -> float:
    weights: Counter[float] = Counter()
    for line in lines:
        if line.size > 3:
            weights[round(line.size * 2) / 2] += len(line.text)
    return weights.most_common(1)[0][0] if weights else 0.0


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


def _column_order(page: ClassifiedPage) -> list[int]:
    """Indices in reading order. The engine's order is kept unless it hops between the two
    columns of a two-column page line by line; then the page is read band by band, left
    column first."""
    lines, kinds = page.lines, page.kinds
    if not page.two_columns:
        return list(range(len(lines)))
    side = [page.side(line) for line in lines]
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


def _paragraphs(page: ClassifiedPage, order: list[int], vocabulary: Vocabulary) -> list[Paragraph]:
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
        heading = not continues and _standalone(line, page) and (previous is None or SENTENCE_END.search(previous.text) is not None
                                               or pitch > 1.55 * size or numbered_heading(line.text))
        after_heading = len(group) == 1 and _standalone(group[-1], page) and (
            group[-1].bold != line.bold or abs(group[-1].size - line.size) > 0.3
            or numbered_heading(group[-1].text)) and not (
            group[-1].text.endswith(HYPHEN_AT_END) and group[-1].bold == line.bold and 0 < pitch < 1.6 * size)
        indented = previous is not None and line.x0 > previous.x0 + 0.6 * size and 0 < pitch < 2 * size and (
            SENTENCE_END.search(previous.text) is not None)
        starts = (not group or heading or after_heading or new_column or indented or _BULLET.match(line.text)
                  or (previous is not None and pitch > 1.55 * size) or abs(line.size - group[-1].size) > 0.8)
        if starts:
            flush()
            gap_before = pitch - size if previous and pitch > 0 else 0.0
        group.append(line)
        previous = line
    flush()
    return paragraphs


def _standalone(line: Line, page: ClassifiedPage) -> bool:
    """A line that may be a heading on its own: styled or numbered like one, and short. A bold
    phrase that opens a full-width line of a paragraph is a run-in head, part of the paragraph."""
    if not possible_heading(line, page.body) or len(line.text) >= 100:
        return False
    return numbered_heading(line.text) or not page.column or line.width < 0.75 * page.column




def prose_text(text: str, *, marks: bool = True) -> str:
    """Text a reader can publish: clean characters, no inline citation, no arXiv stamp, no math
    glyph salad, one space between words. Applied to the PDF's prose and, without ``marks`` (the
    raised footnote digits only a PDF has), to every summary field of a model."""
    text = STAMP.sub(" ", clean_chars(text))
    text = " ".join(drop_garbage(remove_citations(text, marks=marks)).split())
    return SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)


def _other_text(page: ClassifiedPage, order: list[int], vocabulary: Vocabulary) -> str:
    """What a reader sees on the page besides its prose and margins: captions, tables, footnotes,
    equations and figure labels, line by line."""
    others = [page.lines[i].text for i in order if page.kinds[i] not in ("body", "stamp", "margin")]
    return remove_citations(clean_chars(join_lines(others, vocabulary))) if others else ""


def classify_document(document: Document) -> tuple[ClassifiedPage, ...]:
    """Every page's lines with their kinds (linekinds), set as the paper sets its body text: lines
    split at a sub- or superscript joined again, bold decided against the body font."""
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
    running = running_shapes(document.pages)
    return tuple(ClassifiedPage(layout, body, column, running) for layout in document.pages)


def clean_document(document: Document) -> CleanDocument:
    """The prose paragraphs of a paper and the full text of each page."""
    classified = classify_document(document)
    body = classified[0].body if classified else 0.0
    document = Document(tuple(page.page for page in classified), document.engine, document.metadata)
    vocabulary = _vocabulary(document.pages)
    paragraphs: list[Paragraph] = []
    others: list[str] = []
    raw: list[str] = []
    for page in classified:
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
    return CleanDocument(joined, tuple(pages), tuple(raw), body, classified)


def _join_across_pages(paragraphs: list[Paragraph], vocabulary: Vocabulary) -> tuple[Paragraph, ...]:
    """A paragraph cut by a page or column break (it ends mid-sentence and the next one starts
    in lower case) is one paragraph again."""
    joined: list[Paragraph] = []
    for paragraph in paragraphs:
        if joined:
            last = joined[-1]
            cut = last.text.endswith((",", ";", "(")) or (last.text[-1:].islower() and paragraph.lines > 1)
            if (not SENTENCE_END.search(last.text) and (re.match(r"[a-z(]", paragraph.text) or cut)
                    and abs(last.size - paragraph.size) <= 0.5 and last.lines > 1):
                joined[-1] = replace(last, text=join_lines([last.text, paragraph.text], vocabulary),
                                     lines=last.lines + paragraph.lines)
                continue
        joined.append(paragraph)
    return tuple(joined)
