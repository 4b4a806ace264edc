"""The workspace's issues and their items: init, new, list, show, rm, mv, star.

Never prints: each returns what the CLI shows. A broken item file is listed and flagged, never
rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import IdentifierError, UsageError, WorkspaceError
from ..ids import parse_arxiv_id
from ..models import IssueInfo
from ..pricing import dollars, shown_total, total
from ..redaction import redact
from ..sanitize import without_controls
from ..store import Workspace
from .session import DEFAULT_TITLE, Session

FIRST_ISSUE = "issue-1"


@dataclass(frozen=True)
class IssueRow:
    name: str
    title: str
    date: str
    items: int
    current: bool
    error: str = ""  # the issue file is broken: why
    cost_usd: float = 0.0  # what its items' summaries cost, as far as known
    cost_unknown: int = 0  # items whose cost is not known (no price for their model, or broken)

    @property
    def cost(self) -> str:
        """The issue's total: "$0.0123", "≥$0.0123" when some items' cost is unknown, or "unknown"."""
        return shown_total(self.cost_usd, self.cost_unknown)


@dataclass(frozen=True)
class ItemRow:
    key: str
    arxiv_id: str
    short_name: str
    title: str
    section: str
    backend: str
    error: str = ""  # the item file is broken: why
    cost_usd: float | None = None  # what its summary cost when paid for (None: not known)

    @property
    def cost(self) -> str:
        return dollars(self.cost_usd)


def total_cost(rows: list[ItemRow]) -> str:
    """What the items listed cost together: "$0.0123", "≥$0.0123" when some cost is unknown, or "unknown"."""
    return shown_total(*total([row.cost_usd for row in rows]))


def item_key(text: str) -> str:
    """The item name of an arXiv id as typed (2305.17333v2, arXiv:2305.17333), else the text itself."""
    try:
        return parse_arxiv_id(text).filename
    except IdentifierError:
        return text.strip()


def init(folder: Path, title: str = DEFAULT_TITLE) -> Workspace:
    """A new workspace in ``folder`` (made if missing) with its first issue."""
    folder.mkdir(parents=True, exist_ok=True)
    workspace = Workspace.create(folder.resolve(), title)
    workspace.create_issue(FIRST_ISSUE)
    return workspace


def new(session: Session, name: str | None = None, title: str | None = None) -> str:
    """A new issue (default: the next issue-N), made the current one. Returns its name."""
    workspace = session.workspace
    # The next number is claimed, not just computed: two `digest new` at once make two issues.
    name = workspace.create_next_issue(title).name if name is None else workspace.create_issue(name, title).name
    workspace.set_current_issue(name)
    session.settings = replace(session.settings, current_issue=name)  # the session sees it as digest.toml does
    return name


def list_issues(session: Session) -> list[IssueRow]:
    """Every issue; a broken one is flagged, not fatal (list is how you find what is broken)."""
    workspace, rows = session.workspace, []
    for name in workspace.list_issues():
        error = ""
        try:
            info = workspace.load_issue(name)
        except WorkspaceError as broken:
            error = str(broken)
            info = IssueInfo(name=name, title=f"BROKEN: {broken}", date="")
        count = len(list(workspace.issue_dir(name).glob("*.md"))) - 1
        known, unknown = issue_cost(session, name)
        rows.append(IssueRow(name, info.title, info.date, count, name == session.settings.current_issue, error,
                             known, unknown))
    return rows


def issue_cost(session: Session, issue: str) -> tuple[float, int]:
    """(dollars the issue's summaries cost as far as known, how many items' cost is not known: no price
    for their model, an item older than the record, or a broken file)."""
    items, broken = session.workspace.scan_items(issue)
    known, unknown = total([item.cost for item in items])
    return known, unknown + len(broken)


def list_items(session: Session, issue: str) -> list[ItemRow]:
    """The items of ``issue`` by name; a broken file is listed and flagged (build, export and check stop at it)."""
    items, broken = session.workspace.scan_items(issue)
    rows = [ItemRow(item.key, item.arxiv_id, item.short_name, item.title, item.section, item.backend,
                    cost_usd=item.cost) for item in items]
    for path, error in broken:
        reason = str(error).removeprefix(f"{path}: ")
        rows.append(ItemRow(path.stem, "", "", f"BROKEN: {reason}", "", "", str(error)))
    return sorted(rows, key=lambda row: row.key)


def show(session: Session, issue: str, item: str) -> str:
    """The item file as it is on disk (redacted, without control characters)."""
    session.workspace.load_issue(issue)
    path = session.workspace.item_path(issue, item_key(item))
    if not path.is_file():
        raise WorkspaceError(f"no item {item} in issue {issue}")
    return without_controls(redact(path.read_text(encoding="utf-8")))


def remove(session: Session, issue: str, item: str) -> Path:
    session.workspace.load_issue(issue)
    return session.workspace.remove_item(issue, item_key(item))


def move(session: Session, issue: str, item: str, *, to: str | None = None, section: str | None = None,
         position: int | None = None) -> Path:
    """The item moved to another issue, section and/or place in its section (build honours it)."""
    workspace = session.workspace
    workspace.load_issue(issue)
    if to is None and section is None and position is None:
        raise UsageError("say where: --to ISSUE, --section NAME and/or --position N")
    key = item_key(item)
    path = workspace.item_path(issue, key)
    if section is not None or position is not None:
        path = workspace.update_item(issue, key, lambda found: found.placed(section, position))
    if to is not None and to != issue:
        path = workspace.move_item(issue, key, to)
    return path


def star(session: Session, issue: str, item: str, on: bool = True) -> Path:
    session.workspace.load_issue(issue)
    return session.workspace.update_item(issue, item_key(item), lambda found: found.with_star(on))
