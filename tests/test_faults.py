"""Every bad input and fault of docs/reliability.md, as the user meets it: `digest add`.

Each test names its case. The rule they check: one clear line per problem on
stderr (no traceback), the other papers of the batch still land, the exit
code is 0 (all fine), 3 (some failed) or 1 (nothing could be done), and no
file that was already there is damaged. arXiv and the LLM are local fakes;
the client code and the openai SDK are the real ones.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from conftest import GOOD_SUMMARY
from fakes import FakePaper, Reply, api_error, atom_feed, chat_completion
from papers import LLAVA, MEZO, SHARED_CORPUS, image_only_pdf, mezo_pdf
from test_cli import digest, error_lines, item_file
from test_pdftext import encrypted_pdf


def lines(result) -> list[str]:
    return result.stderr.splitlines()


def assert_one_line_each(result) -> None:
    """Nothing but digest's own one-line messages and progress lines: no traceback."""
    assert "Traceback" not in result.output
    assert result.stdout == ""


def summary_line(result) -> str:
    return lines(result)[-1]


def landed(workspace: Path, *ids: str) -> bool:
    return all(item_file(workspace, "issue-1", i).is_file() for i in ids)


def issue_files(workspace: Path) -> list[str]:
    return sorted(p.name for p in (workspace / "issues" / "issue-1").iterdir())


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- identifiers -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "   ", "2305.1733", "2305.173331", "9999.99999", "hep-th/99",
                                 "https://example.org/abs/2305.17333", "10.1145/2305.17333"],
                         ids=["empty", "whitespace", "too-short", "too-long", "month-99", "old-style-short",
                              "other-site-url", "other-publisher-doi"])
def test_bad_identifier_is_one_error_line_and_the_good_id_still_lands(workspace: Path, fake_arxiv,
                                                                     bad: str) -> None:
    result = digest("add", bad, MEZO.id)
    assert result.exit_code == 3, result.stderr
    assert_one_line_each(result)
    errors = error_lines(result)
    assert len(errors) == 1
    assert (repr(bad) in errors[0]) if bad.strip() else ("empty identifier" in errors[0])
    assert landed(workspace, MEZO.id)


def test_same_paper_twice_in_one_command_is_added_once(workspace: Path, fake_arxiv, fake_openai) -> None:
    result = digest("add", MEZO.id, f"arXiv:{MEZO.id}", f"https://arxiv.org/abs/{MEZO.id}v3", MEZO.id)
    assert result.exit_code == 0, result.stderr
    assert len(fake_openai.chat_requests()) == 1
    assert summary_line(result).startswith("digest: 1 added, 0 skipped, 0 failed")


def test_paper_already_in_the_issue_is_skipped_with_a_notice(workspace: Path, fake_arxiv, fake_openai) -> None:
    assert digest("add", MEZO.id).exit_code == 0
    result = digest("add", MEZO.id, LLAVA.id)
    assert result.exit_code == 0
    assert any(line.startswith(f"digest: {MEZO.id} is already in issue-1") for line in lines(result))
    assert len(fake_openai.chat_requests()) == 2  # MeZO once, LLaVA once
    assert summary_line(result).startswith("digest: 1 added, 1 skipped, 0 failed")


# -- arXiv API ----------------------------------------------------------------------------------


def test_arxiv_connection_refused_is_one_line_per_paper(workspace: Path, monkeypatch: pytest.MonkeyPatch,
                                                        unused_port: int, arxiv_waits: list[float]) -> None:
    monkeypatch.setenv("DIGEST_ARXIV_API_URL", f"http://127.0.0.1:{unused_port}/api/query")
    result = digest("add", MEZO.id)
    assert result.exit_code == 1
    assert_one_line_each(result)
    assert len(error_lines(result)) == 1 and "connection failed" in error_lines(result)[0]
    assert issue_files(workspace) == ["_issue.md"]
    assert arxiv_waits == [1.0, 2.0, 4.0]  # four attempts, backing off (recorded, not waited out)


def test_arxiv_timeout_is_retried_and_the_paper_lands(workspace: Path, fake_arxiv, monkeypatch: pytest.MonkeyPatch,
                                                      arxiv_waits: list[float]) -> None:
    monkeypatch.setenv("DIGEST_HTTP_TIMEOUT", "0.5")
    fake_arxiv.api_faults = [Reply(200, b"", delay=2.0)]
    result = digest("add", MEZO.id)
    assert result.exit_code == 0, result.stderr
    assert len(fake_arxiv.api_requests()) == 2 and landed(workspace, MEZO.id)
    assert arxiv_waits == [1.0]


