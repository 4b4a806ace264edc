"""The workspace on disk: digest.toml, issues/<name>/ folders and the item files in them.

Plain, git-friendly files, written atomically; item writes hold the issue's lock. What an item
file holds is items.py's business, never this module's. Never touches the network.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from datetime import date as Date
from pathlib import Path
from typing import Any

from .config import CONFIG_NAME, default_config_text
from .errors import WorkspaceError
from .files import TEMP_PREFIX, write_atomic
from .front_matter import FileVanished
from .items import FIGURE_TYPES, FIGURES, ISSUE_FILE, Item, dump_issue, dump_item, load_issue_file, load_item
from .models import IssueInfo

ISSUES = "issues"
STATE = ".digest"
_ISSUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # fullmatch: $ would let "issue-1\n" in
def validate_issue_name(name: str) -> str:
    if not _ISSUE_NAME.fullmatch(name) or ".." in name:
        raise WorkspaceError(
            f"invalid issue name {name!r}: use letters, digits, '.', '_' or '-' (no '/' or '..'), e.g. issue-3"
        )
    return name


class IssueExists(WorkspaceError):
    """An issue of that name is already there (perhaps made a moment ago by another process)."""


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.temp_dir = root / STATE / "tmp"  # atomic writes stage here, never in an issue folder

    @classmethod
    def create(cls, root: Path, title: str) -> "Workspace":
        config = root / CONFIG_NAME
        if config.exists():
            raise WorkspaceError(f"{config} already exists")
        write_atomic(config, default_config_text(title))
        (root / ISSUES).mkdir(parents=True, exist_ok=True)
        ignore = root / ".gitignore"
        if not ignore.exists():
            write_atomic(ignore, f"{STATE}/\n{TEMP_PREFIX}*\n*.bak\n")
        return cls(root)

    # -- issues ------------------------------------------------------------

    def issue_dir(self, name: str) -> Path:
        return self.root / ISSUES / validate_issue_name(name)

    def issue_exists(self, name: str) -> bool:
        return (self.issue_dir(name) / ISSUE_FILE).is_file()

    def list_issues(self) -> list[str]:
        folder = self.root / ISSUES
        if not folder.is_dir():
            return []
        names = [p.name for p in folder.iterdir() if (p / ISSUE_FILE).is_file()]
        return sorted(names, key=_natural_key)

    def create_issue(self, name: str, title: str | None = None, today: Date | None = None,
                     description: str = "") -> IssueInfo:
        """Create an issue. Its _issue.md is published without overwriting: of two processes creating
        the same issue at once, exactly one succeeds and the other gets "already exists"."""
        if self.issue_exists(name):
            raise IssueExists(f"issue {name} already exists")
        number = re.search(r"(\d+)$", name)
        info = IssueInfo(
            name=name,
            title=title or (f"Issue #{number.group(1)}" if number else name),
            date=(today or Date.today()).isoformat(),
            description=description,
        )
        try:
            self.save_issue(info, new=True)
        except FileExistsError:
            raise IssueExists(f"issue {name} already exists") from None
        return info

    def create_next_issue(self, title: str | None = None) -> IssueInfo:
        """Create issue-N for the next free N; a number another process takes meanwhile is skipped."""
        for _ in range(100):
            numbers = [int(m.group(1)) for n in self.list_issues() if (m := re.fullmatch(r"issue-(\d+)", n))]
            try:
                return self.create_issue(f"issue-{max(numbers, default=0) + 1}", title)
            except IssueExists:
                continue
        raise WorkspaceError("could not find a free issue number (other processes keep taking them); try again")

    def save_issue(self, info: IssueInfo, new: bool = False) -> None:
        write_atomic(self.issue_dir(info.name) / ISSUE_FILE, dump_issue(info), self.temp_dir, exclusive=new)

    def load_issue(self, name: str) -> IssueInfo:
        path = self.issue_dir(name) / ISSUE_FILE
        if not path.is_file():
            known = ", ".join(self.list_issues()) or "none yet"
            raise WorkspaceError(f"no issue named {name!r} in {self.root} (issues: {known})")
        return load_issue_file(path, name)

    @contextlib.contextmanager
    def lock(self, name: str, timeout: float = 60.0) -> Iterator[None]:
        """The issue's write lock. Only writers take it: readers need none (every file is replaced
        atomically), so reading commands work on a read-only checkout."""
        from filelock import FileLock, Timeout

        folder = self.root / STATE / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(folder / f"{validate_issue_name(name)}.lock"), timeout=timeout)
        try:
            lock.acquire()
        except Timeout:
            raise WorkspaceError(f"issue {name} stayed locked by another digest process for {timeout:g} s; "
                                 "rerun when it has finished") from None
        try:
            yield
        finally:
            lock.release()

    # -- items ---------------------------------------------------------------

    def item_path(self, issue: str, key: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}", key) or ".." in key:
            raise WorkspaceError(f"invalid item name {key!r}")
        return self.issue_dir(issue) / f"{key}.md"

    def has_item(self, issue: str, key: str) -> bool:
        return self.item_path(issue, key).is_file()

    def read_item(self, issue: str, key: str) -> Item:
        path = self.item_path(issue, key)
        try:
            return load_item(path)
        except FileVanished:
            raise WorkspaceError(f"no item {key} in issue {issue}") from None

    def items(self, issue: str) -> list[Item]:
        """All items of an issue; a broken file stops with its name (it is never rewritten)."""
        items, broken = self.scan_items(issue)
        if broken:
            raise broken[0][1]
        return items

    def scan_items(self, issue: str) -> tuple[list[Item], list[tuple[Path, WorkspaceError]]]:
        """The items of an issue that load, and each file that does not with the error naming it.

        Without a lock: files are replaced atomically, so each is read whole. A file that vanishes
        between the listing and its reading (a `git pull` replacing or deleting it) makes the
        folder be listed again; one that vanishes every time is gone, and left out.
        """
        folder = self.issue_dir(issue)
        if not self.issue_exists(issue):
            self.load_issue(issue)  # raises the friendly "no issue" error
        for _ in range(3):
            items, broken, vanished = [], [], False
            paths = sorted(p for p in folder.glob("*.md") if p.name != ISSUE_FILE and not p.name.startswith("."))
            for path in paths:
                try:
                    items.append(load_item(path))
                except FileVanished:
                    vanished = True
                except WorkspaceError as error:
                    broken.append((path, error))
            if not vanished:
                break
        return items, broken

    def write_item(self, issue: str, item: Item) -> Path:
        path = self.item_path(issue, item.key)
        write_atomic(path, dump_item(item), self.temp_dir)
        return path

    def write_figure(self, issue: str, key: str, data: bytes, extension: str) -> str:
        """An item's figure image beside it, in <issue>/figures/; returns its name relative to the issue."""
        self.item_path(issue, key)  # the key is a valid item name, so a valid file name
        if extension not in FIGURE_TYPES:
            raise WorkspaceError(f"a figure must be PNG, WebP, JPEG or GIF, not {extension!r}")
        name = f"{FIGURES}/{key}.{extension}"
        write_atomic(self.issue_dir(issue) / name, data, self.temp_dir)
        return name

    def figure_file(self, issue: str, item: Item) -> Path | None:
        """The item's own figure image in the issue folder, if it has one there."""
        name = item.figure.local_name if item.figure else ""
        path = self.issue_dir(issue) / FIGURES / name
        return path if name and path.is_file() else None

    def _move_figure(self, issue: str, item: Item, target: str) -> None:
        """The item's own figure file follows it to ``target`` (copied there, then removed here)."""
        source = self.figure_file(issue, item)
        if source is not None:
            write_atomic(self.issue_dir(target) / FIGURES / source.name, source.read_bytes(), self.temp_dir)
            source.unlink()

    def backup_item(self, issue: str, key: str) -> Path:
        """Copy an item file to <key>.<UTC time>.md.bak beside it (never overwriting a backup)."""
        from datetime import datetime, timezone

        path = self.item_path(issue, key)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        backup = path.with_name(f"{key}.{stamp}.md.bak")
        write_atomic(backup, path.read_bytes(), self.temp_dir)
        return backup

    def update_item(self, issue: str, key: str, change: Callable[[Item], Item]) -> Path:
        """Rewrite an item as ``change`` makes it from the file on disk, under the issue's lock."""
        with self.lock(issue):
            return self.write_item(issue, change(self.read_item(issue, key)))

    def move_item(self, issue: str, key: str, target: str) -> Path:
        """Move an item to another issue. Written there before it is removed here: a crash keeps both."""
        if not self.issue_exists(target):
            self.load_issue(target)  # the friendly "no issue" error
        first, second = sorted((issue, target))  # one lock order: two moves cannot deadlock
        with self.lock(first), self.lock(second):
            item = self.read_item(issue, key)
            if self.has_item(target, key):
                raise WorkspaceError(f"{target} already has {key}; remove one first")
            path = self.write_item(target, item)
            self._move_figure(issue, item, target)
            self.item_path(issue, key).unlink()
        return path

    def remove_item(self, issue: str, key: str) -> Path:
        path = self.item_path(issue, key)
        if not path.is_file():
            raise WorkspaceError(f"no item {key} in issue {issue}")
        with self.lock(issue):
            try:
                path.unlink()
            except FileNotFoundError:  # another `digest rm` was first
                raise WorkspaceError(f"no item {key} in issue {issue}") from None
        return path

    def set_current_issue(self, name: str) -> None:
        import tomlkit

        path = self.root / CONFIG_NAME
        document = tomlkit.parse(path.read_text(encoding="utf-8"))
        document.setdefault("issue", tomlkit.table())["current"] = validate_issue_name(name)
        write_atomic(path, tomlkit.dumps(document))


def _natural_key(name: str) -> tuple[Any, ...]:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))
