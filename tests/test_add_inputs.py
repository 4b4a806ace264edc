"""Hostile input to `digest add`: item names that identify their resource, one bad input failing
alone, text options that are not text, issue names with a newline, huge titles, and dry runs that
write nothing. Driven through the real CLI against the local fakes (arXiv, web pages) on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from digestcli.ids import parse_arxiv_id
from digestcli import links
from digestcli.links import item_key, parse_page
from digestcli.models import ArxivId
from digestcli.offline import short_name
from digestcli.store import NOTES_MARKER, Workspace, load_item
from fakes import FakePaper, FakeWeb, Reply
from papers import LLAVA, MEZO, llava_pdf, mezo_pdf
from test_cli import digest, error_lines

PAGE = ("<html><head><title>{title}</title><meta property='og:description' content='{title}, described at "
        "length for the newsletter.'></head></html>")


def page(title: str) -> tuple[str, bytes]:
    return "text/html; charset=utf-8", PAGE.format(title=title).encode()


class HostileWeb(FakeWeb):
    """FakeWeb that also answers with redirects: ``jumps`` maps a path to its Location."""

    def __init__(self) -> None:
        super().__init__()
        self.jumps: dict[str, str] = {}

    def handle(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        if path in self.jumps:
            return Reply(302, b"", {"Location": self.jumps[path]})
        return super().handle(method, path, body, headers)


@pytest.fixture
def web():
    server = HostileWeb().start()
    yield server
    server.stop()


def issue_files(root: Path, issue: str = "issue-1") -> list[str]:
    return sorted(p.name for p in (root / "issues" / issue).iterdir())


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every folder and file under ``root`` with its bytes: a dry run must leave it identical."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


# -- class 14: smaller gaps ------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["add", "http://127.0.0.1:9/x", "--issue", "issue-1\n"], ["new", "issue-2\n"]])
def test_an_issue_name_with_a_trailing_newline_is_refused(workspace: Path, args: list[str]) -> None:
    result = digest(*args)
    assert result.exit_code == 1
    assert len(error_lines(result)) == 1 and "invalid issue name 'issue-" in result.stderr
    assert sorted(p.name for p in (workspace / "issues").iterdir()) == ["issue-1"]


@pytest.mark.parametrize("option", ["--note", "--title", "--section", "--quote", "--issue", "--model"])
def test_a_text_option_that_is_not_utf8_is_one_line_naming_it(workspace: Path, option: str) -> None:
    before = snapshot(workspace)
    result = digest("add", "http://127.0.0.1:9/x", option, "caf\udce9")  # b"caf\xe9" as Python's argv holds it
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == error_lines(result)
    assert len(error_lines(result)) == 1 and option in result.stderr and "UTF-8" in result.stderr
    assert snapshot(workspace) == before


def test_argv_bytes_that_are_not_utf8_are_refused_by_the_real_process(workspace: Path) -> None:
    command = [sys.executable, "-m", "digestcli.cli", "new", "issue-2", "--title", b"Caf\xe9 issue"]
    run = subprocess.run(command, cwd=workspace, capture_output=True, timeout=60)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("digest: error: --title")
    assert not (workspace / "issues" / "issue-2").exists()


def test_short_name_of_a_huge_one_word_title_is_bounded() -> None:
    for title in ("A" * 10_000_000, "A" * 20_000 + "_"):  # the second took seconds (quadratic) before
        paper = _paper(title)
        assert 0 < len(short_name(paper)) <= 80


def _paper(title: str):
    from digestcli.models import Paper

    return Paper(id=ArxivId("2306.00001"), title=title, abstract="We propose things.", authors=(), published="",
                 updated="", primary_category="", categories=())


def test_a_huge_one_word_title_is_summarized_offline(workspace: Path, fake_arxiv) -> None:
    abstract = "This paper studies a simple question about training. The results are good and hold up."
    fake_arxiv.add(FakePaper(id="2306.00001", version=1, title="Z" * 100_000, abstract=abstract,
                             authors=["A. Author"]), mezo_pdf())
    result = digest("add", "2306.00001")
    assert result.exit_code == 0, result.output
    meta = load_item(workspace / "issues" / "issue-1" / "2306.00001.md").meta
    assert 0 < len(meta["short_name"]) <= 80


def test_dry_run_outside_a_workspace_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     fake_arxiv, web) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    result = digest("add", "--dry-run", "2305.17333", f"{web.url}/blog/post", f"{web.url}/paper.pdf")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("2305.17333v") and "nothing was written" in result.stderr
    assert list(empty.iterdir()) == []


@pytest.mark.parametrize("args", [
    ["--refresh", "2305.17333"],
    ["--force", "2305.17333"],
    ["--issue", "issue-9", "2304.08485"],
    ["2304.08485", "http://127.0.0.1:9/blog/post"],
], ids=["refresh", "force", "new-issue", "paper-and-link"])
def test_dry_run_in_a_workspace_writes_nothing(workspace: Path, fake_arxiv, args: list[str]) -> None:
    assert digest("add", "2305.17333").exit_code == 0
    shutil.rmtree(workspace / ".digest")  # as a fresh clone has it: .digest/ is not in git
    fake_arxiv.add(dataclasses.replace(MEZO, comment="Accepted at NeurIPS 2023"))  # what --refresh would write
    before = snapshot(workspace)
    result = digest("add", "--dry-run", *args)
    assert result.exit_code == 0, result.output
    assert snapshot(workspace) == before
