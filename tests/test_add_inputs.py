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
from digestcli.items import NOTES_MARKER, load_item
from digestcli.store import Workspace
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


# -- one item per resource (issue 11, class 6) -----------------------------------------------------


def test_item_names_tell_resources_apart_by_query_and_keep_old_names_without_one() -> None:
    videos = [item_key(f"https://www.youtube.com/watch?v={v}") for v in ("dQw4w9WgXcQ", "9bZkp7q19f0")]
    assert len(set(videos)) == 2 and all(v.startswith("link-youtube-com-watch-v-") for v in videos)
    # Tracking parameters and the order of parameters name no other resource.
    assert item_key("https://example.com/x.pdf?b=2&a=1&utm_source=feed&fbclid=abc&ref=hn") == \
        item_key("https://example.com/x.pdf?a=1&b=2")
    assert item_key("https://youtu.be/dQw4w9WgXcQ?si=share1") == item_key("https://youtu.be/dQw4w9WgXcQ?si=share2")
    assert item_key("https://example.com/x.pdf?id=A") != item_key("https://example.com/x.pdf?id=B")
    forums = [links.document_key(f"https://openreview.net/forum?id={i}") for i in ("Vota6rFhBQ", "vota6rfhbq", "abcdEFGH")]
    assert len(set(forums)) == 3  # OpenReview ids are case-sensitive
    assert links.document_key("https://openreview.net/forum?id=Vota6rFhBQ") == \
        links.document_key("https://openreview.net/pdf?id=Vota6rFhBQ")  # the forum page and its PDF: one paper
    # An address without a query keeps the name earlier versions gave it: existing workspaces still match.
    assert item_key("https://github.com/princeton-nlp/MeZO") == "link-github-com-princeton-nlp-mezo"
    assert item_key("https://example.com/post?utm_source=x") == "link-example-com-post"
    assert links.document_key("https://example.org/paper/123.pdf") == "doc-example-org-paper-123-pdf"
    # Long addresses that differ only after 80 characters are two items; every name is short and safe.
    long = [item_key(f"https://example.com/{'very-long-path-segment/' * 6}{end}") for end in ("a", "b")]
    assert long[0] != long[1]
    for key in [*videos, *forums, *long, item_key("https://例え.jp/パス?q=値")]:
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]{0,100}", key), key


def test_links_differing_only_in_their_query_are_two_items(workspace: Path, web) -> None:
    web.pages["/watch?v=first"] = page("First talk")
    web.pages["/watch?v=second"] = page("Second talk")
    result = digest("add", f"{web.url}/watch?v=first", f"{web.url}/watch?v=second")
    assert result.exit_code == 0, result.stderr
    assert "2 added" in result.stderr
    built = digest("build").stdout
    assert "First talk" in built and "Second talk" in built
    again = digest("add", f"{web.url}/watch?utm_source=mail&v=first")  # the first talk, shared with a tracker
    assert again.exit_code == 0 and "already in issue-1" in again.stderr
    assert len([name for name in issue_files(workspace) if name.startswith("link-")]) == 2


def test_pdf_addresses_differing_only_in_their_query_are_two_papers(workspace: Path, web) -> None:
    web.pages["/paper.pdf?id=A"] = ("application/pdf", mezo_pdf())
    web.pages["/paper.pdf?id=B"] = ("application/pdf", llava_pdf())
    result = digest("add", f"{web.url}/paper.pdf?id=A", f"{web.url}/paper.pdf?id=B")
    assert result.exit_code == 0, result.stderr
    docs = [name for name in issue_files(workspace) if name.startswith("doc-")]
    assert len(docs) == 2
    titles = {load_item(workspace / "issues" / "issue-1" / name).meta["title"] for name in docs}
    assert titles == {MEZO.title, LLAVA.title}


def test_an_item_named_by_an_earlier_version_is_still_found(workspace: Path, web) -> None:
    """Before item names carried the query, every video of a site was `link-<host>-watch`."""
    web.pages["/watch?v=second"] = page("Second talk")
    first = f"{web.url}/watch?v=first"
    Workspace(workspace).write_item("issue-1", _legacy_link_item(first))
    again = digest("add", first)
    assert again.exit_code == 0 and "already in issue-1" in again.stderr
    other = digest("add", f"{web.url}/watch?v=second")
    assert other.exit_code == 0 and "1 added" in other.stderr, other.stderr
    assert len([name for name in issue_files(workspace) if name.startswith("link-")]) == 2


def _legacy_link_item(url: str):
    from digestcli.items import Item

    body = f"An old description.\n\n{NOTES_MARKER}\n"
    meta = {"title": "First talk", "section": "Pointers", "kind": "video", "url": url, "emoji": "📹",
            "provenance": {"backend": "link", "fetched": True, "created": "2026-01-01T00:00:00.000+00:00"}}
    return Item("link-127-0-0-1-watch", meta, body)


