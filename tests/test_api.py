"""The Python API the README documents (`from digestcli import ...`), called directly: the same
commands the CLI stands on, with results instead of printed lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from papers import MEZO

import digestcli
from digestcli import (AddReport, DigestError, ItemOptions, Session, Status, add, build, check, export, feed,
                       list_issues, list_items, move, new, remove, show, star)
from digestcli.errors import UsageError
from digestcli.progress import QuietReporter


def test_the_package_lists_only_names_it_can_give() -> None:
    for name in digestcli.__all__:
        assert getattr(digestcli, name) is not None
    with pytest.raises(AttributeError):
        digestcli.no_such_name  # noqa: B018


def test_add_then_build_offline_returns_the_outcomes_and_the_post(workspace: Path, fake_arxiv) -> None:
    with Session.open(workspace, offline=True) as session:
        report = add(session, [MEZO.id, "not-an-id"], "issue-1", options=ItemOptions(section="Efficient Training"))
        post = build(session, "issue-1")
    assert isinstance(report, AddReport)
    assert sorted(o.status for o in report.outcomes) == [Status.ADDED, Status.FAILED]
    assert report.count(Status.ADDED) == 1 and "1 added, 0 skipped, 1 failed in issue-1" == report.summary()
    assert post.filename.endswith(".md") and post.text.startswith("---\n")
    assert "## Efficient Training" in post.text and MEZO.title in post.text


def test_a_second_add_skips_and_the_item_is_listed_shown_starred_and_moved(workspace: Path, fake_arxiv) -> None:
    with Session.open(workspace, offline=True) as session:
        add(session, [MEZO.id], "issue-1")
        again = add(session, [MEZO.id], "issue-1")
        assert [o.status for o in again.outcomes] == [Status.SKIPPED]
        rows = list_items(session, "issue-1")
        assert [(r.key, r.backend) for r in rows] == [(MEZO.id, "offline")]
        assert MEZO.title in show(session, "issue-1", MEZO.id)
        star(session, "issue-1", MEZO.id)
        assert "starred: true" in show(session, "issue-1", MEZO.id)
        name = new(session)
        assert name == "issue-2" and [i.current for i in list_issues(session)] == [False, True]
        moved = move(session, "issue-1", MEZO.id, to=name, section="Highlights")
        assert moved.parent.name == "issue-2" and list_items(session, "issue-1") == []
        remove(session, "issue-2", MEZO.id)
        assert list_items(session, "issue-2") == []


def test_export_and_check_return_data(workspace: Path, fake_arxiv, fake_openai) -> None:
    with Session.open(workspace) as session:
        add(session, [MEZO.id], "issue-1")  # the fake server answers MeZO's true summary
        records = json.loads(export(session, "issue-1", "json"))
        result = check(session, "issue-1")
    assert [r["title"] for r in records] == [MEZO.title] and records[0]["id"].startswith(MEZO.id)
    assert records[0]["code_url"] == "https://github.com/princeton-nlp/MeZO"
    assert [c.key for c in result.checked] == [MEZO.id] and result.failing == 0 and result.unchecked == []
    assert result.checked[0].verdict.findings  # its numbers were looked up, not skipped


def test_values_a_command_cannot_take_are_usage_errors(workspace: Path) -> None:
    from datetime import datetime, timezone

    with Session.open(workspace, offline=True) as session:
        with pytest.raises(UsageError, match="not both"):
            add(session, [MEZO.id], "issue-1", force=True, refresh=True)
        with pytest.raises(UsageError, match="is not an arXiv category"):
            feed(session, ["not a category"], datetime.now(timezone.utc))
        with pytest.raises(UsageError, match="choose one of json, bibtex, csv"):
            export(session, "issue-1", "yaml")
        with pytest.raises(DigestError, match="invalid issue name"):
            add(session, [MEZO.id], "../escape")


def test_a_session_without_a_workspace_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(DigestError, match="run `digest init`"):
        Session.open(tmp_path)


def test_a_session_closes_its_clients_and_its_reporter(workspace: Path) -> None:
    closed = []

    class Reporter(QuietReporter):
        def close(self) -> None:
            closed.append("reporter")

    session = Session.open(workspace, reporter=Reporter())
    http = session.http
    session.close()
    assert http.is_closed and closed == ["reporter"]


def test_a_closed_session_makes_no_new_client(workspace: Path) -> None:
    """A worker still running after a second Ctrl-C must not start PDF workers or connections nobody closes."""
    from digestcli.errors import Interrupted

    session = Session.open(workspace)
    session.http  # noqa: B018
    session.close()
    for name in ("http", "arxiv", "extractor", "summarizer"):
        with pytest.raises(Interrupted, match="session is closed"):
            getattr(session, name)


def test_usage_errors_come_before_any_workspace_is_looked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from digestcli.cli import app

    monkeypatch.chdir(tmp_path)  # no workspace here: a usage error must still be the answer
    for args in (["export", "--format", "xml"], ["feed", "bad%cat", "--add"], ["feed", "cs.CL", "--match", "("]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2 and "Invalid value" in result.output, (args, result.output)
    assert list(tmp_path.iterdir()) == []  # feed --add made no workspace
