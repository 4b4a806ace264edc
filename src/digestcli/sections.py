"""A paper's prose paragraphs -> its top-level sections, each with a kind.

Real papers number their headings (1, 1., I., A, Appendix B), set them in
small capitals, or leave them unnumbered in bold. A heading is accepted when
it reads like one (short, no sentence, a known name or a number in sequence)
and is set like the paper's other headings (size, weight). Subsections stay
inside their section. Each top-level heading gets a kind from its words, or,
when its words say nothing, from what its text holds (measured results make
a results section) and where it stands. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .models import Section
from .linekinds import KNOWN_HEADING as _KNOWN
from .pdfclean import Paragraph

# Kinds by the words of a heading; the word that comes first in the heading decides
# ("Experiments and Discussion" is results, "Discussion and Limitations" a conclusion).
_KINDS: list[tuple[str, re.Pattern[str]]] = [
    ("references", re.compile(r"^(references?|bibliography|works cited|literature cited)$")),
    ("appendix", re.compile(r"\b(appendix|appendices|supplementary|supplemental|supporting information)\b")),
    ("abstract", re.compile(r"^abstract$")),
    ("other", re.compile(r"\b(acknowledge?ments?|author contributions?|contributions of authors|related works?|"
                         r"prior work|previous work|literature review|ethic(s|al)|reproducibility|"
                         r"funding|competing interests|data availability|declarations?|ccs concepts|keywords|"
                         r"index terms|license|artifacts?)\b")),
    ("introduction", re.compile(r"\b(introduction|motivation)\b")),
    ("conclusion", re.compile(r"\b(conclusions?|concluding|discussions?|summary|limitations?|future work|"
                              r"future directions|broader impacts?|outlook|final remarks|closing remarks|"
                              r"open questions|impact statements?)\b")),
    ("results", re.compile(r"\b(experiments?|experimental|results?|evaluations?|evaluating|empirical|benchmarks?|"
                           r"benchmarking|ablations?|analys[ie]s|case stud(y|ies)|performance|comparisons?|findings|"
                           r"measurements?|observations?|validation|testing|tests?|studies|study)\b")),
    ("method", re.compile(r"\b(methods?|methodology|approach(es)?|models?|framework|architecture|"
                          r"preliminar(y|ies)|background|problem|algorithms?|training|setup|set-up|"
                          r"implementation|design|formulation|definitions?|notation|data|datasets?|"
                          r"pre-?training|fine-?tuning|system|overview|theory|theoretical|task|proposed)\b")),
]
_NUMBERED = re.compile(r"^(?P<num>\d{1,2}|[IVX]{1,6})(?P<dot>\.?)\s+(?P<title>\S.{0,150})$")
_LETTERED = re.compile(r"^(?P<num>[A-Z])(?:\.|:|\s)\s*(?P<title>\S.{0,150})$")
_APPENDIX_WORD = re.compile(r"^(?:Appendix|APPENDIX)\s+(?P<num>[A-Z])\b[.:]?\s*(?P<title>.{0,150})$")
_APPENDIX_TITLE = re.compile(r"^(?:appendix|appendices|supplementary material|supplemental material)\b", re.I)
_SUBSECTION = re.compile(r"^(?:\d{1,2}|[A-Z])\.\d{1,2}\b")
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "X": 10,
          "XI": 11, "XII": 12, "XIII": 13, "XIV": 14, "XV": 15}
_NOT_SECTIONS = re.compile(r"^(?:table of )?contents$", re.I)
_RESULT_CUES = re.compile(r"(?<![\d.])\d+(?:\.\d+)?\s?%|\bTable \d|\b(?:outperform\w*|accuracy|improv\w+|achiev\w+|"
                          r"baselines?|state-of-the-art)\b", re.I)


@dataclass(frozen=True)
class Heading:
    number: str  # as printed: "3", "IV", "A"; "" when unnumbered
    title: str
    kind: str
    page: int
    index: int  # of its paragraph


def kind_of(title: str) -> str | None:
    """The section kind the words of a heading name, or None when they name none."""
    words = " ".join(re.sub(r"[^A-Za-z\s-]", " ", title).lower().split())
    best: tuple[int, int, str] | None = None
    for priority, (kind, pattern) in enumerate(_KINDS):
        match = pattern.search(words)
        if match and (best is None or (match.start(), priority) < best[:2]):
            best = (match.start(), priority, kind)
    return best[2] if best else None


_SMALL_WORDS = {"a", "an", "the", "of", "and", "or", "for", "in", "on", "to", "with", "by", "at", "from", "via", "vs",
                "is", "are", "as", "do", "not", "we", "it", "its", "be", "can", "into", "than", "how", "what", "why",
                "does", "when", "over", "under", "without", "beyond", "our", "their", "all", "more", "less"}


def _heading_shape(text: str) -> bool:
    """Short, no sentence inside, starting with a capital: the text of a heading (Title Case or
    Sentence case)."""
    if not 2 <= len(text) <= 150 or text.endswith((",", ";", "-")) or text.count(". ") > 1:
        return False
    words = re.findall(r"[A-Za-z][\w'’-]*", text)
    if not words or len(words) > 16 or not words[0][0].isupper():
        return False
    if text.endswith(".") and len(words) > 6:
        return False
    capitals = sum(1 for w in words if w[0].isupper() or w.lower() in _SMALL_WORDS)
    return capitals >= len(words) * 0.5 or len(words) <= 10


def _style(paragraph: Paragraph) -> tuple[float, bool]:
    return (round(paragraph.size * 2) / 2, paragraph.bold)


def _styled(paragraph: Paragraph, body: float) -> bool:
    text = paragraph.text
    return paragraph.bold or bool(body and paragraph.size >= body * 1.05) or (text.upper() == text and len(text) > 3)


def _candidate(paragraph: Paragraph, body: float) -> tuple[str, str, str] | None:
    """(family, number, title) of a paragraph that may be a top-level heading: family is
    'arabic', 'roman', 'letter' or 'plain'."""
    text = " ".join(paragraph.text.split())
    if paragraph.lines > 3 or len(text) > 160 or _SUBSECTION.match(text):
        return None
    styled = _styled(paragraph, body)
    appendix = _APPENDIX_WORD.match(text)
    if appendix and (styled or appendix.group("title")):
        return "letter", appendix.group("num"), appendix.group("title").strip(" .:") or f"Appendix {appendix['num']}"
    numbered = _NUMBERED.match(text)
    if numbered:
        number, title = numbered.group("num"), numbered.group("title").strip()
        family = "roman" if number in _ROMAN and (numbered.group("dot") or title.isupper()) else "arabic"
        if (family == "roman" or number.isdigit()) and _heading_shape(title.rstrip(".")) and not re.match(
                r"^[\d.,%]+(\s|$)", title):
            return family, number, title.rstrip(".").strip()
        if number.isdigit():
            return None
    lettered = _LETTERED.match(text)
    if lettered and _heading_shape(lettered.group("title")) and len(lettered.group("title")) > 2:
        return "letter", lettered.group("num"), lettered.group("title").rstrip(".").strip()
    plain = text.rstrip(".:").strip()
    if _APPENDIX_TITLE.match(plain) and (styled or paragraph.lines == 1):
        return "plain", "", plain
    if (styled or _KNOWN.match(plain)) and _heading_shape(plain) and len(plain.split()) <= 10:
        return "plain", "", plain
    return None


_RUN_IN_ABSTRACT = re.compile(r"^(Abstract|ABSTRACT|Summary)\s*(?:[.:—–]|-{1,2})\s*(?=\S)")


def join_wrapped(paragraphs: Sequence[Paragraph], body: float) -> list[Paragraph]:
    """A heading set on two lines comes out as two one-line paragraphs in the same style: one
    again. A run-in "Abstract." or "Abstract—" opening a paragraph becomes a heading of its own."""
    joined: list[Paragraph] = []
    for paragraph in paragraphs:
        run_in = _RUN_IN_ABSTRACT.match(paragraph.text)
        if run_in and not any(p.text.lower() == "abstract" for p in joined):
            joined.append(Paragraph(run_in.group(1), paragraph.page, paragraph.size, True, 1, paragraph.top,
                                    paragraph.gap_before))
            paragraph = Paragraph(paragraph.text[run_in.end():], paragraph.page, paragraph.size, paragraph.bold,
                                  paragraph.lines, paragraph.top, 0.0)
        if joined:
            last = joined[-1]
            same = (last.page == paragraph.page and _style(last) == _style(paragraph) and last.lines == 1
                    and paragraph.lines == 1 and 0 < paragraph.top - last.top < 2.2 * max(last.size, 1.0))
            continuation = not paragraph.text.rstrip().endswith((".", ":")) and len(paragraph.text.split()) <= 12
            if (same and continuation and _styled(last, body) and _candidate(last, body) is not None
                    and not re.match(r"^(?:\d{1,2}(?:\.\d+)*|[A-Z]\.\d+|[A-Z]\.|[IVX]+\.)\s", paragraph.text)
                    and len(last.text) + len(paragraph.text) < 160):
                joined[-1] = Paragraph(f"{last.text} {paragraph.text}", last.page, last.size, last.bold, 2,
                                       last.top, last.gap_before)
                continue
        joined.append(paragraph)
    return joined


def find_headings(paragraphs: Sequence[Paragraph], body: float) -> list[Heading]:
    """The paper's top-level headings, in order."""
    return _outline(paragraphs, body)[1]


