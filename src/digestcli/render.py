"""Issue -> newsletter Markdown with the front matter of its site generator, via jinja2 templates.

Pure: same issue and items give byte-identical output. Never imports a
network or LLM module. Templates ship in the package and can be overridden
by <workspace>/templates/<style>.md.j2.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .items import Item, parse_body
from .models import IssueInfo
from .sanitize import inline_text, plain_value, safe_url, without_comments, without_controls
from .sites import BESIDE_THE_POST, Site, front_matter, heading_id, html_text, outside_text, site_named, title_slug
from .template import DEFAULT_TEMPLATE, LEAD, Template

WORDS_PER_MINUTE = 200


@dataclass(frozen=True)
class RenderField:
    """One summary field as a style shows it: under its label ("" for the lead), a text or a list."""

    name: str
    label: str
    kind: str
    value: Any  # str, or list[str] for a list


@dataclass
class RenderItem:
    key: str
    title: str
    short_name: str
    paper_url: str
    code_url: str
    tldr: str
    whats_new: str
    how_it_works: str
    key_insights: list[str]
    results: str
    notes: str
    meta: dict[str, Any] = field(default_factory=dict)
    quote: str = ""
    authors: list[str] = field(default_factory=list)
    published: str = ""  # YYYY-MM-DD
    year: str = ""
    topic: str = ""  # from the primary arXiv category (highlights style)
    starred: bool = False
    abstract: str = ""
    first_sentence: str = ""  # of the TL;DR (digest style)
    anchor: str = ""  # for tables of contents (bookmarks style)
    byline: str = ""  # "First, Second, Third et al.": the authors as a reader scans them
    minutes: int = 1  # reading time of the item's fields and notes
    link_url: str = ""  # a link item (not an arXiv paper): its address, label, emoji and stars
    link_label: str = ""
    emoji: str = ""
    stars: str = ""
    figure_url: str = ""  # the paper's figure, where the blog serves it ("" when the item has none)
    figure_alt: str = ""  # its caption, made safe for an HTML attribute
    figure_caption: str = ""  # "Figure N from <em>Title</em>", as HTML digest made safe
    fields: list[RenderField] = field(default_factory=list)  # the summary's fields, in the template's order
    values: dict[str, Any] = field(default_factory=dict)  # the same by name, for a workspace's own templates


_LINKS = {"repository": ("👉", "Code"), "video": ("📹", "Watch"), "article": ("📝", "Read"), "link": ("🔗", "Link")}


# arXiv primary category -> topic of the highlights style; [topics] in digest.toml adds or overrides.
TOPICS = {
    "cs.CL": "Large Language Models", "cs.CV": "Computer Vision", "eess.IV": "Computer Vision",
    "cs.SD": "Audio and Speech", "eess.AS": "Audio and Speech", "cs.RO": "Robotics",
    "cs.LG": "General Methods", "stat.ML": "General Methods", "cs.AI": "General Methods", "cs.NE": "General Methods",
}


def topic_of(item: Item, overrides: dict[str, str] | None = None) -> str:
    """The item's own `topic`, else the topic of its first mapped arXiv category."""
    if item.topic:
        return item.topic
    mapping = {**TOPICS, **(overrides or {})}
    categories = item.categories
    for category in categories:
        if category in mapping:
            return mapping[category]
    return "Other" if categories else ""


def _anchor(item: Item) -> str:
    from slugify import slugify

    return slugify(item.title, max_length=60) or slugify(item.key)


def _stars(value: int | None) -> str:
    if value is None or value <= 0:
        return ""
    return f"{value / 1000:.1f}k" if value >= 1000 else str(value)


@dataclass
class RenderSection:
    name: str
    items: list[RenderItem]
    source_items: list[Item] = field(default_factory=list)  # the same items, as stored


class Own(str):
    """A value digest itself made for the post (a checked URL, an emoji, your notes): printed as is.
    Any filter or concatenation in a template returns a plain str, which is sanitized again."""


