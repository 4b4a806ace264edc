"""`digest build --format html|email`: an issue as a standalone web page, or as an email (HTML with inline
styles, a plain-text part, an .eml).

Reads the workspace only; every text leaving here has passed redaction. Never prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..files import write_atomic
from ..models import IssueInfo
from ..redaction import redact
from .check import unverified_claims
from .publish import Post, write_post
from .session import Session

FORMATS = ("markdown", "html", "email", "atom")  # atom: commands.atom


@dataclass
class Page(Post):
    """A post of another format: ``text`` is its HTML; ``beside`` the files written next to it with --out
    (file name -> content: the email's plain-text part and .eml); ``notices`` what the writer should know."""

    beside: dict[str, str | bytes] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    plain_text: str = ""


def check_format(fmt: str, style: str | None, *, site: str | None = None, strict: bool = False,
                 figures: bool | None = None) -> None:
    """A usage error for an unknown format, or an option the format would ignore (a Markdown style or
    site generator asked of a page; --strict or --figures of the feed, which shows no figures)."""
    if fmt not in FORMATS:
        raise UsageError(f"choose one of {', '.join(FORMATS)}", "--format")
    if fmt in ("html", "email") and style:
        raise UsageError(f"--style chooses a Markdown template; --format {fmt} has its own layout", "--style")
    if fmt in ("html", "email") and site:
        raise UsageError(f"--site chooses a generator's Markdown; --format {fmt} is a page of its own", "--site")
    if fmt == "atom" and (strict or figures is not None):
        raise UsageError("the feed shows no figures and is not checked: give --strict or --figures to a post",
                         "--strict" if strict else "--figures")


def build_page(session: Session, issue: str | None = None, *, fmt: str, strict: bool = False,
               figures: bool | None = None, to_folder: bool = False) -> Page:
    """The issue (default: the current one) as an HTML page or an email, each paper's figure shown unless
    ``figures`` is False. A page for a folder (``to_folder``) links its figures relative to itself and
    carries them in ``assets``; an email links them by absolute URL (site_url + assets_url)."""
    from ..htmlpage import public_url, render_page
    from ..render import post_filename

    settings, workspace = session.settings, session.workspace
    name = issue or settings.current_issue
    info = workspace.load_issue(name)
    items = workspace.items(name)
    stem = post_filename(info).removesuffix(".md")
    unverified = unverified_claims(items, session.texts, settings.template, settings.translated)
    if strict and unverified:
        return Page("", f"{stem}.html", unverified,
                    refused=f"--strict: {len(unverified)} item(s) state claims their paper does not support; "
                            "fix them or list them under accepted_claims (see `digest check`)")
    notices: list[str] = []
    shown = figures is not False
    figure_base = _figure_base(session, fmt, to_folder, notices) if shown else None
    image = public_url(info.image or settings.image, settings.site_url if fmt == "email" else "",
                       absolute=fmt == "email")
    common = dict(newsletter=settings.title, sections=settings.sections, figure_base=figure_base, image=image,
                  description=settings.description, workspace=workspace.root, template=settings.template)
    html = redact(render_page(info, items, kind=fmt, **common))
    beside_page = figure_base is not None and fmt == "html" and to_folder and not figure_base.startswith(("/", "http"))
    assets = _figure_files(session, items) if beside_page else []  # linked relative to the page: copied with it
    page = Page(html, f"{stem}.html", unverified, assets=assets, notices=notices)
    if fmt == "email":
        _as_email(page, info, render_page(info, items, kind="text", **common), stem)
    return page


def _figure_base(session: Session, fmt: str, to_folder: bool, notices: list[str]) -> str | None:
    """Where the page's figures are linked from (None: no figures), with a notice when they cannot be."""
    from ..htmlpage import public_url

    settings = session.settings
    if fmt == "email":
        base = public_url(settings.assets_url, settings.site_url, absolute=True)
        if not base:
            notices.append(f"figures left out of the email: [newsletter] assets_url ({settings.assets_url!r}) is not "
                           "an absolute http(s) URL; set [newsletter] site_url (e.g. \"https://you.github.io\") or an "
                           "absolute assets_url in digest.toml so email clients can load them")
            return None
        return base
    if to_folder and not public_url(settings.assets_url, absolute=True):
        return public_url(settings.assets_dir.strip("/")) or None  # beside the page: opens from disk or any folder
    return public_url(settings.assets_url) or None


def _as_email(page: Page, info: IssueInfo, plain_text: str, stem: str) -> None:
    """The email's HTML with its styles inlined, its plain-text part, and both as one .eml."""
    from ..newsletter_email import email_message, inline_styles

    page.text = inline_styles(page.text)
    page.plain_text = redact(plain_text)
    page.beside = {f"{stem}.txt": page.plain_text,
                   f"{stem}.eml": email_message(info.title, info.date, page.plain_text, page.text)}


def _figure_files(session: Session, items: list) -> list[tuple[Path, str]]:
    """Each item's own figure file, and its place under the folder (assets_dir/<issue>/<file name>)."""
    found = []
    for item in items:
        issue = Path(item.path).parent.name
        source = session.workspace.figure_file(issue, item)
        if source is not None:
            found.append((source, f"{session.settings.assets_dir.strip('/')}/{issue}/{source.name}"))
    return found


def write_page(page: Page, folder: Path) -> list[Path]:
    """The page, its figures and the files beside it, written atomically in ``folder``."""
    written = [write_post(page, folder)]
    for name, content in page.beside.items():
        write_atomic(folder / name, content)
        written.append(folder / name)
    return written
