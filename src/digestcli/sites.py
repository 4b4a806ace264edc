"""The static-site generators a post is built for (Jekyll, Hugo, MkDocs Material's blog, Quarto): where
each expects a post and its figures, the front matter it reads, the URL it serves a post at, and what
outside text must lose to stay inert in its dialect. Pure: no I/O; never decides what a post says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from .errors import ConfigError

BESIDE_THE_POST = "."  # an assets_url meaning: the figure sits beside the post and is linked by its name


@dataclass(frozen=True)
class Site:
    """One generator's conventions. Paths are under `build --out DIR`; ``{slug}`` is the post's
    YYYY-MM-DD-<title> stem, ``{title_slug}`` the title alone; URL paths follow the generator's defaults."""

    name: str
    post: str  # the post's file
    page: str  # a page that is no post (the bookmarks style)
    permalink: str  # where the generator serves a post, under the site's URL
    feed: str  # where `build --format atom --out DIR` writes the feed; it is served at /atom.xml
    beside: bool  # figures go beside the post (a Hugo page bundle, a Quarto post folder), linked by name


SITES: dict[str, Site] = {
    # Jekyll: today's rule (DIR/<slug>.md; figures under assets_dir in the parent of a _posts folder).
    "jekyll": Site("jekyll", "{slug}.md", "{slug}.md", "/{yyyy}/{mm}/{dd}/{title_slug}.html", "atom.xml", False),
    "hugo": Site("hugo", "content/posts/{slug}/index.md", "content/{slug}/index.md", "/posts/{slug}/",
                 "static/atom.xml", True),
    # Material's blog plugin: posts anywhere under docs/blog/posts, served at blog/<date>/<slug> (the `slug` we set).
    "mkdocs": Site("mkdocs", "docs/blog/posts/{slug}.md", "docs/{slug}.md", "/blog/{yyyy}/{mm}/{dd}/{title_slug}/",
                   "docs/atom.xml", False),
    "quarto": Site("quarto", "posts/{slug}/index.qmd", "{slug}/index.qmd", "/posts/{slug}/", "atom.xml", True),
}


def site_named(name: str) -> Site:
    try:
        return SITES[name]
    except KeyError:
        raise ConfigError(f"site must be one of {', '.join(SITES)}, got {name!r}") from None


def title_slug(title: str, name: str) -> str:
    from slugify import slugify

    return slugify(title) or slugify(name)


def post_slug(title: str, name: str, date: str) -> str:
    """YYYY-MM-DD-<title>: the date keeps two issues of one title apart in a folder of posts."""
    return f"{date}-{title_slug(title, name)}"


def post_path(site: Site, title: str, name: str, date: str) -> str:
    return site.post.format(slug=post_slug(title, name, date))


def page_path(site: Site, slug: str) -> str:
    return site.page.format(slug=slug)


def figure_place(site: Site, document: str, assets_dir: str, issue: str, file_name: str) -> str:
    """Where under DIR a figure of the post at ``document`` goes: beside it, or under assets_dir/<issue>."""
    if site.beside:
        return f"{document.rsplit('/', 1)[0]}/{file_name}"
    return f"{'docs/' if site.name == 'mkdocs' else ''}{assets_dir.strip('/')}/{issue}/{file_name}"


def permalink(site: Site, title: str, name: str, date: str) -> str:
    """The post's URL path as the generator serves it by default (Jekyll's `date` permalink style,
    Hugo's and Quarto's folder, Material's blog/<yyyy>/<mm>/<dd>/<slug>)."""
    year, month, day = (date.split("-") + ["", "", ""])[:3]
    return site.permalink.format(yyyy=year, mm=month, dd=day, slug=post_slug(title, name, date),
                                 title_slug=title_slug(title, name))


# -- inert outside text ---------------------------------------------------------------------------------
# sanitize.inline_text makes outside text inert for Jekyll (Liquid, kramdown) and CommonMark. The other
# generators read more: Hugo shortcodes {{< >}} {{% %}} and Goldmark heading attributes {#id ...};
# MkDocs' macros plugin runs Jinja ({{ }} {% %} {# #}), attr_list takes {onclick=...} without a colon and
# arithmatex reads $...$; Quarto's reader runs shortcodes {{< >}}, Pandoc reads $math$, @citations,
# {attributes} and ::: divs. Each of those starts with a character below: its character reference shows
# the same character and starts nothing, as each of these parsers reads the raw text before decoding it.

_SYNTAX_STARTS = str.maketrans({"{": "&#123;", "$": "&#36;"})
_PANDOC_STARTS = str.maketrans({"{": "&#123;", "$": "&#36;", "@": "&#64;"})
# Quarto's reader hides each shortcode as this marker + hex before Pandoc reads the text, then turns any
# marker left in the text back into a live shortcode: in outside text it must not match (Lua's match is
# case-sensitive, and the upper-case marker reads the same).
_QUARTO_MARKER = re.compile(r"b58fc729-690b-4000-b19f-365a4093b2ff", re.I)


