"""The arXiv client over a real httpx.Client against the local FakeArxiv server.

Time is faked: the client gets a clock that only moves when it sleeps, and a
sleep that records instead of waiting, so throttling and retries are checked
exactly and no test ever really waits.
"""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

import corpus
from digestcli.arxiv import ArxivClient, Throttle, parse_atom_feed
from digestcli.config import Settings
from digestcli.errors import ArxivError, PdfError
from digestcli.ids import parse_arxiv_id
from digestcli.models import ArxivId, Paper
from digestcli.commands.session import make_http_client
from fakes import FakeArxiv, FakePaper, Reply, atom_feed, error_entry
from papers import LLAVA, MEZO, OLD_STYLE, llava_pdf

MEZO_ID = ArxivId("2305.17333")
LLAVA_ID = ArxivId("2304.08485")


class FakeTime:
    """A monotonic clock that advances only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_client(tmp_path: Path, fake_time: FakeTime) -> Iterator[Callable[..., ArxivClient]]:
    """Builds ArxivClients on fake time with no intervals; closes their httpx clients."""
    opened: list[httpx.Client] = []

    def build(server: FakeArxiv | None = None, *, http: httpx.Client | None = None, **options: object) -> ArxivClient:
        if http is None:
            http = httpx.Client(timeout=5.0)
        opened.append(http)
        settings: dict[str, object] = {
            "api_url": server.api_url if server else "http://127.0.0.1:9/api/query",
            "pdf_url": server.pdf_url if server else "http://127.0.0.1:9/pdf",
            "cache_dir": tmp_path / "cache",
            "api_interval": 0,
            "pdf_interval": 0,
            "sleep": fake_time.sleep,
            "clock": fake_time.clock,
            **options,
        }
        return ArxivClient(http, **settings)  # type: ignore[arg-type]

    yield build
    for http in opened:
        http.close()


def query_of(request: dict) -> dict[str, list[str]]:
    return parse_qs(urlparse(request["path"]).query)


def header(request: dict, name: str) -> str:
    return {key.lower(): value for key, value in request["headers"].items()}.get(name.lower(), "")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def paper_for(fake: FakePaper, *, pdf_url: str = "") -> Paper:
    """A Paper built by hand, as a later stage would receive it."""
    return Paper(
        id=parse_arxiv_id(f"{fake.id}v{fake.version}"),
        title=fake.title,
        abstract=fake.abstract,
        authors=tuple(fake.authors),
        published=fake.published[:10],
        updated=fake.updated[:10],
        primary_category=fake.primary_category,
        categories=tuple(fake.categories),
        pdf_url=pdf_url,
    )


# -- metadata ----------------------------------------------------------------


def test_fetch_papers_parses_every_field_of_the_feed(fake_arxiv: FakeArxiv, make_client) -> None:
    wrapped = dataclasses.replace(
        MEZO,
        title="Fine-Tuning Language Models\n      with Just Forward Passes",
        abstract=MEZO.abstract.replace("large models. ", "large models.\n  "),
        journal_ref="NeurIPS 2023",
        doi="10.5555/3666122.3667589",
    )
    fake_arxiv.add(wrapped)

    result = make_client(fake_arxiv).fetch_papers([MEZO_ID])

    paper = result["2305.17333"]
    assert isinstance(paper, Paper)
    assert paper.id == ArxivId("2305.17333", 3)
    assert paper.title == "Fine-Tuning Language Models with Just Forward Passes"
    assert paper.abstract == MEZO.abstract
    assert paper.authors == tuple(MEZO.authors)
    assert (paper.published, paper.updated) == ("2023-05-27", "2024-01-11")
    assert paper.primary_category == "cs.LG"
    assert paper.categories == ("cs.LG", "cs.CL")
    assert paper.comment == MEZO.comment
    assert paper.journal_ref == "NeurIPS 2023"
    assert paper.doi == "10.5555/3666122.3667589"
    assert paper.abs_url == "https://arxiv.org/abs/2305.17333v3"
    assert paper.pdf_url == "https://arxiv.org/pdf/2305.17333v3"


def test_fetch_papers_puts_primary_category_first_when_feed_omits_it(fake_arxiv: FakeArxiv, make_client) -> None:
    fake_arxiv.add(dataclasses.replace(LLAVA, primary_category="cs.CV", categories=["cs.AI", "cs.CL"]))

    paper = make_client(fake_arxiv).fetch_papers([LLAVA_ID])["2304.08485"]

    assert isinstance(paper, Paper)
    assert paper.primary_category == "cs.CV"
    assert paper.categories == ("cs.CV", "cs.AI", "cs.CL")


def test_fetch_papers_keys_results_by_id_when_feed_order_is_reversed(fake_arxiv: FakeArxiv, make_client) -> None:
    fake_arxiv.add(OLD_STYLE)

    result = make_client(fake_arxiv).fetch_papers([MEZO_ID, LLAVA_ID, ArxivId("hep-th/9901001")])

    assert list(result) == ["2305.17333", "2304.08485", "hep-th/9901001"]
    assert [p.title for p in result.values() if isinstance(p, Paper)] == [MEZO.title, LLAVA.title, OLD_STYLE.title]
    assert result["hep-th/9901001"].id == ArxivId("hep-th/9901001", 1)


def test_fetch_papers_asks_for_as_many_results_as_ids(fake_arxiv: FakeArxiv, make_client) -> None:
    make_client(fake_arxiv).fetch_papers([MEZO_ID, ArxivId("2304.08485", 2)])

    (request,) = fake_arxiv.api_requests()
    assert query_of(request)["max_results"] == ["2"]
    assert query_of(request)["id_list"] == ["2305.17333,2304.08485v2"]


def test_fetch_papers_splits_150_ids_into_batches_of_100_and_50(make_client) -> None:
    server = FakeArxiv().start()
    try:
        fakes = [dataclasses.replace(MEZO, id=f"2305.{10000 + n}", title=f"Paper {n}") for n in range(150)]
        for fake in fakes:
            server.add(fake)
        client = make_client(server)

        result = client.fetch_papers([ArxivId(f.id) for f in fakes])

        requests = server.api_requests()
        assert len(requests) == 2
        assert client.api_requests == 2
        assert [len(query_of(r)["id_list"][0].split(",")) for r in requests] == [100, 50]
        assert [query_of(r)["max_results"] for r in requests] == [["100"], ["50"]]
        assert all(isinstance(result[f.id], Paper) and result[f.id].title == f.title for f in fakes)
    finally:
        server.stop()


def test_fetch_papers_keeps_the_interval_between_api_requests(make_client, fake_time: FakeTime) -> None:
    server = FakeArxiv().start()
    seen_at: list[float] = []

    def answer(ids: list[str]) -> Reply:
        seen_at.append(fake_time.now)
        return Reply(200, atom_feed([]))

    server.api_override = answer
    try:
        client = make_client(server, api_interval=3.0)
        client.fetch_papers([ArxivId(f"2305.{10000 + n}") for n in range(250)])  # three batches
    finally:
        server.stop()

    assert len(seen_at) == 3
    assert all(later - earlier >= 3.0 for earlier, later in zip(seen_at, seen_at[1:]))
    assert fake_time.sleeps == [3.0, 3.0]


def test_throttle_sleeps_only_for_the_rest_of_the_interval(fake_time: FakeTime) -> None:
    throttle = Throttle(3.0, fake_time.clock, fake_time.sleep)

    throttle.wait()
    fake_time.now += 1.0  # work done between calls counts towards the interval
    throttle.wait()
    fake_time.now += 5.0
    throttle.wait()

    assert fake_time.sleeps == [2.0]


def test_http_client_from_settings_sends_the_user_agent(fake_arxiv: FakeArxiv, make_client, tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path / "cache")
    client = make_client(fake_arxiv, http=make_http_client(settings))

    client.fetch_papers([MEZO_ID])
    client.fetch_pdf(paper_for(MEZO))

    assert settings.user_agent.startswith("digest/")
    assert [header(r, "User-Agent") for r in fake_arxiv.requests] == [settings.user_agent] * 2


def test_fetch_papers_retries_server_errors_then_succeeds(fake_arxiv: FakeArxiv, make_client,
                                                          fake_time: FakeTime) -> None:
    fake_arxiv.api_faults = [Reply(503, b"busy"), Reply(503, b"busy")]

    result = make_client(fake_arxiv).fetch_papers([MEZO_ID])

    assert isinstance(result["2305.17333"], Paper)
    assert len(fake_arxiv.api_requests()) == 3
    assert len(fake_time.sleeps) == 2


def test_fetch_papers_waits_as_long_as_retry_after_says(fake_arxiv: FakeArxiv, make_client,
                                                        fake_time: FakeTime) -> None:
    fake_arxiv.api_faults = [Reply(429, b"slow down", {"Retry-After": "7"})]

    result = make_client(fake_arxiv).fetch_papers([MEZO_ID])

    assert isinstance(result["2305.17333"], Paper)
    assert fake_time.sleeps == [7.0]


def test_fetch_papers_gives_up_when_retry_after_is_too_long(fake_arxiv: FakeArxiv, make_client,
                                                            fake_time: FakeTime) -> None:
    fake_arxiv.api_faults = [Reply(429, b"slow down", {"Retry-After": "3600"})]

    result = make_client(fake_arxiv).fetch_papers([MEZO_ID])

    assert isinstance(result["2305.17333"], ArxivError)
    assert "try again later" in str(result["2305.17333"])
    assert fake_time.sleeps == []
    assert len(fake_arxiv.api_requests()) == 1


def test_fetch_papers_does_not_retry_a_refused_request(fake_arxiv: FakeArxiv, make_client,
                                                       fake_time: FakeTime) -> None:
    fake_arxiv.api_faults = [Reply(400, b"bad query")]

    result = make_client(fake_arxiv).fetch_papers([MEZO_ID])

    assert isinstance(result["2305.17333"], ArxivError)
    assert "HTTP 400" in str(result["2305.17333"])
    assert len(fake_arxiv.api_requests()) == 1
    assert fake_time.sleeps == []


def test_fetch_papers_reports_gone_server_as_one_arxiv_error_per_id(make_client, fake_time: FakeTime) -> None:
    port = closed_port()
    client = make_client(api_url=f"http://127.0.0.1:{port}/api/query", attempts=3)

    result = client.fetch_papers([MEZO_ID, LLAVA_ID])

    assert set(result) == {"2305.17333", "2304.08485"}
    for error in result.values():
        assert isinstance(error, ArxivError)
        assert "unreachable" in str(error) and "connection failed" in str(error)
    assert client.api_requests == 3
    assert len(fake_time.sleeps) == 2


def test_fetch_papers_reports_error_entry_and_still_resolves_the_rest_of_the_batch(
        fake_arxiv: FakeArxiv, make_client) -> None:
    # arXiv answers a batch holding an id it rejects with only an Error entry.
    fake_arxiv.api_faults = [Reply(200, atom_feed([], extra_entries=error_entry("2305.99999")))]

    result = make_client(fake_arxiv).fetch_papers([MEZO_ID, ArxivId("2305.99999"), LLAVA_ID])

    assert isinstance(result["2305.99999"], ArxivError)
    assert "incorrect id format for 2305.99999" in str(result["2305.99999"])
    assert isinstance(result["2305.17333"], Paper)
    assert isinstance(result["2304.08485"], Paper)
    retry = fake_arxiv.api_requests()[1]
    assert query_of(retry)["id_list"] == ["2305.17333,2304.08485"]


def test_fetch_papers_says_no_such_paper_for_a_valid_id_arxiv_lacks(fake_arxiv: FakeArxiv, make_client) -> None:
    result = make_client(fake_arxiv).fetch_papers([ArxivId("2305.00001"), MEZO_ID])

    assert isinstance(result["2305.00001"], ArxivError)
    assert "2305.00001: no such paper" in str(result["2305.00001"])
    assert isinstance(result["2305.17333"], Paper)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&lol3;</title></entry></feed>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&secret;</title></entry></feed>
"""

