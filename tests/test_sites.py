"""`digest build --site jekyll|hugo|mkdocs|quarto`: each generator's file layout, front matter and
figures (one golden file each), and outside text inert in each generator's own Markdown dialect, read
by the parser that dialect is made of: markdown-it for Hugo's Goldmark (CommonMark), Python-Markdown
with MkDocs Material's extensions and a Jinja pass as the macros plugin makes, and a real pandoc
(Quarto's reader) for Quarto."""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from digestcli.cli import app
from digestcli.models import SummaryFields
from digestcli.sanitize import inline_text
from test_figure_publish import PNG, with_figure
from test_render import ISSUE, item, llava_item, make_workspace, mezo_item

GOLDEN = Path(__file__).parent / "golden"
SITES = ("hugo", "mkdocs", "quarto")
QUARTO_MARKER = "b58fc729-690b-4000-b19f-365a4093b2ff"  # Quarto's reader: marker + hex of a shortcode + "-"
# Every generator's live syntax at once: Hugo and Quarto shortcodes, Liquid and Jinja (MkDocs macros) tags,
# a Jinja comment, math that MathJax would turn into a javascript: link, a Pandoc citation, a backslash
# that would escape digest's own escape, Quarto's shortcode marker, and an attribute list with a handler.
HOSTILE = ('<script>alert(1)</script> {{< env HOME >}} {{% md %}} {% raw %} {{ config }} {# hide #} '
           '$\\href{javascript:alert(2)}{x}$ @fig-secret \\[a\\](javascript:alert(3)) '
           f'{QUARTO_MARKER}-{"{{< env HOME >}}".encode().hex()}- {{onclick="alert(4)"}}')


def build(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str):
    monkeypatch.chdir(root)
    return CliRunner().invoke(app, ["build", ISSUE, *args])


def split(post: str) -> tuple[dict[str, Any], str]:
    head, body = post[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


@pytest.fixture
def blog(tmp_path: Path):
    """The two papers, an intro, and MeZO's figure in the issue folder."""
    workspace = make_workspace(tmp_path, llava_item(), mezo_item())
    info = workspace.load_issue(ISSUE)
    info.intro = "Two papers this week: fine-tuning without backpropagation, and teaching a language model to see."
    workspace.save_issue(info)
    with_figure(workspace.root, "Figure 1: MeZO fine-tunes with forward passes only.")
    return workspace


@pytest.mark.parametrize("site", SITES)
def test_each_site_matches_its_golden_file(blog, monkeypatch, site: str) -> None:
    result = build(blog.root, monkeypatch, "--site", site)
    assert result.exit_code == 0, result.output
    golden = GOLDEN / f"site-{site}.md"
    if os.environ.get("DIGEST_REGENERATE_GOLDEN"):
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8"), f"{site} differs from {golden}"


def test_jekyll_stays_byte_for_byte_what_build_wrote_before(blog, monkeypatch) -> None:
    assert build(blog.root, monkeypatch, "--site", "jekyll").stdout == build(blog.root, monkeypatch).stdout
    front, _ = split(build(blog.root, monkeypatch).stdout)
    assert list(front) == ["layout", "title", "date", "description", "summary", "tags", "minute"]


@pytest.mark.parametrize("site, fields", [
    ("hugo", {"title": "Issue #3", "draft": False, "summary": "MeZO, LLaVA",
              "tags": ["machine learning", "papers", "optimization", "multimodal"]}),
    ("mkdocs", {"title": "Issue #3", "slug": "issue-3",
                "categories": ["machine learning", "papers", "optimization", "multimodal"]}),
    ("quarto", {"title": "Issue #3", "categories": ["machine learning", "papers", "optimization", "multimodal"]}),
])
def test_each_site_gets_the_front_matter_its_generator_reads(blog, monkeypatch, site: str, fields: dict) -> None:
    from datetime import date

    front, _ = split(build(blog.root, monkeypatch, "--site", site).stdout)
    assert {k: front[k] for k in fields} == fields
    assert front["date"] == date(2026, 11, 23)  # a YAML date, as all three parse it
    assert front["description"].startswith("Two papers this week")
    assert "layout" not in front
    if site == "mkdocs":
        assert isinstance(front["readtime"], int) and front["readtime"] >= 1


@pytest.mark.parametrize("site, post, figure, src", [
    ("hugo", "content/posts/2026-11-23-issue-3/index.md", "content/posts/2026-11-23-issue-3/2305.17333.png",
     'src="2305.17333.png"'),
    ("mkdocs", "docs/blog/posts/2026-11-23-issue-3.md", "docs/assets/digest/issue-3/2305.17333.png",
     'src="/assets/digest/issue-3/2305.17333.png"'),
    ("quarto", "posts/2026-11-23-issue-3/index.qmd", "posts/2026-11-23-issue-3/2305.17333.png",
     'src="2305.17333.png"'),
    ("jekyll", "2026-11-23-issue-3.md", "assets/digest/issue-3/2305.17333.png",
     'src="/assets/digest/issue-3/2305.17333.png"'),
])
def test_build_out_writes_where_the_generator_looks(blog, monkeypatch, tmp_path: Path, site: str, post: str,
                                                     figure: str, src: str) -> None:
    root = tmp_path / f"{site}-site"
    root.mkdir()
    result = build(blog.root, monkeypatch, "--site", site, "--out", str(root))
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == sorted([post, figure])
    assert (root / figure).read_bytes() == PNG
    assert src in (root / post).read_text(encoding="utf-8")
    assert f"wrote {root / post}" in result.stderr


def test_the_site_comes_from_digest_toml_and_the_flag_wins(blog, monkeypatch) -> None:
    config = blog.root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('site = "jekyll"', 'site = "quarto"'),
                      encoding="utf-8")
    assert "categories:" in build(blog.root, monkeypatch).stdout
    assert "layout: post" in build(blog.root, monkeypatch, "--site", "jekyll").stdout


