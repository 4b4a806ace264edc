"""Kills, Ctrl-C and two processes at once: nothing finished is lost, nothing paid is paid twice,
and nothing digest started outlives it.

These run the real `digest` in subprocesses against slow local fakes of arXiv
and an OpenAI-compatible server, and interrupt it for real (SIGKILL, SIGINT).
"""

from __future__ import annotations

import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bombs import slow_pdf
from conftest import GOOD_SUMMARY
from digestcli.files import TEMP_PREFIX
from digestcli.items import load_item
from digestcli.store import Workspace
from fakes import FakeArxiv, FakeOpenAI, Reply, chat_completion, child_env
from papers import numbered_papers

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

BATCH = numbered_papers(8)
PAPERS = [paper for paper, _ in BATCH]
LLM_DELAY = 0.2  # seconds per summary
PDF_DELAY = 0.05


def _paper_of(request: dict) -> str:
    text = json.dumps(request)
    return next(p.id for p in PAPERS if f"{p.title}\\n" in text or f"{p.title}\"" in text)


@dataclass
class Rig:
    """Slow local arXiv and LLM, and a workspace on disk, for subprocess runs of digest."""

    root: Path
    arxiv: FakeArxiv
    llm: FakeOpenAI
    env: dict[str, str]
    llm_papers: list[str] = field(default_factory=list)  # the paper of each LLM request, in order

    def start(self, *args: str, issue: str = "issue-1") -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "digestcli.cli", "add", *args, "--issue", issue],
                                cwd=self.root, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def run(self, *args: str, issue: str = "issue-1") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "digestcli.cli", *args], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=120)

    def cached_papers(self) -> set[str]:
        """Papers whose LLM answer is in the cache: calls that completed and must never be repeated."""
        done = set()
        for entry in (self.root / "cache" / "llm").rglob("*.json"):
            try:
                done.add(json.loads(entry.read_text(encoding="utf-8"))["paper"].rsplit("v", 1)[0])
            except (OSError, ValueError, KeyError):
                pass  # a half-written cache entry would be a bug: the assertions below would catch it
        return done

    def issue_dir(self, issue: str = "issue-1") -> Path:
        return self.root / "issues" / issue


@pytest.fixture
def rig(tmp_path: Path):
    arxiv = FakeArxiv().start()
    for paper, pdf in BATCH:
        arxiv.add(paper, pdf)
    arxiv.pdf_delay = PDF_DELAY
    papers: list[str] = []

    def answer(request: dict) -> Reply:
        papers.append(_paper_of(request))
        reply = chat_completion(json.dumps(GOOD_SUMMARY))
        reply.delay = LLM_DELAY
        return reply

    llm = FakeOpenAI(answer).start()
    root = tmp_path / "ws"
    root.mkdir()
    Workspace.create(root, "Kill Test")
    env = child_env(root / "cache", arxiv, llm, key="sk-test-kill", DIGEST_LLM_RETRIES="0", PYTHONUNBUFFERED="1")
    yield Rig(root, arxiv, llm, env, papers)
    arxiv.stop()
    llm.stop()


