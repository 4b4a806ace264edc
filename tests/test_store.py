"""store.py and config.py: item bodies, item files, atomic writes, issues, settings.

Everything runs in tmp_path workspaces; nothing here touches the network.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
import tomlkit

from conftest import GOOD_SUMMARY

from digestcli.config import ARXIV_API_MIN_INTERVAL, CONFIG_NAME, find_workspace, load_settings
from digestcli.errors import ConfigError, DigestError, WorkspaceError
from digestcli.files import TEMP_PREFIX, write_atomic
from digestcli.items import ISSUE_FILE, NOTES_MARKER, Item, format_body, load_item, parse_body
from digestcli.models import SummaryFields
from digestcli.store import Workspace, validate_issue_name

FIELDS = SummaryFields(**GOOD_SUMMARY)
BODY_FIELDS = ("tldr", "whats_new", "how_it_works", "key_insights", "results")


def new_workspace(tmp_path: Path, title: str = "Papers of the Week") -> Workspace:
    root = tmp_path / "ws"
    root.mkdir()
    return Workspace.create(root, title)


# -- item body ---------------------------------------------------------------------


@pytest.mark.parametrize("notes", ["", "My take: **read section 4** first.\n\n> A quote, kept as written.\n"])
def test_body_round_trips_through_format_and_parse(notes):
    parts = parse_body(format_body(FIELDS, notes))

    assert {name: parts[name] for name in BODY_FIELDS} == {name: GOOD_SUMMARY[name] for name in BODY_FIELDS}
    assert parts["notes"] == notes.strip("\n")


def test_formatted_body_has_labelled_sections_and_the_notes_marker():
    body = format_body(FIELDS, "a note")

    assert body.startswith(GOOD_SUMMARY["tldr"] + "\n\n**What's new:** ")
    assert "\n**Key insights:**\n- Memory use equals inference.\n- Task prompts" in body
    assert body.endswith(f"{NOTES_MARKER}\na note\n")


HAND_EDITED = f"""MeZO trains big models with the memory of inference.
It needs only forward passes.

**What’s new:** Zeroth-order SGD done in place.

**How it works:** One seeded perturbation, two losses.

**Key insights:**
* Memory equals inference.
*   Prompts matter.

**Results:** Up to 12x less memory.

A second paragraph the editor added to the results.

{NOTES_MARKER}
## My notes

  Indented line, `code`, and a trailing space 
- not an insight, just a list in my notes
"""


def test_hand_edited_body_is_parsed_field_by_field():
    parts = parse_body(HAND_EDITED)

    assert parts["tldr"] == "MeZO trains big models with the memory of inference.\nIt needs only forward passes."
    assert parts["whats_new"] == "Zeroth-order SGD done in place."
    assert parts["how_it_works"] == "One seeded perturbation, two losses."
    assert parts["key_insights"] == ["Memory equals inference.", "Prompts matter."]
    assert parts["results"] == "Up to 12x less memory.\n\nA second paragraph the editor added to the results."
    assert parts["notes"] == (
        "## My notes\n\n  Indented line, `code`, and a trailing space \n- not an insight, just a list in my notes"
    )


def test_insights_that_are_not_all_bullets_stay_one_paragraph():
    body = format_body(FIELDS).replace("- Memory use equals inference.", "Memory use equals inference, and")

    assert parse_body(body)["key_insights"] == [
        "Memory use equals inference, and\n- Task prompts make zeroth-order fine-tuning work."
    ]


def test_body_without_labels_is_all_tldr():
    parts = parse_body("Just one paragraph written by hand.\n")

    assert parts["tldr"] == "Just one paragraph written by hand."
    assert parts["whats_new"] == "" and parts["key_insights"] == [] and parts["notes"] == ""


# -- item files ----------------------------------------------------------------------


def test_written_item_loads_back_with_the_same_meta_and_body(tmp_path):
    workspace = new_workspace(tmp_path)
    workspace.create_issue("issue-1")
    meta = {
        "title": "LLaVA: Visual Instruction Tuning — a “multimodal” GPT-4: part 2",
        "short_name": "LLaVA",
        "section": "Research",
        "arxiv_id": "2304.08485v2",
        "authors": ["Haotian Liu", "Chunyuan Li", "Zoë Ångström", "李 明"],
        "published": "2023-04-17",
        "comment": "NeurIPS 2023 Oral; project page: https://llava-vl.github.io/",
        "code_url": "",
        "doi": "",
        "order": 2,
        "provenance": {"backend": "openai", "input_tokens": 2000, "created": "2026-11-23T10:00:00.000+00:00"},
    }
    body = format_body(FIELDS, "Notes with ünïcödé: ✓")

    path = workspace.write_item("issue-1", Item("2304.08485", meta, body))
    item = load_item(path)

    assert path == workspace.root / "issues" / "issue-1" / "2304.08485.md"
    assert item.key == "2304.08485"
    assert item.meta == meta
    assert item.body.strip() == body.strip()
    assert "李 明" in path.read_text(encoding="utf-8")  # unicode written as is, not escaped
    assert workspace.items("issue-1")[0].meta == meta


def test_write_atomic_leaves_no_temp_files(tmp_path):
    target = tmp_path / "folder" / "item.md"

    write_atomic(target, "first\n")
    write_atomic(target, "second ✓\n")

    assert target.read_text(encoding="utf-8") == "second ✓\n"
    assert [p.name for p in target.parent.iterdir()] == ["item.md"]


def test_failed_write_keeps_the_old_file_and_removes_the_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "item.md"
    target.write_text("old content\n", encoding="utf-8")

    def refuse(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(DigestError, match=r"cannot write .*item\.md: disk full"):
        write_atomic(target, "new content\n")

    assert target.read_text(encoding="utf-8") == "old content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["item.md"]
    assert not any(p.name.startswith(TEMP_PREFIX) for p in tmp_path.iterdir())


BROKEN_FRONT_MATTER = """---
title: Fine-Tuning Language Models
short_name: MeZO: the short name
section: Research
---

