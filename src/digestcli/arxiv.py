"""arXiv client: Atom API metadata and PDF downloads over one httpx.Client.

Groups ids (100 per request, max_results always sent), keeps at least the
configured interval between API requests, retries transient failures with
backoff honouring Retry-After (never a request that ran past its deadline),
reads every answer under a cap on its decoded size, parses the feed without
entities or DTDs and caches PDFs by id and version. It never prints and never
sleeps outside its throttle and retry policy; callers get Paper values or
ArxivError/PdfError.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from .errors import ArxivError, IdentifierError, PdfError, PdfNotFoundError
from .files import write_atomic
from .ids import parse_arxiv_id
from .models import ArxivId, Paper
from .net import DeadlineExceeded, read_at_most

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
IDS_PER_REQUEST = 100
MAX_RETRY_AFTER = 120.0  # seconds; a longer Retry-After means "come back later"
MAX_FEED_BYTES = 16 * 1024 * 1024  # decoded; a feed of 100 papers is a few hundred KB


class Throttle:
    """At most one call per ``interval`` seconds, across threads."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._last: float | None = None

    def wait(self) -> None:
        with self._lock:
            if self._last is not None:
                delay = self._last + self.interval - self._clock()
                if delay > 0:
                    self._sleep(delay)
            self._last = self._clock()


class _TransientStatus(Exception):
    def __init__(self, status: int, retry_after: float | None, url: str) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after
        self.url = url


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, _TransientStatus):
        return error.retry_after is None or error.retry_after <= MAX_RETRY_AFTER
    # A server still answering when the deadline passed is slow, not briefly down: asking again
    # would only multiply the wait.
    return isinstance(error, httpx.TransportError) and not isinstance(error, DeadlineExceeded)


def _backoff(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, _TransientStatus) and error.retry_after is not None:
        return error.retry_after
    return min(30.0, 1.0 * 2 ** (state.attempt_number - 1))


def _describe(error: BaseException) -> str:
    if isinstance(error, _TransientStatus):
        if error.status == 429:
            return "rate limited (HTTP 429)"
        return f"server error (HTTP {error.status})"
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    if isinstance(error, httpx.ConnectError):
        return "connection failed"
    return type(error).__name__


