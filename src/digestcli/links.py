"""Links that are not arXiv papers: repositories, blog posts, videos, anything else.

A link is classified by its address (and, once fetched, by its page): a GitHub
or GitLab repository goes to Open Source (👉), a video to Pointers (📹), an
article to More Reads (📝), anything else to More Reads (🔗). The page is
fetched with httpx under a size cap (on decoded bytes) and parsed with BeautifulSoup (stdlib
parser backend) for its og:title / <title>, og:description / meta description
/ first paragraph, and a repository's stars. A failed fetch is not an error:
the link is still added with what its address says, for the author to fill in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_PAGE_BYTES = 2 * 1024 * 1024
_REPO_HOSTS = ("github.com", "gitlab.com", "codeberg.org")
_VIDEO_HOSTS = ("youtube.com", "youtu.be", "vimeo.com")
_BLOG_HOSTS = ("medium.com", "substack.com", "github.io", "hashnode.dev", "dev.to", "huggingface.co")


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


def is_web_link(text: str) -> bool:
    parts = urlsplit(text.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.").removeprefix("m.")


def _on(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def classify(url: str, og_type: str = "") -> tuple[str, str, str]:
    """(kind, section, emoji) of a link."""
    host, path = _host(url), urlsplit(url).path.strip("/")
    if _on(host, _REPO_HOSTS) and len(path.split("/")) >= 2:
        return "repository", "Open Source", "👉"
    if _on(host, _VIDEO_HOSTS) or og_type.startswith("video"):
        return "video", "Pointers", "📹"
    if og_type == "article" or _on(host, _BLOG_HOSTS) or re.search(r"(^|/)(blog|posts?|articles?)(/|$)", path):
        return "article", "More Reads", "📝"
    return "link", "More Reads", "🔗"


def title_from_url(url: str) -> str:
    host, path = _host(url), urlsplit(url).path.strip("/")
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
    except httpx.HTTPError as error:
        return _with_warning(fallback, type(error).__name__)
    return parse_page(url, page.decode(encoding, "replace"))


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
        match = re.search(r"([\d,]+)", str(text))
        if match:
            return int(match.group(1).replace(",", ""))
    return None


def item_key(url: str) -> str:
    """A file name for the link's item, from its address."""
    from slugify import slugify

    parts = urlsplit(url)
    return "link-" + (slugify(f"{_host(url)} {parts.path}", max_length=80) or "page")


def document_pdf_url(url: str) -> str:
    """The PDF address of a paper that is not on arXiv, or '' if ``url`` is not one:
    an OpenReview forum or pdf page, or any address ending in .pdf."""
    from urllib.parse import parse_qs

    parts = urlsplit(url)
    if _host(url) == "openreview.net" and parts.path.rstrip("/") in ("/forum", "/pdf"):
        paper_id = parse_qs(parts.query).get("id", [""])[0]
        return f"https://openreview.net/pdf?id={paper_id}" if re.fullmatch(r"[A-Za-z0-9_-]{4,40}", paper_id) else ""
    return url if parts.path.lower().endswith(".pdf") else ""
