"""Small text helpers shared by the stages: whitespace and sentences."""

from __future__ import annotations

import re

_ABBREVIATIONS = (
    "e.g", "i.e", "et al", "etc", "fig", "figs", "eq", "eqs", "sec", "secs", "tab", "vs", "cf",
    "resp", "approx", "no", "dr", "mr", "ms", "prof", "al", "appx", "app", "ref", "refs", "ch",
)
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def squash(text: str) -> str:
    """Collapse all runs of whitespace to single spaces."""
    return " ".join(text.split())


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences without breaking 'e.g.', 'et al.', '3.5' or 'Fig. 2'."""
    text = squash(text)
    if not text:
        return []
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        candidate = text[start : match.start()].rstrip()
        last_word = candidate.rsplit(" ", 1)[-1].rstrip(".!?\"')]").lower()
        if last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha()):
            continue  # "et al. Smith", "Fig. 3", initials such as "J. Smith"
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def cut_at_word(text: str, max_chars: int) -> str:
    """Prefix of ``text`` at most ``max_chars`` long that ends on a word boundary."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = cut.rfind(" ")
    return cut[:space].rstrip() if space > 0 else ""