def _outline(paragraphs: Sequence[Paragraph], body: float) -> tuple[list[Paragraph], list[Heading]]:
    """The paragraphs with wrapped headings joined, and the top-level headings among them
    (each heading's index is into those paragraphs)."""
    paragraphs = join_wrapped(paragraphs, body)
    candidates = [(i, c) for i, p in enumerate(paragraphs)
                  if (c := _candidate(p, body)) is not None and not _NOT_SECTIONS.match(c[2])]
    arabic = _sequence([(i, c) for i, c in candidates if c[0] == "arabic"], paragraphs, body, int)
    roman = _sequence([(i, c) for i, c in candidates if c[0] == "roman"], paragraphs, body, lambda n: _ROMAN[n])
    numbered = arabic if len(arabic) >= len(roman) else roman
    styles = {_style(paragraphs[i]) for i, _ in numbered}
    accepted: dict[int, tuple[str, str]] = {i: (c[1], c[2]) for i, c in numbered}
    known_styles = {_style(paragraphs[i]) for i, c in candidates
                    if c[0] == "plain" and _KNOWN.match(c[2]) and kind_of(c[2]) != "abstract"}
    first_known = min((i for i, c in candidates if c[0] == "plain" and _KNOWN.match(c[2])), default=len(paragraphs))
    for index, (family, _, title) in candidates:
        if family != "plain" or index in accepted:
            continue
        paragraph = paragraphs[index]
        known = bool(_KNOWN.match(title) or _APPENDIX_TITLE.match(title))
        if known and (len(title.split()) <= 6 or _APPENDIX_TITLE.match(title)):
            accepted[index] = ("", title)
        elif (not numbered and _styled(paragraph, body) and _style(paragraph) in known_styles and index > first_known
              and paragraph.lines == 1 and paragraph.gap_before >= 0.5 * paragraph.size):
            accepted[index] = ("", title)  # a paper without numbers: set like its Introduction
    references = min((i for i, (_, t) in accepted.items() if kind_of(t) == "references"), default=len(paragraphs))
    for index in [i for i, _ in numbered if i > references and kind_of(accepted[i][1]) != "appendix"]:
        del accepted[index]  # numbers after the references: a list of figures, or numbered examples
    numbered = [(i, c) for i, c in numbered if i in accepted]
    body_end = max((i for i, _ in numbered), default=-1)
    reference_style = _style(paragraphs[references]) if references < len(paragraphs) else None
    lettered = any(c[0] == "letter" for i, c in candidates if i > min(references, body_end + 1))
    last_letter = ""
    for index, (family, number, title) in candidates:
        if index in accepted or index <= max(references if references < len(paragraphs) else -1, body_end, 0) and (
                family != "letter"):
            continue
        if family == "letter":
            expected = chr(ord(last_letter) + 1) if last_letter else "A"
            set_like = _styled(paragraphs[index], body) or _style(paragraphs[index]) in styles
            if set_like and expected <= number <= chr(ord(expected) + 2) and (index > references or index > body_end >= 0):
                accepted[index] = (number, title)
                last_letter = number
        elif (family == "plain" and index > references and not lettered and _style(paragraphs[index]) == reference_style
              and paragraphs[index].lines == 1 and not re.search(r"[\d!?=]", title)
              and paragraphs[index].gap_before >= 0.5 * paragraphs[index].size):
            accepted[index] = ("", title)  # unnumbered appendices after the references, set like them
    return paragraphs, _with_kinds(sorted(accepted.items()), paragraphs)