class ArxivClient:
    def __init__(
        self,
        http: httpx.Client,
        *,
        api_url: str,
        pdf_url: str,
        cache_dir: Path,
        api_interval: float = 3.0,
        pdf_interval: float = 1.0,
        max_pdf_bytes: int = 50 * 1024 * 1024,
        max_feed_bytes: int = MAX_FEED_BYTES,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.api_url = api_url
        self.pdf_url = pdf_url.rstrip("/")
        self.pdf_cache = cache_dir / "pdf"
        self.max_pdf_bytes = max_pdf_bytes
        self.max_feed_bytes = max_feed_bytes
        self.attempts = attempts
        self._sleep = sleep
        self._clock = clock
        self.api_throttle = Throttle(api_interval, clock, sleep)
        self.pdf_throttle = Throttle(pdf_interval, clock, sleep)
        self.api_requests = 0
        self.pdf_downloads = 0

    # -- metadata -------------------------------------------------------

    def fetch_papers(self, ids: Iterable[ArxivId]) -> dict[str, Paper | ArxivError]:
        """Metadata for each id, keyed by base id; failures are values, not raised."""
        wanted = list(dict.fromkeys(ids))
        results: dict[str, Paper | ArxivError] = {}
        for start in range(0, len(wanted), IDS_PER_REQUEST):
            group = wanted[start : start + IDS_PER_REQUEST]
            try:
                results.update(self._fetch_group(group, retry_missing=True))
            except ArxivError as error:
                results.update({arxiv_id.base: error for arxiv_id in group})
        return results

    def search(self, categories: list[str], since: "datetime", until: "datetime", *, page_size: int = 100,
               limit: int = 1000) -> list[Paper]:
        """New submissions in ``categories`` between ``since`` and ``until`` (UTC), newest first.

        One request per page of ``page_size``, at the API interval like every other request.
        """
        cats = " OR ".join(f"cat:{c}" for c in categories)
        window = f"submittedDate:[{since:%Y%m%d%H%M} TO {until:%Y%m%d%H%M}]"
        found: list[Paper] = []
        start = 0
        while start < limit:
            params = {"search_query": f"({cats}) AND {window}", "start": str(start),
                      "max_results": str(min(page_size, limit - start)), "sortBy": "submittedDate",
                      "sortOrder": "descending"}
            body = self._get_with_retries(self.api_url, params=params, throttle=self.api_throttle, what="arXiv API")
            papers, errors = parse_atom_feed(body)
            if errors:
                raise ArxivError(f"arXiv API rejected the search: {errors[0][1]}")
            found.extend(papers)
            if len(papers) < page_size:
                break
            start += page_size
        return list({paper.id.base: paper for paper in found}.values())

    def _fetch_group(self, group: list[ArxivId], retry_missing: bool) -> dict[str, Paper | ArxivError]:
        params = {"id_list": ",".join(a.versioned for a in group), "max_results": str(len(group))}
        body = self._get_with_retries(self.api_url, params=params, throttle=self.api_throttle, what="arXiv API")
        papers, errors = parse_atom_feed(body)
        by_base = {paper.id.base: paper for paper in papers}
        results: dict[str, Paper | ArxivError] = {}
        bad: set[str] = set()
        for mentioned, message in errors:
            try:
                base = parse_arxiv_id(mentioned).base
            except IdentifierError:
                base = mentioned
            bad.add(base)
            results[base] = ArxivError(f"{mentioned or 'request'}: arXiv refused it: {message}")
        missing = [a for a in group if a.base not in by_base and a.base not in bad]
        for arxiv_id in group:
            if arxiv_id.base in by_base:
                results[arxiv_id.base] = by_base[arxiv_id.base]
        if errors and missing and retry_missing:
            # arXiv answers a request holding a bad id with only an Error entry;
            # ask again for the ids that got no answer.
            results.update(self._fetch_group(missing, retry_missing=False))
        else:
            for arxiv_id in missing:
                results[arxiv_id.base] = ArxivError(f"{arxiv_id}: no such paper on arXiv")
        return results

    # -- PDF --------------------------------------------------------------

    def pdf_cache_path(self, arxiv_id: ArxivId) -> Path:
        return self.pdf_cache / f"{arxiv_id.filename}v{arxiv_id.version or 0}.pdf"

    def cached_pdf(self, paper: Paper) -> bytes | None:
        """The paper's PDF bytes if an earlier download kept them, without a request."""
        cached = self.pdf_cache_path(paper.id)
        if paper.id.version and cached.is_file():
            data = cached.read_bytes()
            if _looks_like_pdf(data):
                return data
        return None

    def fetch_pdf(self, paper: Paper) -> bytes:
        """The paper's PDF bytes, from the cache or downloaded (then cached)."""
        data = self.cached_pdf(paper)
        if data is not None:
            return data
        cached = self.pdf_cache_path(paper.id)
        url = f"{self.pdf_url}/{paper.id.versioned}"
        try:
            data = self._download_pdf(url)
        except PdfNotFoundError:
            # The feed's own link is only a fallback: it is missing from some responses.
            if not paper.pdf_url or paper.pdf_url == url:
                raise
            data = self._download_pdf(paper.pdf_url)
        if paper.id.version:
            write_atomic(cached, data)
        return data

    def download_pdf(self, url: str) -> bytes:
        """Any PDF address, with the same caps, checks and retries as arXiv's (not cached)."""
        return self._download_pdf(url)

    def _download_pdf(self, url: str) -> bytes:
        try:
            for attempt in self._retrying():
                with attempt:
                    return self._download_once(url)
        except PdfError:
            raise
        except DeadlineExceeded as error:
            raise PdfError(f"PDF download from {url} {error}; gave up") from None
        except httpx.DecodingError as error:
            raise PdfError(f"PDF download from {url} failed: {error}") from None
        except (_TransientStatus, httpx.TransportError) as error:
            raise PdfError(f"PDF download from {url} failed: {_describe(error)} after {self.attempts} attempts") from None
        except httpx.TooManyRedirects:
            raise PdfError(f"PDF download from {url} failed: too many redirects") from None
        except httpx.HTTPError as error:
            raise PdfError(f"PDF download from {url} failed: {type(error).__name__}") from None
        raise AssertionError("unreachable")

    def _download_once(self, url: str) -> bytes:
        self.pdf_throttle.wait()
        self.pdf_downloads += 1
        with self.http.stream("GET", url, follow_redirects=True) as response:
            self._check_status(response, url)
            if response.status_code == 404:
                raise PdfNotFoundError(f"PDF not found at {url}")
            if response.status_code >= 400:
                raise PdfError(f"PDF download from {url} failed: HTTP {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_pdf_bytes:
                raise PdfError(f"PDF at {url} is {int(declared) // 2**20} MB, above the {self._cap_mb()} MB cap")
            data, more = read_at_most(response, self.max_pdf_bytes)
            if more:
                raise PdfError(f"PDF at {url} is larger than the {self._cap_mb()} MB cap")
        if not _looks_like_pdf(data):
            kind = "an HTML page" if data.lstrip()[:15].lower().startswith((b"<!doctype", b"<html")) else "not a PDF"
            raise PdfError(f"{url} served {kind} instead of a PDF")
        return data

    def _cap_mb(self) -> str:
        return f"{self.max_pdf_bytes / 2**20:g}"

    # -- HTTP with retries ----------------------------------------------

    def _retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception(_is_transient),
            wait=_backoff,
            stop=stop_after_attempt(self.attempts),
            sleep=self._sleep,
            reraise=True,
        )

    @staticmethod
    def _check_status(response: httpx.Response, url: str) -> None:
        if response.status_code == 429 or response.status_code >= 500:
            raise _TransientStatus(response.status_code, _retry_after_seconds(response), url)

    def _get_with_retries(self, url: str, *, params: dict[str, str], throttle: Throttle, what: str) -> bytes:
        try:
            for attempt in self._retrying():
                with attempt:
                    throttle.wait()
                    self.api_requests += 1
                    return self._get_once(url, params=params, what=what)
        except ArxivError:
            raise
        except DeadlineExceeded as error:
            raise ArxivError(f"{what} {error}; gave up") from None
        except httpx.DecodingError as error:
            raise ArxivError(f"{what} {error}") from None
        except _TransientStatus as error:
            if error.retry_after is not None and error.retry_after > MAX_RETRY_AFTER:
                raise ArxivError(
                    f"{what} is rate limiting us and asked to wait {error.retry_after:.0f} s; try again later"
                ) from None
            raise ArxivError(f"{what} failed: {_describe(error)} after {self.attempts} attempts") from None
        except httpx.TransportError as error:
            raise ArxivError(f"{what} at {url} unreachable: {_describe(error)} after {self.attempts} attempts") from None
        except httpx.HTTPError as error:
            raise ArxivError(f"{what} request failed: {type(error).__name__}") from None
        raise AssertionError("unreachable")

    def _get_once(self, url: str, *, params: dict[str, str], what: str) -> bytes:
        with self.http.stream("GET", url, params=params, follow_redirects=True) as response:
            self._check_status(response, url)
            if response.status_code > 400:
                raise ArxivError(f"{what} refused the request: HTTP {response.status_code}")
            body, more = read_at_most(response, self.max_feed_bytes)
        if more:
            raise ArxivError(f"{what} answer is larger than the {self.max_feed_bytes / 2**20:g} MB cap; refused")
        if response.status_code == 400 and not _names_refused_ids(body):
            raise ArxivError(f"{what} refused the request: HTTP 400")
        return body  # a 400 here names the ids arXiv refuses in Error entries


def _names_refused_ids(body: bytes) -> bool:
    """Whether an HTTP 400 from the API is its Atom feed of Error entries ("incorrect id format for
    abc"): then each id named fails alone and the rest of the group is asked for again."""
    try:
        _, errors = parse_atom_feed(body)
    except ArxivError:
        return False
    return any(mentioned for mentioned, _ in errors)


def _looks_like_pdf(data: bytes) -> bool:
    # The PDF spec lets the header start anywhere in the first 1024 bytes.
    return b"%PDF-" in data[:1024]


# -- Atom parsing -----------------------------------------------------------


def _text(element: Element | None) -> str:
    if element is None or element.text is None:
        return ""
    return " ".join(element.text.split())


def parse_atom_feed(body: bytes) -> tuple[list[Paper], list[tuple[str, str]]]:
    """Papers in an arXiv Atom feed, plus (id mentioned, message) for Error entries.

    Refuses DTDs and entities (billion laughs, external entities).
    """
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException
    from xml.etree.ElementTree import ParseError

    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise ArxivError("arXiv API answered with XML that declares a DTD or entities; refused") from None
    except ParseError as error:
        raise ArxivError(f"arXiv API answered with something that is not XML ({error})") from None
    if root.tag != f"{ATOM}feed":
        raise ArxivError("arXiv API answered with XML that is not an Atom feed")
    papers: list[Paper] = []
    errors: list[tuple[str, str]] = []
    for entry in root.findall(f"{ATOM}entry"):
        entry_id = _text(entry.find(f"{ATOM}id"))
        title = _text(entry.find(f"{ATOM}title"))
        summary = _text(entry.find(f"{ATOM}summary"))
        if title == "Error" or "/api/errors" in entry_id:
            errors.append((_id_in_error(summary), summary or "unknown error"))
            continue
        if not title:
            continue  # old API: an empty entry for an id that does not exist
        try:
            arxiv_id = parse_arxiv_id(entry_id)
        except IdentifierError:
            continue
        papers.append(_paper_from_entry(entry, arxiv_id, title, summary))
    return papers, errors


def _id_in_error(message: str) -> str:
    # e.g. "incorrect id format for 1234.1234"
    marker = " for "
    return message.rsplit(marker, 1)[1].strip() if marker in message else ""


def _paper_from_entry(entry: Element, arxiv_id: ArxivId, title: str, summary: str) -> Paper:
    links: dict[str, str] = {}
    for link in entry.findall(f"{ATOM}link"):
        attrs: dict[str, Any] = link.attrib
        if attrs.get("title") == "pdf" or attrs.get("type") == "application/pdf":
            links["pdf"] = attrs.get("href", "")
        elif attrs.get("rel") == "alternate":
            links["abs"] = attrs.get("href", "")
    primary = entry.find(f"{ARXIV}primary_category")
    categories = tuple(
        dict.fromkeys(c.attrib.get("term", "") for c in entry.findall(f"{ATOM}category") if c.attrib.get("term"))
    )
    primary_term = primary.attrib.get("term", "") if primary is not None else (categories[0] if categories else "")
    if primary_term and primary_term not in categories:
        categories = (primary_term, *categories)
    return Paper(
        id=arxiv_id,
        title=title,
        abstract=summary,
        authors=tuple(_text(a.find(f"{ATOM}name")) for a in entry.findall(f"{ATOM}author")),
        affiliations=tuple(dict.fromkeys(text for a in entry.findall(f"{ATOM}author")
                                         for place in a.findall(f"{ARXIV}affiliation") if (text := _text(place)))),
        published=_text(entry.find(f"{ATOM}published"))[:10],
        updated=_text(entry.find(f"{ATOM}updated"))[:10],
        primary_category=primary_term,
        categories=categories,
        comment=_text(entry.find(f"{ARXIV}comment")),
        journal_ref=_text(entry.find(f"{ARXIV}journal_ref")),
        doi=_text(entry.find(f"{ARXIV}doi")),
        abs_url=f"https://arxiv.org/abs/{arxiv_id.versioned}",
        pdf_url=_https(links.get("pdf", "")),
    )


def _https(url: str) -> str:
    return "https://" + url[len("http://") :] if url.startswith("http://arxiv.org/") else url
