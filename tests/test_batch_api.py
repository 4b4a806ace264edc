"""`digest add --batch` and `digest batch status|collect` against a fake of the files and batches
endpoints, driven by the real openai SDK."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import GOOD_SUMMARY
from fakes import chat_completion
from papers import LLAVA, MEZO
from test_cli import digest, item_file, item_meta


def test_add_batch_uploads_one_request_per_paper_and_writes_no_item_yet(workspace: Path, fake_arxiv,
                                                                       fake_openai) -> None:
    result = digest("add", MEZO.id, LLAVA.id, "--batch")
    assert result.exit_code == 0, result.stderr
    batch_id = result.stdout.strip()
    assert batch_id == "batch_1"
    lines = fake_openai.batch_lines()
    assert sorted(line["custom_id"] for line in lines) == [f"{LLAVA.id}v2", f"{MEZO.id}v3"]
    assert all(line["url"] == "/v1/chat/completions" and line["body"]["temperature"] == 0 for line in lines)
    assert fake_openai.chat_requests() == []
    assert not item_file(workspace, "issue-1", MEZO.id).exists()
    assert (workspace / ".digest" / "batches" / f"{batch_id}.json").is_file()
    assert "2 queued in the batch" in result.stderr


def test_collect_waits_for_the_batch_then_adds_items_and_collecting_again_is_harmless(
        workspace: Path, fake_arxiv, fake_openai) -> None:
    assert digest("add", MEZO.id, LLAVA.id, "--batch").exit_code == 0
    early = digest("batch", "collect")
    assert early.exit_code == 0
    assert "in_progress" in early.stderr and "collect it later" in early.stderr
    assert not item_file(workspace, "issue-1", MEZO.id).exists()
    status = digest("batch", "status")
    assert status.stdout.startswith("batch_1\tcompleted (2/2 done, 0 failed)\tissue-1\t2 papers")
    api_requests_before = len(fake_arxiv.api_requests())
    done = digest("batch", "collect")
    assert done.exit_code == 0, done.stderr
    for paper in (MEZO, LLAVA):
        meta = item_meta(workspace, "issue-1", paper.id)
        assert meta["provenance"]["batch"] == "batch_1" and meta["arxiv_id"] == f"{paper.id}v{paper.version}"
        assert GOOD_SUMMARY["tldr"] in item_file(workspace, "issue-1", paper.id).read_text(encoding="utf-8")
    assert len(fake_arxiv.api_requests()) == api_requests_before  # collecting needs no arXiv request
    before = item_file(workspace, "issue-1", MEZO.id).read_bytes()
    again = digest("batch", "collect", "batch_1")
    assert again.exit_code == 0
    assert "0 added" in again.stderr and "2 skipped" in again.stderr
    assert item_file(workspace, "issue-1", MEZO.id).read_bytes() == before
    assert fake_openai.chat_requests() == []
    built = digest("build")
    assert built.stdout.index(MEZO.title) < built.stdout.index(LLAVA.title)  # the command's order


def test_a_paper_whose_answer_is_cached_is_added_at_once_not_batched(workspace: Path, fake_arxiv,
                                                                    fake_openai) -> None:
    assert digest("add", MEZO.id, "--issue", "issue-2").exit_code == 0
    result = digest("add", MEZO.id, LLAVA.id, "--batch")
    assert result.exit_code == 0, result.stderr
    assert [line["custom_id"] for line in fake_openai.batch_lines()] == [f"{LLAVA.id}v2"]
    assert item_file(workspace, "issue-1", MEZO.id).is_file()


def test_an_invalid_batch_answer_is_repaired_directly_once(workspace: Path, fake_arxiv, fake_openai) -> None:
    broken = {k: v for k, v in GOOD_SUMMARY.items() if k != "results"}

    def answer(request: dict) -> object:
        repairing = len(request["messages"]) > 2  # the repair request carries the first answer and a question
        return chat_completion(json.dumps({"results": GOOD_SUMMARY["results"]} if repairing else broken))

    fake_openai.responder = answer
    fake_openai.batch_polls_to_finish = 1
    assert digest("add", MEZO.id, "--batch").exit_code == 0
    done = digest("batch", "collect")
    assert done.exit_code == 0, done.stderr
    assert len(fake_openai.chat_requests()) == 1  # the repair, asking only for the missing field
    assert GOOD_SUMMARY["results"] in item_file(workspace, "issue-1", MEZO.id).read_text(encoding="utf-8")


def test_batch_without_an_api_key_is_a_usage_error(workspace: Path, fake_arxiv) -> None:
    result = digest("add", MEZO.id, "--batch")
    assert result.exit_code == 2
    assert "--batch needs OPENAI_API_KEY" in result.stderr


def test_collecting_an_unknown_batch_names_the_known_ones(workspace: Path, fake_arxiv, fake_openai) -> None:
    assert digest("add", MEZO.id, "--batch").exit_code == 0
    result = digest("batch", "collect", "batch_99")
    assert result.exit_code == 1
    assert "no batch 'batch_99'" in result.stderr and "batch_1" in result.stderr