Body text.
"""


def test_broken_front_matter_names_file_and_line_and_is_left_alone(tmp_path):
    workspace = new_workspace(tmp_path)
    workspace.create_issue("issue-1")
    path = workspace.root / "issues" / "issue-1" / "2305.17333.md"
    path.write_text(BROKEN_FRONT_MATTER, encoding="utf-8")
    before = path.read_bytes()

    with pytest.raises(WorkspaceError) as raised:
        workspace.items("issue-1")

    message = str(raised.value)
    assert str(path) in message
    assert "(line 3)" in message  # the short_name line, counting the opening ---
    assert "fix it by hand" in message
    assert path.read_bytes() == before


@pytest.mark.parametrize("text", ["No front matter at all.\n", "---\n- a list\n- not a mapping\n---\nbody\n"])
def test_item_without_a_front_matter_mapping_is_an_error(tmp_path, text):
    path = tmp_path / "2305.17333.md"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(WorkspaceError, match="front matter is missing or not a mapping"):
        load_item(path)


# -- issues ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a/b", "..", "../x", "", "issue..1", ".hidden", "a\\b", "issue 1", "x" * 65])
def test_invalid_issue_names_are_rejected(name):
    with pytest.raises(WorkspaceError, match="invalid issue name"):
        validate_issue_name(name)


@pytest.mark.parametrize("name", ["issue-3", "2026-11-23", "Issue_4.final", "x" * 64])
def test_valid_issue_names_are_accepted(name):
    assert validate_issue_name(name) == name


def test_issue_path_cannot_escape_the_workspace(tmp_path):
    workspace = new_workspace(tmp_path)

    with pytest.raises(WorkspaceError):
        workspace.create_issue("../outside")
    with pytest.raises(WorkspaceError, match="invalid item name"):
        workspace.item_path("issue-1", "../../digest")

    assert not (tmp_path / "outside").exists()


def test_create_makes_config_issues_folder_and_gitignore(tmp_path):
    workspace = new_workspace(tmp_path, title='The "Weekly" Papers')

    assert (workspace.root / "issues").is_dir()
    assert ".digest/" in (workspace.root / ".gitignore").read_text()
    settings = load_settings(workspace.root, environ={})
    assert settings.title == 'The "Weekly" Papers'
    assert settings.current_issue == "issue-1"
    with pytest.raises(WorkspaceError, match="already exists"):
        Workspace.create(workspace.root, "Again")


def test_created_issue_loads_back_with_title_and_date(tmp_path):
    workspace = new_workspace(tmp_path)

    created = workspace.create_issue("issue-3", today=date(2026, 11, 23), description="Forward passes only.")
    loaded = workspace.load_issue("issue-3")

    assert (workspace.root / "issues" / "issue-3" / ISSUE_FILE).is_file()
    assert loaded == created
    assert (loaded.title, loaded.date, loaded.description) == ("Issue #3", "2026-11-23", "Forward passes only.")
    assert loaded.intro == ""  # the placeholder comment is not an intro
    with pytest.raises(WorkspaceError, match="issue issue-3 already exists"):
        workspace.create_issue("issue-3")


def test_issue_intro_and_tags_edited_by_hand_are_loaded(tmp_path):
    workspace = new_workspace(tmp_path)
    workspace.create_issue("issue-1", today=date(2026, 11, 23))
    path = workspace.root / "issues" / "issue-1" / ISSUE_FILE
    path.write_text("---\ntitle: 'Issue #1: Forward passes'\ndate: 2026-11-23\ntags: [optimization, llm]\n---\n\n"
                    "This week: memory-light fine-tuning.\n", encoding="utf-8")

    info = workspace.load_issue("issue-1")

    assert info.title == "Issue #1: Forward passes"
    assert info.date == "2026-11-23"  # an unquoted YAML date still reads as YYYY-MM-DD
    assert info.tags == ["optimization", "llm"]
    assert info.intro == "This week: memory-light fine-tuning."


def test_loading_a_missing_issue_lists_the_known_ones(tmp_path):
    workspace = new_workspace(tmp_path)
    workspace.create_issue("issue-1")
    workspace.create_issue("issue-2")

    with pytest.raises(WorkspaceError, match=r"no issue named 'issue-9' .*\(issues: issue-1, issue-2\)"):
        workspace.load_issue("issue-9")


def test_issues_are_listed_in_natural_order(tmp_path):
    workspace = new_workspace(tmp_path)
    for name in ("issue-10", "issue-2", "issue-1", "issue-9"):
        workspace.create_issue(name)
    (workspace.root / "issues" / "not-an-issue").mkdir()  # no _issue.md: not listed

    assert workspace.list_issues() == ["issue-1", "issue-2", "issue-9", "issue-10"]


def test_setting_the_current_issue_keeps_comments_in_digest_toml(tmp_path):
    workspace = new_workspace(tmp_path)
    config = workspace.root / CONFIG_NAME
    before = config.read_text(encoding="utf-8")

    workspace.set_current_issue("issue-2")

    after = config.read_text(encoding="utf-8")
    assert load_settings(workspace.root, environ={}).current_issue == "issue-2"
    assert 'current = "issue-2"' in after
    assert "# where `digest add` puts items unless --issue is given" in after
    assert "# digest workspace settings. Environment variables override these:" in after
    assert after == before.replace('current = "issue-1"', 'current = "issue-2"')


def test_setting_an_invalid_current_issue_leaves_digest_toml_alone(tmp_path):
    workspace = new_workspace(tmp_path)
    config = workspace.root / CONFIG_NAME
    before = config.read_bytes()

    with pytest.raises(WorkspaceError):
        workspace.set_current_issue("../elsewhere")

    assert config.read_bytes() == before


# -- settings ------------------------------------------------------------------------


def write_config(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_NAME).write_text(text, encoding="utf-8")
    return folder


def test_environment_overrides_digest_toml_which_overrides_defaults(tmp_path):
    root = write_config(tmp_path / "ws", '[llm]\nmodel = "toml-model"\ninput_budget = 6000\n'
                                         '[newsletter]\ntitle = "From TOML"\n')

    from_toml = load_settings(root, environ={})
    from_env = load_settings(root, environ={"DIGEST_MODEL": "env-model", "OPENAI_API_KEY": "sk-env"})

    assert (from_toml.model, from_toml.input_budget, from_toml.title) == ("toml-model", 6000, "From TOML")
    assert from_toml.layout == "post" and from_toml.api_key is None  # defaults where neither says anything
    assert (from_env.model, from_env.input_budget, from_env.title) == ("env-model", 6000, "From TOML")
    assert from_env.api_key == "sk-env" and from_env.use_llm
    assert from_env.with_flags(model="flag-model", input_budget=None).model == "flag-model"


def test_api_key_is_not_in_the_settings_repr(tmp_path):
    settings = load_settings(None, environ={"OPENAI_API_KEY": "sk-secret-value"})

    assert "sk-secret-value" not in repr(settings)


def test_malformed_toml_names_the_file_and_line(tmp_path):
    root = write_config(tmp_path / "ws", '[llm]\nmodel = "gpt-4o-mini"\ninput_budget = = 8000\n')

    with pytest.raises(ConfigError, match=r"digest\.toml: not valid TOML: .*line 3"):
        load_settings(root, environ={})


@pytest.mark.parametrize("text, message", [
    ('[llm]\nmodle = "gpt-4o"\n', "unknown setting 'llm.modle'"),
    ('[newsletter]\ntitle = 3\n', "'newsletter.title' must be a str, got 3"),
    ('[llm]\ninput_budget = "8000"\n', "'llm.input_budget' must be a int, got '8000'"),
    ('[llm]\nretries = true\n', "'llm.retries' must be a int, got True"),
    ('[arxiv]\napi_interval = "fast"\n', "'arxiv.api_interval' must be a number"),
    ('[newsletter]\ntags = ["ml", 3]\n', "'newsletter.tags' must be a list of strings"),
    ('title = "top level"\n', "'title' must be a table"),
])
def test_unknown_keys_and_wrong_types_in_digest_toml_are_config_errors(tmp_path, text, message):
    root = write_config(tmp_path / "ws", text)

    with pytest.raises(ConfigError) as raised:
        load_settings(root, environ={})

    assert message in str(raised.value)
    assert str(root / CONFIG_NAME) in str(raised.value)


@pytest.mark.parametrize("environ, message", [
    ({"DIGEST_INPUT_BUDGET": "lots"}, "DIGEST_INPUT_BUDGET must be a number"),
    ({"DIGEST_RESPONSE_FORMAT": "xml"}, "response_format must be auto, json_schema, json_object or text"),
    ({"DIGEST_TOKENIZER": "exact"}, "tokenizer must be 'auto' or 'estimate'"),
    ({"DIGEST_INPUT_BUDGET": "100"}, "too small"),
])
def test_bad_environment_values_are_config_errors(environ, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(None, environ=environ)


@pytest.mark.parametrize("api_url", [
    "https://export.arxiv.org/api/query",
    "http://arxiv.org/api/query",
    "https://EXPORT.ARXIV.ORG/api/query",
])
def test_arxiv_hosts_keep_the_three_second_interval(tmp_path, api_url):
    root = write_config(tmp_path / "ws", f'[arxiv]\napi_url = "{api_url}"\napi_interval = 0.5\npdf_interval = 0\n')

    settings = load_settings(root, environ={})
    from_env = load_settings(None, environ={"DIGEST_ARXIV_API_URL": api_url, "DIGEST_ARXIV_API_INTERVAL": "0"})

    assert settings.arxiv_api_interval == ARXIV_API_MIN_INTERVAL == 3.0
    assert from_env.arxiv_api_interval == 3.0
    assert settings.pdf_interval == 1.0  # the default PDF host is arxiv.org too


@pytest.mark.parametrize("api_url", ["http://127.0.0.1:8080/api/query", "https://notarxiv.org/api/query",
                                     "https://arxiv.org.example.com/api/query"])
def test_other_hosts_may_use_a_shorter_interval(api_url):
    settings = load_settings(None, environ={"DIGEST_ARXIV_API_URL": api_url, "DIGEST_ARXIV_API_INTERVAL": "0.25"})

    assert settings.arxiv_api_interval == 0.25


def test_find_workspace_walks_up_from_a_subfolder(tmp_path):
    root = write_config(tmp_path / "ws", "")
    deep = root / "issues" / "issue-1" / "drafts"
    deep.mkdir(parents=True)

    assert find_workspace(deep) == root.resolve()
    assert find_workspace(root) == root.resolve()
    assert find_workspace(tmp_path) is None


def test_cache_dir_in_digest_toml_is_relative_to_the_workspace(tmp_path):
    root = write_config(tmp_path / "ws", '[cache]\ndir = "cache-here"\n')

    assert load_settings(root, environ={}).cache_dir == (root / "cache-here").resolve()
    assert load_settings(root, environ={"DIGEST_CACHE_DIR": str(tmp_path / "c")}).cache_dir == tmp_path / "c"


def test_digest_toml_written_by_init_is_valid_and_complete(tmp_path):
    workspace = new_workspace(tmp_path, title="Papers \\ of the Week")

    document = tomlkit.parse((workspace.root / CONFIG_NAME).read_text(encoding="utf-8"))
    settings = load_settings(workspace.root, environ={})

    assert document["newsletter"]["title"] == "Papers \\ of the Week"
    assert settings.sections == ("Research", "More Reads", "Open Source", "Pointers")
    assert settings.model == "gpt-4o-mini" and settings.response_format == "auto"
