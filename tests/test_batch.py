"""Batch add: ids from files and stdin, the pipeline's concurrency, the extraction pool, --dry-run.

Concurrency is checked by counting and ordering events on the fake servers,
never by timing.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import GOOD_SUMMARY
from digestcli.cli import app
from digestcli.errors import PdfError
from digestcli.ids import read_id_lines
from digestcli.pdftext import Extractor, extract_pdf
from fakes import Reply, chat_completion
from papers import MEZO, mezo_pdf, numbered_papers
from test_cli import error_lines, item_file

BATCH = numbered_papers(6)


def digest(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, list(args), input=stdin, prog_name="digest")


@pytest.fixture
def batch_arxiv(fake_arxiv):
    for paper, pdf in BATCH:
        fake_arxiv.add(paper, pdf)
    return fake_arxiv


class InFlight:
    """An LLM responder that counts requests in flight at once and records their order."""

    def __init__(self, delay: float = 0.3, delays: dict[str, float] | None = None) -> None:
        self.delay = delay
        self.delays = delays or {}
        self.now = 0
        self.peak = 0
        self.lock = threading.Lock()
        self.order: list[str] = []
        self.spans: list[tuple[float, float]] = []  # (arrival, answer) of each request, monotonic clock

    def __call__(self, request: dict) -> Reply:
        text = json.dumps(request)
        paper = next((p.id for p, _ in BATCH if p.title in text), "other")
        arrived = time.monotonic()
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.order.append(paper)
        try:
            threading.Event().wait(self.delays.get(paper, self.delay))
            return chat_completion(json.dumps(GOOD_SUMMARY))
        finally:
            with self.lock:
                self.now -= 1
                self.spans.append((arrived, time.monotonic()))


def test_read_id_lines_skips_blanks_and_comments() -> None:
    text = "# papers for issue 3\n2305.17333\n\n  https://arxiv.org/abs/2304.08485  # LLaVA\n#2301.00001\n"
    assert read_id_lines(text) == ["2305.17333", "https://arxiv.org/abs/2304.08485"]


def test_add_reads_ids_from_a_file_and_from_stdin(workspace: Path, batch_arxiv) -> None:
    ids = workspace / "ids.txt"
    ids.write_text(f"# this week\n{BATCH[0][0].id}\n\n{BATCH[1][0].id}  # second\n", encoding="utf-8")
    result = digest("add", "--from", str(ids))
    assert result.exit_code == 0, result.stderr
    piped = digest("add", "-", BATCH[2][0].id, stdin=f"{BATCH[3][0].id}\n# skip me\n")
    assert piped.exit_code == 0, piped.stderr
    for paper, _ in BATCH[:4]:
        assert item_file(workspace, "issue-1", paper.id).is_file()
    assert not item_file(workspace, "issue-1", BATCH[4][0].id).exists()


def test_add_with_no_ids_at_all_is_a_usage_error(workspace: Path) -> None:
    result = digest("add", "-", stdin="# nothing here\n")
    assert result.exit_code == 2
    assert "at least one arXiv id" in result.stderr


def test_missing_id_file_is_one_line(workspace: Path) -> None:
    result = digest("add", "--from", "no-such-file.txt")
    assert result.exit_code == 1
    assert len(error_lines(result)) == 1 and "no-such-file.txt" in error_lines(result)[0]


@pytest.mark.parametrize("jobs", [1, 3])
def test_llm_requests_in_flight_never_exceed_jobs_and_reach_it(workspace: Path, batch_arxiv, fake_openai,
                                                              jobs: int) -> None:
    counter = InFlight()
    fake_openai.responder = counter
    result = digest("add", *[p.id for p, _ in BATCH], "--jobs", str(jobs))
    assert result.exit_code == 0, result.stderr
    assert len(counter.order) == len(BATCH)
    assert counter.peak == jobs


def test_pdf_downloads_go_on_while_summaries_are_being_written(workspace: Path, batch_arxiv, fake_openai,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Pipelined, not one paper after another: some PDF request arrives while an LLM request is open."""
    monkeypatch.setenv("DIGEST_PDF_INTERVAL", "0.2")  # the polite PDF schedule spreads the downloads out
    counter = InFlight(delay=0.5)
    fake_openai.responder = counter
    result = digest("add", *[p.id for p, _ in BATCH])
    assert result.exit_code == 0, result.stderr
    pdf_times = [r["time"] for r in batch_arxiv.requests if r["path"].startswith("/pdf/")]
    assert len(pdf_times) == len(BATCH)
    overlapping = [t for t in pdf_times if any(start < t < end for start, end in counter.spans)]
    assert len(overlapping) >= 2


def test_newsletter_keeps_the_command_order_when_summaries_finish_out_of_order(workspace: Path, batch_arxiv,
                                                                              fake_openai) -> None:
    first, second, third = (p.id for p, _ in BATCH[:3])
    fake_openai.responder = InFlight(delays={first: 0.6, second: 0.3, third: 0.0})
    assert digest("add", first, second, third, "--jobs", "3").exit_code == 0
    built = digest("build").stdout
    positions = [built.index(f"Batch Paper Number {n}") for n in (1, 2, 3)]
    assert positions == sorted(positions)


def test_dry_run_prints_tokens_per_paper_and_total_calls_no_llm_writes_nothing(workspace: Path, batch_arxiv,
                                                                               fake_openai) -> None:
    ids = [p.id for p, _ in BATCH[:3]]
    result = digest("add", *ids, "--dry-run", "--issue", "issue-9")
    assert result.exit_code == 0, result.stderr
    assert fake_openai.chat_requests() == []
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [row[0] for row in rows] == [f"{i}v1" for i in ids] + ["total"]
    tokens = [int(row[1]) for row in rows[:-1]]
    assert all(0 < t <= 8000 for t in tokens)
    assert int(rows[-1][1]) == sum(tokens)
    assert not (workspace / "issues" / "issue-9").exists()
    assert "nothing was written" in result.stderr


def test_dry_run_counts_cached_papers_as_free(workspace: Path, batch_arxiv, fake_openai) -> None:
    paper = BATCH[0][0].id
    assert digest("add", paper, "--issue", "issue-2").exit_code == 0
    result = digest("add", paper, BATCH[1][0].id, "--dry-run")
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert rows[0][2:4] == ["$0.0000", "cached"]  # id, input tokens, dollars, why, title
    assert int(rows[-1][1]) == int(rows[1][1])


def test_extraction_pool_gives_what_one_process_gives() -> None:
    pool = Extractor(2)
    pdf = mezo_pdf()
    try:
        assert pool.extract(pdf) == extract_pdf(pdf)
        with pytest.raises(PdfError, match="corrupt or truncated"):
            pool.extract(pdf[:3000])
    finally:
        pool.close()


def test_batch_through_the_process_pool_lands_every_paper(workspace: Path, batch_arxiv,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_EXTRACT_PROCESSES", "2")
    result = digest("add", *[p.id for p, _ in BATCH], MEZO.id)
    assert result.exit_code == 0, result.stderr
    for paper, _ in BATCH:
        assert item_file(workspace, "issue-1", paper.id).is_file()