def figure_place(item: Item) -> tuple[str, str]:
    """The item's figure as (the writer's own http(s) image, or ""; the copied file as "<issue>/<file>",
    or ""): what the post and the page each link under their own base."""
    figure = item.figure
    if figure is None or not figure.file:
        return "", ""
    if not figure.local_name:
        return safe_url(figure.file), ""  # the writer's own image on the web, or nothing
    issue = Path(item.path).parent.name if item.path else ""
    return "", f"{issue}/{figure.local_name}"


def figure_url(item: Item, assets_url: str) -> str:
    """Where the blog serves the item's figure: the writer's own http(s) URL as it is, else the image
    copied under ``assets_url``/<issue>/ (see publish.copy_figures); "" when there is none."""
    own, place = figure_place(item)
    if own or not place:
        return own
    if assets_url == BESIDE_THE_POST:  # a Hugo page bundle, a Quarto post folder
        return place.rsplit("/", 1)[1]
    return _image_url(f"{assets_url.rstrip('/')}/{place}")


def _figure_parts(item: Item, assets_url: str | None) -> dict[str, str]:
    """The figure's URL, alt text and caption, each safe where the template puts it (HTML, not Markdown);
    none when ``assets_url`` is None (the post shows no figures)."""
    if assets_url is None:
        return {}
    url = figure_url(item, assets_url)
    figure = item.figure
    if not url or figure is None:
        return {}
    caption = plain_value(figure.caption)
    alt = caption if len(caption) <= 160 else caption[:157].rsplit(" ", 1)[0] + "…"
    named = f"Figure {figure.number}" if figure.number else "Figure"
    return {"figure_url": Own(url), "figure_alt": Own(html_text(alt or named)),
            "figure_caption": Own(f"{named} from <em>{html_text(plain_value(item.title))}</em>")}


def to_render_item(item: Item, assets_url: str | None = None, template: Template = DEFAULT_TEMPLATE) -> RenderItem:
    """An item's values for the templates, its fields read under ``template``, its figure served under
    ``assets_url`` (None: no figure), as they are: the template environment makes every printed
    value inert (see ``_finalize``) except digest's own, marked ``Own``: URLs that passed
    ``safe_url``, the link's emoji, label and stars, and the author's notes, which are theirs."""
    parts = parse_body(item.body, template)
    values = {name: value for name, value in parts.items() if name != "notes"}
    shown = [RenderField(name, spec.label, spec.kind, value) for name, value in values.items()
             if (spec := template.field(name)) is not None]
    # The short styles show the lead: the TL;DR, or the first text field of a template without one.
    lead = parts[LEAD] if LEAD in template.names else parts[LEAD] or next(
        (f.value for f in shown if f.kind == "text" and f.value), "")
    kind = _LINKS.get(item.kind, _LINKS["link"])
    return RenderItem(
        key=item.key,
        title=item.title,
        short_name=plain_value(item.short_name or item.title),
        paper_url=Own(safe_url(item.paper_url)),
        code_url=Own(safe_url(item.code_url)),
        tldr=lead,
        whats_new=parts.get("whats_new", ""),
        how_it_works=parts.get("how_it_works", ""),
        key_insights=list(parts.get("key_insights", [])),
        results=parts.get("results", ""),
        notes=Own(parts["notes"]),
        meta=item.meta,  # for a workspace's own templates
        quote=item.quote,
        link_url=Own(safe_url(item.url) if not item.paper_url else ""),
        emoji=Own(kind[0]),
        link_label=Own(kind[1]),
        stars=Own(_stars(item.stars)),
        authors=item.authors,
        published=item.published[:10],
        year=item.published[:4],
        topic=topic_of(item),
        starred=item.starred,
        abstract=item.abstract,
        first_sentence=first_sentence(lead),
        byline=byline(item.authors, item.affiliations),
        minutes=reading_minutes(without_comments(without_controls(" ".join(
            [*(v if isinstance(v, str) else " ".join(v) for v in values.values()), parts["notes"]])))),
        fields=shown,
        values=values,
        **_figure_parts(item, assets_url),
    )


