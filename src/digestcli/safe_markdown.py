"""Markdown from a paper, a model or the writer -> HTML that can only be read, for the html and email formats.

CommonMark (markdown-it-py) with raw HTML off: a `<script>` or `<img onerror>` in the text comes out as
the characters it is made of. Links keep only http(s) targets (sanitize.safe_url); images, headings and
rules are not rendered, so a field can neither load a tracker nor change the page's outline. Never
reads a file or the network.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .sanitize import safe_url, without_comments, without_controls

# Block and inline rules a field must not use: a heading or rule would break the page's outline, an image
# would load from anywhere (a tracking pixel in an email). Raw HTML is off as well (options below).
_DISABLED = ["heading", "lheading", "hr", "image", "html_block", "html_inline"]


@lru_cache(maxsize=2)
def _renderer(links: bool) -> Any:
    """``links``: the writer's own text (notes, intro) may link; a paper's or a model's may not: a
    made-up "[Paper](https://...)" in a summary would send a reader anywhere under digest's name."""
    from markdown_it import MarkdownIt

    markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    markdown.disable(_DISABLED if links else [*_DISABLED, "link", "autolink"])
    markdown.validateLink = _is_web_link  # type: ignore[method-assign]
    return markdown


def _is_web_link(url: str) -> bool:
    return bool(safe_url(url))


def clean_source(text: Any) -> str:
    """The text without control characters and HTML comments (the writer's notes to themselves)."""
    return without_comments(without_controls("" if text is None else str(text))).strip()


def to_html(text: Any, *, links: bool = False) -> str:
    """Block HTML (paragraphs, lists, quotes, code) of ``text``, with links only when ``links`` (the
    writer's own words); "" for empty text."""
    source = clean_source(text)
    return _renderer(links).render(source) if source else ""


def to_inline_html(text: Any, *, links: bool = False) -> str:
    """Inline HTML (emphasis, code; links when ``links``) of one line of ``text``, for a list item or a caption."""
    source = " ".join(clean_source(text).split())
    return _renderer(links).renderInline(source) if source else ""
