"""Text's characters made printable: what a PDF's engine (or a model) leaves that a reader must not see.

Control and private-use bytes, math letters and ligatures, diacritics drawn apart from their letter,
words of mis-encoded math glyphs. Pure string functions: no I/O, no knowledge of a page's layout.
"""

from __future__ import annotations

import re
import unicodedata

from .pdfread import ACCENTS

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
