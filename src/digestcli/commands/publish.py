"""`digest build` and `digest export`: an issue as a newsletter post, or as data.

Reads the workspace only (no lock: every file is replaced whole, and a checkout may be read-only);
every text leaving here has passed redaction. Never prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..dataexport import FORMATS as EXPORT_FORMATS
from ..errors import UsageError
from ..files import write_atomic
from ..redaction import redact
from .check import unverified_claims
from .session import Session

if TYPE_CHECKING:
    from ..sites import Site

BOOKMARKS = "bookmarks"  # the style that renders every issue as one page


@dataclass
class Post:
    text: str  # the Markdown post ("" when refused)
    filename: str  # under the --out folder: YYYY-MM-DD-<slug>.md, or where the site expects it (sites.py)
    unverified: dict[str, list[str]] = field(default_factory=dict)  # item key -> claims not found in the paper
    refused: str = ""  # --strict: why the post was not built
    assets: list[tuple[Path, str]] = field(default_factory=list)  # (a figure's file, its place under the blog's root)
    at_root: bool = False  # filename is under the blog's root (the parent of a _posts folder), not the --out folder
    warning: str = ""  # something the writer should know (the CLI shows it)


def chosen_site(session: Session, site: str | None) -> Site:
    """The generator of --site (a usage error when it is none we know), else digest.toml's."""
    from ..sites import SITES

    if site is not None and site not in SITES:
        raise UsageError(f"choose one of {', '.join(SITES)}", "--site")
    return SITES[site or session.settings.site]


def build(session: Session, issue: str | None = None, *, style: str | None = None, strict: bool = False,
          figures: bool | None = None, site: str | None = None) -> Post:
    """The issue (default: the current one) rendered in ``style`` (default: digest.toml's) for the
    ``site`` generator (default: digest.toml's), with each paper's figure when ``figures`` (default:
    when the style is one of [newsletter] figure_styles)."""
    from ..render import render_bookmarks, render_issue
    from ..sites import BESIDE_THE_POST, page_path, post_path

    settings, workspace = session.settings, session.workspace
    generator = chosen_site(session, site)
    style = style or settings.style
    shown = style in settings.figure_styles if figures is None else figures
    assets_url = (BESIDE_THE_POST if generator.beside else settings.assets_url) if shown else None
    if style == BOOKMARKS:
        everything = [i for name in workspace.list_issues() for i in workspace.items(name)]
        text = render_bookmarks(everything, title=f"{settings.title}: bookmarks", layout=settings.layout,
                                tags=settings.tags, workspace=workspace.root, assets_url=assets_url,
                                site=generator.name, template=settings.template)
        place = page_path(generator, BOOKMARKS)
        return Post(redact(text), place, assets=_figure_files(session, everything, generator, place) if shown else [])
    name = issue or settings.current_issue
    info = workspace.load_issue(name)
    items = workspace.items(name)
    place = post_path(generator, info.title, info.name, info.date)
    unverified = unverified_claims(items, session.texts, settings.template, settings.translated)
    if strict and unverified:
        return Post("", place, unverified,
                    refused=f"--strict: {len(unverified)} item(s) state claims their paper does not support; "
                            "fix them or list them under accepted_claims (see `digest check`)")
    text = render_issue(info, items, newsletter_tags=settings.tags, layout=settings.layout,
                        default_description=settings.description, image=settings.image,
                        sections=settings.sections, workspace=workspace.root, style=style, topics=settings.topics,
                        assets_url=assets_url, site=generator.name, template=settings.template)
    # Items are redacted when written; this also covers one written by an older digest.
    return Post(redact(text), place, unverified,
                assets=_figure_files(session, items, generator, place) if shown else [])


def _figure_files(session: Session, items: list, site: Site, place: str) -> list[tuple[Path, str]]:
    """Each item's own figure file, and its place under the blog's root: where the post at ``place``
    links it (assets_dir/<issue>/<file name>, or beside the post)."""
    from ..sites import figure_place

    found = []
    for item in items:
        issue = Path(item.path).parent.name
        source = session.workspace.figure_file(issue, item)
        if source is not None:
            found.append((source, figure_place(site, place, session.settings.assets_dir, issue, source.name)))
    return found


def write_post(post: Post, folder: Path) -> Path:
    """The post as a file in ``folder`` (its path may name sub-folders: content/posts/<slug>/index.md),
    written atomically, and its figures under the blog's root: the parent of a Jekyll ``_posts`` folder,
    else ``folder`` itself."""
    root = folder.parent if folder.name == "_posts" else folder
    path = (root if post.at_root else folder) / post.filename
    for source, place in post.assets:
        write_atomic(root / place, source.read_bytes())
    write_atomic(path, post.text)
    return path


def check_format(fmt: str) -> None:
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"choose one of {', '.join(EXPORT_FORMATS)}", "--format")


def export(session: Session, issue: str | None = None, fmt: str = "json") -> str:
    """The items of the issue (default: the current one), in build's order, as JSON, BibTeX or CSV."""
    from ..dataexport import export as export_items
    from ..render import order_items

    check_format(fmt)
    name = issue or session.settings.current_issue
    session.workspace.load_issue(name)
    items = session.workspace.items(name)
    ordered = [i for section in order_items(items, session.settings.sections) for i in section.source_items]
    return redact(export_items(ordered, fmt, session.settings.template))  # an item from an older digest may hold the key