def _with_kinds(ordered: list[tuple[int, tuple[str, str]]], paragraphs: Sequence[Paragraph]) -> list[Heading]:
    headings: list[Heading] = []
    previous_kind, seen_results, after_references = "front", False, False
    for position, (index, (number, title)) in enumerate(ordered):
        kind = kind_of(title)
        lettered = bool(number) and number.isalpha() and len(number) == 1 and number not in _ROMAN
        if after_references and kind != "references" or lettered or _APPENDIX_TITLE.match(title):
            kind = "appendix"
        if number in ("1", "I") and kind in (None, "method") and previous_kind in ("front", "abstract"):
            kind = "introduction"  # the first section plays the introduction's part, whatever its name
        if kind is None:
            end = ordered[position + 1][0] if position + 1 < len(ordered) else len(paragraphs)
            kind = _by_content(paragraphs[index + 1 : end], previous_kind, seen_results)
        after_references = after_references or kind == "references"
        seen_results = seen_results or kind == "results"
        headings.append(Heading(number, title, kind, paragraphs[index].page, index))
        previous_kind = kind
    return headings


def _by_content(section: Sequence[Paragraph], previous: str, seen_results: bool) -> str:
    """The kind of a section whose heading names none: results when its text reports measured
    results (percentages, tables, comparisons), else by where it stands."""
    if previous == "appendix":
        return "appendix"
    text = " ".join(p.text for p in section)
    cues = len(_RESULT_CUES.findall(text))
    if cues >= max(4, len(text.split()) / 120):
        return "results"
    if seen_results:
        return "results" if previous in ("results", "method", "other") else "other"
    if previous in ("front", "abstract", "introduction", "method", "other"):
        return "method"
    return "other"


