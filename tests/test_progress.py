"""Progress reporting: the live table on a terminal (with the dollars spent), plain lines elsewhere."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from digestcli.progress import LineReporter, RichReporter, make_reporter


def test_rich_reporter_shows_each_paper_stage_and_the_totals() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    reporter = RichReporter("gpt-4o-mini", console=console)
    reporter.stage("2305.17333", "pdf")
    reporter.stage("2304.08485", "summary", "4000 tokens → gpt-4o-mini")
    reporter.stage("2305.17333", "saved", "issues/issue-1/2305.17333.md")
    reporter.spent("2305.17333", 1_000_000, 200_000, 0.27)
    reporter.fail("2304.08485: LLM server timed out after retries")
    reporter.close()
    text = out.getvalue()
    final = text[text.rindex("2305.17333"):]  # the last frame of the live table
    assert "saved" in text and "failed" in final
    assert "1/2 done" not in final and "2/2 done; 1000000 in / 200000 out tokens, ~$0.2700" in final
    assert "digest: error: 2304.08485: LLM server timed out after retries" in text


def test_rich_reporter_shows_an_unknown_cost_as_unknown_never_as_zero() -> None:
    out = io.StringIO()
    reporter = RichReporter("my-local-model", console=Console(file=out, force_terminal=True, width=120,
                                                              color_system=None))
    reporter.stage("2305.17333", "saved", "issues/issue-1/2305.17333.md")
    reporter.spent("2305.17333", 2000, 200, 0.001)
    reporter.spent("2304.08485", 2000, 200, None)  # no price for this model on this server
    reporter.close()
    final = out.getvalue()[out.getvalue().rindex("2305.17333"):]
    assert "4000 in / 400 out tokens, cost unknown" in final and "$" not in final


def test_line_reporter_prints_one_line_per_event(capsys: pytest.CaptureFixture[str]) -> None:
    reporter = LineReporter()
    reporter.stage("2305.17333", "pdf")  # quick steps are not printed
    reporter.stage("2305.17333", "summary", "4000 tokens → gpt-4o-mini")
    reporter.stage("2305.17333", "saved", "issues/issue-1/2305.17333.md (200 in / 20 out tokens)")
    reporter.notice("once")
    reporter.notice("once")
    assert capsys.readouterr().err.splitlines() == [
        "2305.17333: summary (4000 tokens → gpt-4o-mini)",
        "2305.17333: saved issues/issue-1/2305.17333.md (200 in / 20 out tokens)",
        "digest: once",
    ]


def test_plain_lines_when_stderr_is_not_a_terminal() -> None:
    assert isinstance(make_reporter("gpt-4o-mini"), LineReporter)
