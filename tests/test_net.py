"""Hostile servers against the one HTTP layer (src/digestcli/net.py): deadlines and decoded-size caps.

A server that drips its answer a byte at a time (headers or body) never trips a per-read
timeout; every request must still end by its wall-clock deadline, and a batch always ends.
A gzip bomb must stop at the cap on decoded bytes, never inflated in one go. The `digest add`
cases run the real CLI in a subprocess whose timeout is only a guard: the deadlines under test
are set small through the environment.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path

import httpx
import pytest

from conftest import GOOD_SUMMARY
from fakes import FakeWeb, Reply, atom_feed, chat_completion
from papers import MEZO, mezo_pdf
from test_cli import item_file

DRIP = 0.2  # seconds between bytes: far below every per-read timeout, so only a deadline can end it
GUARD = 60  # seconds: the subprocess is killed (and the test fails) if digest never ends


def add(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`digest add ARGS` as a real process, in the environment the fixtures set."""
    return subprocess.run([sys.executable, "-m", "digestcli.cli", "add", *args], cwd=workspace,
                          env=dict(os.environ), capture_output=True, text=True, timeout=GUARD)


def errors(run: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith("digest: error:")]


def warnings(run: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith("digest: warning:")]


@pytest.fixture
def short_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_HTTP_DEADLINE", "1")
    monkeypatch.setenv("DIGEST_LLM_DEADLINE", "1")


@cache
def gzip_bomb(megabytes: int, layers: int = 1) -> bytes:
    """``megabytes`` of zeros, gzipped ``layers`` times (about a thousandth of the size per layer)."""
    squeezer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1 << 20)
    data = b"".join(squeezer.compress(block) for _ in range(megabytes)) + squeezer.flush()
    for _ in range(layers - 1):
        data = gzip.compress(data, 9)
    return data


# -- class 4: every request has a wall-clock deadline --------------------------------------------


@pytest.mark.parametrize("headers_too", [True, False], ids=["slow-headers", "slow-body"])
def test_a_dripping_arxiv_api_ends_at_the_deadline_with_one_line(workspace: Path, fake_arxiv, short_deadlines,
                                                                 headers_too: bool) -> None:
    feed = atom_feed([MEZO], MEZO.id)
    fake_arxiv.api_faults.append(Reply(200, feed, {"Content-Type": "application/atom+xml"},
                                       drip=DRIP, drip_headers=headers_too))
    run = add(workspace, MEZO.id)
    assert run.returncode == 1, run.stderr
    assert errors(run) == [f"digest: error: {MEZO.id}: arXiv API took longer than 1 s; gave up"]
    assert len(fake_arxiv.api_requests()) == 1  # a request past its deadline is not asked again
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("headers_too", [True, False], ids=["slow-headers", "slow-body"])
def test_a_dripping_pdf_server_ends_at_the_deadline_and_the_paper_lands_from_its_abstract(
        workspace: Path, fake_arxiv, short_deadlines, headers_too: bool) -> None:
    fake_arxiv.pdf_faults[MEZO.id] = [Reply(200, mezo_pdf(), {"Content-Type": "application/pdf"},
                                            drip=DRIP, drip_headers=headers_too)]
    run = add(workspace, MEZO.id)
    assert run.returncode == 0, run.stderr
    url = f"{fake_arxiv.pdf_url}/{MEZO.id}v{MEZO.version}"
    assert warnings(run) == [f"digest: warning: {MEZO.id}: PDF download from {url} took longer than 1 s; "
                             "gave up; summarizing from the abstract only"]
    assert len(fake_arxiv.pdf_requests()) == 1
    assert item_file(workspace, "issue-1", MEZO.id).is_file()


