"""The workspace on disk: digest.toml, issues/<name>/ folders and item files.

Plain, git-friendly files: each item is Markdown with YAML front matter
(metadata and provenance) and a body a person edits by hand. All writes are
atomic and item writes hold the issue's lock. Never touches the network.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator
from datetime import date as Date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import CONFIG_NAME, default_config_text
from .errors import WorkspaceError
from .files import TEMP_PREFIX, sha256_hex, write_atomic
from .models import IssueInfo, Item
from .sanitize import without_comments, without_controls

if TYPE_CHECKING:
    from .schema import SummaryFields

ISSUES = "issues"
ISSUE_FILE = "_issue.md"
STATE = ".digest"
_ISSUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # fullmatch: $ would let "issue-1\n" in
LABELS = {
    "whats_new": "What's new",
    "how_it_works": "How it works",
    "key_insights": "Key insights",
    "results": "Results",
}
LINK_PROMPT = "<!-- What is this link about? Write it here. -->"
NOTES_MARKER = "<!-- Your notes go below this line; digest publishes them verbatim and never rewrites them. -->"
# Only digest writes the marker, on a line of its own, and every fetched or generated text it writes
# into a body has its HTML comments removed first (format_body): no paper, page or model can forge it.
_NOTES_LINE = re.compile(rf"^[ \t]*{re.escape(NOTES_MARKER)}[ \t\r]*$", re.M)  # an editor may indent it
_LABEL_LINE = re.compile(r"^\*\*(What['’]s new|How it works|Key insights|Results):\*\*[ \t]*", re.I | re.M)


def validate_issue_name(name: str) -> str:
    if not _ISSUE_NAME.fullmatch(name) or ".." in name:
        raise WorkspaceError(
            f"invalid issue name {name!r}: use letters, digits, '.', '_' or '-' (no '/' or '..'), e.g. issue-3"
        )
    return name


# -- item body ---------------------------------------------------------------


def format_body(fields: SummaryFields, notes: str = "") -> str:
    """An item body: the summary fields (fetched or generated text, comments removed), the notes
    marker, then the person's notes verbatim."""
    f = {name: _outside(getattr(fields, name)) for name in ("tldr", "whats_new", "how_it_works", "results")}
    insights = "\n".join(f"- {_outside(insight)}" for insight in fields.key_insights)
    generated = (
        f"{f['tldr']}\n\n"
        f"**{LABELS['whats_new']}:** {f['whats_new']}\n\n"
        f"**{LABELS['how_it_works']}:** {f['how_it_works']}\n\n"
        f"**{LABELS['key_insights']}:**\n{insights}\n\n"
        f"**{LABELS['results']}:** {f['results']}"
    )
    return _with_notes(generated, notes)


def format_link_body(description: str, notes: str = "") -> str:
    """A link item's body: the page's description (comments removed) or a prompt to write one."""
    description = " ".join(_outside(description).split())
    return _with_notes(description or LINK_PROMPT, notes)


def _outside(text: str) -> str:
    """Fetched or generated text as an item keeps it: no control characters, no HTML comments."""
    return without_comments(without_controls(text))


def _with_notes(generated: str, notes: str) -> str:
    body = f"{generated.strip()}\n\n{NOTES_MARKER}\n"
    return body + (notes.strip("\n") + "\n" if notes.strip() else "")


def split_notes(body: str) -> tuple[str, str]:
    """(the summary part, the person's notes) of an item body, split at digest's marker line."""
    match = _NOTES_LINE.search(body)
    if not match:
        return body, ""
    return body[: match.start()], body[match.end():].strip("\n")


def parse_body(body: str) -> dict[str, Any]:
    """Fields of an item body as a person may have edited it; unknown text stays with its field."""
    body, notes = split_notes(body)
    parts: dict[str, Any] = {"tldr": "", "whats_new": "", "how_it_works": "", "key_insights": [], "results": ""}
    matches = list(_LABEL_LINE.finditer(body))
    parts["tldr"] = body[: matches[0].start()].strip() if matches else body.strip()
    names = {label.lower(): name for name, label in LABELS.items()}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(body)
        name = names[match.group(1).lower().replace("’", "'")]
        value = body[match.end() : end].strip()
        if name == "key_insights":
            lines = [line.strip() for line in value.splitlines() if line.strip()]
            bullets = [line[2:].strip() for line in lines if line[:2] in ("- ", "* ")]
            parts[name] = bullets if bullets and len(bullets) == len(lines) else ([value] if value else [])
        else:
            parts[name] = value
    parts["notes"] = notes
    return parts


