"""`digest figure`: the figure an item shows. digest's choice is made when the paper is added; here
the writer picks another of the paper's figures, drops it, or gives an image of their own. Their
choice is a human edit: `add --force` keeps it. Never prints.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DigestError, UsageError, WorkspaceError
from ..ids import parse_arxiv_id
from ..items import FIGURE_TYPES, Figure, Item
from ..models import Paper
from ..sanitize import safe_url
from .issues import item_key
from .session import Session

MAX_OWN_IMAGE_BYTES = 5 * 1024 * 1024


def choose(session: Session, issue: str, item: str, *, number: int | None = None, none: bool = False,
           image: str | None = None) -> Figure | None:
    """Set the item's figure: the paper's figure ``number``, no figure (``none``), or ``image`` (a
    local PNG, JPEG, GIF or WebP file, copied beside the item, or an http(s) URL). Returns it."""
    if sum((number is not None, none, image is not None)) != 1:
        raise UsageError("say which: --number N, --none or --image FILE|URL")
    workspace = session.workspace
    workspace.load_issue(issue)
    key = item_key(item)
    current = workspace.read_item(issue, key)
    if none:
        figure = Figure(None, None, "", "", "writer")
    elif image is not None:
        figure = _own_image(session, issue, key, image)
    else:
        figure = _papers_figure(session, issue, current, number or 0)
    workspace.update_item(issue, key, lambda found: found.with_figure(figure))
    return figure


def _own_image(session: Session, issue: str, key: str, image: str) -> Figure:
    if "://" in image:
        url = safe_url(image)
        if not url:
            raise UsageError(f"{image!r} is not an http(s) address a post can link", "--image")
        return Figure(None, None, "", url, "writer")
    path = Path(image)
    extension = path.suffix.lower().lstrip(".")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise WorkspaceError(f"cannot read {path}: {error.strerror or error}") from None
    if extension not in FIGURE_TYPES or not data.startswith(FIGURE_TYPES[extension]):
        raise UsageError(f"{path} is not a PNG, JPEG, GIF or WebP image", "--image")
    if len(data) > MAX_OWN_IMAGE_BYTES:
        raise UsageError(f"{path} is over {MAX_OWN_IMAGE_BYTES // 1024 // 1024} MB; shrink it first", "--image")
    return Figure(None, None, "", session.workspace.write_figure(issue, key, data, extension), "writer")


def _papers_figure(session: Session, issue: str, item: Item, number: int) -> Figure:
    """Figure ``number`` of the item's paper, found and rendered from its PDF (cached after `add`)."""
    pdf = _pdf_of(session, item)
    extracted = session.extractor.extract(pdf, figure=number)
    found = extracted.figure
    if found is None or not extracted.figure_image:
        numbers = ", ".join(str(f.number) for f in extracted.figures) or "none"
        raise WorkspaceError(f"{item.key}: the paper has no Figure {number} digest can show (its figures: {numbers})")
    file = session.workspace.write_figure(issue, item.key, extracted.figure_image, extracted.figure_format)
    return Figure(found.number, found.page, found.caption, file, "writer")


def _pdf_of(session: Session, item: Item) -> bytes:
    """The item's paper as PDF bytes: from the arXiv client (its cache first, so no second download
    after `add`), or the document's address."""
    try:
        if item.arxiv_id:
            paper = Paper(id=parse_arxiv_id(item.arxiv_id), title=item.title, abstract="", authors=(),
                          published="", updated="", primary_category="", categories=(), pdf_url=item.pdf_url)
            return session.arxiv.fetch_pdf(paper)
        if item.pdf_url:
            return session.arxiv.download_pdf(item.pdf_url)
    except DigestError as error:
        raise WorkspaceError(f"{item.key}: cannot get the paper's PDF: {error}") from None
    raise WorkspaceError(f"{item.key}: not a paper (no arXiv id or PDF address); give --image instead")