@pytest.mark.parametrize("headers_too", [True, False], ids=["slow-headers", "slow-body"])
def test_a_dripping_llm_server_ends_at_the_deadline_even_with_retries(
        workspace: Path, fake_arxiv, fake_openai, short_deadlines, monkeypatch: pytest.MonkeyPatch,
        headers_too: bool) -> None:
    monkeypatch.setenv("DIGEST_LLM_RETRIES", "1")  # each retry has its own deadline: still bounded
    monkeypatch.setenv("DIGEST_LLM_DEADLINE", "0.5")
    answer = chat_completion(json.dumps(GOOD_SUMMARY))
    fake_openai.responder = lambda request: Reply(answer.status, answer.body, answer.headers,
                                                  drip=DRIP, drip_headers=headers_too)
    run = add(workspace, MEZO.id)
    assert run.returncode == 1, run.stderr
    assert errors(run) == [f"digest: error: {MEZO.id}: LLM server {fake_openai.base_url} took longer than 0.5 s "
                           "on every try; gave up"]
    assert "Traceback" not in run.stderr
    assert len(fake_openai.chat_requests()) == 2
    assert not item_file(workspace, "issue-1", MEZO.id).exists()


def test_a_dripping_web_page_ends_at_the_deadline_and_the_link_is_still_added(workspace: Path,
                                                                                short_deadlines) -> None:
    page = b"<html><head><title>Slow</title></head><body><p>" + b"x" * 200 + b"</p></body></html>"
    assert_added_at_the_deadline(workspace, lambda *args: Reply(200, page, {"Content-Type": "text/html"}, drip=DRIP),
                                 "/slow/page")


def assert_added_at_the_deadline(workspace: Path, handle: Callable[..., Reply], path: str) -> None:
    """A link served by ``handle`` is added with its address only, after one warning naming the deadline."""
    web = FakeWeb().start()
    try:
        web.handle = handle  # type: ignore[method-assign]
        url = f"{web.url}{path}"
        run = add(workspace, url)
    finally:
        web.stop()
    assert run.returncode == 0, run.stderr
    assert warnings(run) == [f"digest: warning: could not read {url} (took longer than 1 s); "
                             "added with its address only"]


def test_a_batch_with_a_dripping_pdf_still_ends_and_lands_every_paper(workspace: Path, fake_arxiv,
                                                                      short_deadlines) -> None:
    from papers import LLAVA

    fake_arxiv.pdf_faults[LLAVA.id] = [Reply(200, b"%PDF-1.4 " + b"x" * 100, {"Content-Type": "application/pdf"},
                                             drip=DRIP, drip_headers=True)]
    run = add(workspace, MEZO.id, LLAVA.id)
    assert run.returncode == 0, run.stderr
    assert [line.split(": PDF")[0] for line in warnings(run)] == [f"digest: warning: {LLAVA.id}"]
    assert item_file(workspace, "issue-1", MEZO.id).is_file() and item_file(workspace, "issue-1", LLAVA.id).is_file()


