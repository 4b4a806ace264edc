"""`digest build --format atom`: every issue of the workspace that has items, as one Atom feed, newest first.

Reads the workspace only (like build); the feed's text has passed redaction. Never prints: a missing
site URL comes back as the post's warning.
"""

from __future__ import annotations

from typing import Any

from ..errors import UsageError, WorkspaceError
from ..redaction import redact
from .publish import BOOKMARKS, Post, chosen_site
from .session import Session


def atom_feed(session: Session, *, style: str | None = None, site: str | None = None) -> Post:
    """The feed of the workspace's issues, each rendered in ``style`` and linked to its post on the
    ``site`` generator's default URL under [newsletter] site_url."""
    from ..atomfeed import Feed, atom_xml, feed_id

    settings = session.settings
    generator = chosen_site(session, site)
    style = style or settings.style
    if style == BOOKMARKS:
        raise UsageError("a feed has one entry per issue: choose an issue's style", "--style")
    site_url = settings.site_url.rstrip("/")
    entries = []
    for name in reversed(session.workspace.list_issues()):  # of two issues of one day, the later name first
        entry = _entry(session, name, style, generator, site_url)
        if entry is not None:
            entries.append(entry)
    if not entries:
        raise WorkspaceError(f"no issue in {session.workspace.root} has items yet: the feed would be empty")
    entries.sort(key=lambda e: e.published, reverse=True)  # stable: ties keep the order above
    feed = Feed(id=feed_id(settings.title), title=settings.title, author=settings.author or settings.title,
                entries=entries,
                subtitle=settings.description, link=f"{site_url}/" if site_url else "",
                self_link=f"{site_url}/atom.xml" if site_url else "")
    warning = "" if site_url else ("[newsletter] site_url is not set in digest.toml: "
                                   "the feed's entries link to no post")
    return Post(redact(atom_xml(feed)), generator.feed, at_root=True, warning=warning)


def _entry(session: Session, name: str, style: str, generator: Any, site_url: str) -> Any:
    """The issue as a feed entry (None when it has no items): its post rendered without figures and
    made HTML, updated when digest last wrote one of its items."""
    import yaml

    from ..atomfeed import FeedEntry, day_start, entry_id, markdown_html, moment
    from ..render import render_issue
    from ..sites import permalink

    settings, workspace = session.settings, session.workspace
    info = workspace.load_issue(name)
    items = workspace.items(name)
    if not items:
        return None
    # Jekyll's dialect: markdown-it alone reads this Markdown. No figures: raw HTML is off in the feed.
    text = render_issue(info, items, newsletter_tags=settings.tags, layout=settings.layout,
                        default_description=settings.description, image=settings.image,
                        sections=settings.sections, workspace=workspace.root, style=style, topics=settings.topics,
                        template=settings.template, contents=False)
    front: dict[str, Any] = {}
    if text.startswith("---\n") and "\n---\n" in text:
        head, text = text[4:].split("\n---\n", 1)
        front = yaml.safe_load(head) or {}  # digest's own YAML, written by yaml.safe_dump
    published = day_start(info.date)
    written = [stamp for stamp in (moment(item.created) for item in items) if stamp is not None]
    link = f"{site_url}{permalink(generator, info.title, info.name, info.date)}" if site_url else ""
    return FeedEntry(id=entry_id(settings.title, name), title=info.title, published=published,
                     updated=max([published, *written]), html=markdown_html(text),
                     summary=str(front.get("description", "")) if isinstance(front, dict) else "", link=link)