@pytest.mark.parametrize("headers", [{"Retry-After": "1"}, {}], ids=["with-retry-after", "without-retry-after"])
def test_arxiv_429_is_retried_and_the_paper_lands(workspace: Path, fake_arxiv, headers: dict,
                                                  arxiv_waits: list[float]) -> None:
    fake_arxiv.api_faults = [Reply(429, b"Rate exceeded.", headers)]
    result = digest("add", MEZO.id)
    assert result.exit_code == 0, result.stderr
    assert len(fake_arxiv.api_requests()) == 2 and landed(workspace, MEZO.id)
    assert arxiv_waits == [1.0]  # Retry-After's second, or the first step of the backoff


@pytest.mark.parametrize("status", [500, 503])
def test_arxiv_server_error_is_retried_and_the_paper_lands(workspace: Path, fake_arxiv, status: int,
                                                          arxiv_waits: list[float]) -> None:
    fake_arxiv.api_faults = [Reply(status, b"oops")]
    result = digest("add", MEZO.id)
    assert result.exit_code == 0, result.stderr
    assert landed(workspace, MEZO.id) and arxiv_waits == [1.0]


def test_arxiv_empty_feed_says_no_such_paper_for_each_id(workspace: Path, fake_arxiv) -> None:
    fake_arxiv.api_override = lambda ids: Reply(200, atom_feed([], ",".join(ids)))
    result = digest("add", MEZO.id, LLAVA.id)
    assert result.exit_code == 1
    assert_one_line_each(result)
    assert len(error_lines(result)) == 2 and all("no such paper" in line for line in error_lines(result))


def test_arxiv_error_entry_fails_that_id_only(workspace: Path, fake_arxiv) -> None:
    from fakes import error_entry

    def answer(ids: list[str]) -> Reply:
        papers = [p for p in (MEZO,) if any(i.startswith(p.id) for i in ids)]
        return Reply(200, atom_feed(papers, ",".join(ids), extra_entries=error_entry(f"{LLAVA.id}v2")))

    fake_arxiv.api_override = answer
    result = digest("add", MEZO.id, f"{LLAVA.id}v2")
    assert result.exit_code == 3, result.stderr
    assert len(error_lines(result)) == 1 and LLAVA.id in error_lines(result)[0]
    assert landed(workspace, MEZO.id)


@pytest.mark.parametrize("body, reason", [
    (b"<html><body>We are down for maintenance<br></body></html>", "not XML"),
    (b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
     b'<feed xmlns="http://www.w3.org/2005/Atom"><title>&xxe;</title></feed>', "DTD or entities"),
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
     b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><feed xmlns="http://www.w3.org/2005/Atom">&lol3;</feed>',
     "DTD or entities"),
], ids=["not-xml", "external-entity", "billion-laughs"])
def test_arxiv_unsafe_or_broken_feed_is_refused(workspace: Path, fake_arxiv, body: bytes, reason: str) -> None:
    fake_arxiv.api_override = lambda ids: Reply(200, body, {"Content-Type": "application/atom+xml"})
    result = digest("add", MEZO.id)
    assert result.exit_code == 1
    assert_one_line_each(result)
    assert len(error_lines(result)) == 1 and reason in error_lines(result)[0]
    assert "root:" not in result.output  # /etc/passwd was never read
    assert issue_files(workspace) == ["_issue.md"]


def test_paper_that_does_not_exist_is_named(workspace: Path, fake_arxiv) -> None:
    result = digest("add", "2305.99999", MEZO.id)
    assert result.exit_code == 3
    assert len(error_lines(result)) == 1 and "2305.99999" in error_lines(result)[0]
    assert "no such paper" in error_lines(result)[0]


def test_withdrawn_paper_fails_with_the_reason(workspace: Path, fake_arxiv) -> None:
    fake_arxiv.add(FakePaper(id="2301.00002", version=2, title="A Withdrawn Paper", abstract="Withdrawn.",
                             authors=["A. Author"], comment="This paper has been withdrawn by the author due to "
                             "a crucial error in Theorem 2"))
    result = digest("add", "2301.00002", MEZO.id)
    assert result.exit_code == 3
    assert len(error_lines(result)) == 1
    assert "withdrawn" in error_lines(result)[0] and "2301.00002" in error_lines(result)[0]
    assert not item_file(workspace, "issue-1", "2301.00002").exists()


# -- PDF: each falls back to the abstract with one warning; the item still lands ------------------------


def _truncated_pdf() -> bytes:
    real = SHARED_CORPUS / "pdf" / "truncated.pdf"
    return real.read_bytes() if real.is_file() else mezo_pdf()[:4000]


