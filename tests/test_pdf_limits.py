"""A PDF that would take minutes or gigabytes to read: that paper is summarized from its abstract, the batch goes on.

The real `digest add` runs in a subprocess against the local arXiv (tests/fakes.py), with small
per-paper limits set through the environment, on the hostile PDFs of tests/bombs.py. A subprocess,
so that a regression (a PDF read without bounds) fails on the run's timeout instead of hanging.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bombs import inflating_pdf, slow_pdf
from digestcli.config import load_settings
from digestcli.errors import ConfigError, PdfError
from digestcli.pdftext import Extractor, extract_pdf
from digestcli.items import load_item
from papers import LLAVA, MEZO, mezo_pdf
from test_cli import item_file

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no memory cap on Windows")


def add(workspace: Path, *ids: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digestcli.cli", "add", *ids], cwd=workspace, capture_output=True,
                          text=True, timeout=60)


def text_source(workspace: Path, arxiv_id: str) -> str:
    return load_item(item_file(workspace, "issue-1", arxiv_id)).meta["provenance"]["text_source"]


def warnings(run: subprocess.CompletedProcess) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith("digest: warning:")]


def test_a_pdf_that_reads_past_the_deadline_is_summarized_from_its_abstract(workspace: Path, fake_arxiv,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_EXTRACT_TIMEOUT", "2")  # one worker (conftest): LLaVA gets a fresh one after MeZO's
    fake_arxiv.add(MEZO, slow_pdf())  # over a minute of reading
    run = add(workspace, MEZO.id, LLAVA.id)
    assert run.returncode == 0, run.stderr
    assert warnings(run) == [f"digest: warning: {MEZO.id}: the PDF took more than 2 s to read; "
                             "summarizing from the abstract only"]
    assert "Traceback" not in run.stderr
    assert text_source(workspace, MEZO.id) == "abstract"
    assert text_source(workspace, LLAVA.id) == "pdf"


@pytest.mark.parametrize("engine, memory_mb, reason", [
    ("pdfium", 200, "the PDF needed more than 200 MB of memory to read"),  # pdfium has no caps: the worker's runs out
    ("pypdf", 1024, "PDF is past pypdf's safety limits"),  # pypdf stops inflating a stream at 75 MB
], ids=["pdfium", "pypdf"])
def test_a_decompression_bomb_is_summarized_from_its_abstract(workspace: Path, fake_arxiv,
                                                              monkeypatch: pytest.MonkeyPatch, engine: str,
                                                              memory_mb: int, reason: str) -> None:
    monkeypatch.setenv("DIGEST_EXTRACT_MEMORY_MB", str(memory_mb))
    monkeypatch.setenv("DIGEST_PDF_ENGINE", engine)
    fake_arxiv.add(MEZO, inflating_pdf())  # 150 KB that inflate to 450 MB
    run = add(workspace, MEZO.id, LLAVA.id)
    assert run.returncode == 0, run.stderr
    assert len(warnings(run)) == 1 and warnings(run)[0].startswith(f"digest: warning: {MEZO.id}: {reason}"), run.stderr
    assert warnings(run)[0].endswith("; summarizing from the abstract only")
    assert text_source(workspace, MEZO.id) == "abstract"
    assert text_source(workspace, LLAVA.id) == "pdf"


def test_a_runaway_paper_stops_only_its_own_worker() -> None:
    extractor = Extractor(2, timeout=1.5, memory_mb=200)
    paper = mezo_pdf()
    results: dict[str, object] = {}

    def read(name: str, pdf: bytes) -> None:
        try:
            results[name] = extractor.extract(pdf)
        except PdfError as error:
            results[name] = str(error)

    try:
        threads = [threading.Thread(target=read, args=(name, pdf)) for name, pdf in
                   (("bomb", inflating_pdf()), ("slow", slow_pdf()), ("paper", paper))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert results["bomb"] == "the PDF needed more than 200 MB of memory to read"
        assert results["slow"] == "the PDF took more than 1.5 s to read"
        assert results["paper"] == extract_pdf(paper)
        assert extractor.extract(paper) == results["paper"]  # fresh workers replace the ones stopped
    finally:
        extractor.close()


def _my_workers() -> list[int]:
    """The PDF worker processes this test process started."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid() and b"digestcli.pdfworkers" in command:
            found.append(int(entry.name))
    return found


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the worker in /proc")
def test_a_worker_that_dies_mid_paper_fails_that_paper_alone() -> None:
    extractor = Extractor(1, timeout=60)
    paper = mezo_pdf()
    outcome: list[str] = []

    def read() -> None:
        try:
            extractor.extract(slow_pdf())
        except PdfError as error:
            outcome.append(str(error))

    try:
        assert extractor.extract(paper) == extract_pdf(paper)  # the worker is up, and idle
        [worker] = _my_workers()
        idle = _cpu_ticks(worker)
        reading = threading.Thread(target=read)
        reading.start()
        deadline = time.monotonic() + 20
        while _cpu_ticks(worker) < idle + 3 and time.monotonic() < deadline:
            time.sleep(0.02)  # until the worker is busy with the slow PDF
        os.kill(worker, signal.SIGKILL)  # as the out-of-memory killer would
        reading.join(20)
        assert outcome == ["the PDF engine crashed reading this PDF"]
        assert extractor.extract(paper) == extract_pdf(paper)
    finally:
        extractor.close()
    assert not _my_workers()  # closing reaps every worker


def test_limits_are_settings_and_zero_turns_them_off(tmp_path: Path) -> None:
    defaults = load_settings(None, {})
    assert (defaults.extract_timeout, defaults.extract_memory_mb) == (120.0, 2048)
    given = load_settings(None, {"DIGEST_EXTRACT_TIMEOUT": "7.5", "DIGEST_EXTRACT_MEMORY_MB": "512"})
    assert (given.extract_timeout, given.extract_memory_mb) == (7.5, 512)
    (tmp_path / "digest.toml").write_text("[pdf]\ntimeout = 30\nmax_memory_mb = 1024\n", encoding="utf-8")
    configured = load_settings(tmp_path, {})
    assert (configured.extract_timeout, configured.extract_memory_mb) == (30, 1024)
    assert Extractor(1, timeout=0, memory_mb=0).processes == 0  # no limit asked for: read in-process
    assert Extractor(1, timeout=30, memory_mb=0).processes == 1


@pytest.mark.parametrize("environ", [{"DIGEST_EXTRACT_TIMEOUT": "-1"}, {"DIGEST_EXTRACT_TIMEOUT": "nan"},
                                     {"DIGEST_EXTRACT_TIMEOUT": "inf"}, {"DIGEST_EXTRACT_MEMORY_MB": "64"},
                                     {"DIGEST_EXTRACT_MEMORY_MB": "-5"}])
def test_a_limit_that_cannot_work_is_a_config_error(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="DIGEST_EXTRACT_(TIMEOUT|MEMORY_MB)|PDF memory cap"):
        load_settings(None, environ)
