"""Links that are not arXiv papers: classified, read for a title and description, filed by section."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from digestcli.links import classify, fetch_link, parse_page
from fakes import FakeWeb
from test_cli import digest, error_lines
from test_security import structure

ARTICLE = b"""<!doctype html><html><head>
<title>Fallback title | Some Blog</title>
<meta property="og:type" content="article">
<meta property="og:title" content="How we trained a 7B model on one GPU">
<meta property="og:description" content="A practical walk through memory-efficient fine-tuning.">
</head><body><p>Short.</p></body></html>"""

GITHUB = b"""<html><head><title>GitHub - princeton-nlp/MeZO: [NeurIPS 2023] MeZO</title>
<meta property="og:title" content="GitHub - princeton-nlp/MeZO">
<meta name="description" content="[NeurIPS 2023] MeZO: Fine-Tuning Language Models with Just Forward Passes">
</head><body><span id="repo-stars-counter-star" title="1,131" class="Counter">1.1k</span></body></html>"""


@pytest.mark.parametrize("url, og_type, expected", [
    ("https://github.com/princeton-nlp/MeZO", "", ("repository", "Open Source", "👉")),
    ("https://gitlab.com/group/project", "", ("repository", "Open Source", "👉")),
    ("https://github.com/features", "", ("link", "More Reads", "🔗")),
    ("https://www.youtube.com/watch?v=abc", "", ("video", "Pointers", "📹")),
    ("https://example.com/talk", "video.other", ("video", "Pointers", "📹")),
    ("https://lilianweng.github.io/posts/2023-06-23-agent/", "", ("article", "More Reads", "📝")),
    ("https://example.com/blog/post-1", "", ("article", "More Reads", "📝")),
    ("https://example.com/about", "", ("link", "More Reads", "🔗")),
])
def test_links_are_classified_by_address_and_page_type(url: str, og_type: str, expected: tuple) -> None:
    assert classify(url, og_type) == expected


def test_github_page_gives_name_description_and_stars_through_httpx() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=GITHUB,
                                                                   headers={"content-type": "text/html"}))
    with httpx.Client(transport=transport) as http:
        info = fetch_link(http, "https://github.com/princeton-nlp/MeZO")
    assert (info.kind, info.section, info.stars) == ("repository", "Open Source", 1131)
    assert info.title == "GitHub - princeton-nlp/MeZO" and info.description.startswith("[NeurIPS 2023] MeZO")


def test_page_without_meta_uses_title_and_first_real_paragraph() -> None:
    html = "<html><title> A  Page </title><body><p>Hi</p><p>" + "Long enough paragraph text. " * 3 + "</p></body>"
    info = parse_page("https://example.com/x", html)
    assert info.title == "A Page" and info.description.startswith("Long enough paragraph text.")


def test_unreachable_link_is_still_added_from_its_address(workspace: Path) -> None:
    result = digest("add", "http://127.0.0.1:9/blog/unreachable-post")
    assert result.exit_code == 0, result.stderr
    assert any("could not read" in line for line in result.stderr.splitlines())
    built = digest("build").stdout
    assert "## More Reads" in built and "### 127\\.0.0.1/blog/unreachable-post" in built  # "127." escaped: not a list


@pytest.fixture
def web():
    server = FakeWeb().start()
    server.pages["/blog/7b-on-one-gpu"] = ("text/html; charset=utf-8", ARTICLE)
    server.pages["/evil"] = ("text/html", b"<html><head><meta property='og:title' content='<script>x</script> "
                                          b"{{ site.secret }}'><meta property='og:description' "
                                          b"content='[click](javascript:alert(1)) <img src=x onerror=y>'></head></html>")
    yield server
    server.stop()


def test_article_lands_in_more_reads_with_its_description(workspace: Path, web) -> None:
    url = f"{web.url}/blog/7b-on-one-gpu"
    result = digest("add", url, "--note", "Worth it for the memory tricks.")
    assert result.exit_code == 0, result.stderr
    built = digest("build").stdout
    assert "## More Reads" in built and "### How we trained a 7B model on one GPU" in built
    assert f"📝[Read]({url})" in built
    assert "A practical walk through memory-efficient fine-tuning." in built
    assert "Worth it for the memory tricks." in built
    again = digest("add", url)
    assert "already in issue-1" in again.stderr


def test_hostile_page_cannot_inject_markup(workspace: Path, web) -> None:
    assert digest("add", f"{web.url}/evil").exit_code == 0
    built = digest("build").stdout
    found = structure(built)
    assert found["html"] == [] and found["images"] == []
    assert found["links"] == [f"{web.url}/evil"]
    assert "{{" not in built


def test_an_arxiv_lookalike_address_is_an_error_not_a_link(workspace: Path) -> None:
    result = digest("add", "https://arxiv.org.example.com/abs/2305.17333")
    assert result.exit_code == 1
    assert len(error_lines(result)) == 1


# -- papers from other PDF addresses ---------------------------------------------------------------


def test_openreview_and_pdf_addresses_are_papers_not_links() -> None:
    from digestcli.links import document_pdf_url

    assert document_pdf_url("https://openreview.net/forum?id=Vota6rFhBQ") == "https://openreview.net/pdf?id=Vota6rFhBQ"
    assert document_pdf_url("https://openreview.net/pdf?id=Vota6rFhBQ") == "https://openreview.net/pdf?id=Vota6rFhBQ"
    assert document_pdf_url("https://proceedings.example.org/paper/123.pdf") == "https://proceedings.example.org/paper/123.pdf"
    assert document_pdf_url("https://openreview.net/group?id=ICLR.cc") == ""
    assert document_pdf_url("https://example.com/blog/post") == ""


def test_a_pdf_address_is_summarized_from_the_pdf_itself(workspace: Path, web) -> None:
    from papers import MEZO, mezo_pdf
    from test_cli import item_meta

    web.pages["/papers/mezo.pdf"] = ("application/pdf", mezo_pdf())
    url = f"{web.url}/papers/mezo.pdf"
    result = digest("add", url)
    assert result.exit_code == 0, result.stderr
    key = [p.stem for p in (workspace / "issues" / "issue-1").glob("doc-*.md")][0]
    meta = item_meta(workspace, "issue-1", key)
    assert meta["title"] == MEZO.title and meta["paper_url"] == url and meta["section"] == "Research"
    assert meta["abstract"].startswith("Fine-tuning language models (LMs) has yielded success")
    assert meta["provenance"]["text_source"] == "pdf" and meta["provenance"]["grounding"]["unverified"] == []
    built = digest("build").stdout
    assert f"### {MEZO.title}" in built and f"🔬[Paper]({url})" in built


def test_a_repository_named_after_arxiv_is_a_link_not_an_error() -> None:
    from digestcli.commands.add import _looks_like_arxiv

    assert not _looks_like_arxiv("https://github.com/someone/arxiv-sanity")
    assert _looks_like_arxiv("https://arxiv.org.example.com/abs/2305.17333")
    assert _looks_like_arxiv("https://export.arxiv.org/list/cs.CL/recent")
    assert _looks_like_arxiv("https://mirror.example.org/abs/2305.17333")
