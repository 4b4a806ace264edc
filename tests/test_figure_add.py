"""A real corpus paper, added through the real arXiv client against a local arXiv: its key figure is
found and rendered by the extraction worker, kept beside the item, and published by build --out."""

from __future__ import annotations

import json
from pathlib import Path

import corpus
import pytest
from fakes import FakeArxiv, FakePaper
from typer.testing import CliRunner

from digestcli.cli import app
from digestcli.items import load_item

STEM = "1706.03762v7"  # Attention Is All You Need: Figure 1, the Transformer, on page 3 (labelled)


SERVER: list = []  # the running local arXiv, for tests that count its requests


@pytest.fixture
def attention(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    if not corpus.available():
        pytest.skip(corpus.skip_reason())
    record = corpus.metadata()[STEM]
    server = FakeArxiv().start()
    server.add(FakePaper(record["id"], int(record.get("version") or 7), record["title"], record["abstract"],
                         record["authors"]), corpus.pdf_bytes(STEM))
    monkeypatch.setenv("DIGEST_ARXIV_API_URL", server.api_url)
    monkeypatch.setenv("DIGEST_ARXIV_PDF_URL", server.pdf_url)
    monkeypatch.setenv("DIGEST_EXTRACT_TIMEOUT", "120")  # the bounded worker process, as users run it
    monkeypatch.chdir(tmp_path)
    SERVER[:] = [server]
    yield record["id"]
    server.stop()


def digest(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("workers", ["worker process", "in process"])
def test_add_keeps_the_key_figure_and_build_out_publishes_it(attention: str, tmp_path: Path, workers: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    if workers == "in process":
        monkeypatch.setenv("DIGEST_EXTRACT_TIMEOUT", "0")
    assert digest("init", "ws").exit_code == 0
    monkeypatch.chdir(tmp_path / "ws")
    added = digest("add", attention)
    assert added.exit_code == 0, added.output
    item = load_item(tmp_path / "ws" / "issues" / "issue-1" / f"{attention}.md")
    figure = item.figure
    assert figure is not None and (figure.number, figure.page, figure.chosen) == (1, 3, "digest")
    assert figure.caption.startswith("Figure 1: The Transformer")
    image = tmp_path / "ws" / "issues" / "issue-1" / figure.file
    data = image.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" or data[8:12] == b"WEBP"
    assert 0 < len(data) <= 250_000

    posts = tmp_path / "blog" / "_posts"
    posts.mkdir(parents=True)
    built = digest("build", "--out", str(posts))
    assert built.exit_code == 0, built.output
    served = tmp_path / "blog" / "assets" / "digest" / "issue-1" / image.name
    assert served.read_bytes() == data
    post = next(posts.glob("*.md")).read_text(encoding="utf-8")
    assert f'<img src="/assets/digest/issue-1/{image.name}"' in post
    assert "<figcaption>Figure 1 from <em>Attention Is All You Need</em></figcaption>" in post


def test_the_writer_picks_another_figure_and_force_keeps_it(attention: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    assert digest("init", "ws").exit_code == 0
    monkeypatch.chdir(tmp_path / "ws")
    assert digest("add", attention).exit_code == 0
    api_before, pdfs_before = len(SERVER[0].api_requests()), len(SERVER[0].pdf_requests())
    picked = digest("figure", "issue-1", attention, "--number", "2")
    assert picked.exit_code == 0, picked.output
    # the PDF add cached is read again: no metadata request, no download
    assert (len(SERVER[0].api_requests()), len(SERVER[0].pdf_requests())) == (api_before, pdfs_before)
    path = tmp_path / "ws" / "issues" / "issue-1" / f"{attention}.md"
    assert (load_item(path).figure.number, load_item(path).figure.chosen) == (2, "writer")
    forced = digest("add", attention, "--force")
    assert forced.exit_code == 0, forced.output
    assert (load_item(path).figure.number, load_item(path).figure.chosen) == (2, "writer")
    missing = digest("figure", "issue-1", attention, "--number", "40")
    assert missing.exit_code == 1 and "no Figure 40" in missing.output and "Traceback" not in missing.output
    assert json.dumps(load_item(path).figure.to_meta())  # still the writer's Figure 2


def test_an_item_collected_from_the_batch_api_shows_the_key_figure(attention: str, tmp_path: Path, fake_openai,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert digest("init", "ws").exit_code == 0
    monkeypatch.chdir(tmp_path / "ws")
    queued = digest("add", attention, "--batch")
    assert queued.exit_code == 0, queued.output
    figures = tmp_path / "ws" / "issues" / "issue-1" / "figures"
    assert not figures.exists() or not any(figures.iterdir())  # nothing is published before the answer
    fake_openai.batch_polls_to_finish = 0
    pdf_requests = len(SERVER[0].pdf_requests())
    collected = digest("batch", "collect")
    assert collected.exit_code == 0, collected.output
    assert len(SERVER[0].pdf_requests()) == pdf_requests  # rendered from the PDF the add kept
    item = load_item(tmp_path / "ws" / "issues" / "issue-1" / f"{attention}.md")
    assert item.figure is not None and (item.figure.number, item.figure.page) == (1, 3)
    assert (tmp_path / "ws" / "issues" / "issue-1" / item.figure.file).read_bytes()[:4] == b"\x89PNG"