def children(pid: int) -> dict[int, str]:
    """The processes ``pid`` started (PDF workers and any helper), with their start times so that a
    reused pid is never taken for one of them. Empty where there is no /proc."""
    found = {}
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _stat(int(entry.name))
        if fields and int(fields[1]) == pid:
            found[int(entry.name)] = fields[19]
    return found


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat from the state on (the command name before it may hold spaces), or []."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def still_running(processes: dict[int, str], seconds: float = 10.0) -> list[int]:
    """Those of ``processes`` still running (a zombie has ended) after waiting up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        running = [pid for pid, started in processes.items()
                   if (fields := _stat(pid)) and fields[19] == started and fields[0] not in "ZX"]
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.05)


def kill_left_over(processes: dict[int, str]) -> None:
    for pid in still_running(processes, 0):
        os.kill(pid, signal.SIGKILL)


def check_issue_folder(folder: Path) -> int:
    """Every file in the issue folder is whole: items parse, no temp files. Returns the item count."""
    names = [p.name for p in folder.iterdir()]
    assert not [n for n in names if n.startswith(TEMP_PREFIX)], names
    items = [p for p in folder.glob("*.md") if p.name != "_issue.md"]
    for path in items:
        item = load_item(path)  # raises on a torn file
        assert item.meta["provenance"]["body_hash"] and GOOD_SUMMARY["tldr"] in item.body
    return len(items)


def wait_for_a_kill_point(rig: Rig, process: subprocess.Popen, calls_before: int, unpaid: int,
                          rng: random.Random) -> None:
    """Wait for a random kill point, raising TimeoutExpired when the run is still going there: a moment of
    start-up, metadata, downloads and extraction, or one around the k-th summary request of this run
    (while it is answered, cached, saved). Points are found by events, not by waiting out random
    times, so no run finishes in vain and every kill lands where work is being done."""
    if not unpaid or rng.random() < 0.25:
        process.wait(timeout=rng.uniform(0.1, 0.9))
        return
    k = rng.randint(1, unpaid)
    deadline = time.monotonic() + 60
    while len(rig.llm_papers) - calls_before < k and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.wait(timeout=rng.uniform(0.0, LLM_DELAY + 0.1))


def test_sigkill_at_random_points_loses_nothing_and_repeats_no_llm_call(rig: Rig) -> None:
    ids = [p.id for p in PAPERS]
    rng = random.Random(20261123)
    stats = {"runs": 0, "kills": 0, "items_verified": 0, "repeated_llm_calls": 0, "batches": 1}
    target_kills = 20
    killed_children: dict[int, str] = {}  # PDF workers of the killed runs: they must die with them
    while stats["kills"] < target_kills:
        done_before = rig.cached_papers()
        calls_before = len(rig.llm_papers)
        process = rig.start(*ids)
        try:
            wait_for_a_kill_point(rig, process, calls_before, len(PAPERS) - len(done_before), rng)
        except subprocess.TimeoutExpired:
            killed_children.update(children(process.pid))
            process.send_signal(signal.SIGKILL)
            process.wait()
            stats["kills"] += 1
        stats["runs"] += 1
        new_calls = rig.llm_papers[calls_before:]
        stats["repeated_llm_calls"] += sum(1 for paper in new_calls if paper in done_before)
        stats["items_verified"] += check_issue_folder(rig.issue_dir())
        if process.returncode == 0:  # the batch finished: start another one in a fresh issue and cache
            assert check_issue_folder(rig.issue_dir()) == len(PAPERS)
            for path in rig.issue_dir().glob("*.md"):
                if path.name != "_issue.md":
                    path.unlink()
            for entry in (rig.root / "cache" / "llm").rglob("*.json"):
                entry.unlink()
            stats["batches"] += 1
    done_before = rig.cached_papers()
    calls_before = len(rig.llm_papers)
    final = rig.run("add", *ids)
    assert final.returncode == 0, final.stderr
    stats["runs"] += 1
    stats["repeated_llm_calls"] += sum(1 for p in rig.llm_papers[calls_before:] if p in done_before)
    assert check_issue_folder(rig.issue_dir()) == len(PAPERS)
    print(f"\nkill test: {json.dumps(stats)}")
    (rig.root.parent / "kill-stats.json").write_text(json.dumps(stats), encoding="utf-8")
    assert stats["repeated_llm_calls"] == 0
    assert stats["kills"] == target_kills
    try:
        assert not still_running(killed_children), "processes of a killed digest outlived it"
    finally:
        kill_left_over(killed_children)


def _read_until(stream, text: str, seconds: float) -> str:
    """What ``stream`` (a binary pipe) says until ``text`` appears, or until ``seconds`` pass."""
    seen = b""
    deadline = time.monotonic() + seconds
    while text.encode() not in seen and time.monotonic() < deadline:
        if select.select([stream], [], [], max(0.0, deadline - time.monotonic()))[0]:
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                break
            seen += chunk
    return seen.decode(errors="replace")


def _all_closed(streams: list, seconds: float) -> bool:
    """Read each pipe to its end; False if one is still held open by someone after ``seconds``."""
    open_streams = list(streams)
    deadline = time.monotonic() + seconds
    while open_streams and time.monotonic() < deadline:
        for stream in select.select(open_streams, [], [], max(0.0, deadline - time.monotonic()))[0]:
            if not os.read(stream.fileno(), 65536):
                open_streams.remove(stream)
    return not open_streams


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the children of digest in /proc")
def test_kill_9_leaves_no_process_holding_the_output_pipes(rig: Rig) -> None:
    """`digest add ... 2>&1 | tee log` ends when digest is killed: its PDF workers die with it."""
    slow, quick = PAPERS[0], PAPERS[1]
    rig.arxiv.add(slow, slow_pdf())  # over a minute of reading: a worker is busy with it when digest dies
    env = {**rig.env, "DIGEST_EXTRACT_PROCESSES": "2"}
    process = subprocess.Popen([sys.executable, "-m", "digestcli.cli", "add", slow.id, quick.id], cwd=rig.root,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    started: dict[int, str] = {}
    try:
        said = _read_until(process.stderr, f"{quick.id}: saved", 60)
        assert f"{quick.id}: saved" in said, said
        started = children(process.pid)
        assert started, "no PDF worker is running"
        process.kill()
        process.wait()
        assert _all_closed([process.stdout, process.stderr], 20), "a process digest started holds its output open"
        assert not still_running(started), "processes of a killed digest outlived it"
    finally:
        process.kill()
        process.wait()
        kill_left_over(started)
        for stream in (process.stdout, process.stderr):
            stream.close()


def test_ctrl_c_stops_cleanly_with_a_summary_of_what_was_saved(rig: Rig) -> None:
    ids = [p.id for p in PAPERS]
    process = rig.start(*ids)
    assert process.stderr is not None
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen.append(line)
        if re.match(r"2310\.\d+: saved ", line):
            break
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    rest = process.stderr.read()  # not communicate(): it would skip what readline() already buffered
    stderr = "".join(seen) + rest
    assert process.returncode == 130, stderr
    last = stderr.splitlines()[-1]
    assert "interrupted" in last, stderr
    assert re.fullmatch(r"digest: interrupted: [1-9]\d* added, 0 skipped, 0 failed in issue-1; \d+ input / \d+ "
                        r"output tokens spent; rerun the same command to finish \(nothing is paid twice\)", last), last
    assert "Traceback" not in stderr
    saved = check_issue_folder(rig.issue_dir())
    assert saved == int(last.split()[2])
    done_before, calls_before = rig.cached_papers(), len(rig.llm_papers)
    rerun = rig.run("add", *ids)
    assert rerun.returncode == 0, rerun.stderr
    assert not [p for p in rig.llm_papers[calls_before:] if p in done_before]
    assert check_issue_folder(rig.issue_dir()) == len(PAPERS)


def test_two_adds_on_one_issue_at_once_both_land_and_build_sees_whole_items(rig: Rig) -> None:
    first = rig.start(*[p.id for p in PAPERS[:4]], issue="issue-2")  # neither finds issue-2: both race to create it
    second = rig.start(*[p.id for p in PAPERS[4:]], issue="issue-2")
    builds = []
    while first.poll() is None or second.poll() is None:
        built = rig.run("build", "issue-2")
        if built.returncode == 1 and "no issue named 'issue-2'" in built.stderr:
            continue  # not created yet
        assert built.returncode == 0, built.stderr
        builds.append(built.stdout)
    for process in (first, second):
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
    assert check_issue_folder(rig.issue_dir("issue-2")) == len(PAPERS)
    for text in builds:  # every snapshot has only whole items: one TL;DR per item heading
        assert text.count("\n### ") == text.count(GOOD_SUMMARY["tldr"])
    assert len(builds) >= 1
    assert len(rig.llm_papers) == len(PAPERS)
