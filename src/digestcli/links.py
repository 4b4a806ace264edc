"""Links that are not arXiv papers: repositories, blog posts, videos, anything else.

A link is classified by its address (and, once fetched, by its page): a GitHub
or GitLab repository goes to Open Source (👉), a video to Pointers (📹), an
article to More Reads (📝), anything else to More Reads (🔗). The page is
fetched with httpx under a size cap (on decoded bytes) and parsed with BeautifulSoup (stdlib
parser backend) for its og:title / <title>, og:description / meta description
/ first paragraph, and a repository's stars. A failed fetch is not an error:
the link is still added with what its address says, for the author to fill in.
Every address a person gives is read through ``split_url``, which never raises
anything but an IdentifierError naming it; an item's name identifies its resource
(host, path and the query that matters), so two resources never share a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

from .errors import IdentifierError, quoted

MAX_PAGE_BYTES = 2 * 1024 * 1024
_REPO_HOSTS = ("github.com", "gitlab.com", "codeberg.org")
_VIDEO_HOSTS = ("youtube.com", "youtu.be", "vimeo.com")
_BLOG_HOSTS = ("medium.com", "substack.com", "github.io", "hashnode.dev", "dev.to", "huggingface.co")
# Query parameters that say where a click came from, not what it points to.
_TRACKING = {"fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "_hsenc",
             "_hsmi", "mkt_tok", "ref", "ref_src", "ref_url"}
_TRACKING_ON = {"youtube.com": {"si", "feature", "pp"}, "youtu.be": {"si", "feature"}}  # share-button tags
KEY_SLUG_CHARS = 80  # an item name stays short: the slug, then a hash when the slug cannot tell resources apart


@dataclass(frozen=True)
class LinkInfo:
    url: str
    kind: str  # repository | video | article | link
    section: str
    emoji: str
    title: str
    description: str = ""
    stars: int | None = None
    warning: str = ""  # why the page could not be read, if it could not


def split_url(url: str) -> SplitResult:
    """``urlsplit`` that never raises anything but an IdentifierError naming the address: an unclosed IPv6
    bracket, a bad port, a control character, undecodable bytes, a host IDNA refuses."""
    import httpx

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsed lazily; raises for "x:99999" or "x:abc"
        url.encode("utf-8")  # lone surrogates: bytes of an argument or file that are not UTF-8
        httpx.URL(url).host  # noqa: B018 - what the download will parse (the host lazily, by IDNA)
    except (ValueError, httpx.InvalidURL) as error:
        reason = "not UTF-8" if isinstance(error, UnicodeEncodeError) else str(error).split("\n")[0][:80]
        raise IdentifierError(f"not a valid web address: {quoted(url)} ({reason})") from None
    return parts


def web_address(text: str) -> str:
    """``text`` stripped if it is an http(s) address with a host, '' if it is no web address at all;
    an IdentifierError if it is one that cannot be read."""
    text = text.strip()
    if not re.match(r"https?://", text, re.IGNORECASE):
        return ""
    if not split_url(text).hostname:
        raise IdentifierError(f"not a valid web address: {quoted(text)} (no host)")
    return text


def _host(url: str) -> str:
    return (split_url(url).hostname or "").lower().removeprefix("www.").removeprefix("m.")


def _on(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def classify(url: str, og_type: str = "") -> tuple[str, str, str]:
    """(kind, section, emoji) of a link."""
    host, path = _host(url), split_url(url).path.strip("/")
    if _on(host, _REPO_HOSTS) and len(path.split("/")) >= 2:
        return "repository", "Open Source", "👉"
    if _on(host, _VIDEO_HOSTS) or og_type.startswith("video"):
        return "video", "Pointers", "📹"
    if og_type == "article" or _on(host, _BLOG_HOSTS) or re.search(r"(^|/)(blog|posts?|articles?)(/|$)", path):
        return "article", "More Reads", "📝"
    return "link", "More Reads", "🔗"


def title_from_url(url: str) -> str:
    host, path = _host(url), split_url(url).path.strip("/")
    if _on(host, _REPO_HOSTS) and path:
        return "/".join(path.split("/")[:2])
    return f"{host}/{path}" if path else host


def fetch_link(http: Any, url: str, max_bytes: int = MAX_PAGE_BYTES) -> LinkInfo:
    """The link's page read for a title, a description and stars; never raises for a bad page."""
    import httpx

    from .net import DeadlineExceeded, read_at_most

    kind, section, emoji = classify(url)
    fallback = LinkInfo(url, kind, section, emoji, title_from_url(url))
    try:
        with http.stream("GET", url, follow_redirects=True) as response:
            if response.status_code >= 400:
                return _with_warning(fallback, f"HTTP {response.status_code}")
            if "html" not in response.headers.get("content-type", "text/html"):
                return _with_warning(fallback, f"not an HTML page ({response.headers.get('content-type')})")
            page, _ = read_at_most(response, max_bytes)  # the head of a page is enough
            encoding = response.encoding or "utf-8"
    except DeadlineExceeded as error:
        return _with_warning(fallback, str(error))
    except (httpx.HTTPError, httpx.InvalidURL) as error:  # InvalidURL: a redirect to "javascript:..."
        return _with_warning(fallback, type(error).__name__)
    return parse_page(url, _decoded(page, encoding))