@pytest.mark.parametrize("make_reply, reason", [
    (lambda: [Reply(200, b"<!DOCTYPE html><html>Just a moment...</html>", {"Content-Type": "text/html"})],
     "HTML page instead of a PDF"),
    (lambda: [Reply(200, _truncated_pdf(), {"Content-Type": "application/pdf"})], "corrupt or truncated"),
    (lambda: [Reply(200, encrypted_pdf(), {"Content-Type": "application/pdf"})], "encrypted"),
    (lambda: [Reply(200, image_only_pdf(), {"Content-Type": "application/pdf"})], "no usable text layer"),
    (lambda: [Reply(200, b"%PDF-1.5\n" + b"0" * (2 * 1024 * 1024), {"Content-Type": "application/pdf"})],
     "MB cap"),
    (lambda: [Reply(302, b"", {"Location": f"/pdf/{MEZO.id}v3"}) for _ in range(40)], "redirect"),
], ids=["html-instead-of-pdf", "truncated", "encrypted", "no-text-layer", "above-size-cap", "redirect-loop"])
def test_unusable_pdf_falls_back_to_the_abstract_with_a_warning(workspace: Path, fake_arxiv, make_reply,
                                                                reason: str) -> None:
    config = workspace / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n[arxiv]\nmax_pdf_mb = 1\n", encoding="utf-8")
    fake_arxiv.pdf_faults[MEZO.id] = make_reply()
    result = digest("add", MEZO.id, LLAVA.id)
    assert result.exit_code == 0, result.stderr
    assert_one_line_each(result)
    warnings = [line for line in lines(result) if line.startswith("digest: warning:")]
    assert len(warnings) == 1 and MEZO.id in warnings[0] and reason in warnings[0], warnings
    assert landed(workspace, MEZO.id, LLAVA.id)
    assert load_meta(workspace, MEZO.id)["provenance"]["text_source"] == "abstract"
    assert load_meta(workspace, LLAVA.id)["provenance"]["text_source"] == "pdf"


def load_meta(workspace: Path, arxiv_id: str) -> dict:
    from digestcli.items import load_item

    return load_item(item_file(workspace, "issue-1", arxiv_id)).meta


# -- LLM: the failing paper fails alone; the other lands ----------------------------------------


def _for_llava(fault, good=lambda: chat_completion(json.dumps(GOOD_SUMMARY))):
    """A responder that answers ``fault()`` to LLaVA's requests and a good summary to the others."""
    def respond(request: dict) -> Reply:
        return fault() if LLAVA.title in json.dumps(request) else good()
    return respond


@pytest.mark.parametrize("fault, reason", [
    (lambda: api_error(429, "Rate limit reached for requests"), "rate limit"),
    (lambda: api_error(500, "The server had an error"), "http 500 after retries"),
    (lambda: api_error(503, "Service unavailable"), "http 503 after retries"),
    (lambda: chat_completion("this is not JSON at all"), "invalid"),
    (lambda: chat_completion(None, refusal="I can't help with summarizing this paper."), "refused"),
    (lambda: chat_completion('{"short_name": "LLaVA", "tldr": "Visual instr', finish_reason="length"),
     "length limit"),
    (lambda: Reply(200, json.dumps({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
                                    "choices": []}).encode(), {"Content-Type": "application/json"}),
     "no choices"),
], ids=["429", "500", "503", "invalid-json-twice", "refusal", "cut-off-by-length", "empty-choices"])
def test_llm_fault_fails_that_paper_only(workspace: Path, fake_arxiv, fake_openai, fault, reason: str) -> None:
    fake_openai.responder = _for_llava(fault)
    result = digest("add", MEZO.id, LLAVA.id)
    assert result.exit_code == 3, result.stderr
    assert_one_line_each(result)
    errors = error_lines(result)
    assert len(errors) == 1 and LLAVA.id in errors[0] and reason in errors[0].lower(), errors
    assert landed(workspace, MEZO.id) and not item_file(workspace, "issue-1", LLAVA.id).exists()


