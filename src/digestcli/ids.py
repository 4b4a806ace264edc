"""arXiv identifier parsing and normalisation (pure functions, no I/O).

Accepts bare ids, versions, ``arXiv:`` prefixes, abs/pdf URLs, old-style
archive ids and the arXiv DOI; everything else is an IdentifierError naming
the input. Never guesses: a near-miss is an error, not a lookup. Digits of
other scripts (fullwidth, Arabic-Indic) are read as the ASCII digits they are;
the patterns themselves are ASCII only, so nothing else but ASCII gets through.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import IdentifierError, quoted
from .models import ArxivId

_NEW = r"(?P<new>(?P<yy>\d{2})(?P<mm>\d{2})\.(?P<num>\d{4,5}))"
_OLD = r"(?P<old>(?P<archive>[a-z]+(?:-[a-z]+)?)(?P<subject>\.[A-Z]{2})?/(?P<oyy>\d{2})(?P<omm>\d{2})\d{3})"
_ID = rf"(?:{_NEW}|{_OLD})(?:v(?P<version>\d+))?"

# re.ASCII: in Unicode mode \d takes any script's digits and [a-z] with IGNORECASE takes the
# Kelvin sign and the long s, which pass here and then fail as a file name. fullmatch, not $:
# $ also matches before a final newline.
_FLAGS = re.IGNORECASE | re.ASCII
_BARE = re.compile(rf"(?:arxiv:)?{_ID}", _FLAGS)
_URL = re.compile(rf"https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/{_ID}(?:\.pdf)?/?(?:[?#].*)?", _FLAGS)
_DOI = re.compile(rf"(?:https?://(?:dx\.)?doi\.org/|doi:)?10\.48550/arxiv\.{_ID}", _FLAGS)

EXAMPLES = "2305.17333, 2305.17333v2, arXiv:2305.17333, https://arxiv.org/abs/2305.17333, hep-th/9901001"


def parse_arxiv_id(text: str) -> ArxivId:
    """Return the normalised id in ``text`` or raise IdentifierError."""
    raw = quoted(text)
    text = ascii_digits(text.strip())
    if not text:
        raise IdentifierError("empty identifier (expected e.g. 2305.17333)")
    for pattern in (_BARE, _URL, _DOI):
        match = pattern.fullmatch(text)
        if match:
            return _checked(match, raw)
    raise IdentifierError(f"not an arXiv identifier: {raw} (expected e.g. {EXAMPLES})")


def ascii_digits(text: str) -> str:
    """``text`` with compatibility forms folded (NFKC: fullwidth ２３０５．１７３３３ -> 2305.17333) and
    every other script's decimal digits (Arabic-Indic ٢٣٠٥) written as ASCII digits."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.decimal(ch)) if not ch.isascii() and unicodedata.decimal(ch, None) is not None
                   else ch for ch in folded)


def _checked(match: re.Match[str], raw: str) -> ArxivId:
    version = int(match["version"]) if match["version"] else None
    if version == 0:
        raise IdentifierError(f"not an arXiv identifier: {raw} (versions start at v1)")
    if match["new"]:
        yy, mm, num = int(match["yy"]), int(match["mm"]), match["num"]
        if not 1 <= mm <= 12:
            raise IdentifierError(f"not an arXiv identifier: {raw} (month {match['mm']} does not exist)")
        if (yy, mm) < (7, 4):
            raise IdentifierError(f"not an arXiv identifier: {raw} (new-style ids start at 0704.0001)")
        # 4-digit sequence numbers until 1412, 5 digits from 1501 on.
        expected = 5 if yy >= 15 else 4
        if len(num) != expected:
            raise IdentifierError(
                f"not an arXiv identifier: {raw} (ids from {match['yy']}{match['mm']} have {expected} digits after the dot)"
            )
        return ArxivId(match["new"], version)
    archive = match["archive"].lower()
    subject = match["subject"] or ""
    if subject:
        subject = "." + subject[1:].upper()
    omm = int(match["omm"])
    if not 1 <= omm <= 12:
        raise IdentifierError(f"not an arXiv identifier: {raw} (month {match['omm']} does not exist)")
    number = match["old"].split("/", 1)[1]
    return ArxivId(f"{archive}{subject}/{number}", version)


def parse_many(texts: list[str]) -> tuple[list[ArxivId], list[tuple[str, IdentifierError]]]:
    """Parse each input; duplicates (same base id) are kept once, in order."""
    ids: list[ArxivId] = []
    errors: list[tuple[str, IdentifierError]] = []
    seen: set[str] = set()
    for text in texts:
        try:
            arxiv_id = parse_arxiv_id(text)
        except IdentifierError as error:
            errors.append((text, error))
            continue
        if arxiv_id.base in seen:
            continue
        seen.add(arxiv_id.base)
        ids.append(arxiv_id)
    return ids, errors


def read_id_lines(text: str) -> list[str]:
    """Ids from a file or stdin: one per line; blank lines and # comments are ignored."""
    found = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if line and not line.startswith("#"):
            found.append(line)
    return found
