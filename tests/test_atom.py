"""`digest build --format atom`: every issue as one Atom feed, read back by feedparser (the parser feed
readers are built on) and by the XML parser itself: well formed, newest issue first, ids the same in
every build and every checkout, updated when an item was last written, and the content's HTML inert."""

from __future__ import annotations

import os
import shutil
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digestcli.cli import app
from digestcli.models import SummaryFields
from test_render import item, llava_item, make_workspace, mezo_item

feedparser = pytest.importorskip("feedparser", reason="feedparser (a test dependency) reads the feed")

GOLDEN = Path(__file__).parent / "golden" / "atom.xml"
ATOM = "{http://www.w3.org/2005/Atom}"


def digest(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str):
    monkeypatch.chdir(root)
    return CliRunner().invoke(app, ["build", "--format", "atom", *args])


def set_site_url(root: Path, url: str) -> None:
    config = root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('site_url = ""', f'site_url = "{url}"'),
                      encoding="utf-8")


@pytest.fixture
def two_issues(tmp_path: Path):
    """issue-3 (2026-11-23: MeZO, LLaVA) and issue-4 (2026-11-30: MeZO again, written later)."""
    workspace = make_workspace(tmp_path, llava_item(), mezo_item())
    later = workspace.create_issue("issue-4", title="Issue #4", today=date(2026, 11, 30))
    later.description = "One paper, read again."
    workspace.save_issue(later)
    workspace.write_item("issue-4", mezo_item(created="2026-12-01T08:30:00.000+00:00"))
    return workspace


def test_the_feed_matches_its_golden_file(two_issues, monkeypatch) -> None:
    set_site_url(two_issues.root, "https://example.org/digest")
    result = digest(two_issues.root, monkeypatch)
    assert result.exit_code == 0, result.output
    if os.environ.get("DIGEST_REGENERATE_GOLDEN"):
        GOLDEN.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == GOLDEN.read_text(encoding="utf-8")


def test_a_feed_parser_reads_every_issue_newest_first(two_issues, monkeypatch) -> None:
    set_site_url(two_issues.root, "https://example.org/digest/")
    feed = feedparser.parse(digest(two_issues.root, monkeypatch).stdout)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "Papers of the Week" and feed.feed.link == "https://example.org/digest/"
    assert [e.title for e in feed.entries] == ["Issue #4", "Issue #3"]
    newest, older = feed.entries
    assert newest.link == "https://example.org/digest/2026/11/30/issue-4.html"  # Jekyll's date permalinks
    assert newest.published == "2026-11-30T00:00:00Z"
    assert newest.updated == "2026-12-01T08:30:00Z"  # when its item was written
    assert older.updated == "2026-11-23T00:00:00Z"  # items written before the issue's date: the date
    assert newest.summary == "One paper, read again."
    assert feed.feed.updated == newest.updated
    html = older.content[0].value
    assert older.content[0].type == "text/html"
    assert html.index("Fine-Tuning Language Models") < html.index("Visual Instruction Tuning")
    assert '<a href="https://arxiv.org/abs/2305.17333">Paper</a>' in html


def test_ids_are_the_same_in_every_build_and_every_checkout(two_issues, monkeypatch, tmp_path: Path) -> None:
    first = feedparser.parse(digest(two_issues.root, monkeypatch).stdout)
    elsewhere = tmp_path / "another-checkout"
    shutil.copytree(two_issues.root, elsewhere)
    second = feedparser.parse(digest(elsewhere, monkeypatch).stdout)
    ids = [e.id for e in first.entries]
    assert ids == [e.id for e in second.entries] and first.feed.id == second.feed.id
    assert len(set(ids)) == 2 and all(i.startswith("urn:uuid:") for i in ids)


@pytest.mark.parametrize("site, link", [
    ("hugo", "https://example.org/posts/2026-11-30-issue-4/"),
    ("mkdocs", "https://example.org/blog/2026/11/30/issue-4/"),
    ("quarto", "https://example.org/posts/2026-11-30-issue-4/"),
])
def test_entries_link_to_the_post_where_each_site_serves_it(two_issues, monkeypatch, site: str, link: str) -> None:
    set_site_url(two_issues.root, "https://example.org")
    feed = feedparser.parse(digest(two_issues.root, monkeypatch, "--site", site).stdout)
    assert feed.entries[0].link == link


