"""Grounding: every number and every named dataset, benchmark or model in a summary is found in the paper.

A summary states claims a reader cannot check: "85.1% on ScienceQA", "12x less
memory", "a 30-billion parameter model". This module pulls those claims out
of each summary field and looks each one up in the paper's own text (abstract,
arXiv comment, and every PDF page), after normalising number forms
(85.1 % / 85.1%, 12x / 12× / 12 times / 12-fold, 30-billion / 30B / 30 billion,
1,000 / 1000), case, hyphens and spaces. A claim that is found keeps the page
it was found on; one that is not is reported as unverified.

Pure: no network, no LLM; fast enough to run on every add and every build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

QUOTE_MATCH = 90.0  # rapidfuzz partial_ratio for an evidence quote to count as found
SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "b": 1e9, "billion": 1e9, "t": 1e12,
          "trillion": 1e12}
_UNIT = (r"%|percent(?:age points?)?|×|x\b|times\b|-?fold\b|points?\b|pp\b|pts?\b|"
         r"thousand\b|million\b|billion\b|trillion\b|[KMBT]\b")
_WITH_UNIT = rf"(?:[ \u00a0\u202f-]?(?P<unit>{_UNIT}))?"
_FIGURE = rf"(?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?){_WITH_UNIT}"
# A summary in another language may write 85,1 % and 10.000 (a decimal comma, a point between thousands).
_ENGLISH_NUM = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
_COMMA_NUM = re.compile(r"\d{1,3}(?:\.\d{3})+(?![\d.])(?:,\d+)?|\d+(?:,\d+)?")
_ANY_FIGURE = (r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d{1,3}(?:\.\d{3})+(?![\d.])(?:,\d+)?|\d+(?:[.,]\d+)?)"
               + _WITH_UNIT)
# A claim's figure stands alone: the 4 of "GPT-4" is part of a name, and checked as one.
NUMBER = re.compile(rf"(?<![\w.,])(?<![A-Za-z]-){_ANY_FIGURE}", re.IGNORECASE)
# The paper's figures include those inside names: "WikiText 103" or "GPT 3.5" in a summary is found.
PAPER_NUMBER = re.compile(rf"(?:(?<![\w.,])|(?<=[A-Za-z]-)){_FIGURE}", re.IGNORECASE)
_DIGITS = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
# Named things: acronyms (GLUE, MMLU), inner capitals (ScienceQA, LLaMA, MeZO), names with digits
# (WikiText-103, SST-2, GPT-4, LLaMA-7B, A100).
NAME = re.compile(r"(?<![\w-])(?:[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*)(?![\w-])")
_COMMON = {"tl", "dr", "ai", "ml", "vs", "ok", "id", "us", "eg", "ie",
           "ki", "ia"}  # AI in German, French, Spanish, Italian, Portuguese


@dataclass(frozen=True)
class Claim:
    field: str  # the summary field it came from
    text: str  # as written in the summary, e.g. "85.1%" or "WikiText-103"
    kind: str  # "number", "name" or "quote"
    context: tuple[str, ...] = ()  # for a number: the names its sentence states it with ("ScienceQA")


@dataclass(frozen=True)
class Finding:
    claim: Claim
    page: int | None  # 0 = abstract or comment, 1.. = PDF page; None = not found

    @property
    def found(self) -> bool:
        return self.page is not None


@dataclass
class Verdict:
    findings: list[Finding] = field(default_factory=list)

    @property
    def unverified(self) -> list[Claim]:
        return [f.claim for f in self.findings if not f.found]

    def to_meta(self) -> dict[str, Any]:
        """What an item's provenance keeps."""
        return {
            "claims": len(self.findings),
            "found": sum(1 for f in self.findings if f.found),
            "unverified": [f"{c.field}: {c.text}" for c in self.unverified],
        }


# -- numbers -----------------------------------------------------------------------


def _unit_kind(unit: str) -> tuple[str, float]:
    """(kind, scale) of a unit: % | x | pt | n (a count, scaled) | plain."""
    u = unit.lower().strip()
    if not u:
        return "plain", 1.0
    if u.startswith("%") or u.startswith("percent"):
        return ("pt" if "point" in u else "%"), 1.0
    if u in ("×", "x", "times") or u.endswith("fold"):
        return "x", 1.0
    if u.startswith(("point", "pp", "pt")):
        return "pt", 1.0
    return "n", SCALES[u]


def numbers(text: str, pattern: re.Pattern[str] = NUMBER) -> list[tuple[str, str, float]]:
    """(as written, kind, value) of each number in ``text``; value already scaled (30B -> 3e10)."""
    return [_figure(match) for match in pattern.finditer(text)]


def _figure(match: re.Match[str]) -> tuple[str, str, float]:
    written, kind, values = _figure_values(match)
    return written, kind, values[0]