def test_an_unknown_site_is_one_line(blog, monkeypatch) -> None:
    flag = build(blog.root, monkeypatch, "--site", "gatsby")
    assert flag.exit_code == 2 and "jekyll, hugo, mkdocs, quarto" in flag.stderr
    config = blog.root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('site = "jekyll"', 'site = "gatsby"'),
                      encoding="utf-8")
    setting = build(blog.root, monkeypatch)
    assert setting.exit_code == 1 and "site must be one of" in setting.stderr
    assert "Traceback" not in setting.output and len(setting.stderr.strip().splitlines()) == 1


def test_bookmarks_is_a_page_of_the_site(blog, monkeypatch, tmp_path: Path) -> None:
    root = tmp_path / "hugo-site"
    result = build(blog.root, monkeypatch, "--site", "hugo", "--style", "bookmarks", "--figures", "--out", str(root))
    assert result.exit_code == 0, result.output
    page = (root / "content" / "bookmarks" / "index.md").read_text(encoding="utf-8")
    assert 'src="2305.17333.png"' in page and (root / "content" / "bookmarks" / "2305.17333.png").is_file()
    assert split(page)[0]["title"] == "Papers of the Week: bookmarks"


# -- outside text stays inert in each dialect ---------------------------------------------------------


def test_a_backslash_of_the_text_cannot_undo_an_escape() -> None:
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").render(inline_text(r"\[a\](https://evil.example/) \[b](javascript:alert(1))"))
    assert "<a " not in html and "\\[a\\](https://evil.example/)" in html


@pytest.fixture
def hostile(tmp_path: Path):
    fields = SummaryFields.model_construct(
        short_name="EVIL [x](javascript:alert(7)) $m$ @c", tldr="::: warning " + HOSTILE, whats_new=HOSTILE,
        how_it_works=HOSTILE, key_insights=[HOSTILE, '--8<-- "secret.txt"'], results=HOSTILE, evidence=[])
    paper = item("2402.00042", 'Hostile {{< env HOME >}} {#evil onclick="alert(5)"}', fields,
                 created="2026-11-20T09:00:00.000+00:00")
    return make_workspace(tmp_path, paper)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [f"{name}={value}" for name, value in attrs if name != "id"]


def assert_plain_html(html: str) -> None:
    found = _Tags()
    found.feed(html)
    assert set(found.tags) <= {"h1", "h2", "h3", "p", "a", "ul", "li", "strong", "em"}, found.tags
    assert [a for a in found.attributes if not a.startswith("href=https://")] == []
    assert "<script" not in html


def assert_no_live_syntax(body: str) -> None:
    """What each generator reads from the raw text before any Markdown: no tag, shortcode or brace."""
    assert not re.search(r"\{\{|\{%|\{#|\{<", body)
    assert "{" not in body and "$" not in body  # shortcode, macro, attribute list, math: all start here


@pytest.mark.parametrize("site", SITES)
def test_outside_text_is_inert_in_each_sites_dialect(hostile, monkeypatch, site: str) -> None:
    result = build(hostile.root, monkeypatch, "--site", site)
    assert result.exit_code == 0, result.output
    front, body = split(result.stdout)
    assert "Hostile" in body and "alert" in body  # the words stay, as text
    assert_no_live_syntax(body)
    assert not re.search(r"\{\{|\{%|\{#|<", json.dumps(front, default=str))
    RENDERERS[site](body, front)


def _hugo(body: str, front: dict) -> None:
    """Goldmark is CommonMark: markdown-it with raw HTML on (Hugo's `unsafe = true`, the looser setting)."""
    from markdown_it import MarkdownIt

    assert_plain_html(MarkdownIt("commonmark", {"html": True}).render(body))


def _mkdocs(body: str, front: dict) -> None:
    """Material's Markdown: Python-Markdown with the extensions its docs set up; the macros plugin first
    renders the page with Jinja, which must find nothing to do."""
    import jinja2
    import markdown

    assert jinja2.Environment(keep_trailing_newline=True).from_string(body).render(config={"secret": "S3"}) == body
    folder = Path.cwd() / "snippets"
    folder.mkdir(exist_ok=True)
    (folder / "secret.txt").write_text("TOP-SECRET", encoding="utf-8")
    html = markdown.markdown(body, extensions=[
        "attr_list", "md_in_html", "admonition", "def_list", "footnotes", "tables", "toc", "pymdownx.details",
        "pymdownx.superfences", "pymdownx.arithmatex", "pymdownx.snippets", "pymdownx.inlinehilite",
        "pymdownx.caret", "pymdownx.mark", "pymdownx.tilde", "pymdownx.keys"],
        extension_configs={"pymdownx.arithmatex": {"generic": True},
                           "pymdownx.snippets": {"base_path": [str(folder)], "check_paths": False}})
    assert "TOP-SECRET" not in html and "arithmatex" not in html
    assert_plain_html(html)


def _quarto(body: str, front: dict) -> None:
    """Pandoc's own Markdown reader, which Quarto's is built on, after Quarto's shortcode pass."""
    pypandoc = pytest.importorskip("pypandoc", reason="pypandoc-binary (a test dependency) ships pandoc")
    assert QUARTO_MARKER not in body
    document = json.loads(pypandoc.convert_text("---\n" + yaml.safe_dump(front) + "---\n" + body, "json",
                                                format="markdown"))
    kinds = set(re.findall(r'"t": ?"(\w+)"', json.dumps(document)))
    assert not kinds & {"Cite", "Math", "RawInline", "RawBlock", "Div", "Span", "Note"}, kinds
    words = json.dumps(document["blocks"])
    assert QUARTO_MARKER not in words  # Quarto would turn it back into a live shortcode
    assert_plain_html(pypandoc.convert_text(body, "html", format="markdown"))
    meta = json.dumps(document["meta"])
    assert '"Link"' not in meta and '"Math"' not in meta and "EVIL" in meta


RENDERERS = {"hugo": _hugo, "mkdocs": _mkdocs, "quarto": _quarto}


def _heading_ids(site: str, body: str) -> set[str]:
    """The ids the site's Markdown gives the post's headings, read from real parsers where they exist."""
    if site == "mkdocs":
        import markdown

        html = markdown.markdown(body, extensions=["attr_list", "md_in_html", "toc"])
    elif site == "quarto":
        pypandoc = pytest.importorskip("pypandoc", reason="pypandoc-binary (a test dependency) ships pandoc")
        html = pypandoc.convert_text(body, "html", format="markdown")
    else:
        return set()
    return set(re.findall(r'<h\d\s+id="([^"]+)"', html))


@pytest.mark.parametrize("site", SITES)
def test_the_contents_link_each_papers_heading_as_its_generator_names_it(blog, monkeypatch, site: str) -> None:
    from digestcli.sites import SITES as GENERATORS, heading_id

    post = build(blog.root, monkeypatch, "--site", site).stdout
    _, body = split(post)
    contents = body[body.index("**In this issue:**"):body.index("## ")]
    targets = re.findall(r"\]\(#([^)]+)\)", contents)
    assert len(targets) == 2
    found = _heading_ids(site, body)
    if found:  # MkDocs' Python-Markdown and Quarto's Pandoc, run here
        assert set(targets) <= found, (targets, found)
    # each generator's own rule, on titles that tell them apart (kramdown drops what is not ASCII and a
    # leading number; GitHub's keeps both and every dash; Python-Markdown folds dashes; Pandoc keeps dots)
    title = "1.58-bit LLMs -- Émile's \"Große\" Model"
    expected = {"jekyll": "bit-llms----miles-groe-model", "hugo": "158-bit-llms----émiles-große-model",
                "mkdocs": "158-bit-llms-emiles-groe-model", "quarto": "bit-llms-émiles-große-model"}
    assert heading_id(GENERATORS[site], title) == expected[site]
    assert _heading_ids(site, f"### {title}\n") in (set(), {expected[site]})  # as the real parser names it


def test_the_feed_has_no_contents_its_reader_could_follow(blog, monkeypatch) -> None:
    monkeypatch.chdir(blog.root)
    feed = CliRunner().invoke(app, ["build", "--format", "atom"]).stdout
    assert "In this issue" not in feed