def test_without_a_site_url_the_feed_has_no_links_and_says_so_once(two_issues, monkeypatch) -> None:
    result = digest(two_issues.root, monkeypatch)
    assert result.exit_code == 0
    feed = feedparser.parse(result.stdout)
    assert not feed.bozo and [e.get("links", []) for e in feed.entries] == [[], []] and "<link" not in result.stdout
    assert result.stderr.count("site_url") == 1 and result.stderr.startswith("digest: warning:")


def test_out_writes_atom_xml_at_the_root_of_the_site(two_issues, monkeypatch, tmp_path: Path) -> None:
    posts = tmp_path / "blog" / "_posts"
    posts.mkdir(parents=True)
    assert digest(two_issues.root, monkeypatch, "--out", str(posts)).exit_code == 0
    assert feedparser.parse((tmp_path / "blog" / "atom.xml").read_bytes()).entries
    hugo = tmp_path / "hugo"
    assert digest(two_issues.root, monkeypatch, "--site", "hugo", "--out", str(hugo)).exit_code == 0
    assert (hugo / "static" / "atom.xml").is_file()


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.add(tag)


def test_a_planted_script_is_text_in_the_content(tmp_path: Path, monkeypatch) -> None:
    from xml.etree import ElementTree

    fields = SummaryFields.model_construct(
        short_name="EVIL", tldr="<script>alert(1)</script> <img src=x onerror=alert(2)>", whats_new="x",
        how_it_works="\x1b]0;pwned\x07 y", key_insights=["<b>z</b>"], results="[r](javascript:alert(3))", evidence=[])
    workspace = make_workspace(tmp_path, item("2402.00042", "Hostile <script>alert(4)</script>", fields,
                                              created="2026-11-20T09:00:00.000+00:00"))
    result = digest(workspace.root, monkeypatch)
    assert result.exit_code == 0, result.output
    raw = feedparser.parse(result.stdout, sanitize_html=False)  # the HTML as written, not as cleaned
    assert not raw.bozo
    html = raw.entries[0].content[0].value
    parsed = _Tags()
    parsed.feed(html)
    assert parsed.tags <= {"h2", "h3", "p", "a", "strong", "em", "ul", "li"}, parsed.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "javascript:" not in html.split("[r]")[0]
    content = ElementTree.fromstring(result.stdout.encode()).find(f"{ATOM}entry/{ATOM}content")
    assert content is not None and content.get("type") == "html" and "<script>" not in content.text
    assert raw.entries[0].title == "Issue #3"


@pytest.mark.parametrize("args, message", [
    (["issue-3"], "give no ISSUE"),
    (["--style", "bookmarks"], "one entry per issue"),
])
def test_feed_usage_errors_are_one_line(two_issues, monkeypatch, args: list[str], message: str) -> None:
    result = digest(two_issues.root, monkeypatch, *args)
    assert result.exit_code == 2 and message in result.stderr


def test_an_unknown_format_is_a_usage_error(two_issues, monkeypatch) -> None:
    monkeypatch.chdir(two_issues.root)
    result = CliRunner().invoke(app, ["build", "--format", "rss"])
    assert result.exit_code == 2 and "markdown, html, email, atom" in result.stderr


def test_a_workspace_without_items_has_no_feed(workspace: Path, monkeypatch) -> None:
    result = digest(workspace, monkeypatch)
    assert result.exit_code == 1 and "feed would be empty" in result.stderr and "Traceback" not in result.output


def test_a_site_url_that_is_no_web_address_is_one_line(two_issues, monkeypatch) -> None:
    set_site_url(two_issues.root, "javascript:alert(1)")
    result = digest(two_issues.root, monkeypatch)
    assert result.exit_code == 1 and "site_url must be an http(s) address" in result.stderr


def test_the_feed_shows_the_fields_of_the_workspace_template(two_issues, monkeypatch) -> None:
    config = two_issues.root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[template]\nfields = ["tldr", "results"]\n'
                      '[template.field.results]\nlabel = "Ergebnisse"\n', encoding="utf-8")
    result = digest(two_issues.root, monkeypatch, "--format", "atom")
    assert result.exit_code == 0, result.output
    assert "&lt;strong&gt;Ergebnisse:&lt;/strong&gt;" in result.stdout  # the writer's label, as in the post
