"""Issue -> a standalone HTML page, the HTML of an email, or its plain-text part, via jinja2 templates.

Pure: reads the same ordered RenderItems as render.py (no file, no network). Every printed value is
escaped by jinja's autoescape, except the HTML that safe_markdown makes (raw HTML off, http(s) links
only); a template's ``|safe`` on a plain string is undone by ``_finalize``. Never writes Markdown.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .items import Item
from .models import IssueInfo
from .render import RenderItem, figure_place, first_sentence, order_items, reading_minutes
from .safe_markdown import clean_source, to_html, to_inline_html
from .sanitize import safe_url
from .template import DEFAULT_TEMPLATE, Template

TEMPLATES = {"html": "issue.html.j2", "email": "issue.email.html.j2", "text": "issue.txt.j2"}
_PATH = re.compile(r"/?[A-Za-z0-9._~%-]+(?:/[A-Za-z0-9._~%-]+)*/?")  # a plain path, no scheme, no "..":
_WRAP = 72  # plain-text email lines
_LIST_LINE = re.compile(r"\s*(?:[-*+]|\d+[.)])\s")


class SafeHtml(str):
    """HTML that safe_markdown (or this module, from escaped parts) made: the only HTML a page prints
    as it is."""

    def __html__(self) -> str:
        return str(self)


@dataclass
class PageField:
    """One summary field of an item: its label ("" for the lead), as HTML and as its Markdown source."""

    label: str
    html: SafeHtml
    source: str | list[str]


@dataclass
class PageFigure:
    src: str
    alt: str
    name: str  # "Figure 3"


@dataclass
class PageItem:
    anchor: str
    title: str
    entry: RenderItem  # the same values the Markdown styles print (urls, authors, quote, stars, ...)
    fields: list[PageField]
    notes_html: SafeHtml
    authors: str  # "First, Second, Third et al."
    minutes: int
    figure: PageFigure | None = None


@dataclass
class PageSection:
    name: str
    items: list[PageItem] = field(default_factory=list)


def one_line(text: Any) -> str:
    """A title, a name or a caption as one line of text (autoescape makes it safe where it is printed)."""
    return " ".join(clean_source(text).split())


def public_url(value: str, site_url: str = "", *, absolute: bool = False) -> str:
    """``value`` as a page may link it: an http(s) URL as it is; a path (/assets/x.png, assets/x.png) joined
    to ``site_url`` when given, else kept as a path unless ``absolute`` is asked (email); else ""."""
    value = str(value or "").strip()
    if not value:
        return ""
    if safe_url(value):
        return safe_url(value)
    if ".." in value or not _PATH.fullmatch(value):
        return ""
    if site_url:
        return safe_url(f"{site_url.rstrip('/')}/{value.lstrip('/')}")
    return "" if absolute else value


def figure_src(item: Item, figure_base: str) -> str:
    """Where the page loads the item's figure: the writer's own http(s) image as it is, else the image
    copied to ``figure_base``/<issue>/<file> (see commands/pages.py); "" when there is none."""
    own, place = figure_place(item)
    if own or not place:
        return own
    return f"{figure_base.rstrip('/')}/{place}" if figure_base else ""


def _figure(item: Item, figure_base: str | None) -> PageFigure | None:
    if figure_base is None or item.figure is None:
        return None
    src = figure_src(item, figure_base)
    if not src:
        return None
    caption = one_line(item.figure.caption)
    alt = caption if len(caption) <= 160 else caption[:157].rsplit(" ", 1)[0] + "…"
    name = f"Figure {item.figure.number}" if item.figure.number else "Figure"
    return PageFigure(src, alt or name, name)


def _page_field(label: str, kind: str, value: Any) -> PageField | None:
    from html import escape

    if kind == "list":
        entries = [clean_source(v) for v in (value or []) if clean_source(v)]
        if not entries:
            return None
        bullets = "".join(f"<li>{to_inline_html(entry)}</li>" for entry in entries)
        head = f"<p class=\"label\"><strong>{escape(label)}:</strong></p>" if label else ""
        return PageField(label, SafeHtml(f"{head}<ul>{bullets}</ul>"), entries)
    source = clean_source(value)
    if not source:
        return None
    html = to_html(source)
    if label:
        strong = f"<strong>{escape(label)}:</strong> "
        html = f"<p>{strong}{html[3:]}" if html.startswith("<p>") else f"<p>{strong}</p>{html}"
    return PageField(label, SafeHtml(html), source)


def page_sections(items: list[Item], sections: tuple[str, ...], figure_base: str | None,
                  template: Template = DEFAULT_TEMPLATE) -> list[PageSection]:
    """The issue's items as the pages show them: by section in build's order, each with the fields of
    ``template`` as inert HTML (the lead first, without a label), an anchor for the table of contents,
    its reading time and its figure."""
    from slugify import slugify

    used: set[str] = set()
    shown = []
    for section in order_items(items, sections, None, template):
        page = PageSection(section.name)
        for entry, item in zip(section.items, section.source_items):
            fields = [f for f in (_page_field(f.label, f.kind, f.value) for f in entry.fields) if f is not None]
            anchor = slugify(item.title, max_length=60) or slugify(item.key) or "item"
            while anchor in used:
                anchor += "-2"
            used.add(anchor)
            notes = clean_source(entry.notes)
            page.items.append(PageItem(anchor, one_line(item.title) or item.key, entry, fields,
                                       SafeHtml(to_html(notes, links=True)), entry.byline,
                                       entry.minutes, _figure(item, figure_base)))
        shown.append(page)
    return shown


def _finalize(value: Any) -> Any:
    """Every value a template prints passes here: the HTML this module made (``SafeHtml``) as it is,
    anything else as text without control characters or comments, which autoescape then escapes.
    ``|safe``, a macro or a block set make jinja Markup, which is printed as text here too: the
    templates use includes, and no template can let a paper's text through as HTML."""
    if type(value) is SafeHtml:
        return value
    if isinstance(value, str):  # Markup included: str() drops the mark
        return clean_source(str.__str__(value))
    return "" if value is None else value


