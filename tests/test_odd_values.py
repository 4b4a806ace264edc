"""Odd but valid values in digest.toml and in item front matter, as the reading commands meet them.

A value of the wrong type is either made safe (a scalar where text or a list is expected) or stops
build, export and check with one line naming the file and the field; `list` shows the item flagged
instead, because list is how a person finds what is broken. Numbers in digest.toml must be finite
and in range. Nothing here may end in `internal error` or a crash.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from papers import LLAVA, MEZO
from test_cli import digest, error_lines, item_file

STYLES = ["newsletter", "digest", "highlights", "bookmarks"]
READERS = [*(["build", "--style", style] for style in STYLES),
           *(["export", "--format", fmt] for fmt in ("json", "csv", "bibtex")), ["check"]]


@pytest.fixture
def filled(workspace: Path, fake_arxiv) -> Path:
    """MeZO and LLaVA in issue-1, summarized offline (their claims check out against the papers)."""
    assert digest("add", MEZO.id, LLAVA.id).exit_code == 0
    return workspace


def set_front_matter(path: Path, line: str) -> None:
    """Replace the field that ``line`` sets (with its indented or listed continuation), or add it."""
    text = path.read_text(encoding="utf-8")
    name = line.split(":", 1)[0]
    head, separator, body = text[4:].partition("\n---\n")
    head = re.sub(rf"^{re.escape(name)}:.*(\n[ -].*)*\n?", "", head + "\n", count=1, flags=re.M).rstrip("\n")
    path.write_text(f"---\n{line}\n{head}{separator}{body}", encoding="utf-8")


def assert_clean(result) -> None:
    assert "Traceback" not in result.output
    assert "internal error" not in result.output


# -- item front matter ---------------------------------------------------------------------------------


@pytest.mark.parametrize("line, check", [
    ("authors: 5", lambda row: row["authors"] == ["5"]),
    ("authors: Ada Lovelace and Alan Turing", lambda row: row["authors"] == ["Ada Lovelace and Alan Turing"]),
    ("categories: 7", lambda row: row["categories"] == ["7"]),
    ("categories: cs.CL", lambda row: row["categories"] == ["cs.CL"]),
    ("accepted_claims: 5", lambda row: True),
    ("published: garbage", lambda row: row["published"] == "garbage"),
    ("published: 2023-05-26", lambda row: row["published"] == "2023-05-26"),
    ("title: 2023", lambda row: row["title"] == "2023"),
    ("doi: 10.5", lambda row: row["doi"] == "10.5"),
], ids=["authors-number", "authors-text", "categories-number", "categories-text", "accepted-claims-number",
        "published-garbage", "published-a-yaml-date", "title-a-number", "doi-a-number"])
def test_a_scalar_of_another_type_is_made_safe_and_every_reading_command_works(filled: Path, line: str,
                                                                             check) -> None:
    set_front_matter(item_file(filled, "issue-1", MEZO.id), line)
    for args in [*READERS, ["list", "issue-1"], ["list"]]:
        result = digest(*args)
        assert_clean(result)
        assert result.exit_code == 0, (args, result.stderr)
    rows = json.loads(digest("export").stdout)
    assert check(next(row for row in rows if row["paper_url"].endswith(MEZO.id)))


WRONG = [
    ("provenance: 5", "'provenance' must be a mapping, got 5"),
    ("title: [a, b]", "'title' must be text, got a list"),
    ("section: {name: Research}", "'section' must be text, got a mapping"),
    ("authors: [[Ada, Alan]]", "'authors' must be a list of texts, got a list inside the list"),
    ("order: soon", "'order' must be a whole number, got 'soon'"),
    ("starred: maybe", "'starred' must be true or false, got 'maybe'"),
    ("provenance: {evidence: {quote: x}}", "'provenance.evidence' must be a list of texts, got a mapping"),
    ("provenance: {grounding: 5}", "'provenance.grounding' must be a mapping, got 5"),
    ("deep: " + "[" * 100_000 + "]" * 100_000, "nested more than 32 levels deep"),
    ("a: &a [x, x, x]\nb: [" + ", ".join(["*a"] * 100) + "]", "more than 64 YAML aliases"),
]


@pytest.mark.parametrize("line, message", WRONG, ids=["provenance-number", "title-list", "section-mapping",
                                                      "authors-nested", "order-text", "starred-text",
                                                      "evidence-mapping", "grounding-number",
                                                      "nested-100000-deep", "100-aliases"])
def test_a_wrong_typed_field_stops_reading_commands_in_one_line_naming_file_and_field(
        filled: Path, line: str, message: str) -> None:
    path = item_file(filled, "issue-1", MEZO.id)
    set_front_matter(path, line)
    before = path.read_bytes()
    for args in READERS:
        result = digest(*args)
        assert_clean(result)
        assert result.exit_code == 1, (args, result.stdout[:200])
        assert result.stdout == ""
        errors = error_lines(result)
        assert len(errors) == 1, result.stderr
        assert errors[0].startswith(f"digest: error: {path}: ") and message in errors[0], errors[0]
    listed = digest("list", "issue-1")
    assert_clean(listed)
    assert listed.exit_code == 0, listed.stderr
    flagged = [row for row in listed.stdout.splitlines() if row.startswith(MEZO.id)]
    assert len(flagged) == 1 and "BROKEN: " in flagged[0] and message in flagged[0]
    assert any(row.startswith(LLAVA.id) and LLAVA.title in row for row in listed.stdout.splitlines())
    assert listed.stderr.count(f"digest: warning: {path}: ") == 1
    rows = json.loads(digest("list", "issue-1", "--json").stdout)
    assert [row["key"] for row in rows if "error" in row] == [MEZO.id]
    assert path.read_bytes() == before  # a broken file is never rewritten


def test_an_issue_file_of_the_wrong_shape_is_flagged_by_list_and_named_by_build(filled: Path) -> None:
    path = filled / "issues" / "issue-1" / "_issue.md"
    set_front_matter(path, "title: {a: 1}")
    built = digest("build")
    assert_clean(built)
    assert built.exit_code == 1
    assert error_lines(built) == [f"digest: error: {path}: front-matter field 'title' must be text, got a mapping; "
                                  "fix it by hand"]
    listed = digest("list")
    assert_clean(listed)
    assert listed.exit_code == 0
    assert listed.stdout.startswith("* issue-1") and "BROKEN: " in listed.stdout


# -- digest.toml and the environment -------------------------------------------------------------------


@pytest.mark.parametrize("setting, message", [
    ("[arxiv]\nmax_pdf_mb = inf", "'arxiv.max_pdf_mb' must be a finite number from 0.001 to 4096, got inf"),
    ("[arxiv]\nmax_pdf_mb = nan", "'arxiv.max_pdf_mb' must be a finite number from 0.001 to 4096, got nan"),
    ("[arxiv]\nmax_pdf_mb = 1e308", "'arxiv.max_pdf_mb' = 1e+308 is too large (maximum 4096)"),
    ("[arxiv]\nmax_pdf_mb = -1", "'arxiv.max_pdf_mb' = -1 is too small (minimum 0.001)"),
    ("[arxiv]\ntimeout = nan", "'arxiv.timeout' must be a finite number"),
    ("[arxiv]\napi_interval = -inf", "'arxiv.api_interval' must be a finite number"),
    ("[llm]\ntimeout = 0", "'llm.timeout' = 0 is too small (minimum 0.01)"),
    ("[llm]\ninput_budget = 1" + "0" * 40, "'llm.input_budget' = 1000000000000000000000000000000000000..."),
    ("[llm]\nretries = 100000", "'llm.retries' = 100000 is too large (maximum 100)"),
    ("[llm]\nprice_input = inf", "'llm.price_input' must be a finite number"),
    ("[newsletter]\ntags = " + "[" * 5_000 + "]" * 5_000, "not valid TOML: nested too deeply"),
    ("[newsletter]\ntitle = " + "{a = " * 3_000 + "1" + "}" * 3_000, "not valid TOML: nested too deeply"),
    ("[newsletter]\ntitle = " + "[" * 100 + "]" * 100, "'newsletter.title' must be a str, got a list"),
    ("[newsletter" + ".deeper" * 2_000 + "]\nx = 1", "unknown setting 'newsletter.deeper'"),
], ids=["max-pdf-inf", "max-pdf-nan", "max-pdf-1e308", "max-pdf-negative", "timeout-nan", "interval-minus-inf",
        "llm-timeout-0", "budget-huge-int", "retries-huge", "price-inf", "arrays-5000-deep",
        "inline-tables-3000-deep", "title-a-nested-list", "tables-2000-deep"])
def test_odd_numbers_and_deep_nesting_in_digest_toml_are_one_line_naming_the_setting(
        workspace: Path, setting: str, message: str) -> None:
    config = workspace / "digest.toml"
    text = config.read_text(encoding="utf-8")
    table, line = setting.split("\n", 1)
    # The default digest.toml has [newsletter], [issue], [llm] and [pdf]: the line replaces its namesake there.
    text = re.sub(rf"^{re.escape(line.split('=')[0].strip())} *=.*\n", "", text, flags=re.M)
    if table in text:
        text = text.replace(f"{table}\n", f"{setting}\n", 1)
    else:
        text += f"\n{setting}\n"
    config.write_text(text, encoding="utf-8")
    for args in (["build"], ["list"], ["add", MEZO.id, "--dry-run"]):
        result = digest(*args)
        assert_clean(result)
        assert result.exit_code == 1, (args, result.stderr)
        errors = error_lines(result)
        assert len(errors) == 1, result.stderr
        assert errors[0].startswith(f"digest: error: {config}: ") and message in errors[0], errors[0]
        assert len(errors[0]) < 300


@pytest.mark.parametrize("variable, value, message", [
    ("DIGEST_INPUT_BUDGET", "1e400", "DIGEST_INPUT_BUDGET must be a finite number from 500 to 2000000, got inf"),
    ("DIGEST_HTTP_TIMEOUT", "nan", "DIGEST_HTTP_TIMEOUT must be a finite number"),
    ("DIGEST_LLM_TIMEOUT", "inf", "DIGEST_LLM_TIMEOUT must be a finite number"),
    ("DIGEST_JOBS", "1e9", "DIGEST_JOBS = 1000000000.0 is too large (maximum 64)"),
    ("DIGEST_PDF_INTERVAL", "-1", "DIGEST_PDF_INTERVAL = -1.0 is too small (minimum 0)"),
])
def test_odd_numbers_in_the_environment_are_one_line_naming_the_variable(
        workspace: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str) -> None:
    monkeypatch.setenv(variable, value)
    result = digest("list")
    assert_clean(result)
    assert result.exit_code == 1
    assert len(error_lines(result)) == 1 and error_lines(result)[0].startswith(f"digest: error: {message}")
