"""Issues -> one Atom feed (RFC 4287): the XML written with the standard library's ElementTree, which
escapes every text and attribute, and each issue's Markdown made HTML by markdown-it (CommonMark, raw
HTML off). Pure: no I/O, no network; never decides what an issue says (render.py does).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

ATOM = "http://www.w3.org/2005/Atom"
# XML 1.0 cannot carry these at all, escaped or not: a feed holding one is not XML.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class FeedEntry:
    id: str
    title: str
    published: datetime
    updated: datetime
    html: str  # the issue as HTML
    summary: str = ""
    link: str = ""  # the post on the site ("" without a site URL)


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    author: str
    entries: list[FeedEntry] = field(default_factory=list)  # newest first
    subtitle: str = ""
    link: str = ""  # the site
    self_link: str = ""  # the feed itself


def feed_id(newsletter: str) -> str:
    """The feed's id, the same in every build: a name-based UUID of the newsletter's title."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'digest:' + newsletter)}"


def entry_id(newsletter: str, issue: str) -> str:
    """An issue's id, the same in every build and never another newsletter's: from its title and the issue's name."""
    return f"urn:uuid:{uuid.uuid5(uuid.UUID(feed_id(newsletter)[9:]), issue)}"


def day_start(day: str) -> datetime:
    """Midnight UTC of a YYYY-MM-DD issue date (the epoch when the date is not one)."""
    try:
        return datetime.combine(date.fromisoformat(day[:10]), time(), timezone.utc)
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=timezone.utc)


def moment(stamp: str) -> datetime | None:
    """An ISO 8601 time as digest records it (an item's creation), in UTC; None when it is not one."""
    try:
        found = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return None
    return (found if found.tzinfo else found.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def markdown_html(markdown: str) -> str:
    """Markdown as HTML, CommonMark to the letter with raw HTML shown as text (markdown-it also refuses
    javascript: and other script links)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).render(markdown)


def _stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def atom_xml(feed: Feed) -> str:
    """The feed as an Atom document; ``updated`` is its newest entry's."""
    from xml.etree import ElementTree as ET

    ET.register_namespace("", ATOM)

    def child(parent: ET.Element, tag: str, text: str = "", **attributes: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _text(v) for k, v in attributes.items()})
        if text:
            element.text = _text(text)
        return element

    root = ET.Element(f"{{{ATOM}}}feed")
    child(root, "id", feed.id)
    child(root, "title", feed.title)
    if feed.subtitle:
        child(root, "subtitle", feed.subtitle)
    newest = max((e.updated for e in feed.entries), default=datetime(1970, 1, 1, tzinfo=timezone.utc))
    child(root, "updated", _stamp(newest))
    child(child(root, "author"), "name", feed.author)
    if feed.link:
        child(root, "link", rel="alternate", type="text/html", href=feed.link)
    if feed.self_link:
        child(root, "link", rel="self", type="application/atom+xml", href=feed.self_link)
    child(root, "generator", "digest", uri="https://github.com/digest-cli/digest")  # no version: one build, one text
    for entry in feed.entries:
        element = child(root, "entry")
        child(element, "id", entry.id)
        child(element, "title", entry.title)
        child(element, "published", _stamp(entry.published))
        child(element, "updated", _stamp(entry.updated))
        if entry.link:
            child(element, "link", rel="alternate", type="text/html", href=entry.link)
        if entry.summary:
            child(element, "summary", entry.summary)
        child(element, "content", entry.html, type="html")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