def byline(authors: list[str], affiliations: list[str] | tuple[str, ...] = ()) -> str:
    """"First, Second, Third et al. (Ohio State, CfA)": the authors as a reader scans them, with their
    affiliations where arXiv lists them (at most three)."""
    names = [" ".join(str(name).split()) for name in authors if str(name).strip()]
    places = [" ".join(str(place).split()) for place in affiliations if str(place).strip()]
    line = ", ".join(names[:3]) + (" et al." if len(names) > 3 else "")
    where = ", ".join(places[:3]) + (" and others" if len(places) > 3 else "")
    return f"{line} ({where})" if line and where else line or where


def _image_url(value: str) -> str:
    """The header image: an absolute http(s) URL or a path on the blog itself (/assets/header.png)."""
    return safe_url(value) or (value if re.fullmatch(r"/[A-Za-z0-9._~%/-]+", value) else "")


def _finalize(value: Any, site: Site = site_named("jekyll")) -> Any:
    """Every value a template prints passes here, whatever the template (a workspace's own too):
    digest's own values (``Own``) as they are, anything else, from a paper, a feed, a page, a model
    or the front matter, made inert by ``inline_text`` and in ``site``'s dialect. There is no other
    way into the post."""
    if type(value) is Own:  # exactly digest's own: jinja's escape or Markup + str cannot pass for it
        return value
    return outside_text(site)(inline_text("" if value is None else str(value)))


def order_items(items: list[Item], sections: tuple[str, ...], assets_url: str | None = None,
                template: Template = DEFAULT_TEMPLATE) -> list[RenderSection]:
    """Group by section (configured order first, then others by name); within one, by order/created/key."""
    rank = {name: index for index, name in enumerate(sections)}
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item.section, []).append(item)

    def item_key(item: Item) -> tuple[Any, ...]:
        return (math.inf if item.order is None else item.order, item.queued, item.key)

    names = sorted(groups, key=lambda name: (rank.get(name, len(rank)), name))
    sections = []
    for name in names:
        ordered = sorted(groups[name], key=item_key)
        sections.append(RenderSection(name, [to_render_item(i, assets_url, template) for i in ordered], ordered))
    return sections


def _template(style: str, workspace: Path | None, site: Site) -> Any:
    from functools import partial

    from jinja2 import Environment, FileSystemLoader, PackageLoader, ChoiceLoader, StrictUndefined, TemplateNotFound

    loaders = []
    if workspace is not None:
        loaders.append(FileSystemLoader(str(workspace / "templates")))
    loaders.append(PackageLoader("digestcli", "templates"))
    environment = Environment(loader=ChoiceLoader(loaders), undefined=StrictUndefined,
                              finalize=partial(_finalize, site=site),
                              keep_trailing_newline=True, trim_blocks=False, autoescape=False)
    try:
        return environment.get_template(f"{style}.md.j2")
    except TemplateNotFound:
        raise ConfigError(f"no template for style {style!r} (looked for templates/{style}.md.j2)") from None


def reading_minutes(markdown: str) -> int:
    words = len(re.findall(r"[A-Za-z0-9][\w'’-]*", markdown))
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