def _sequence(found: list[tuple[int, tuple[str, str, str]]], paragraphs: Sequence[Paragraph], body: float,
              value: object) -> list[tuple[int, tuple[str, str, str]]]:
    """The best run of numbered candidates counting up from 1 in document order (a number may be
    skipped when its heading is missed), all in one style. Runs set like headings (bold, larger)
    beat runs of numbered list items; two or fewer items that name no section kind are none."""
    best: list[tuple[int, tuple[str, str, str]]] = []
    best_score = 0.0
    by_style: dict[tuple[float, bool], list[tuple[int, tuple[str, str, str]]]] = {}
    for item in found:
        by_style.setdefault(_style(paragraphs[item[0]]), []).append(item)
    for group in [*by_style.values(), found]:
        run: list[tuple[int, tuple[str, str, str]]] = []
        last = 0
        for item in group:
            number = value(item[1][1])  # type: ignore[operator]
            if number == last + 1 or (run and number == last + 2):
                run.append(item)
                last = number
            elif number == 1 and not run:
                run, last = [item], 1
        named = sum(1 for item in run if kind_of(item[1][2]))
        styled_items = sum(1 for item in run if _styled(paragraphs[item[0]], body))
        if not named and (len(run) <= 2 or styled_items < len(run) / 2):
            continue  # affiliations ("1 Allen Institute for AI") or a numbered list
        score = 2 * styled_items + 0.5 * (len(run) - styled_items)
        if score > best_score:
            best, best_score = run, score
    return best


def split_sections(paragraphs: Sequence[Paragraph], body: float) -> list[Section]:
    """Sections between the headings; text before the first heading (title, authors) is dropped."""
    paragraphs, headings = _outline(paragraphs, body)
    sections: list[Section] = []
    for position, heading in enumerate(headings):
        end = headings[position + 1].index if position + 1 < len(headings) else len(paragraphs)
        text = "\n\n".join(p.text for p in paragraphs[heading.index + 1 : end])
        if text.strip():
            sections.append(Section(heading.kind, heading.title, text, heading.page))
    if not sections and paragraphs:
        return [Section("other", "Text", "\n\n".join(p.text for p in paragraphs), paragraphs[0].page)]
    return sections