def _jekyll_text(text: str) -> str:
    return text  # inline_text covers Liquid and kramdown


def _generator_text(text: str) -> str:
    return text.translate(_SYNTAX_STARTS)


def _quarto_text(text: str) -> str:
    text = _QUARTO_MARKER.sub(lambda found: found.group(0).upper(), text).translate(_PANDOC_STARTS)
    return "&#58;" + text[1:] if text.startswith(":") else text  # ::: opens a Pandoc div


def heading_id(site: Site, text: str) -> str:
    """The id ``site``'s Markdown gives a heading of plain ``text``, so a table of contents can link
    to it: kramdown's auto_ids (Jekyll), GitHub's (Hugo's Goldmark default), Python-Markdown's toc
    slugify (MkDocs), Pandoc's auto_identifiers (Quarto)."""
    import unicodedata

    if site.name == "jekyll":
        kept = re.sub(r"[^a-zA-Z0-9 -]", "", re.sub(r"^[^a-zA-Z]+", "", text))
        return kept.replace(" ", "-").lower() or "section"
    if site.name == "hugo":
        return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
    if site.name == "mkdocs":
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
        return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", ascii_text).strip().lower())
    # Pandoc's smart typography makes -- and --- a dash, dropped like other punctuation
    kept = re.sub(r"[^\w\s.-]", "", re.sub(r"-{2,}", " ", text)).strip()
    kept = re.sub(r"^[^a-zA-Z\u00c0-\uffff]+", "", re.sub(r"\s+", "-", kept).lower())
    return kept or "section"


def html_text(text: str) -> str:
    """Outside text for a raw HTML block of any site's Markdown (a figure's caption and alt text):
    ASCII punctuation as character references, so that it is HTML-escaped and no generator
    (kramdown or Python-Markdown parsing inside a list item, Pandoc, a shortcode or macro reader)
    finds syntax in it; Quarto's shortcode marker never matches."""
    text = _QUARTO_MARKER.sub(lambda found: found.group(0).upper(), text)
    return "".join(f"&#{ord(c)};" if c in _HTML_SYNTAX else c for c in text)


# Every ASCII punctuation mark but those no dialect reads inside a line (kept for a readable source).
_HTML_SYNTAX = frozenset(chr(c) for c in range(33, 127) if not chr(c).isalnum()) - set("-.,;?/%+")


_OUTSIDE_TEXT: dict[str, Callable[[str], str]] = {
    "jekyll": _jekyll_text, "hugo": _generator_text, "mkdocs": _generator_text, "quarto": _quarto_text}


def outside_text(site: Site) -> Callable[[str], str]:
    """What outside text, once sanitize.inline_text made it one line of inert Markdown, further loses in
    ``site``'s dialect. inline_text adds only backslash escapes and references, which this leaves alone."""
    return _OUTSIDE_TEXT[site.name]


# -- front matter -------------------------------------------------------------------------------------

_PANDOC_PUNCTUATION = re.compile(r"([\\`*_\[\]{}<>$@^~&|]|^[#:>=+-])")  # inline syntax; a block's start


def _spaced_braces(text: str) -> str:
    return re.sub(r"\{(?=\S)", "{ ", text)  # no tag, shortcode or attribute list opens


def _front_text(site: Site) -> Callable[[str], str]:
    """A front-matter string as the site reads it: Quarto parses metadata as Markdown (escape its
    punctuation); MkDocs' macros plugin may render it with Jinja (no brace may open a tag)."""
    if site.name == "quarto":
        return lambda text: _PANDOC_PUNCTUATION.sub(r"\\\1", text)
    return _spaced_braces


def front_matter(site: Site, fields: dict[str, Any], slug: str = "") -> dict[str, Any]:
    """``fields`` (digest's Jekyll front matter: layout, title, date, description, summary, tags, minute)
    as ``site`` reads them. ``slug``: the post's title slug (MkDocs' blog URL)."""
    if site.name == "jekyll":
        return fields
    text = _front_text(site)
    front: dict[str, Any] = {"title": text(str(fields.get("title", "")))}
    if "date" in fields:
        front["date"] = fields["date"]
    if site.name == "hugo":
        front["draft"] = False
    if fields.get("description"):
        front["description"] = text(fields["description"])
    if site.name == "hugo" and fields.get("summary"):
        front["summary"] = text(fields["summary"])
    tags = [_spaced_braces(str(tag)) for tag in fields.get("tags", [])]  # the writer's own, used as names
    if tags:
        front["tags" if site.name == "hugo" else "categories"] = tags
    if site.name == "mkdocs" and slug:
        front["slug"] = slug
    if site.name == "mkdocs" and fields.get("minute"):
        front["readtime"] = fields["minute"]
    return front