def _decoded(data: bytes, encoding: str) -> str:
    """The page as text in its declared charset; UTF-8 when the charset is no text encoding (base64, zlib)."""
    try:
        return data.decode(encoding, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _with_warning(info: LinkInfo, reason: str) -> LinkInfo:
    return LinkInfo(info.url, info.kind, info.section, info.emoji, info.title, info.description, info.stars,
                    f"could not read {info.url} ({reason}); added with its address only")


def parse_page(url: str, html: str) -> LinkInfo:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")

    def meta(*names: str) -> str:
        for name in names:
            tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
            if tag and tag.get("content", "").strip():
                return " ".join(str(tag["content"]).split())
        return ""

    kind, section, emoji = classify(url, meta("og:type"))
    title = meta("og:title", "twitter:title") or (" ".join(soup.title.get_text().split()) if soup.title else "")
    description = meta("og:description", "description", "twitter:description")
    if not description:
        for paragraph in soup.find_all("p"):
            text = " ".join(paragraph.get_text(" ").split())
            if len(text) >= 40:
                description = text
                break
    return LinkInfo(url, kind, section, emoji, title or title_from_url(url), description[:600],
                    _stars(soup) if kind == "repository" else None)


def _stars(soup: Any) -> int | None:
    """GitHub shows stars as 'N users starred this repository' and in #repo-stars-counter-star."""
    counter = soup.find(id="repo-stars-counter-star")
    candidates = [counter.get("title", "") if counter else ""]
    candidates += [tag.get("aria-label", "") for tag in soup.find_all(attrs={"aria-label": re.compile("starred")})]
    for text in candidates:
        match = re.search(r"\d[\d,]{0,15}", str(text), re.ASCII)  # a count, not a 5000-digit number
        if match:
            return int(match.group().replace(",", ""))
    return None


def resource_query(url: str) -> str:
    """The query that names the resource: tracking parameters (utm_*, fbclid, ref, ...) dropped,
    the rest sorted, so the same resource shared twice has one query and two resources two."""
    host = _host(url)
    dropped = _TRACKING | next((names for domain, names in _TRACKING_ON.items() if _on(host, (domain,))), set())
    pairs = [(name, value) for name, value in parse_qsl(split_url(url).query, keep_blank_values=True)
             if name.lower() not in dropped and not name.lower().startswith("utm_")]
    return urlencode(sorted(pairs))


def item_key(url: str, prefix: str = "link") -> str:
    """A file name for the item of the resource at ``url``: ``link-<host-path slug>``, and when a query
    names the resource (``watch?v=...``, ``forum?id=...``) or the slug is too long to tell two
    addresses apart, the slug (query included) cut short and 8 hex digits of the resource's address.
    The name of an address without such a query is the one earlier versions gave it."""
    from slugify import slugify

    from .files import sha256_hex

    parts, host, query = split_url(url), _host(url), resource_query(url)
    slug = slugify(f"{host} {parts.path}") or "page"
    if not query and len(slug) <= KEY_SLUG_CHARS:
        return f"{prefix}-{slug}"
    resource = f"{host}{parts.path}" + (f"?{query}" if query else "")
    readable = slugify(f"{host} {parts.path} {query}", max_length=KEY_SLUG_CHARS) or "page"
    return f"{prefix}-{readable}-{sha256_hex(resource)[:8]}"


def legacy_item_key(url: str, prefix: str = "link") -> str:
    """The name earlier versions gave the item: host and path only, cut at 80 characters."""
    from slugify import slugify

    return f"{prefix}-" + (slugify(f"{_host(url)} {split_url(url).path}", max_length=KEY_SLUG_CHARS) or "page")


def document_pdf_url(url: str) -> str:
    """The PDF address of a paper that is not on arXiv, or '' if ``url`` is not one:
    an OpenReview forum or pdf page, or any address ending in .pdf."""
    from urllib.parse import parse_qs

    parts = split_url(url)
    if _host(url) == "openreview.net" and parts.path.rstrip("/") in ("/forum", "/pdf"):
        paper_id = parse_qs(parts.query).get("id", [""])[0]
        return f"https://openreview.net/pdf?id={paper_id}" if re.fullmatch(r"[A-Za-z0-9_-]{4,40}", paper_id) else ""
    return url if parts.path.lower().endswith(".pdf") else ""


def document_key(url: str) -> str:
    """The item name of a paper at a PDF address: named by its PDF, so an OpenReview forum page and
    its PDF are one item."""
    return item_key(document_pdf_url(url) or url, "doc")
