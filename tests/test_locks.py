"""Locks and races: two processes at once, a read-only checkout, files that change under a reader.

Two `digest add` subprocesses share one LLM cache and pay once for a shared paper; reading commands
take no lock, so they work where nothing can be written; `rm`, `new` and `build` racing another
process (or `git pull`) end in a clear line or a correct result, never in a crash. Races are run for
real where they can be forced, and otherwise made certain by doing the other process's step at the
exact moment in between (in-process, through the real CLI).
"""

from __future__ import annotations

import builtins
import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from digestcli import store
from digestcli.store import Workspace
from papers import LLAVA, MEZO
from test_cli import digest, error_lines, item_file


def _start(root: Path, env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "digestcli.cli", *args], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# -- reading commands on a read-only checkout ---------------------------------------------------------


def _read_only(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """Make every write under ``root`` fail with EROFS, as on a read-only mount (root ignores chmod)."""
    root = root.resolve()

    def inside(path: object) -> bool:
        try:
            target = Path(os.fsdecode(path)).resolve()
        except (TypeError, ValueError):
            return False
        return target == root or root in target.parents

    def refuse(path: object) -> OSError:
        return OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))

    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    real_open, real_builtin_open = os.open, builtins.open

    def os_open(path, flags, *args, **kwargs):
        if flags & writes and inside(path):
            raise refuse(path)
        return real_open(path, flags, *args, **kwargs)

    def builtin_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and set(mode) & set("wax+") and inside(file):
            raise refuse(file)
        return real_builtin_open(file, mode, *args, **kwargs)

    def one_path(real):
        def call(path, *args, **kwargs):
            if inside(path):
                raise refuse(path)
            return real(path, *args, **kwargs)
        return call

    def two_paths(real):
        def call(source, target, *args, **kwargs):
            if inside(source) or inside(target):
                raise refuse(target)
            return real(source, target, *args, **kwargs)
        return call

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", builtin_open)
    for name in ("mkdir", "unlink", "remove", "rmdir"):
        monkeypatch.setattr(os, name, one_path(getattr(os, name)))
    for name in ("replace", "rename", "link"):
        monkeypatch.setattr(os, name, two_paths(getattr(os, name)))


@pytest.fixture
def checkout(workspace: Path, fake_arxiv) -> Path:
    """A workspace with two items, as a fresh clone has it (no .digest/ state: it is not committed)."""
    assert digest("add", MEZO.id, LLAVA.id).exit_code == 0
    shutil.rmtree(workspace / ".digest")
    return workspace


READING = [["build"], ["build", "issue-1", "--style", "digest"], ["build", "--style", "bookmarks"],
           ["export"], ["export", "--format", "csv"], ["export", "--format", "bibtex"], ["list"],
           ["list", "issue-1", "--json"], ["show", "issue-1", MEZO.id], ["check"]]


@pytest.mark.parametrize("args", READING, ids=" ".join)
def test_reading_commands_work_on_a_read_only_checkout(checkout: Path, monkeypatch: pytest.MonkeyPatch,
                                                       args: list[str]) -> None:
    expected = digest(*args)
    assert expected.exit_code == 0, expected.stderr
    _read_only(monkeypatch, checkout)
    result = digest(*args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected.stdout
    assert not (checkout / ".digest").exists()


def test_a_writing_command_on_a_read_only_checkout_is_one_line(checkout: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _read_only(monkeypatch, checkout)
    result = digest("star", "issue-1", MEZO.id)
    assert result.exit_code == 1
    assert len(error_lines(result)) == 1 and "read-only" in error_lines(result)[0]


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root ignores file permissions; the simulated read-only checkout above covers it")
def test_reading_commands_work_after_chmod_a_minus_w(checkout: Path) -> None:
    subprocess.run(["chmod", "-R", "a-w", str(checkout)], check=True)
    try:
        for args in READING:
            result = digest(*args)
            assert result.exit_code == 0, (args, result.stderr)
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(checkout)], check=True)


# -- rm, new and build racing another process --------------------------------------------------------


@pytest.fixture
def filled(workspace: Path, fake_arxiv) -> Path:
    assert digest("add", MEZO.id, LLAVA.id).exit_code == 0
    return workspace


