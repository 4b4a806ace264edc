"""Text from papers and LLMs is data: make it inert before it reaches a blog.

The newsletter is Markdown that Jekyll runs through Liquid and kramdown, so a
summary field could otherwise carry raw HTML (`<script>`), links and images
to anywhere (`[x](javascript:...)`, `![](http://tracker/)`), Liquid tags
(`{{ site }}`, `{% include %}`), kramdown extensions (`{::nomarkdown}`) or
block syntax (a leading `#` or `>`) that changes the page's structure.

`inline_text` keeps the words and removes every one of those powers: it is
applied to every field that came from a paper or a model. The author's own
notes are not passed through it; they are theirs to format.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_HTML = str.maketrans({"<": "&lt;", ">": "&gt;"})
# links, images, footnotes need [ ]; a code span would show escapes raw; a backslash of the text's own would
# escape the escape (\\[ is a backslash and a live bracket)
_BRACKETS = re.compile(r"([\\\[\]`])")
_BRACES = re.compile(r"\{(?=[{%:])")  # Liquid {{ }} / {% %} and kramdown {: } / {:: }
_BLOCK_START = re.compile(r"^(?:[#>=|+*`~-]|\d+[.)])")  # would start a heading, quote, list, fence...
_URL_UNSAFE = re.compile(r"[\s<>\"'{}\\`^|]")
_URL_ESCAPES = str.maketrans({"(": "%28", ")": "%29", "[": "%5B", "]": "%5D"})


# C0 and C1 controls (ESC starts terminal sequences, BEL rings, NUL makes a file "binary"), DEL, and the
# bidirectional overrides that make a reader see text in another order than it is stored.
# Invisible format characters (soft hyphen, zero-width space, direction marks, word joiner, BOM) go too: they can hide a
# word from a filter (a key, a marker) while a reader never sees them.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b\u200e\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
# a whole terminal escape sequence: CSI (colours, cursor), OSC (window title, links) up to BEL or ST, others
_ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]")
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)


def without_controls(text: str) -> str:
    """``text`` without control characters; tabs and line breaks stay."""
    text = str(text)
    if "\x1b" in text or "\x9b" in text:
        text = _ESCAPE_SEQUENCE.sub("", text)
    return _CONTROLS.sub("", text)


def terminal_text(text: str) -> str:
    """One line for a terminal: no control character can move the cursor, recolour or retitle it."""
    return " ".join(without_controls(text).split())


def without_comments(text: str) -> str:
    """Fetched or generated text with every HTML comment (and an unclosed ``<!--`` to the end) removed,
    so it can never hold the item's notes marker, which only digest writes."""
    return _COMMENT.sub(" ", str(text)) if "<!--" in str(text) else str(text)


def inline_text(text: str) -> str:
    """One line of plain prose, safe to place anywhere in the Markdown body."""
    text = without_comments(without_controls(text))  # comments are notes to the author, unpublished
    text = " ".join(text.split())  # one paragraph: no blank line can end the field's block
    text = text.translate(_HTML)
    text = _BRACKETS.sub(r"\\\1", text)
    text = _BRACES.sub("&#123;", text)
    if _BLOCK_START.match(text):
        text = "\\" + text if not text[0].isdigit() else re.sub(r"^(\d+)([.)])", r"\1\\\2", text)
    return text


def plain_value(text: str) -> str:
    """A front-matter string: one line without tags or angle brackets (layouts may not escape it)."""
    text = re.sub(r"<[^>]*>", " ", without_controls(text)).replace("<", " ").replace(">", " ")
    text = re.sub(r"\{(?=[{%:#])", "{ ", text)  # a layout may print it; never a Liquid/Jinja tag or attribute list
    return " ".join(text.split())


def safe_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL that cannot break out of a Markdown link, else ''."""
    url = str(url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or _URL_UNSAFE.search(url):
        return ""
    return url.translate(_URL_ESCAPES)  # a ")" must not end the Markdown link early
