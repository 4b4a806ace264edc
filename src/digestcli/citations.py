"""Inline citations and footnote marks out of prose: (Radford et al., 2019), [12], [XLS+23], raised digits.

Applied to a PDF's text and to a model's. Pure: never removes an interval ("in [0, 1]") or an
exponent (R², O(n²), 10⁴), never touches what is not a citation or a mark.
"""

from __future__ import annotations

import re

from .pdfread import SUPERSCRIPT_DIGITS

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
SPACE_BEFORE_PUNCTUATION = re.compile(r"(?<! ) +([,.;:])")


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
    return SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)


def _numbered_citation(match: re.Match[str]) -> str:
    """A bracket of reference numbers goes; an interval ("in [0, 1]", "[10, 1]") stays."""
    if match.group("numbers") is None:
        return ""  # [XLS+23, FAHA23]
    values = [int(n) for n in re.findall(r"\d+", match.group("numbers"))]
    word = (match.group("before") or "").lower()
    if 0 in values or values != sorted(values) or word in _INTERVAL_WORDS:
        return match.group(0)
    return match.group("before") or ""