def _figure_values(match: re.Match[str]) -> tuple[str, str, list[float]]:
    """(as written, kind, every value it may mean): the English reading first, then the one with a
    decimal comma where that differs (1,000 is a thousand, or one; 85,1 is 85.1)."""
    unit = match.group("unit") or ""
    if unit in ("K", "M", "B", "T", "k", "m", "b", "t") and not unit.isupper():
        unit = ""  # "5 m" or "3 b)" are not counts; only capital K/M/B/T are
    kind, scale = _unit_kind(unit)
    num = match.group("num")
    readings = [float(num.replace(",", ""))] if _ENGLISH_NUM.fullmatch(num) else []
    if _COMMA_NUM.fullmatch(num):
        readings.append(float(num.replace(".", "").replace(",", ".")))
    written = match.group(0) if unit else num
    return written.strip(), kind, [value * scale for value in dict.fromkeys(readings)]


def figure_readings(written: str, translated: bool = False) -> list[tuple[str, float]]:
    """Each (kind, value) a summary's figure may stand for. In a ``translated`` summary, in either
    number format (10.000 may be ten thousand), and a plain number also as a count of thousands,
    millions, billions or trillions ("30 Milliarden" for 30B: the scale is a word of the language)."""
    match = NUMBER.search(written)
    if match is None:
        return []
    _, kind, values = _figure_values(match)
    if not translated:
        return [(kind, values[0])]
    scaled = [("n", value * scale) for value in values for scale in (1e3, 1e6, 1e9, 1e12)] if kind == "plain" else []
    return [(kind, value) for value in values] + scaled


def _key(value: float) -> str:
    return f"{value:.6g}"


def _number_matches(kind: str, value: float, seen: set[str]) -> bool:
    if not seen:
        return False
    if kind == "x":
        return "x" in seen
    if kind == "%":
        return "%" in seen or "pt" in seen or ("plain" in seen and not float(value).is_integer())
    if kind == "pt":
        return bool(seen & {"pt", "%", "plain"})
    if kind == "n":
        return "n" in seen or "plain" in seen
    return True  # a plain number: any form of the same value


# -- names -------------------------------------------------------------------------


def _is_name(token: str) -> bool:
    letters = [c for c in token if c.isalpha()]
    if len(token) < 2 or not letters or token.lower() in _COMMON:
        return False
    has_digit = any(c.isdigit() for c in token)
    inner_capital = any(c.isupper() for c in token[1:])
    return inner_capital or (has_digit and token[0].isupper())


def _named_part(part: str) -> bool:
    """A part of a hyphenated token that names something: a capital inside (LLaMA, QA) or a digit (4, 7B)."""
    return any(c.isupper() for c in part[1:]) or any(c.isdigit() for c in part)


def name_core(token: str) -> str:
    """The name in a hyphenated token, without the words after it: "CLIP-Bildencoder" -> "CLIP",
    "KI-Modelle" -> "KI", "GPT-4" as it is. Other languages attach their own words to a name this
    way; in a translated summary the name is the claim. (In English "RoBERTa-large" is a name.)"""
    parts = token.split("-")
    while len(parts) > 1 and not _named_part(parts[-1]):
        parts.pop()
    return "-".join(parts)


def _squash(text: str) -> str:
    """Lower case, letters and digits only: 'WikiText-103' == 'wikitext 103' == 'Wikitext103'."""
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def names(text: str, translated: bool = False) -> list[str]:
    """The named things of ``text``; of a ``translated`` one, the names inside its compounds
    ("CLIP-Bildencoder" names CLIP; "Aufgaben-Prompts" and "KI-Modelle" name nothing)."""
    found = []
    for match in NAME.finditer(text):
        token = match.group(0).rstrip(".")
        token = name_core(token) if translated else token
        if _is_name(token):
            found.append(token)
    return found


# -- claims and the paper ------------------------------------------------------------


def claims(fields: dict[str, Any], skip: tuple[str, ...] = ("short_name", "code_url", "evidence"),
           translated: bool = False) -> list[Claim]:
    """The checkable claims of each summary field, once each per field, in order. A number keeps
    the names stated in its sentence: "85.1% on ScienceQA" is checked as 85.1% near ScienceQA.
    A ``translated`` summary's names are those inside its compounds (see names)."""
    from .text import split_sentences

    found: list[Claim] = []
    for name, value in fields.items():
        if name in skip or not value:
            continue
        text = " ".join(value) if isinstance(value, list) else str(value)
        seen: set[str] = set()
        for sentence in split_sentences(text):
            stated = names(sentence, translated)
            if translated:  # a compound stands for the words around a figure: A100-80GB-GPU is A100, 80GB, GPU
                stated += [part for name in stated if "-" in name for part in name.split("-") if _is_name(part)]
            context = tuple(dict.fromkeys(stated))
            for written, kind, number in numbers(sentence):
                if kind == "plain" and float(number).is_integer() and number < 10:
                    continue  # "two stages", "3 tasks": too common to check
                if written not in seen:
                    seen.add(written)
                    found.append(Claim(name, written, "number", context))
        for token in names(text, translated):
            if token not in seen:
                seen.add(token)
                found.append(Claim(name, token, "name"))
    return found


NEAR = 300  # characters either side of a figure in which the names stated with it must appear