def test_deadline_settings_must_be_positive_and_finite(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from digestcli.config import load_settings
    from digestcli.errors import ConfigError

    for bad in ("0", "-1", "nan", "inf"):
        with pytest.raises(ConfigError, match="DIGEST_HTTP_DEADLINE (= .* is too small|must be a finite number)"):
            load_settings(workspace, {"DIGEST_HTTP_DEADLINE": bad})
    (workspace / "digest.toml").write_text("[llm]\ndeadline = 90\n[arxiv]\ndeadline = 45\n", encoding="utf-8")
    settings = load_settings(workspace, {})
    assert (settings.llm_deadline, settings.http_deadline) == (90, 45)


# -- the transport itself -------------------------------------------------------------------------


@pytest.fixture
def web():
    server = FakeWeb().start()
    yield server
    server.stop()


def serve(web: FakeWeb, reply: Reply) -> str:
    web.handle = lambda *args: reply  # type: ignore[method-assign]
    return web.url + "/answer"


def test_a_chain_of_slow_redirects_shares_one_deadline(workspace: Path, short_deadlines) -> None:
    def hop(method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        step = int(path.rsplit("/", 1)[1])  # each hop is well inside the deadline; the chain is not
        if step < 6:
            return Reply(302, b"", {"Location": f"/hop/{step + 1}"}, delay=0.4)
        return Reply(200, b"<html><head><title>End</title></head></html>", {"Content-Type": "text/html"})

    assert_added_at_the_deadline(workspace, hop, "/hop/0")


@pytest.mark.parametrize("headers_too", [True, False], ids=["slow-headers", "slow-body"])
def test_a_request_past_its_deadline_raises_deadline_exceeded(web: FakeWeb, headers_too: bool) -> None:
    from digestcli.net import DeadlineExceeded, make_client

    url = serve(web, Reply(200, b"x" * 100, drip=0.05, drip_headers=headers_too))
    with make_client(timeout=10, deadline=0.5) as client, pytest.raises(DeadlineExceeded, match="longer than 0.5 s"):
        client.get(url)


def test_a_fast_answer_is_untouched_and_the_connection_reused(web: FakeWeb) -> None:
    from digestcli.net import make_client

    url = serve(web, Reply(200, b"hello", {"Content-Type": "text/plain"}))
    with make_client(timeout=10, deadline=5, user_agent="digest-test") as client:
        assert [client.get(url).text for _ in range(3)] == ["hello"] * 3
    assert {r["headers"]["User-Agent"] for r in web.requests} == {"digest-test"}
    assert web.requests[0]["headers"]["Accept-Encoding"] == "gzip, deflate"


def product_client(workspace: Path) -> httpx.Client:
    """The client `digest add` uses for the arXiv API, PDFs and linked pages."""
    from digestcli.config import load_settings
    from digestcli.commands.session import make_http_client

    return make_http_client(load_settings(workspace))


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_a_gzip_bomb_decodes_in_small_steps_and_stops_at_the_cap(workspace: Path, web: FakeWeb, layers: int) -> None:
    from digestcli.net import read_at_most

    bomb = gzip_bomb(64, layers)
    url = serve(web, Reply(200, bomb, {"Content-Encoding": ", ".join(["gzip"] * layers)}))
    with product_client(workspace) as client, client.stream("GET", url) as response:
        sizes = []
        for chunk in response.iter_bytes():
            sizes.append(len(chunk))
            if sum(sizes) > 2 << 20:
                break
    assert max(sizes) <= 64 * 1024  # never a whole layer at once: memory stays near the reader's cap
    with product_client(workspace) as client, client.stream("GET", url) as response:
        body, more = read_at_most(response, 1 << 20)
    assert more and body == bytes(1 << 20)


def test_a_whole_answer_above_the_client_cap_is_refused(web: FakeWeb) -> None:
    from digestcli.net import BodyTooLarge, make_client

    url = serve(web, Reply(200, gzip_bomb(8), {"Content-Encoding": "gzip"}))
    with make_client(timeout=10, deadline=10, max_body_bytes=1 << 20) as client:
        with pytest.raises(BodyTooLarge, match="larger than the 1 MB cap"):
            client.get(url)


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress"])
def test_an_encoding_that_cannot_be_decoded_in_steps_is_refused(web: FakeWeb, encoding: str) -> None:
    from digestcli.net import make_client

    url = serve(web, Reply(200, b"\x00" * 10, {"Content-Encoding": encoding}))
    with make_client(timeout=10, deadline=10) as client, pytest.raises(httpx.DecodingError, match=encoding):
        client.get(url)


def test_an_undecodable_answer_is_one_line_naming_the_encoding(workspace: Path, web: FakeWeb) -> None:
    from digestcli.config import load_settings
    from digestcli.errors import ArxivError, PdfError
    from digestcli.ids import parse_arxiv_id
    from digestcli.commands.session import make_arxiv_client

    url = serve(web, Reply(200, b"\x00" * 10, {"Content-Encoding": "br"}))
    client = make_arxiv_client(load_settings(workspace).with_flags(arxiv_api_url=url), product_client(workspace))
    (failure,) = client.fetch_papers([parse_arxiv_id(MEZO.id)]).values()
    assert isinstance(failure, ArxivError)
    assert str(failure) == "arXiv API answered with content encoding 'br', which digest does not accept"
    with pytest.raises(PdfError, match=f"^PDF download from {url} failed: answered with content encoding 'br'"):
        client.download_pdf(url)
    assert len(web.requests) == 2  # not retried


@pytest.mark.parametrize("raw", [False, True], ids=["zlib-deflate", "raw-deflate"])
def test_deflate_answers_still_decode(web: FakeWeb, raw: bool) -> None:
    from digestcli.net import make_client

    squeezer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    body = squeezer.compress(b"<feed/>" * 1000) + squeezer.flush()
    url = serve(web, Reply(200, body, {"Content-Encoding": "deflate"}))
    with make_client(timeout=10, deadline=10) as client:
        assert client.get(url).content == b"<feed/>" * 1000


# -- class 5: decoded-size caps -------------------------------------------------------------------


def test_an_arxiv_api_gzip_bomb_fails_that_id_with_one_line_naming_the_cap(workspace: Path, fake_arxiv) -> None:
    fake_arxiv.api_faults.append(Reply(200, gzip_bomb(64), {"Content-Type": "application/atom+xml",
                                                            "Content-Encoding": "gzip"}))
    run = add(workspace, MEZO.id)
    assert run.returncode == 1, run.stderr
    assert errors(run) == [f"digest: error: {MEZO.id}: arXiv API answer is larger than the 16 MB cap; refused"]
    assert len(fake_arxiv.api_requests()) == 1


def test_a_pdf_gzip_bomb_stops_at_the_pdf_cap_and_the_paper_lands_from_its_abstract(workspace: Path,
                                                                                    fake_arxiv) -> None:
    config = workspace / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n[arxiv]\nmax_pdf_mb = 1\n", encoding="utf-8")
    bomb = gzip_bomb(2, layers=2)  # Content-Length is the tiny compressed size: only decoding finds the size
    fake_arxiv.pdf_faults[MEZO.id] = [Reply(200, bomb, {"Content-Type": "application/pdf",
                                                        "Content-Encoding": "gzip, gzip"})]
    run = add(workspace, MEZO.id)
    assert run.returncode == 0, run.stderr
    url = f"{fake_arxiv.pdf_url}/{MEZO.id}v{MEZO.version}"
    assert warnings(run) == [f"digest: warning: {MEZO.id}: PDF at {url} is larger than the 1 MB cap; "
                             "summarizing from the abstract only"]


def test_a_linked_page_gzip_bomb_is_read_only_up_to_the_page_cap(workspace: Path, web: FakeWeb) -> None:
    from digestcli.links import fetch_link

    head = b"<html><head><title>Bomb</title><meta name='description' content='A page that never ends.'></head>"
    squeezer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    body = squeezer.compress(head) + b"".join(squeezer.compress(b" " * (1 << 20)) for _ in range(64))
    body += squeezer.flush()
    web.handle = lambda *args: Reply(200, body, {"Content-Type": "text/html", "Content-Encoding": "gzip"})  # type: ignore
    with product_client(workspace) as client:
        info = fetch_link(client, web.url + "/bomb")
    assert (info.title, info.description, info.warning) == ("Bomb", "A page that never ends.", "")


def test_an_llm_gzip_bomb_fails_that_paper_with_one_line(workspace: Path, fake_arxiv, fake_openai,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_LLM_RETRIES", "0")
    fake_openai.responder = lambda request: Reply(200, gzip_bomb(128), {"Content-Type": "application/json",
                                                                       "Content-Encoding": "gzip"})
    run = add(workspace, MEZO.id)
    assert run.returncode == 1, run.stderr
    (line,) = errors(run)
    assert line.startswith(f"digest: error: {MEZO.id}: ") and f"LLM server {fake_openai.base_url}" in line
    assert "MB cap; refused" in line and "cannot reach" not in line
    assert "Traceback" not in run.stderr and len(fake_openai.chat_requests()) == 1