def test_the_loser_of_two_rm_at_once_says_no_item(filled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_lock = Workspace.lock

    def lock_after_the_other_rm(self, name, *args, **kwargs):
        item_file(filled, "issue-1", MEZO.id).unlink(missing_ok=True)  # the other `digest rm` got the lock first
        return real_lock(self, name, *args, **kwargs)

    monkeypatch.setattr(Workspace, "lock", lock_after_the_other_rm)
    result = digest("rm", "issue-1", MEZO.id)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert error_lines(result) == [f"digest: error: no item {MEZO.id} in issue issue-1"]


@pytest.mark.parametrize("name", [None, "issue-2"], ids=["next-number", "named"])
def test_two_new_at_once_never_lose_an_issue(workspace: Path, monkeypatch: pytest.MonkeyPatch,
                                             name: str | None) -> None:
    real_write = store.write_atomic
    raced = []

    def write_after_the_other_new(path, *args, **kwargs):
        if path.name == "_issue.md" and not raced:
            raced.append(path)  # the other `digest new` publishes issue-2 first
            Workspace(workspace).create_issue("issue-2", "Made by the other process")
        return real_write(path, *args, **kwargs)

    monkeypatch.setattr(store, "write_atomic", write_after_the_other_new)
    result = digest("new", *([name] if name else []))
    assert "Traceback" not in result.output
    other = Workspace(workspace).load_issue("issue-2")
    assert other.title == "Made by the other process"  # never overwritten
    if name is None:
        assert result.exit_code == 0, result.stderr
        assert result.stderr.strip() == "digest: created issue-3; it is now the current issue"
        assert Workspace(workspace).list_issues() == ["issue-1", "issue-2", "issue-3"]
    else:
        assert result.exit_code == 1
        assert error_lines(result) == ["digest: error: issue issue-2 already exists"]


def test_four_new_processes_at_once_make_four_issues(workspace: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    runs = [_start(workspace, env, "new") for _ in range(4)]
    said = []
    for process in runs:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        said.append(err.split()[2].rstrip(";"))
    assert sorted(said) == ["issue-2", "issue-3", "issue-4", "issue-5"]
    assert Workspace(workspace).list_issues() == ["issue-1", "issue-2", "issue-3", "issue-4", "issue-5"]


@pytest.mark.parametrize("args", [["build"], ["export"], ["list", "issue-1", "--json"], ["check"]],
                         ids=" ".join)
def test_files_replaced_and_deleted_while_reading_as_git_pull_does(filled: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   args: list[str]) -> None:
    folder = filled / "issues" / "issue-1"
    extra = folder / "2401.00001.md"  # a third item, deleted by the "pull" while the issue is read
    extra.write_text(item_file(filled, "issue-1", MEZO.id).read_text(encoding="utf-8")
                     .replace(MEZO.title, "Deleted Upstream"), encoding="utf-8")
    mezo = item_file(filled, "issue-1", MEZO.id)
    real_load = store.load_item
    pulled = []

    def load_during_a_pull(path: Path):
        if not pulled and path.name != "_issue.md":  # reading LLaVA's, the first item: the pull replaces
            # MeZO's item (read next) by a rename and deletes the extra one (read last)
            pulled.append(path)
            replacement = folder / ".pull-tmp"
            replacement.write_text(mezo.read_text(encoding="utf-8").replace(MEZO.title, "Pulled Title"),
                                   encoding="utf-8")
            os.replace(replacement, mezo)
            extra.unlink()
        return real_load(path)

    monkeypatch.setattr(store, "load_item", load_during_a_pull)
    result = digest(*args)
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.output and error_lines(result) == []
    assert pulled and "Deleted Upstream" not in result.stdout
    if args[0] != "check":
        assert "Pulled Title" in result.stdout and LLAVA.title in result.stdout


@pytest.mark.parametrize("hard_links", [True, False], ids=["hard-links", "no-hard-links"])
def test_an_exclusive_write_publishes_a_whole_file_once_and_never_replaces_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hard_links: bool) -> None:
    from digestcli.files import TEMP_PREFIX, write_atomic

    if not hard_links:  # e.g. FAT or some network filesystems
        def no_link(*args, **kwargs):
            raise OSError(errno.EPERM, os.strerror(errno.EPERM))
        monkeypatch.setattr(os, "link", no_link)
    target = tmp_path / "issue" / "_issue.md"
    write_atomic(target, "first", tmp_path / "tmp", exclusive=True)
    with pytest.raises(FileExistsError):
        write_atomic(target, "second", tmp_path / "tmp", exclusive=True)
    assert target.read_text() == "first"
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(TEMP_PREFIX)]