class PaperSource:
    """The paper's own text, indexed once for many lookups: page 0 is the abstract and comment."""

    def __init__(self, abstract: str, comment: str = "", pages: list[str] | tuple[str, ...] = ()) -> None:
        from .pdfclean import prose_text

        # The abstract also as the summarizers read it: cleaned like the PDF's prose (pages already are).
        front = f"{abstract}\n{comment}"
        self._texts = [_dehyphenate(t) for t in (f"{front}\n{prose_text(front)}", *pages)]
        self._numbers: list[dict[str, list[tuple[str, int]]]] = []  # value key -> (kind, offset) per page
        for text in self._texts:
            index: dict[str, list[tuple[str, int]]] = {}
            for match in PAPER_NUMBER.finditer(text):
                _, kind, value = _figure(match)
                index.setdefault(_key(value), []).append((kind, match.start()))
            self._numbers.append(index)
        self._names = [_squash(t) for t in self._texts]
        self._prose = [_prose(t) for t in self._texts]

    def page_of_quote(self, quote: str, threshold: float = QUOTE_MATCH) -> int | None:
        """The page holding ``quote`` word for word, or nearly (rapidfuzz partial ratio >= threshold:
        PDF extraction breaks some words and symbols, models change a character here and there),
        with every figure of the quote in the passage it matches."""
        wanted = _prose(quote)
        if len(wanted) < 12:
            return None  # too short to stand as evidence
        for page, text in enumerate(self._prose):
            if wanted in text:
                return page
        from rapidfuzz import fuzz

        digits = _digit_runs(quote)
        for page, text in enumerate(self._prose):
            match = fuzz.partial_ratio_alignment(wanted, text, score_cutoff=threshold)
            if match is None:
                continue
            # Nearly the paper's words, but the figures exactly: a quote with one changed is not found.
            if digits <= _digit_runs(text[max(0, match.dest_start - 20) : match.dest_end + 20]):
                return page
        return None

    def page_of_number(self, kind: str, value: float, near: tuple[str, ...] = ()) -> int | None:
        """The first page with the figure, in a form its kind allows. When ``near`` names appear in
        the paper, the figure must stand within NEAR characters of one of them: a changed figure
        that happens to appear elsewhere in the paper is not found."""
        key = _key(value)
        found = [(page, [offset for seen, offset in index.get(key, []) if _number_matches(kind, value, {seen})])
                 for page, index in enumerate(self._numbers)]
        found = [(page, offsets) for page, offsets in found if offsets]
        anchors = [_squash(name) for name in near if self.page_of_name(name) is not None]
        if not anchors or not found:
            return found[0][0] if found else None
        for page, offsets in found:
            text = self._texts[page]
            for offset in offsets:
                window = _squash(text[max(0, offset - NEAR) : offset + NEAR])
                if any(anchor in window for anchor in anchors):
                    return page
        return None

    def page_of_name(self, token: str) -> int | None:
        wanted = _squash(token)
        variants = {wanted, wanted.removesuffix("s")} if len(wanted) >= 3 else {wanted}  # LMs -> LM
        for page, text in enumerate(self._names):
            if any(v and v in text for v in variants):
                return page
        return None


def _digit_runs(text: str) -> set[str]:
    """The figures of a text as digits ("85.1", "1000", "3"), however they are written around."""
    return {run.replace(",", "") for run in _DIGITS.findall(text)}


def _prose(text: str) -> str:
    """Lower case, one space between words, no hyphenation breaks: how quotes are compared."""
    return " ".join(_dehyphenate(text).lower().split())


def _dehyphenate(text: str) -> str:
    return re.sub(r"(\w)-\n(\w)", r"\1\2", text)


UNCHECKED = ("short_name", "code_url", "evidence")  # a name, a link and the quotes (checked as quotes)


def check(fields: dict[str, Any], source: PaperSource, accepted: list[str] | tuple[str, ...] = (),
          editorial: tuple[str, ...] = (), translated: bool = False) -> Verdict:
    """Look up each claim of ``fields`` in ``source``; claims listed in ``accepted`` count as found (page 0).
    The ``editorial`` fields (the writer's opinion, per the template) are never checked; the names of a
    ``translated`` summary are read as names() reads them."""
    accepted_keys = {_squash(a) for a in accepted}
    verdict = Verdict()
    for quote in fields.get("evidence") or []:
        claim = Claim("evidence", str(quote), "quote")
        page = 0 if _squash(claim.text) in accepted_keys else source.page_of_quote(claim.text)
        verdict.findings.append(Finding(claim, page))
    for claim in claims(fields, (*UNCHECKED, *editorial), translated):
        if _squash(claim.text) in accepted_keys:
            verdict.findings.append(Finding(claim, 0))
            continue
        if claim.kind == "number":
            pages = (source.page_of_number(kind, value, claim.context)
                     for kind, value in figure_readings(claim.text, translated))
            page = next((found for found in pages if found is not None), None)
        else:
            page = source.page_of_name(claim.text)
        verdict.findings.append(Finding(claim, page))
    return verdict


def still_unverified(recorded: list[str], accepted: list[str]) -> list[str]:
    """The claims recorded as not found ("field: claim") that the author has not accepted since."""
    taken = {_squash(a) for a in accepted}
    return [c for c in recorded if _squash(c.split(": ", 1)[-1]) not in taken]