BARE_DOCTYPE = b"""<?xml version="1.0"?>
<!DOCTYPE feed SYSTEM "http://127.0.0.1:9/feed.dtd">
<feed xmlns="http://www.w3.org/2005/Atom"></feed>
"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<html><body>Service Unavailable", "not XML"),
        (b"id,title\n2305.17333,MeZO\n", "not XML"),
        (b'<?xml version="1.0"?><rss><channel/></rss>', "not an Atom feed"),
        (BILLION_LAUGHS, "DTD or entities"),
        (EXTERNAL_ENTITY, "DTD or entities"),
        (BARE_DOCTYPE, "DTD or entities"),
    ],
    ids=["html", "csv", "rss", "billion-laughs", "external-entity", "doctype"],
)
def test_fetch_papers_refuses_a_feed_that_is_not_safe_atom(fake_arxiv: FakeArxiv, make_client, body: bytes,
                                                           expected: str) -> None:
    fake_arxiv.api_faults = [Reply(200, body, {"Content-Type": "application/atom+xml"})]

    result = make_client(fake_arxiv).fetch_papers([MEZO_ID])

    assert isinstance(result["2305.17333"], ArxivError)
    assert expected in str(result["2305.17333"])


# -- PDF ---------------------------------------------------------------------


def test_fetch_pdf_downloads_versioned_url_under_configured_base(fake_arxiv: FakeArxiv, make_client) -> None:
    data = make_client(fake_arxiv, pdf_url=fake_arxiv.pdf_url + "/").fetch_pdf(paper_for(MEZO, pdf_url=""))

    assert data == fake_arxiv.pdfs["2305.17333"]
    assert [r["path"] for r in fake_arxiv.requests] == ["/pdf/2305.17333v3"]


def test_fetch_pdf_second_fetch_comes_from_cache(fake_arxiv: FakeArxiv, make_client, tmp_path: Path) -> None:
    paper = paper_for(MEZO)
    first = make_client(fake_arxiv).fetch_pdf(paper)

    again = make_client(fake_arxiv).fetch_pdf(paper)  # a later run, same cache

    assert again == first
    assert len(fake_arxiv.pdf_requests()) == 1
    assert (tmp_path / "cache" / "pdf" / "2305.17333v3.pdf").read_bytes() == first


def test_fetch_pdf_caches_old_style_ids_under_a_safe_name(fake_arxiv: FakeArxiv, make_client,
                                                          tmp_path: Path) -> None:
    fake_arxiv.add(OLD_STYLE, llava_pdf())
    client = make_client(fake_arxiv)

    client.fetch_pdf(paper_for(OLD_STYLE))
    client.fetch_pdf(paper_for(OLD_STYLE))

    assert [r["path"] for r in fake_arxiv.pdf_requests()] == ["/pdf/hep-th/9901001v1"]
    assert (tmp_path / "cache" / "pdf" / "hep-th_9901001v1.pdf").is_file()


def test_fetch_pdf_refuses_an_html_page_and_caches_nothing(fake_arxiv: FakeArxiv, make_client,
                                                           tmp_path: Path) -> None:
    page = b"<!DOCTYPE html><html><body>Please verify you are human</body></html>"
    fake_arxiv.pdf_faults["2305.17333"] = [Reply(200, page, {"Content-Type": "text/html"})]

    with pytest.raises(PdfError, match="HTML page instead of a PDF"):
        make_client(fake_arxiv).fetch_pdf(paper_for(MEZO))

    assert not (tmp_path / "cache" / "pdf" / "2305.17333v3.pdf").exists()


def test_fetch_pdf_refuses_a_file_declared_above_the_size_cap(fake_arxiv: FakeArxiv, make_client) -> None:
    with pytest.raises(PdfError, match="above the 0.000953674 MB cap"):
        make_client(fake_arxiv, max_pdf_bytes=1000).fetch_pdf(paper_for(MEZO))


def test_fetch_pdf_stops_reading_an_undeclared_stream_past_the_size_cap(make_client) -> None:
    chunks_sent: list[int] = []

    def endless_pdf() -> Iterator[bytes]:
        yield b"%PDF-1.7\n"
        for n in range(1000):
            chunks_sent.append(n)
            yield b"0" * 1024

    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=endless_pdf()))
    client = make_client(http=httpx.Client(transport=transport), max_pdf_bytes=10 * 1024)

    with pytest.raises(PdfError, match="larger than"):
        client.fetch_pdf(paper_for(MEZO))
    assert len(chunks_sent) < 1000


def test_fetch_pdf_turns_a_redirect_loop_into_pdf_error(fake_arxiv: FakeArxiv, make_client) -> None:
    loop = Reply(302, b"", {"Location": f"{fake_arxiv.pdf_url}/2305.17333v3"})
    fake_arxiv.pdf_faults["2305.17333"] = [loop] * 100

    with pytest.raises(PdfError, match="too many redirects"):
        make_client(fake_arxiv).fetch_pdf(paper_for(MEZO))


def test_fetch_pdf_falls_back_to_feed_link_when_configured_url_is_404(fake_arxiv: FakeArxiv, make_client) -> None:
    client = make_client(fake_arxiv, pdf_url=fake_arxiv.url + "/mirror")
    paper = paper_for(MEZO, pdf_url=f"{fake_arxiv.pdf_url}/2305.17333v3")

    data = client.fetch_pdf(paper)

    assert data == fake_arxiv.pdfs["2305.17333"]
    assert [r["path"] for r in fake_arxiv.requests] == ["/mirror/2305.17333v3", "/pdf/2305.17333v3"]


def test_fetch_pdf_without_feed_link_reports_not_found(fake_arxiv: FakeArxiv, make_client) -> None:
    with pytest.raises(PdfError, match="not found"):
        make_client(fake_arxiv).fetch_pdf(paper_for(dataclasses.replace(MEZO, id="2305.00001")))


def test_fetch_pdf_retries_server_errors_then_succeeds(fake_arxiv: FakeArxiv, make_client,
                                                       fake_time: FakeTime) -> None:
    fake_arxiv.pdf_faults["2304.08485"] = [Reply(502, b"bad gateway")]

    data = make_client(fake_arxiv).fetch_pdf(paper_for(LLAVA))

    assert data == fake_arxiv.pdfs["2304.08485"]
    assert len(fake_arxiv.pdf_requests()) == 2
    assert len(fake_time.sleeps) == 1


def test_fetch_pdf_reports_gone_server_as_pdf_error(make_client, fake_time: FakeTime) -> None:
    client = make_client(pdf_url=f"http://127.0.0.1:{closed_port()}/pdf", attempts=2)

    with pytest.raises(PdfError, match="connection failed after 2 attempts"):
        client.fetch_pdf(paper_for(MEZO))
    assert client.pdf_downloads == 2


def test_fetch_pdf_ignores_a_corrupt_cache_file(fake_arxiv: FakeArxiv, make_client, tmp_path: Path) -> None:
    cached = tmp_path / "cache" / "pdf" / "2305.17333v3.pdf"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"<html>half-written")

    data = make_client(fake_arxiv).fetch_pdf(paper_for(MEZO))

    assert data == fake_arxiv.pdfs["2305.17333"]
    assert cached.read_bytes() == data
    assert len(fake_arxiv.pdf_requests()) == 1


# -- real recorded API responses (../shared/corpus/api) -------------------------------------------

API = corpus.SHARED_CORPUS / "api"


def _recorded() -> list:
    """Every recorded response: the Atom files, and the JSON records of the arxiv.py project
    (url, status code, body), current and 2016 formats alike."""
    if not API.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"recorded API responses not found at {API}"),
                             id="no-corpus")]
    found = sorted(API.glob("*.xml")) + sorted(API.glob("*/*.json"))
    return [pytest.param(path, id=path.name) for path in found]


def _body(path) -> tuple[int, bytes]:
    if path.suffix == ".json":
        record = json.loads(path.read_text(encoding="utf-8"))
        return record["status_code"], record["body"].encode("utf-8")
    return (400 if "http400" in path.name else 200), path.read_bytes()


@pytest.mark.parametrize("path", _recorded())
def test_every_recorded_arxiv_response_parses(path) -> None:
    _, body = _body(path)

    papers, errors = parse_atom_feed(body)

    assert len(papers) + len(errors) == body.count(b"<entry>")
    for paper in papers:
        assert paper.title and paper.abstract and paper.authors and paper.id.version
        assert paper.published[:2] in ("19", "20") and paper.primary_category
        assert paper.abs_url.startswith("https://arxiv.org/abs/")
    if b"/api/errors" in body:
        assert errors == [("abc", "incorrect id format for abc")]


@pytest.fixture
def replaying_arxiv(monkeypatch: pytest.MonkeyPatch):
    """A local arXiv answering with the real recorded responses."""
    server = FakeArxiv().start()
    yield server
    server.stop()


@corpus.needs_corpus()
def test_a_malformed_id_arxiv_answers_with_http_400_fails_alone_and_the_rest_lands(replaying_arxiv, make_client):
    refused = (API / "error_malformed_id_abc_http400.xml").read_bytes()
    found = (API / "id_list_2104.12255v1.xml").read_bytes()
    replaying_arxiv.api_override = lambda ids: Reply(400, refused) if "abc" in ids else Reply(200, found)

    result = make_client(replaying_arxiv).fetch_papers([ArxivId("abc"), ArxivId("2104.12255", 1)])

    assert str(result["abc"]) == "abc: arXiv refused it: incorrect id format for abc"
    assert isinstance(result["2104.12255"], Paper) and result["2104.12255"].id.versioned == "2104.12255v1"
    assert [query_of(r)["id_list"] for r in replaying_arxiv.api_requests()] == [["abc,2104.12255v1"], ["2104.12255v1"]]


@corpus.needs_corpus()
def test_a_well_formed_unknown_id_gets_an_empty_feed_and_one_line_while_the_rest_lands(replaying_arxiv, make_client):
    both = (API / "id_list_multi_0808.05394_1707.08567_one-missing.xml").read_bytes()
    replaying_arxiv.api_override = lambda ids: Reply(200, both)

    result = make_client(replaying_arxiv).fetch_papers([ArxivId("0808.05394"), ArxivId("1707.08567")])

    assert str(result["0808.05394"]) == "0808.05394: no such paper on arXiv"
    assert isinstance(result["1707.08567"], Paper)


@corpus.needs_corpus()
def test_digest_add_reports_a_refused_id_in_one_line_and_adds_the_rest(workspace, fake_arxiv) -> None:
    """Through the CLI: arXiv refuses one id of the batch (HTTP 400, its real Error entry); that id
    gets one line on stderr, the other paper lands, the exit code says some failed."""
    from test_cli import digest

    refused = (API / "error_malformed_id_abc_http400.xml").read_bytes().replace(b"abc", b"2305.99999")
    plain = fake_arxiv.handle

    def handle(method, path, body, headers):
        if "id_list=" in path and "2305.99999" in path:
            return Reply(400, refused, {"Content-Type": "application/atom+xml"})
        return plain(method, path, body, headers)

    fake_arxiv.handle = handle
    result = digest("add", "2305.99999", MEZO_ID.base)

    assert result.exit_code == 3, result.output
    errors = [line for line in result.stderr.splitlines() if "2305.99999" in line]
    assert errors == ["digest: error: 2305.99999: arXiv refused it: incorrect id format for 2305.99999"]
    assert "1 added" in result.stderr


@corpus.needs_corpus()
def test_affiliations_arxiv_lists_are_kept_distinct_in_author_order() -> None:
    papers, _ = parse_atom_feed((API / "id_list_astro-ph_0601001.xml").read_bytes())
    assert papers[0].affiliations == ("Ohio State", "CfA", "Warsaw University Observatory")
    assert papers[0].authors[:2] == ("Andrew Gould", "Susan Dorsher")


@corpus.needs_corpus()
def test_an_item_keeps_the_affiliations_only_where_arxiv_lists_some() -> None:
    from dataclasses import replace

    from digestcli.items import paper_meta

    papers, _ = parse_atom_feed((API / "id_list_astro-ph_0601001.xml").read_bytes())
    assert paper_meta(papers[0])["affiliations"] == ["Ohio State", "CfA", "Warsaw University Observatory"]
    assert "affiliations" not in paper_meta(replace(papers[0], affiliations=()))
