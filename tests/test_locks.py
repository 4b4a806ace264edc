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
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import GOOD_SUMMARY
from digestcli import store
from digestcli.items import load_item
from digestcli.store import Workspace
from fakes import FakeArxiv, FakeOpenAI, Reply, atom_feed, chat_completion, child_env
from papers import LLAVA, MEZO, numbered_papers
from test_cli import digest, error_lines, item_file

BATCH = numbered_papers(4, prefix="2311.2")
PAPERS = [paper for paper, _ in BATCH]


def _paper_of(request: dict) -> str:
    text = json.dumps(request)
    return next(p.id for p in PAPERS if f"{p.title}\\n" in text or f"{p.title}\"" in text)


class SharedLLM:
    """An LLM that answers each request after ``hold`` seconds, at once when a second request for the
    same paper arrives (the bug: it lets both be paid), and records the paper of every request."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.papers: list[str] = []
        self.seen: dict[str, threading.Event] = {}
        self.lock = threading.Lock()
        self.release = threading.Event()  # set to answer everything held at once
        self.server = FakeOpenAI(self.answer).start()

    def answer(self, request: dict) -> Reply:
        paper = _paper_of(request)
        with self.lock:
            self.papers.append(paper)
            twice = self.seen.setdefault(paper, threading.Event())
            if self.papers.count(paper) > 1:
                twice.set()
        deadline = time.monotonic() + self.hold
        while time.monotonic() < deadline and not twice.is_set() and not self.release.is_set():
            time.sleep(0.02)
        return chat_completion(json.dumps(GOOD_SUMMARY))


def _env(root: Path, arxiv: FakeArxiv, llm: FakeOpenAI) -> dict[str, str]:
    return child_env(root / "cache", arxiv, llm, key="sk-test-locks", DIGEST_LLM_RETRIES="0",
                     DIGEST_EXTRACT_PROCESSES="1", PYTHONUNBUFFERED="1")


def _start(root: Path, env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "digestcli.cli", *args], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Rig:
    """A workspace on disk, a local arXiv and a SharedLLM, for `digest` subprocesses."""

    def __init__(self, root: Path, arxiv: FakeArxiv, llm: SharedLLM) -> None:
        self.root, self.arxiv, self.llm = root, arxiv, llm
        self.env = _env(root, arxiv, llm.server)
        self.pair = threading.Barrier(2)  # metadata answers wait for a second process while this is set
        self.together = True

    def start(self, *args: str) -> subprocess.Popen:
        return _start(self.root, self.env, *args)

    def answer_metadata(self, ids: list[str]) -> Reply:
        if self.together:  # two `digest add` started together really overlap from here on
            try:
                self.pair.wait(timeout=20)
            except threading.BrokenBarrierError:
                pass
        found = [p for p in PAPERS if any(i.split("v")[0] == p.id for i in ids)]
        return Reply(200, atom_feed(found, ",".join(ids)), {"Content-Type": "application/atom+xml"})


@pytest.fixture
def rig(tmp_path: Path):
    arxiv = FakeArxiv()
    for paper, pdf in BATCH:
        arxiv.add(paper, pdf)
    llm = SharedLLM(hold=0.5)
    root = tmp_path / "ws"
    root.mkdir()
    Workspace.create(root, "Locks").create_issue("issue-1")
    made = Rig(root, arxiv, llm)
    arxiv.api_override = made.answer_metadata
    arxiv.start()
    yield made
    llm.release.set()
    made.pair.abort()
    arxiv.stop()
    llm.server.stop()


# -- two adds at once pay once per paper ------------------------------------------------------------------


def test_two_adds_with_shared_papers_at_once_pay_once_per_paper(rig: Rig) -> None:
    first = rig.start("add", PAPERS[0].id, PAPERS[1].id, PAPERS[2].id)
    second = rig.start("add", PAPERS[1].id, PAPERS[2].id, PAPERS[3].id)
    outputs = [process.communicate(timeout=60) for process in (first, second)]
    for process, (_, err) in zip((first, second), outputs):
        assert process.returncode == 0, err
        assert "Traceback" not in err and "internal error" not in err
    assert sorted(rig.llm.papers) == sorted(p.id for p in PAPERS)  # one request per distinct paper
    for paper in PAPERS:
        assert GOOD_SUMMARY["tldr"] in load_item(item_file(rig.root, "issue-1", paper.id)).body
    summaries = [err.splitlines()[-1] for _, err in outputs]
    assert all(line.startswith("digest: 3 added, 0 skipped, 0 failed in issue-1") for line in summaries), summaries


def test_a_killed_process_does_not_leave_its_paper_locked(rig: Rig) -> None:
    rig.together = False
    rig.llm.hold = 60.0  # the first process waits for its answer, holding the paper's lock, until it is killed
    holder = rig.start("add", PAPERS[0].id)
    deadline = time.monotonic() + 30
    while not rig.llm.papers and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rig.llm.papers == [PAPERS[0].id]
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=30)
    rig.llm.release.set()
    rerun = rig.start("add", PAPERS[0].id)
    _, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    assert rig.llm.papers == [PAPERS[0].id, PAPERS[0].id]  # asked again: the killed run's answer never came
    assert item_file(rig.root, "issue-1", PAPERS[0].id).is_file()


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
