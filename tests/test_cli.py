"""The `digest` commands driven in-process with typer's CliRunner.

stdout carries only data (the newsletter, listings, item files); progress,
notices and errors are lines on stderr. arXiv and the LLM are the local fake
servers from conftest.py; nothing here touches the network.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.main import get_command
from typer.testing import CliRunner, Result

from conftest import GOOD_SUMMARY
from digestcli import __version__
from digestcli.cli import app
from digestcli.items import NOTES_MARKER, body_hash, load_item
from papers import LLAVA, MEZO

UNKNOWN_ID = "2305.99999"  # well-formed, but the fake arXiv does not have it
BROKEN_PDF = b"%PDF-1.4 garbage"
COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]
BAD_TOML = '[newsletter]\ntitle = "never closed\n'  # the error is on line 2


def digest(*args: str) -> Result:
    """`digest ARGS` in-process; result.stdout and result.stderr are captured apart."""
    return CliRunner().invoke(app, list(args), prog_name="digest")


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("digest: error:")]


def front_matter(text: str) -> dict[str, Any]:
    assert text.startswith("---\n"), text[:80]
    head, separator, _ = text[4:].partition("\n---\n")
    assert separator, "front matter is not closed"
    return yaml.safe_load(head)


def item_file(root: Path, issue: str, arxiv_id: str) -> Path:
    return root / "issues" / issue / f"{arxiv_id}.md"


def item_meta(root: Path, issue: str, arxiv_id: str) -> dict[str, Any]:
    return load_item(item_file(root, issue, arxiv_id)).meta


@pytest.fixture
def filled(workspace: Path, fake_arxiv) -> Path:
    """The workspace with MeZO and LLaVA in issue-1, summarized offline."""
    result = digest("add", MEZO.id, LLAVA.id)
    assert result.exit_code == 0, result.stderr
    return workspace


# -- version and help -----------------------------------------------------------


def test_version_prints_name_and_version_on_stdout() -> None:
    result = digest("--version")
    assert result.exit_code == 0
    assert result.stdout == f"digest {__version__}\n"
    assert result.stderr == ""


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_of_every_command_shows_an_example(command: str | None) -> None:
    result = digest(*([command] if command else []), "--help")
    assert result.exit_code == 0
    assert "Example: digest " in result.stdout


def test_every_readme_command_is_registered() -> None:
    assert set(COMMANDS) == {"init", "doctor", "add", "build", "list", "show", "rm", "new", "batch", "check", "export", "mv",
                             "star", "feed", "figure"}


# -- init -------------------------------------------------------------------------


def test_init_creates_config_gitignore_and_first_issue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = digest("init", "news", "--title", "Papers of the Week")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    root = tmp_path / "news"
    config = tomllib.loads((root / "digest.toml").read_text(encoding="utf-8"))
    assert config["newsletter"]["title"] == "Papers of the Week"
    assert config["issue"]["current"] == "issue-1"
    assert ".digest/" in (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    issue = front_matter((root / "issues" / "issue-1" / "_issue.md").read_text(encoding="utf-8"))
    assert issue["title"] == "Issue #1"
    assert len(result.stderr.splitlines()) == 1 and "issue-1" in result.stderr


def test_init_twice_is_a_one_line_error_and_keeps_the_config(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert digest("init", "news", "--title", "First").exit_code == 0
    before = (tmp_path / "news" / "digest.toml").read_bytes()
    result = digest("init", "news", "--title", "Second")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == error_lines(result)
    assert len(error_lines(result)) == 1 and "digest.toml" in result.stderr
    assert (tmp_path / "news" / "digest.toml").read_bytes() == before


# -- add with the LLM -----------------------------------------------------------------


def test_add_writes_item_files_with_paper_metadata_and_provenance(workspace: Path, fake_arxiv,
                                                                  fake_openai) -> None:
    result = digest("add", MEZO.id, LLAVA.id)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    requests = fake_openai.chat_requests()
    assert len(requests) == 2
    for paper in (MEZO, LLAVA):
        item = load_item(item_file(workspace, "issue-1", paper.id))
        meta = item.meta
        assert meta["arxiv_id"] == f"{paper.id}v{paper.version}"
        assert meta["title"] == paper.title
        assert meta["authors"] == paper.authors
        assert meta["categories"] == paper.categories
        assert meta["paper_url"] == f"https://arxiv.org/abs/{paper.id}"
        assert "code_url" in meta
        provenance = meta["provenance"]
        assert provenance["backend"] == "openai"
        assert provenance["model"] == requests[0]["model"]
        assert re.fullmatch(r"[0-9a-f]{16}", provenance["prompt_hash"])
        assert (provenance["input_tokens"], provenance["output_tokens"]) == (2000, 200)
        assert re.fullmatch(r"[0-9a-f]{16}", provenance["source_text_hash"])
        assert datetime.fromisoformat(provenance["created"]).tzinfo is not None
        assert provenance["body_hash"] == body_hash(item.body)
        assert GOOD_SUMMARY["tldr"] in item.body
        assert any(line.startswith(f"{paper.id}: saved issues/issue-1/{paper.id}.md")
                   for line in result.stderr.splitlines())
    assert item_meta(workspace, "issue-1", MEZO.id)["code_url"] == GOOD_SUMMARY["code_url"]
    assert result.stderr.splitlines()[-1] == (
        "digest: 2 added, 0 skipped, 0 failed in issue-1; 4000 input / 400 output tokens spent")


def test_add_model_flag_chooses_the_model_and_records_it(workspace: Path, fake_arxiv, fake_openai) -> None:
    result = digest("add", MEZO.id, "--model", "my-local-model")
    assert result.exit_code == 0, result.stderr
    assert [request["model"] for request in fake_openai.chat_requests()] == ["my-local-model"]
    assert item_meta(workspace, "issue-1", MEZO.id)["provenance"]["model"] == "my-local-model"


# -- add offline ------------------------------------------------------------------------


def test_add_without_api_key_summarizes_offline_and_says_so(workspace: Path, fake_arxiv) -> None:
    result = digest("add", MEZO.id, LLAVA.id)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    notices = [line for line in result.stderr.splitlines() if "offline" in line and "OPENAI_API_KEY" in line]
    assert len(notices) == 1
    for paper in (MEZO, LLAVA):
        meta = item_meta(workspace, "issue-1", paper.id)
        assert meta["provenance"]["backend"] == "offline"
        assert meta["arxiv_id"] == f"{paper.id}v{paper.version}"
    assert result.stderr.splitlines()[-1] == "digest: 2 added, 0 skipped, 0 failed in issue-1"


def test_offline_flag_wins_over_an_api_key(workspace: Path, fake_arxiv, fake_openai) -> None:
    result = digest("add", MEZO.id, "--offline")
    assert result.exit_code == 0, result.stderr
    assert fake_openai.chat_requests() == []
    assert any("--offline" in line for line in result.stderr.splitlines())
    assert item_meta(workspace, "issue-1", MEZO.id)["provenance"]["backend"] == "offline"


# -- adding again -------------------------------------------------------------------------


def test_adding_a_paper_again_skips_it_without_calling_the_llm(workspace: Path, fake_arxiv, fake_openai) -> None:
    assert digest("add", MEZO.id).exit_code == 0
    before = item_file(workspace, "issue-1", MEZO.id).read_bytes()
    result = digest("add", MEZO.id)
    assert result.exit_code == 0, result.stderr
    assert len(fake_openai.chat_requests()) == 1
    assert f"digest: {MEZO.id} is already in issue-1 (--force regenerates it and keeps a backup, --refresh updates its metadata only)" in result.stderr.splitlines()
    assert result.stderr.splitlines()[-1] == "digest: 0 added, 1 skipped, 0 failed in issue-1"
    assert item_file(workspace, "issue-1", MEZO.id).read_bytes() == before


def test_force_regenerates_the_item_from_the_llm_cache(workspace: Path, fake_arxiv, fake_openai) -> None:
    assert digest("add", MEZO.id).exit_code == 0
    path = item_file(workspace, "issue-1", MEZO.id)
    path.write_text(path.read_text(encoding="utf-8").replace(GOOD_SUMMARY["tldr"], "A HAND-WRITTEN TLDR."),
                    encoding="utf-8")
    result = digest("add", MEZO.id, "--force")
    assert result.exit_code == 0, result.stderr
    assert len(fake_openai.chat_requests()) == 1
    assert "cached summary" in result.stderr
    assert result.stderr.splitlines()[-1] == "digest: 1 added, 0 skipped, 0 failed in issue-1"
    text = path.read_text(encoding="utf-8")
    assert "A HAND-WRITTEN TLDR." not in text and GOOD_SUMMARY["tldr"] in text


def test_force_keeps_the_notes_written_under_the_marker(workspace: Path, fake_arxiv, fake_openai) -> None:
    assert digest("add", MEZO.id).exit_code == 0
    path = item_file(workspace, "issue-1", MEZO.id)
    path.write_text(path.read_text(encoding="utf-8") + "My note: try this on our 7B model.\n", encoding="utf-8")
    assert digest("add", MEZO.id, "--force").exit_code == 0
    _, notes = path.read_text(encoding="utf-8").split(NOTES_MARKER)
    assert notes.strip() == "My note: try this on our 7B model."


# -- partial failures ------------------------------------------------------------------------


def test_batch_with_unknown_id_and_broken_pdf_lands_the_rest(workspace: Path, fake_arxiv, fake_openai) -> None:
    fake_arxiv.pdfs[LLAVA.id] = BROKEN_PDF
    result = digest("add", MEZO.id, UNKNOWN_ID, LLAVA.id)
    assert result.exit_code == 3, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    unknown = [line for line in lines if UNKNOWN_ID in line]
    assert len(unknown) == 1
    assert unknown[0].startswith("digest: error:") and "no such paper" in unknown[0]
    warnings = [line for line in lines if line.startswith("digest: warning:") and "PDF" in line]
    assert len(warnings) == 1 and LLAVA.id in warnings[0] and "abstract" in warnings[0]
    assert item_meta(workspace, "issue-1", MEZO.id)["provenance"]["text_source"] == "pdf"
    assert item_meta(workspace, "issue-1", LLAVA.id)["provenance"]["text_source"] == "abstract"
    assert not item_file(workspace, "issue-1", UNKNOWN_ID).exists()
    assert lines[-1].startswith("digest: 2 added, 0 skipped, 1 failed in issue-1")
    assert "Traceback" not in result.output


def test_batch_where_every_paper_fails_exits_1(workspace: Path, fake_arxiv) -> None:
    result = digest("add", UNKNOWN_ID, "not-an-id")
    assert result.exit_code == 1
    assert len(error_lines(result)) == 2
    assert any(UNKNOWN_ID in line for line in error_lines(result))
    assert any("'not-an-id'" in line for line in error_lines(result))
    assert sorted(p.name for p in (workspace / "issues" / "issue-1").iterdir()) == ["_issue.md"]


@pytest.mark.parametrize("text", ["not-an-id", "2305.1733", "2313.12345", "arXiv:2305.17333v0"])
def test_invalid_identifier_is_one_line_naming_the_input(workspace: Path, fake_arxiv, text: str) -> None:
    result = digest("add", text)
    assert result.exit_code == 1
    assert len(error_lines(result)) == 1 and repr(text) in error_lines(result)[0]
    assert fake_arxiv.api_requests() == []


# -- the --issue option -----------------------------------------------------------------------


def test_add_to_a_new_issue_creates_it(workspace: Path, fake_arxiv) -> None:
    result = digest("add", MEZO.id, "--issue", "issue-7")
    assert result.exit_code == 0, result.stderr
    assert "digest: created issue issue-7" in result.stderr.splitlines()
    assert (workspace / "issues" / "issue-7" / "_issue.md").is_file()
    assert item_file(workspace, "issue-7", MEZO.id).is_file()
    config = tomllib.loads((workspace / "digest.toml").read_text(encoding="utf-8"))
    assert config["issue"]["current"] == "issue-1"


@pytest.mark.parametrize("name", ["../x", "a/b", ".."])
def test_add_rejects_an_issue_name_outside_the_workspace(workspace: Path, fake_arxiv, name: str) -> None:
    result = digest("add", MEZO.id, "--issue", name)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == error_lines(result)
    assert len(error_lines(result)) == 1 and repr(name) in result.stderr
    assert sorted(p.name for p in (workspace / "issues").iterdir()) == ["issue-1"]
    assert not (workspace.parent / "x").exists()
    assert fake_arxiv.api_requests() == []


# -- no workspace -------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["build"], ["list"], ["list", "issue-1", "--json"], ["show", "issue-1", MEZO.id],
                                  ["rm", "issue-1", MEZO.id], ["new"]])
def test_commands_outside_a_workspace_say_to_run_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      args: list[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    result = digest(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "run `digest init`" in result.stderr
    assert list(empty.iterdir()) == []


def test_add_outside_a_workspace_creates_one_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   fake_arxiv) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    result = digest("add", MEZO.id)
    assert result.exit_code == 0, result.stderr
    assert any(line.startswith(f"digest: created a new workspace in {empty}") for line in result.stderr.splitlines())
    assert (empty / "digest.toml").is_file()
    assert item_file(empty, "issue-1", MEZO.id).is_file()


def test_workspace_is_found_from_a_subfolder(filled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(filled / "issues" / "issue-1")
    result = digest("list", "issue-1", "--json")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) == 2


# -- malformed digest.toml --------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["build"], ["list"], ["new"], ["add", MEZO.id]])
def test_malformed_config_is_one_line_naming_file_and_line(workspace: Path, args: list[str]) -> None:
    (workspace / "digest.toml").write_text(BAD_TOML, encoding="utf-8")
    result = digest(*args)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # handled, not escaped
    assert result.stdout == ""
    assert result.stderr.splitlines() == error_lines(result)
    assert len(error_lines(result)) == 1
    assert str(workspace / "digest.toml") in result.stderr and "line 2" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("debug", [False, True])
def test_debug_flag_shows_the_traceback(workspace: Path, debug: bool) -> None:
    (workspace / "digest.toml").write_text(BAD_TOML, encoding="utf-8")
    command = [sys.executable, "-m", "digestcli.cli", *(["--debug"] if debug else []), "list"]
    run = subprocess.run(command, cwd=workspace, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert run.stdout == ""
    assert ("Traceback" in run.stderr) is debug
    assert ("ConfigError" in run.stderr) is debug
    assert "line 2" in run.stderr


# -- build ------------------------------------------------------------------------------------------


def test_build_prints_the_newsletter_on_stdout_only(filled: Path) -> None:
    result = digest("build", "issue-1")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines()[0] == "---"
    front = front_matter(result.stdout)
    issue = front_matter((filled / "issues" / "issue-1" / "_issue.md").read_text(encoding="utf-8"))
    assert front["layout"] == "post"
    assert front["title"] == "Issue #1"
    assert str(front["date"]) == str(issue["date"])
    assert "machine learning" in front["tags"]
    assert isinstance(front["minute"], int) and front["minute"] >= 1
    assert "## Research" in result.stdout
    for paper in (MEZO, LLAVA):
        assert f"### {paper.title}" in result.stdout
        assert f"[Paper](https://arxiv.org/abs/{paper.id})" in result.stdout
    assert "**What's new:**" in result.stdout and "**Key insights:**" in result.stdout


def test_build_without_an_issue_renders_the_current_one(filled: Path) -> None:
    assert digest("build").stdout == digest("build", "issue-1").stdout


def test_build_out_writes_a_dated_post_file(filled: Path, tmp_path: Path) -> None:
    posts = tmp_path / "blog" / "_posts"
    result = digest("build", "issue-1", "--out", str(posts))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    issue = front_matter((filled / "issues" / "issue-1" / "_issue.md").read_text(encoding="utf-8"))
    expected = posts / f"{issue['date']}-issue-1.md"
    assert [p.name for p in posts.iterdir()] == [expected.name]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}-issue-1\.md", expected.name)
    assert expected.read_text(encoding="utf-8") == digest("build", "issue-1").stdout
    assert str(expected) in result.stderr


def test_building_twice_is_byte_identical(filled: Path, tmp_path: Path) -> None:
    first, second = digest("build", "issue-1"), digest("build", "issue-1")
    assert first.exit_code == second.exit_code == 0
    assert first.stdout_bytes == second.stdout_bytes
    written = []
    for run in ("a", "b"):
        assert digest("build", "issue-1", "--out", str(tmp_path / run)).exit_code == 0
        written.append(next((tmp_path / run).iterdir()).read_bytes())
    assert written[0] == written[1] == first.stdout_bytes


def test_build_of_an_unknown_issue_names_the_known_ones(filled: Path) -> None:
    result = digest("build", "issue-9")
    assert result.exit_code == 1
    assert len(error_lines(result)) == 1
    assert "'issue-9'" in result.stderr and "issue-1" in result.stderr


def test_build_does_not_import_llm_pdf_or_network_libraries(filled: Path, tmp_path: Path) -> None:
    modules_file = tmp_path / "modules.json"
    script = (
        "import json, sys\n"
        "from digestcli.cli import app\n"
        "try:\n"
        "    app(['build', 'issue-1'])\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        f"open({str(modules_file)!r}, 'w').write(json.dumps(sorted(sys.modules)))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=filled, capture_output=True, text=True,
                         encoding="utf-8", timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("---\n")
    modules = json.loads(modules_file.read_text())
    assert "digestcli.render" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in ("openai", "pypdf", "tiktoken", "httpx"))
    assert heavy == []


# -- list, show, rm, new ---------------------------------------------------------------------------------


def test_list_shows_issues_with_the_current_one_marked(filled: Path) -> None:
    assert digest("new").exit_code == 0
    result = digest("list")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("  issue-1") and " 2 items " in lines[0]
    assert lines[1].startswith("* issue-2") and " 0 items " in lines[1]


def test_list_json_of_issues_is_valid_json(filled: Path) -> None:
    result = digest("list", "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(row["name"], row["items"], row["current"]) for row in rows] == [("issue-1", 2, True)]


def test_list_json_of_an_issue_describes_its_items(filled: Path) -> None:
    result = digest("list", "issue-1", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    rows = json.loads(result.stdout)
    assert {row["key"]: row["arxiv_id"] for row in rows} == {
        MEZO.id: f"{MEZO.id}v{MEZO.version}", LLAVA.id: f"{LLAVA.id}v{LLAVA.version}"}
    assert {row["backend"] for row in rows} == {"offline"}
    assert {row["title"] for row in rows} == {MEZO.title, LLAVA.title}


def test_list_of_an_issue_prints_one_line_per_item(filled: Path) -> None:
    result = digest("list", "issue-1")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert any(line.startswith(MEZO.id) and MEZO.title in line for line in lines)


@pytest.mark.parametrize("given", [MEZO.id, f"arXiv:{MEZO.id}", f"https://arxiv.org/abs/{MEZO.id}v3"])
def test_show_prints_the_item_file(filled: Path, given: str) -> None:
    result = digest("show", "issue-1", given)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == item_file(filled, "issue-1", MEZO.id).read_text(encoding="utf-8")


def test_show_of_a_missing_item_is_a_one_line_error(filled: Path) -> None:
    result = digest("show", "issue-1", UNKNOWN_ID)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(error_lines(result)) == 1 and UNKNOWN_ID in result.stderr


def test_rm_removes_the_item_given_with_an_arxiv_prefix(filled: Path) -> None:
    result = digest("rm", "issue-1", f"arXiv:{MEZO.id}")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert not item_file(filled, "issue-1", MEZO.id).exists()
    assert f"issues/issue-1/{MEZO.id}.md" in result.stderr
    rows = json.loads(digest("list", "issue-1", "--json").stdout)
    assert [row["key"] for row in rows] == [LLAVA.id]


def test_rm_of_a_missing_item_is_a_one_line_error(filled: Path) -> None:
    assert digest("rm", "issue-1", MEZO.id).exit_code == 0
    result = digest("rm", "issue-1", MEZO.id)
    assert result.exit_code == 1
    assert len(error_lines(result)) == 1 and MEZO.id in result.stderr


def test_new_creates_the_next_issue_and_makes_it_current(workspace: Path) -> None:
    result = digest("new")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert (workspace / "issues" / "issue-2" / "_issue.md").is_file()
    text = (workspace / "digest.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text)["issue"]["current"] == "issue-2"
    assert text.startswith("# digest workspace settings")  # the user's comments survive
    rows = json.loads(digest("list", "--json").stdout)
    assert [row["name"] for row in rows if row["current"]] == ["issue-2"]


def test_add_after_new_goes_to_the_new_issue(workspace: Path, fake_arxiv) -> None:
    assert digest("new", "--title", "Issue #2: Long context").exit_code == 0
    result = digest("add", MEZO.id)
    assert result.exit_code == 0, result.stderr
    assert item_file(workspace, "issue-2", MEZO.id).is_file()
    assert not item_file(workspace, "issue-1", MEZO.id).exists()
    front = front_matter(digest("build").stdout)
    assert front["title"] == "Issue #2: Long context"


def test_new_with_an_existing_name_is_a_one_line_error(workspace: Path) -> None:
    result = digest("new", "issue-1")
    assert result.exit_code == 1
    assert len(error_lines(result)) == 1 and "issue-1" in result.stderr



# -- human edits ------------------------------------------------------------------------------------


def _edit_tldr(path: Path, new: str) -> str:
    text = path.read_text(encoding="utf-8").replace(GOOD_SUMMARY["tldr"], new)
    path.write_text(text, encoding="utf-8")
    return text


def test_rerun_never_overwrites_a_hand_edited_item_and_says_it_was_edited(workspace: Path, fake_arxiv,
                                                                          fake_openai) -> None:
    assert digest("add", MEZO.id).exit_code == 0
    edited = _edit_tldr(item_file(workspace, "issue-1", MEZO.id), "My own TL;DR.")
    result = digest("add", MEZO.id)
    assert result.exit_code == 0
    assert f"digest: {MEZO.id} is already in issue-1 and edited by hand; kept" in result.stderr
    assert item_file(workspace, "issue-1", MEZO.id).read_text(encoding="utf-8") == edited
    assert len(fake_openai.chat_requests()) == 1


def test_force_keeps_the_edited_file_as_a_backup_beside_it(workspace: Path, fake_arxiv, fake_openai) -> None:
    assert digest("add", MEZO.id).exit_code == 0
    edited = _edit_tldr(item_file(workspace, "issue-1", MEZO.id), "My own TL;DR.")
    result = digest("add", MEZO.id, "--force")
    assert result.exit_code == 0, result.stderr
    backups = list((workspace / "issues" / "issue-1").glob(f"{MEZO.id}.*.md.bak"))
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == edited
    assert f"kept the previous {MEZO.id}.md as {backups[0].name}" in result.stderr
    assert "My own TL;DR." not in item_file(workspace, "issue-1", MEZO.id).read_text(encoding="utf-8")
    assert digest("build").stdout.count("### ") == 1  # the backup is not an item


def test_refresh_updates_metadata_and_keeps_the_edited_summary(workspace: Path, fake_arxiv, fake_openai) -> None:
    assert digest("add", MEZO.id).exit_code == 0
    path = item_file(workspace, "issue-1", MEZO.id)
    _edit_tldr(path, "My own TL;DR.")
    from dataclasses import replace

    fake_arxiv.papers[MEZO.id] = replace(MEZO, version=4, journal_ref="NeurIPS 2023")  # a new version on arXiv
    result = digest("add", MEZO.id, "--refresh")
    assert result.exit_code == 0, result.stderr
    item = load_item(path)
    assert item.meta["arxiv_id"] == f"{MEZO.id}v4" and item.meta["journal_ref"] == "NeurIPS 2023"
    assert "My own TL;DR." in item.body
    assert len(fake_openai.chat_requests()) == 1
    assert result.stderr.splitlines()[-1] == "digest: 0 added, 1 refreshed, 0 skipped, 0 failed in issue-1"


def test_force_and_refresh_together_are_a_usage_error(workspace: Path, fake_arxiv) -> None:
    result = digest("add", MEZO.id, "--force", "--refresh")
    assert result.exit_code == 2
    assert "--force or --refresh" in result.stderr


def test_add_with_section_title_note_and_quote(workspace: Path, fake_arxiv, fake_openai) -> None:
    result = digest("add", MEZO.id, "--section", "Efficient Training", "--title", "MeZO: fine-tuning at inference memory",
                    "--note", "We tried it on a 7B model: it works. See [our post](https://example.com/p).",
                    "--quote", "Fine-tuning with just forward passes")
    assert result.exit_code == 0, result.stderr
    meta = item_meta(workspace, "issue-1", MEZO.id)
    assert meta["section"] == "Efficient Training" and meta["paper_title"] == MEZO.title
    built = digest("build").stdout
    assert "## Efficient Training" in built and "### MeZO: fine-tuning at inference memory" in built
    assert "> Fine-tuning with just forward passes" in built
    assert "We tried it on a 7B model: it works. See [our post](https://example.com/p)." in built  # verbatim
    again = digest("add", MEZO.id, "--force", "--note", "We tried it on a 7B model: it works. See [our post](https://example.com/p).")
    assert again.exit_code == 0
    assert item_file(workspace, "issue-1", MEZO.id).read_text(encoding="utf-8").count("We tried it on a 7B") == 1


# -- mv and star -------------------------------------------------------------------------------------


def test_mv_changes_section_and_position_keeping_the_body(filled: Path) -> None:
    before = load_item(item_file(filled, "issue-1", LLAVA.id)).body
    result = digest("mv", "issue-1", LLAVA.id, "--position", "1")
    assert result.exit_code == 0, result.stderr
    built = digest("build").stdout
    assert built.index(LLAVA.title) < built.index(MEZO.title)
    assert digest("mv", "issue-1", MEZO.id, "--section", "Efficient Training").exit_code == 0
    assert "## Efficient Training" in digest("build").stdout
    assert load_item(item_file(filled, "issue-1", LLAVA.id)).body == before


def test_mv_to_another_issue_moves_the_file(filled: Path) -> None:
    assert digest("new", "issue-2").exit_code == 0
    result = digest("mv", "issue-1", MEZO.id, "--to", "issue-2")
    assert result.exit_code == 0, result.stderr
    assert not item_file(filled, "issue-1", MEZO.id).exists() and item_file(filled, "issue-2", MEZO.id).is_file()
    missing = digest("mv", "issue-1", MEZO.id, "--to", "issue-2")
    assert missing.exit_code == 1 and len(error_lines(missing)) == 1


def test_mv_without_a_destination_is_a_usage_error(filled: Path) -> None:
    assert digest("mv", "issue-1", MEZO.id).exit_code == 2


def test_star_and_unstar(filled: Path) -> None:
    assert digest("star", "issue-1", MEZO.id).exit_code == 0
    assert item_meta(filled, "issue-1", MEZO.id)["starred"] is True
    assert digest("star", "issue-1", MEZO.id, "--off").exit_code == 0
    assert "starred" not in item_meta(filled, "issue-1", MEZO.id)