def _wrap(text: Any, first: str = "", rest: str | None = None) -> str:
    """Plain-text paragraphs wrapped at 72 columns, the first line after ``first``, the others after ``rest``
    (default: as ``first``); long words (URLs) are never broken, and a paragraph of list lines is kept."""
    rest = first if rest is None else rest
    wrapped = []
    for paragraph in re.split(r"\n\s*\n", str(text)):
        if not paragraph.strip():
            continue
        lines = [line for line in paragraph.splitlines() if line.strip()]
        if len(lines) > 1 and all(_LIST_LINE.match(line) for line in lines):
            wrapped.append(paragraph.strip("\n"))  # a list: its lines are its structure
            continue
        wrapped.append(textwrap.fill(" ".join(paragraph.split()), _WRAP, initial_indent=first, subsequent_indent=rest,
                                     break_long_words=False, break_on_hyphens=False))
        first = rest
    return "\n\n".join(wrapped)


def _environment(workspace: Path | None) -> Any:
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined, select_autoescape

    loaders = [FileSystemLoader(str(workspace / "templates"))] if workspace is not None else []
    loaders.append(PackageLoader("digestcli", "templates"))
    environment = Environment(loader=ChoiceLoader(loaders), undefined=StrictUndefined, finalize=_finalize,
                              autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                              keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    environment.filters["wrap"] = _wrap
    return environment


def render_page(issue: IssueInfo, items: list[Item], *, kind: str, newsletter: str, sections: tuple[str, ...],
                figure_base: str | None, image: str = "", description: str = "",
                workspace: Path | None = None, template: Template = DEFAULT_TEMPLATE) -> str:
    """The issue as ``kind`` ("html": a standalone page, "email": the HTML of an email before its styles are
    inlined, "text": the plain-text part), figures under ``figure_base`` (None: none) and ``image`` (a URL
    the caller checked) on top. A workspace's templates/<name> replaces the packaged one."""
    from jinja2 import TemplateError, TemplateNotFound

    shown = page_sections(items, sections, figure_base, template)
    entries = [entry for section in shown for entry in section.items]
    intro = clean_source(issue.intro)
    words = " ".join([intro] + [" ".join(f.source) if isinstance(f.source, list) else f.source
                                for entry in entries for f in entry.fields])
    summary = one_line(issue.description or description or first_sentence(intro) or
                          ", ".join(one_line(e.entry.short_name) for e in entries))
    values = {
        "newsletter": one_line(newsletter), "title": one_line(issue.title) or issue.name,
        "date": issue.date, "summary": summary, "intro": intro, "intro_html": SafeHtml(to_html(intro, links=True)),
        "image": image, "sections": shown, "items": entries, "minutes": reading_minutes(words),
    }
    name = TEMPLATES[kind]
    try:
        text = _environment(workspace).get_template(name).render(**values)
    except TemplateNotFound:
        raise ConfigError(f"no template {name} (looked in templates/ and the package)") from None
    except TemplateError as error:
        raise ConfigError(f"template {name} failed: {error}") from None
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"
