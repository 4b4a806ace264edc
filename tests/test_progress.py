"""Progress reporting: the live table on a terminal (with the dollars spent), plain lines elsewhere."""

from __future__ import annotations

import io
import re

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


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_line_reporter_says_a_slow_summary_is_still_running(capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock()
    reporter = LineReporter(heartbeat=30, clock=clock)
    reporter.stage("2305.17333", "summary", "4000 tokens → qwen")
    reporter.stage("2304.08485", "summary", "3000 tokens → qwen")
    clock.now += 20
    reporter.beat()  # nothing yet: under 30 s
    reporter.stage("2304.08485", "saved", "issues/issue-1/2304.08485.md")
    clock.now += 15
    reporter.beat()
    clock.now += 90
    reporter.beat()
    reporter.fail("2305.17333v3: LLM server timed out after retries")
    clock.now += 30
    reporter.beat()  # a failed paper is not running any more
    reporter.close()
    lines = capsys.readouterr().err.splitlines()
    assert [line for line in lines if "still" in line] == [
        "2305.17333: still summarizing, 35 s so far",
        "2305.17333: still summarizing, 2 min 05 s so far",
    ]


def test_rich_reporter_counts_the_time_a_summary_has_been_running() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    clock = FakeClock()
    reporter = RichReporter("qwen", console=console, clock=clock)
    reporter.stage("2305.17333", "summary", "4000 tokens → qwen")
    clock.now += 75
    reporter.stage("2304.08485", "pdf")  # any redraw shows the time so far
    assert "summary 1 min 15 s" in out.getvalue()
    reporter.stage("2305.17333", "saved", "issues/issue-1/2305.17333.md")
    reporter.close()
    last_row = re.findall(r"2305\.17333 +(\w+[^\n]*)", out.getvalue())[-1]
    assert last_row.startswith("saved") and "min" not in last_row


def test_a_paper_queued_for_the_batch_api_is_not_still_summarizing(capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock()
    reporter = LineReporter(heartbeat=30, clock=clock)
    reporter.stage("2305.17333", "queued", "4000 tokens for the batch")
    clock.now += 600
    reporter.beat()
    reporter.close()
    assert capsys.readouterr().err.splitlines() == ["2305.17333: queued (4000 tokens for the batch)"]