# -- item files ----------------------------------------------------------------


def dump_item(item: Item) -> str:
    import yaml

    front = yaml.safe_dump(item.meta, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)
    return f"---\n{front}---\n\n{item.body.strip()}\n"


@functools.cache
def _yaml_handler() -> Any:
    """python-frontmatter's YAML handler, on libyaml's C loader when PyYAML has it (5-10x faster)."""
    import yaml
    from frontmatter.default_handlers import YAMLHandler

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Handler(YAMLHandler):
        def load(self, fm: str, **kwargs: object) -> Any:
            _check_yaml_shape(fm, loader)
            return yaml.load(fm, Loader=loader)  # noqa: S506 - a safe loader

    return Handler()


class IssueExists(WorkspaceError):
    """An issue of that name is already there (perhaps made a moment ago by another process)."""


class ItemVanished(WorkspaceError):
    """An item file listed a moment ago is gone (removed or being replaced, as `git pull` does)."""


def load_item(path: Path) -> Item:
    """An item file with its front matter checked field by field (see ``validate_meta``)."""
    import frontmatter
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ItemVanished(f"{path}: no such file (removed while it was being read?)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise WorkspaceError(f"{path}: cannot read: {error}") from None
    try:
        meta, body = frontmatter.parse(text, handler=_yaml_handler() if text.startswith("---") else None)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        # The YAML text starts right after the opening "---", so its 0-based line is the file's 1-based line.
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise WorkspaceError(f"{path}: front matter is broken{where}: {problem}; fix it by hand") from None
    except _OddYaml as error:
        raise WorkspaceError(f"{path}: front matter {error}; fix it by hand") from None
    if not isinstance(meta, dict) or not meta:
        raise WorkspaceError(f"{path}: front matter is missing or not a mapping; fix it by hand")
    return Item(key=path.stem, meta=validate_meta(path, dict(meta)), body=body, path=str(path))


# -- front-matter values -------------------------------------------------------------

MAX_YAML_DEPTH = 32  # digest writes 3 levels (provenance.grounding.unverified); libyaml's C stack is finite
MAX_YAML_ALIASES = 64  # aliases can make a small file expand into gigabytes of text


class _OddYaml(Exception):
    pass


def _check_yaml_shape(front: str, loader: Any) -> None:
    """Refuse YAML nested too deeply (it overflows the C parser's stack) or made of many aliases, before loading
    it. Reads parse events only, which libyaml makes without recursion, and stops at the first excess."""
    import yaml

    depth = aliases = 0
    for event in yaml.parse(front, Loader=loader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise _OddYaml(f"is nested more than {MAX_YAML_DEPTH} levels deep")
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                raise _OddYaml(f"uses more than {MAX_YAML_ALIASES} YAML aliases (*name)")


TEXT = "text"
TEXTS = "a list of texts"
MAPPING = "a mapping"
WHOLE = "a whole number"
FLAG = "true or false"

# The front-matter fields digest reads (items and _issue.md), and what each must hold. Other fields are kept as
# they are and never read. A scalar where text is expected becomes text (YAML reads `published: 2023-05-26` as
# a date, `title: 2023` as a number); a scalar where a list is expected becomes a list of one.
ITEM_FIELDS: dict[str, Any] = {
    **dict.fromkeys(("title", "paper_title", "short_name", "section", "arxiv_id", "doc_id", "published", "updated",
                     "primary_category", "paper_url", "pdf_url", "code_url", "comment", "abstract", "journal_ref",
                     "doi", "quote", "url", "kind", "emoji", "topic", "date", "description", "image"), TEXT),
    **dict.fromkeys(("authors", "categories", "accepted_claims", "tags"), TEXTS),
    "order": WHOLE,
    "stars": WHOLE,
    "starred": FLAG,
    "provenance": {
        **dict.fromkeys(("backend", "model", "created", "queued", "body_hash", "batch"), TEXT),
        "evidence": TEXTS,
        "grounding": {"unverified": TEXTS},
    },
}


def validate_meta(path: Path | str, meta: dict[str, Any], fields: dict[str, Any] = ITEM_FIELDS,
                  prefix: str = "") -> dict[str, Any]:
    """``meta`` with every field digest reads made well-typed, or one WorkspaceError naming the file and field."""
    checked = dict(meta)
    for name, kind in fields.items():
        value = meta.get(name)
        if value is None:
            continue
        field = f"{prefix}{name}"
        if isinstance(kind, dict):
            if not isinstance(value, dict):
                raise _wrong(path, field, MAPPING, value)
            checked[name] = validate_meta(path, value, kind, f"{field}.")
        elif kind == TEXT:
            checked[name] = _text(path, field, value)
        elif kind == TEXTS:
            values = value if isinstance(value, list) else [value]
            checked[name] = [_text(path, field, v, TEXTS) for v in values if v is not None]
        elif kind == WHOLE:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise _wrong(path, field, WHOLE, value)
            checked[name] = value
        elif kind == FLAG and not isinstance(value, bool):
            raise _wrong(path, field, FLAG, value)
    return checked


def _text(path: Path | str, field: str, value: Any, kind: str = TEXT) -> str:
    from datetime import date

    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, date)):  # bool is an int
        return str(value)
    raise _wrong(path, field, kind, value, inside=kind == TEXTS)