def render_issue(issue: IssueInfo, items: list[Item], *, newsletter_tags: tuple[str, ...], layout: str,
                 default_description: str, image: str, sections: tuple[str, ...],
                 workspace: Path | None = None, style: str = "newsletter",
                 topics: dict[str, str] | None = None, assets_url: str | None = None, site: str = "jekyll",
                 template: Template = DEFAULT_TEMPLATE, contents: bool = True) -> str:
    """The issue's post in ``style`` for the ``site`` generator (sites.py), its items' fields read under
    ``template``, its figures served under ``assets_url`` (None: no figures; sites.BESIDE_THE_POST:
    beside the post); ``contents``: a table of contents linking each paper's heading (not in a feed,
    whose reader makes no heading ids)."""
    import yaml
    from jinja2 import TemplateError

    generator = site_named(site)
    grouped = order_items(items, sections, assets_url, template)
    for section in grouped:
        for entry, source in zip(section.items, section.source_items):
            entry.topic = topic_of(source, topics)
            entry.anchor = Own(heading_id(generator, plain_value(source.title)))  # only [\w.-]
    papers = [i for s in grouped for i in s.items if not i.link_url]  # the summary names papers, not links
    short_names = [i.short_name for i in papers or [i for s in grouped for i in s.items]]
    description = issue.description or default_description or first_sentence(issue.intro) or (
        f"{issue.title}: " + ", ".join(short_names) if short_names else issue.title)
    tags = list(dict.fromkeys([*newsletter_tags, *issue.tags]))
    values: dict[str, Any] = {
        "title": issue.title,
        "date": issue.date,
        "intro": Own(issue.intro),  # the author's own words, like the notes
        "image": Own(_image_url(issue.image or image)),
        "sections": grouped,
        "topics": group_by_topic(grouped),
        "items": [i for section in grouped for i in section.items],
        "issue": issue,
        "contents": contents,
    }
    page = _template(style, workspace, generator)
    try:
        # The reading time depends on the body, and the body on nothing else.
        body = page.render(front_matter="", **values)
        front = {
            "layout": layout,
            "title": issue.title,
            "date": _as_date(issue.date),
            "description": plain_value(description),
            "summary": ", ".join(short_names),
            "tags": tags,
            "minute": reading_minutes(body),
        }
        front = front_matter(generator, front, title_slug(issue.title, issue.name))
        text = page.render(front_matter=Own(yaml.safe_dump(front, sort_keys=False, allow_unicode=True,
                                                                  width=1000)), **values)
    except TemplateError as error:
        raise ConfigError(f"template {style}.md.j2 failed: {error}") from None
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"


def render_bookmarks(items: list[Item], *, title: str, layout: str, tags: tuple[str, ...],
                     workspace: Path | None = None, style: str = "bookmarks", assets_url: str | None = None,
                     site: str = "jekyll", template: Template = DEFAULT_TEMPLATE) -> str:
    """One page of every item of every issue: by year (newest first), then title; figures served
    under ``assets_url`` (None: no figures); front matter and escaping for the ``site`` generator."""
    import yaml
    from jinja2 import TemplateError

    unique = {item.key: item for item in items}  # a paper kept in two issues is one bookmark
    entries = sorted((to_render_item(i, assets_url, template) for i in unique.values()),
                     key=lambda e: (e.title.lower(), e.key))
    for entry in entries:
        entry.anchor = _anchor(unique[entry.key])
    years: dict[str, list[RenderItem]] = {}
    for entry in entries:
        years.setdefault(entry.year or "undated", []).append(entry)
    ordered = [RenderSection(year, years[year]) for year in sorted(years, reverse=True)]
    generator = site_named(site)
    front = front_matter(generator, {"layout": layout, "title": title, "tags": list(tags), "items": len(entries)})
    page = _template(style, workspace, generator)
    try:
        text = page.render(front_matter=Own(yaml.safe_dump(front, sort_keys=False, allow_unicode=True,
                                                                  width=1000)), years=ordered, items=entries)
    except TemplateError as error:
        raise ConfigError(f"template {style}.md.j2 failed: {error}") from None
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"


def group_by_topic(sections: list[RenderSection]) -> list[RenderSection]:
    """Papers grouped by topic (in the order topics first appear); links keep their own sections."""
    groups: dict[str, list[RenderItem]] = {}
    for section in sections:
        for entry in section.items:
            groups.setdefault(entry.topic or section.name, []).append(entry)
    return [RenderSection(name, entries) for name, entries in groups.items()]


def _as_date(text: str) -> Any:
    """A real date so YAML writes it unquoted, as Jekyll expects."""
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        return text


def first_sentence(text: str) -> str:
    from .text import split_sentences

    sentences = split_sentences(text)
    return sentences[0] if sentences else ""


def post_filename(issue: IssueInfo) -> str:
    """Jekyll _posts name: YYYY-MM-DD-<slug>.md."""
    from .sites import post_path

    return post_path(site_named("jekyll"), issue.title, issue.name, issue.date)