def test_llm_timeout_fails_that_paper_only(workspace: Path, fake_arxiv, fake_openai,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_LLM_TIMEOUT", "0.5")
    monkeypatch.setenv("DIGEST_LLM_RETRIES", "0")
    slow = lambda: Reply(**{**chat_completion(json.dumps(GOOD_SUMMARY)).__dict__, "delay": 2.0})  # noqa: E731
    fake_openai.responder = _for_llava(slow)
    result = digest("add", MEZO.id, LLAVA.id)
    assert result.exit_code == 3, result.stderr
    errors = error_lines(result)
    assert len(errors) == 1 and LLAVA.id in errors[0] and "timed out" in errors[0]
    assert landed(workspace, MEZO.id)


def test_llm_429_then_success_is_retried(workspace: Path, fake_arxiv, fake_openai) -> None:
    fake_openai.script = [api_error(429, "Rate limit reached", {"retry-after-ms": "10"})]
    result = digest("add", MEZO.id)
    assert result.exit_code == 0, result.stderr
    assert len(fake_openai.chat_requests()) == 2


def test_llm_bad_key_says_so_and_how_to_set_it(workspace: Path, fake_arxiv, fake_openai) -> None:
    fake_openai.responder = lambda request: api_error(401, "Incorrect API key provided: sk-test***", code="invalid_api_key")
    result = digest("add", MEZO.id, LLAVA.id, "--jobs", "1")  # one at a time: no second request is in flight
    assert result.exit_code == 1
    assert_one_line_each(result)
    errors = error_lines(result)
    assert len(errors) == 2 and all("OPENAI_API_KEY" in line for line in errors)
    assert "sk-test-not-a-real-key" not in result.output
    assert len(fake_openai.chat_requests()) == 1  # the second paper did not ask again


def test_llm_unknown_model_names_the_model(workspace: Path, fake_arxiv, fake_openai) -> None:
    fake_openai.responder = lambda request: api_error(404, f"The model `{request['model']}` does not exist",
                                                      code="model_not_found")
    result = digest("add", MEZO.id, "--model", "gpt-9-imaginary")
    assert result.exit_code == 1
    assert len(error_lines(result)) == 1 and "gpt-9-imaginary" in error_lines(result)[0]


def test_llm_server_without_structured_outputs_still_summarizes(workspace: Path, fake_arxiv,
                                                                fake_openai) -> None:
    def old_server(request: dict) -> Reply:
        if "response_format" in request:
            return api_error(400, "Unrecognized request argument supplied: response_format")
        return chat_completion("Here is the summary:\n```json\n" + json.dumps(GOOD_SUMMARY) + "\n```")

    fake_openai.responder = old_server
    result = digest("add", MEZO.id)
    assert result.exit_code == 0, result.stderr
    assert GOOD_SUMMARY["tldr"] in item_file(workspace, "issue-1", MEZO.id).read_text(encoding="utf-8")


# -- workspace -----------------------------------------------------------------------------------


def test_hand_broken_item_is_named_by_build_and_never_overwritten(workspace: Path, fake_arxiv) -> None:
    assert digest("add", MEZO.id, LLAVA.id).exit_code == 0
    path = item_file(workspace, "issue-1", MEZO.id)
    broken = path.read_text(encoding="utf-8").replace("title:", "title: [unclosed", 1)
    path.write_text(broken, encoding="utf-8")
    built = digest("build")
    assert built.exit_code == 1 and built.stdout == ""
    assert len(error_lines(built)) == 1 and f"{MEZO.id}.md" in error_lines(built)[0]
    again = digest("add", MEZO.id, LLAVA.id)
    assert again.exit_code == 0
    assert path.read_text(encoding="utf-8") == broken


def _simulate_os_error(monkeypatch: pytest.MonkeyPatch, code: int, inside: Path):
    """Make every write under ``inside`` fail with ``code``, as a full disk or read-only mount would."""
    import tempfile

    real = tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        folder = Path(kwargs.get("dir") or ".").resolve()
        if folder == inside.resolve() or inside.resolve() in folder.parents:
            raise OSError(code, os.strerror(code), str(folder))
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    return lambda: monkeypatch.setattr(tempfile, "mkstemp", real)


@pytest.mark.parametrize("code, reason", [(errno.ENOSPC, "disk full"), (errno.EROFS, "read-only")],
                         ids=["full-disk", "read-only-folder"])
def test_unwritable_issue_folder_fails_each_paper_in_one_line_and_keeps_the_llm_answer(
        workspace: Path, fake_arxiv, fake_openai, monkeypatch: pytest.MonkeyPatch, code: int, reason: str) -> None:
    fix_the_disk = _simulate_os_error(monkeypatch, code, workspace)
    result = digest("add", MEZO.id, LLAVA.id)
    assert result.exit_code == 1
    assert_one_line_each(result)
    errors = error_lines(result)
    assert len(errors) == 2 and all(reason in line for line in errors), errors
    assert issue_files(workspace) == ["_issue.md"]
    fix_the_disk()  # the rerun pays for nothing: the answers were cached before the write failed
    rerun = digest("add", MEZO.id, LLAVA.id)
    assert rerun.exit_code == 0, rerun.stderr
    assert len(fake_openai.chat_requests()) == 2


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root ignores file permissions; the simulated read-only case above covers it")
def test_real_read_only_issue_folder_is_one_line(workspace: Path, fake_arxiv) -> None:
    folder = workspace / "issues" / "issue-1"
    folder.chmod(0o555)
    try:
        result = digest("add", MEZO.id)
    finally:
        folder.chmod(0o755)
    assert result.exit_code == 1
    assert len(error_lines(result)) == 1 and "permission denied" in error_lines(result)[0]