def _wrong(path: Path | str, field: str, kind: str, value: Any, inside: bool = False) -> WorkspaceError:
    got = "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) else repr(value)[:40]
    where = " inside the list" if inside else ""
    return WorkspaceError(f"{path}: front-matter field '{field}' must be {kind}, got {got}{where}; fix it by hand")


def body_hash(body: str) -> str:
    return sha256_hex(body.strip())[:16]


def is_edited(item: Item) -> bool:
    """True when the body differs from what digest wrote (a person edited it)."""
    written = (item.meta.get("provenance") or {}).get("body_hash")
    return bool(written) and body_hash(item.body) != written


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
        meta = {"title": info.title, "date": info.date, "description": info.description,
                "tags": list(info.tags), "image": info.image}
        intro = info.intro or "<!-- The intro paragraph of this issue: write it here. -->"
        write_atomic(self.issue_dir(info.name) / ISSUE_FILE, dump_item(Item(ISSUE_FILE, meta, intro)), self.temp_dir,
                     exclusive=new)

    def load_issue(self, name: str) -> IssueInfo:
        path = self.issue_dir(name) / ISSUE_FILE
        if not path.is_file():
            known = ", ".join(self.list_issues()) or "none yet"
            raise WorkspaceError(f"no issue named {name!r} in {self.root} (issues: {known})")
        item = load_item(path)
        meta = item.meta
        tags = meta.get("tags") or []
        intro = item.body.strip()
        if intro.startswith("<!--") and intro.endswith("-->"):
            intro = ""
        return IssueInfo(
            name=name,
            title=str(meta.get("title") or name),
            date=str(meta.get("date") or ""),
            description=str(meta.get("description") or ""),
            tags=[str(t) for t in tags] if isinstance(tags, list) else [str(tags)],
            intro=intro,
            image=str(meta.get("image") or ""),
        )

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
        except ItemVanished:
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
                except ItemVanished:
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

    def backup_item(self, issue: str, key: str) -> Path:
        """Copy an item file to <key>.<UTC time>.md.bak beside it (never overwriting a backup)."""
        from datetime import datetime, timezone

        path = self.item_path(issue, key)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        backup = path.with_name(f"{key}.{stamp}.md.bak")
        write_atomic(backup, path.read_bytes(), self.temp_dir)
        return backup

    def update_item(self, issue: str, key: str, changes: dict[str, Any]) -> Path:
        """Set front-matter fields of an item (None removes one); the body is kept byte for byte."""
        with self.lock(issue):
            item = self.read_item(issue, key)
            meta = {k: v for k, v in {**item.meta, **changes}.items() if v is not None}
            return self.write_item(issue, Item(key, meta, item.body))

    def move_item(self, issue: str, key: str, target: str) -> Path:
        """Move an item to another issue. Written there before it is removed here: a crash keeps both."""
        if not self.issue_exists(target):
            self.load_issue(target)  # the friendly "no issue" error
        first, second = sorted((issue, target))  # one lock order: two moves cannot deadlock
        with self.lock(first), self.lock(second):
            item = self.read_item(issue, key)
            if self.has_item(target, key):
                raise WorkspaceError(f"{target} already has {key}; remove one first")
            path = self.write_item(target, Item(key, item.meta, item.body))
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