def test_force_on_an_edited_link_keeps_a_backup_and_the_notes(workspace: Path, web) -> None:
    web.pages["/blog/post"] = page("A post")
    url = f"{web.url}/blog/post"
    assert digest("add", url, "--note", "First thoughts.").exit_code == 0
    path = workspace / "issues" / "issue-1" / f"{item_key(url)}.md"
    edited = path.read_text(encoding="utf-8").replace("described at length", "described by me") + "More of my notes.\n"
    path.write_text(edited, encoding="utf-8")
    result = digest("add", url, "--force", "--note", "First thoughts.")
    assert result.exit_code == 0, result.stderr
    backups = list(path.parent.glob(f"{path.stem}.*.md.bak"))
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == edited
    assert "kept the previous" in result.stderr
    now = path.read_text(encoding="utf-8")
    notes = now[now.index(NOTES_MARKER):]
    assert "More of my notes." in notes and now.count("First thoughts.") == 1 and "First thoughts." in notes
    assert "described by me" not in now  # the description is fetched again


# -- one bad input fails alone (issue 11, class 7) --------------------------------------------------


def test_bad_web_addresses_and_undecodable_ids_fail_alone_and_the_batch_lands(workspace: Path, fake_arxiv) -> None:
    bad = ["http://[::1", "http://[::1]:99999/", "https://xn--.com/", "http://user@/", "http://127.0.0.1:9/a\x7fb",
           "http://127.0.0.1:9/caf\udce9", "\udcff\udcfe"]
    result = digest("add", *bad, "2305.17333")
    assert result.exit_code == 3, result.output
    lines = error_lines(result)
    assert len(lines) == len(bad), lines
    for text, line in zip(bad, lines):
        assert repr(text) in line
    assert "internal error" not in result.stderr
    assert (workspace / "issues" / "issue-1" / "2305.17333.md").is_file()


def test_digits_of_other_scripts_are_read_as_ascii_and_nothing_else_gets_through() -> None:
    from digestcli.errors import IdentifierError

    assert [parse_arxiv_id(text).versioned for text in (
        "٢٣٠٥.١٧٣٣٣",  # Arabic-Indic digits
        "۲۳۰۵.۱۷۳۳۳v۲",  # Extended Arabic-Indic (Persian)
        "２３０５．１７３３３",  # fullwidth digits and full stop
        "ａｒＸｉｖ：２３０５.１７３３３",
        "https://arxiv.org/abs/２３０５.１７３３３",
    )] == ["2305.17333", "2305.17333v2", "2305.17333", "2305.17333", "2305.17333"]
    for text in ("２３０５.１７３３", "٢٣٠٥.١٧٣٣٣٣", "h\u0435p-th/9901001", "2305.17333\n\n2304.08485"):
        with pytest.raises(IdentifierError, match="not an arXiv identifier"):
            parse_arxiv_id(text)


def test_a_long_bad_input_is_quoted_short_in_its_error_line(workspace: Path) -> None:
    result = digest("add", "x" * 100_000, "http://[::1/" + "y" * 100_000)
    assert result.exit_code == 1
    lines = error_lines(result)
    assert len(lines) == 2 and all(len(line) < 400 for line in lines), [len(line) for line in lines]


def test_ids_in_other_scripts_land_and_a_bad_one_fails_alone(workspace: Path, fake_arxiv) -> None:
    result = digest("add", "٢٣٠٥.١٧٣٣٣", "２３０４．０８４８５", "２３０５.１７３３")
    assert result.exit_code == 3, result.output
    assert len(error_lines(result)) == 1 and "'２３０５.１７３３'" in error_lines(result)[0]
    assert {"2305.17333.md", "2304.08485.md"} <= set(issue_files(workspace))


def test_id_files_and_stdin_that_are_not_utf8_fail_line_by_line(workspace: Path, fake_arxiv) -> None:
    (workspace / "ids.txt").write_bytes(b"\xef\xbb\xbf2305.17333\n\xff\xfe not text\n")  # a BOM, then bad bytes
    result = digest("add", "--from", "ids.txt")
    assert result.exit_code == 3, result.output
    assert len(error_lines(result)) == 1 and "\\udcff\\udcfe" in error_lines(result)[0]
    assert (workspace / "issues" / "issue-1" / "2305.17333.md").is_file()
    from typer.testing import CliRunner

    from digestcli.cli import app

    piped = CliRunner().invoke(app, ["add", "-"], input=b"2304.08485\n\x80\n", prog_name="digest")
    assert piped.exit_code == 3, piped.output
    assert len(error_lines(piped)) == 1
    assert (workspace / "issues" / "issue-1" / "2304.08485.md").is_file()


def test_hostile_link_pages_fail_no_batch(workspace: Path, web) -> None:
    web.pages["/not-a-charset"] = ("text/html; charset=base64", b"<html><title>Odd charset</title></html>")
    web.jumps["/jump"] = "javascript:alert(1)"
    web.pages["/fine"] = page("A fine page")
    result = digest("add", f"{web.url}/not-a-charset", f"{web.url}/jump", f"{web.url}/fine")
    assert result.exit_code == 0, result.output
    assert "3 added" in result.stderr and "internal error" not in result.stderr
    assert "Odd charset" in digest("build").stdout


def test_star_counts_that_are_no_number_are_ignored() -> None:
    html = '<span id="repo-stars-counter-star" title=",">x</span>'
    assert parse_page("https://github.com/a/b", html).stars is None
    huge = f'<span id="repo-stars-counter-star" title="{"9" * 5000}">x</span>'
    assert parse_page("https://github.com/a/b", huge).stars is not None


# -- smaller gaps (issue 11, class 14) -------------------------------------------------------------------


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
