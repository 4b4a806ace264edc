"""`digest build --format html|email`: one golden file per output, the HTML read by an HTML5 parser
(html5lib, the algorithm browsers use), the .eml by Python's email package, and the paper's or the
model's text kept inert on its way through Markdown, templates and the CSS inliner."""

from __future__ import annotations

import os
import re
from email import policy
from email.parser import BytesParser
from pathlib import Path

import html5lib
import pytest
from test_figure_publish import PNG, with_figure
from test_render import ISSUE, make_workspace, mezo_item
from typer.testing import CliRunner

from digestcli.cli import app
from digestcli.items import Item, format_body
from digestcli.models import SummaryFields

GOLDEN = Path(__file__).parent / "golden"
SITE = "https://papers.example.org"
STEM = "2026-11-23-issue-3"
HOSTILE = SummaryFields(
    short_name="Hostile",
    tldr="A summary with <script>document.title='pwned'</script> in it, and **bold** words.",
    whats_new="An image <img src=x onerror=\"document.title='pwned'\"> and a [link](javascript:alert(1)).",
    how_it_works="A <a href=\"javascript:alert(2)\">raw link</a>, an ![tracker](https://tracker.example/p.png) "
                 "and [a real one](https://example.org/a?b=1&c=2).",
    key_insights=["<iframe src=\"https://evil.example\"></iframe> framed", "`<b>code</b>` stays code"],
    results="# Not a heading\n\n---\n\n<style>body{display:none}</style> {{ site.secret }}",
    code_url=None,
)


def hostile_item() -> Item:
    body = format_body(HOSTILE, notes="My note with <script>alert(3)</script>, *emphasis* and [my link](https://example.org/mine).")
    return Item("2401.00001", {"title": "Hostile <b>Title</b> & \"quotes\"", "short_name": "Hostile",
                               "section": "Research", "arxiv_id": "2401.00001v1",
                               "paper_url": "https://arxiv.org/abs/2401.00001", "code_url": "javascript:alert(4)",
                               "authors": ["Eve <script>", "Mallory"], "published": "2024-01-01",
                               "provenance": {"backend": "openai", "created": "2026-11-22T09:00:00.000+00:00"}}, body)


@pytest.fixture
def issue_root(tmp_path: Path) -> Path:
    """Two papers (one starred, with a figure and notes) and an intro; site_url set for the email."""
    workspace = make_workspace(tmp_path, mezo_item(authors=["Sadhika Malladi", "Tianyu Gao", "Eshaan Nichani",
                                                            "Alex Damian"], published="2023-05-27", starred=True))
    from test_render import llava_item

    workspace.write_item(ISSUE, llava_item(authors=["Haotian Liu", "Chunyuan Li"], published="2023-04-17"))
    info = workspace.load_issue(ISSUE)
    info.intro = "Two papers this week: fine-tuning *without* backpropagation, and teaching a model to see."
    workspace.save_issue(info)
    with_figure(workspace.root, "Figure 1: MeZO fine-tunes with forward passes only.")
    config = workspace.root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('site_url = ""', f'site_url = "{SITE}"'),
                      encoding="utf-8")
    return workspace.root


def build(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str):
    monkeypatch.chdir(root)
    return CliRunner().invoke(app, ["build", ISSUE, *args])


def parse(html: str):
    """The document as a browser builds it; html5lib in strict mode raises on any parse error."""
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(html)


def text_of(element) -> str:
    return " ".join("".join(element.itertext()).split())


@pytest.mark.parametrize(("fmt", "golden"), [("html", "issue.html"), ("email", "issue.email.html")])
def test_page_matches_its_golden_file(issue_root: Path, monkeypatch, fmt: str, golden: str) -> None:
    result = build(issue_root, monkeypatch, "--format", fmt)
    assert result.exit_code == 0, result.output
    _compare(result.stdout, GOLDEN / golden)


def test_email_plain_text_matches_its_golden_file(issue_root: Path, monkeypatch, tmp_path: Path) -> None:
    result = build(issue_root, monkeypatch, "--format", "email", "--out", str(tmp_path / "mail"))
    assert result.exit_code == 0, result.output
    _compare((tmp_path / "mail" / f"{STEM}.txt").read_text(encoding="utf-8"), GOLDEN / "issue.email.txt")


def _compare(text: str, golden: Path) -> None:
    if os.environ.get("DIGEST_REGENERATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), f"missing {golden}"
    assert text == golden.read_text(encoding="utf-8"), f"differs from {golden}"


def test_html_page_is_a_standalone_document_with_one_heading_per_paper(issue_root: Path, monkeypatch,
                                                                        tmp_path: Path) -> None:
    result = build(issue_root, monkeypatch, "--format", "html", "--out", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    page = tmp_path / "site" / f"{STEM}.html"
    document = parse(page.read_text(encoding="utf-8"))
    assert document.get("lang") == "en"
    csp = document.find(".//meta[@http-equiv='Content-Security-Policy']").get("content")
    assert "default-src 'none'" in csp and "script-src" not in csp  # scripts fall back to 'none'
    assert document.findall(".//script") == [] and document.findall(".//link") == []
    assert len(document.findall(".//style")) == 1
    assert [text_of(h) for h in document.findall(".//h1")] == ["Issue #3"]
    articles = document.findall(".//article")
    titles = [text_of(a.find("h3")) for a in articles]
    assert titles == ["★ Fine-Tuning Language Models with Just Forward Passes", "Visual Instruction Tuning"]
    toc = [a.get("href") for a in document.findall(".//nav//a")]
    assert toc == [f"#{a.get('id')}" for a in articles]
    mezo = articles[0]
    assert [(a.text, a.get("href")) for a in mezo.findall(".//p[@class='links']/a")] == [
        ("Paper", "https://arxiv.org/abs/2305.17333"), ("Code", "https://github.com/princeton-nlp/MeZO")]
    assert "Sadhika Malladi, Tianyu Gao, Eshaan Nichani et al." in text_of(mezo.find("p[@class='byline']"))
    image = mezo.find(".//figure/img")
    assert image.get("src") == f"assets/digest/{ISSUE}/2305.17333.png"  # beside the page: opens from disk
    assert (page.parent / image.get("src")).read_bytes() == PNG
    assert text_of(mezo.find(".//div[@class='notes']")).startswith("Our take: try this before reaching for LoRA.")
    assert articles[1].find(".//figure") is None


def test_html_on_stdout_links_figures_where_the_blog_serves_them(issue_root: Path, monkeypatch) -> None:
    result = build(issue_root, monkeypatch, "--format", "html")
    assert f'src="/assets/digest/{ISSUE}/2305.17333.png"' in result.stdout
    assert "<figure>" not in build(issue_root, monkeypatch, "--format", "html", "--no-figures").stdout


def test_paper_and_model_text_stay_inert_in_the_page_and_the_email(issue_root: Path, monkeypatch) -> None:
    from digestcli.store import Workspace

    Workspace(issue_root).write_item(ISSUE, hostile_item())
    for fmt in ("html", "email"):
        result = build(issue_root, monkeypatch, "--format", fmt)
        assert result.exit_code == 0, result.output
        document = parse(result.stdout)
        body = document.find("body")
        assert document.findall(".//script") == [] and document.findall(".//iframe") == []
        assert [i.get("src") for i in document.iter("img") if "tracker" in (i.get("src") or "")] == []
        assert all(not (i.get("onerror") or "") for i in document.iter("img"))
        links = [a.get("href") for a in document.iter("a") if a.get("href")]
        assert links and all(re.match(r"https?://|#", href) for href in links), links
        # only the writer links: a model's "[a real one](https://...)" is its words, not a link
        assert "https://example.org/mine" in links and "https://example.org/a?b=1&c=2" not in links
        assert "[a real one](https://example.org/a?b=1&c=2)" in text_of(body)
        text = text_of(body)
        for shown in ("<script>document.title='pwned'</script>", "<img src=x onerror=", "<iframe src=",
                      "<style>body{display:none}</style>", "<b>code</b>", "# Not a heading", "<script>alert(3)</script>"):
            assert shown in text, shown
        assert [h.tag for h in body.iter() if h.tag in ("h4", "hr")] == [] and len(body.findall(".//h1")) == 1
        assert "Hostile <b>Title</b> & \"quotes\"" in text


def test_a_workspace_template_cannot_mark_paper_text_safe(issue_root: Path, monkeypatch) -> None:
    from digestcli.store import Workspace

    Workspace(issue_root).write_item(ISSUE, hostile_item())
    (issue_root / "templates").mkdir()
    (issue_root / "templates" / "issue.html.j2").write_text(
        "{% for item in items %}<p>{{ item.entry.tldr | safe }}</p>{{ item.fields[0].html }}{% endfor %}",
        encoding="utf-8")
    result = build(issue_root, monkeypatch, "--format", "html")
    assert result.exit_code == 0, result.output
    assert "<script>" not in result.stdout
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in result.stdout
    assert "<strong>bold</strong>" in result.stdout  # digest's own rendering of the Markdown is kept


def test_email_out_writes_html_text_and_an_eml_with_both_parts(issue_root: Path, monkeypatch, tmp_path: Path) -> None:
    result = build(issue_root, monkeypatch, "--format", "email", "--out", str(tmp_path / "mail"))
    assert result.exit_code == 0, result.output
    folder = tmp_path / "mail"
    assert sorted(p.name for p in folder.iterdir()) == [f"{STEM}.eml", f"{STEM}.html", f"{STEM}.txt"]
    message = BytesParser(policy=policy.default).parsebytes((folder / f"{STEM}.eml").read_bytes())
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "Issue #3" and message["X-Unsent"] == "1" and message["From"] is None
    plain, html = list(message.iter_parts())
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert plain.get_content_charset() == html.get_content_charset() == "utf-8"
    lines = str.splitlines  # the .eml ends its lines with CRLF, as RFC 5322 asks; the files beside it with LF
    assert lines(html.get_content()) == lines((folder / f"{STEM}.html").read_text(encoding="utf-8"))
    assert lines(plain.get_content()) == lines((folder / f"{STEM}.txt").read_text(encoding="utf-8"))
    text = plain.get_content()
    assert "Paper: https://arxiv.org/abs/2305.17333" in text and "★ Fine-Tuning Language Models" in text
    assert max(len(line) for line in text.splitlines() if "://" not in line and not line[:2].isdigit()) <= 72


def test_email_html_has_every_style_inline_and_absolute_images(issue_root: Path, monkeypatch) -> None:
    result = build(issue_root, monkeypatch, "--format", "email")
    assert result.exit_code == 0, result.output
    document = parse(result.stdout)
    assert document.findall(".//style") == [] and document.findall(".//link") == []
    assert document.findall(".//script") == []
    body = document.find("body")
    unstyled = [e.tag for e in body.iter() if e.tag in ("h1", "h2", "h3", "p", "a", "img", "td", "table")
                and not e.get("style")]
    assert unstyled == []
    assert body.find(".//table").get("role") == "presentation"
    assert [i.get("src") for i in body.iter("img")] == [f"{SITE}/assets/digest/{ISSUE}/2305.17333.png"]
    assert "max-width: 600px" in body.find(".//table[@class='container']").get("style")


def test_email_without_an_absolute_address_for_figures_warns_and_leaves_them_out(issue_root: Path,
                                                                                 monkeypatch) -> None:
    config = issue_root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(f'site_url = "{SITE}"', 'site_url = ""'),
                      encoding="utf-8")
    result = build(issue_root, monkeypatch, "--format", "email")
    assert result.exit_code == 0, result.output
    assert "<img" not in result.stdout
    assert "digest: warning: figures left out of the email: [newsletter] assets_url ('/assets/digest') is not an " \
           "absolute http(s) URL; set [newsletter] site_url" in result.stderr
    config.write_text(config.read_text(encoding="utf-8").replace(
        'assets_url = "/assets/digest"', 'assets_url = "https://cdn.example.org/figures"'), encoding="utf-8")
    result = build(issue_root, monkeypatch, "--format", "email")
    assert f'src="https://cdn.example.org/figures/{ISSUE}/2305.17333.png"' in result.stdout and not result.stderr


@pytest.mark.parametrize(("args", "flag"), [(["--format", "pdf"], "--format"),
                                            (["--format", "html", "--style", "digest"], "--style")])
def test_a_format_that_does_not_exist_or_a_style_for_a_page_is_a_usage_error(issue_root: Path, monkeypatch,
                                                                              args: list[str], flag: str) -> None:
    result = build(issue_root, monkeypatch, *args)
    assert result.exit_code == 2 and flag in result.stderr and "Traceback" not in result.output


def test_fields_of_the_workspace_template_appear_in_the_page_the_email_and_its_text(issue_root: Path, monkeypatch,
                                                                                      tmp_path: Path) -> None:
    config = issue_root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[template.field.why_it_matters]\nlabel = "Why it '
                      'matters"\ndescription = "Why a practitioner should care"\nkind = "text"\neditorial = true\n',
                      encoding="utf-8")
    item = issue_root / "issues" / ISSUE / "2305.17333.md"
    text = item.read_text(encoding="utf-8")
    marker = "\n<!-- Your notes go below"
    item.write_text(text.replace(marker, "\n**Why it matters:** One GPU you <em>already</em> own will do.\n" + marker, 1),
                    encoding="utf-8")
    for fmt in ("html", "email"):
        page = parse(build(issue_root, monkeypatch, "--format", fmt).stdout)
        fields = [text_of(div) for div in page.iter("div") if (div.get("class") or "").startswith("field")]
        assert fields[5] == "Why it matters: One GPU you <em>already</em> own will do.", fmt  # after Results
    build(issue_root, monkeypatch, "--format", "email", "--out", str(tmp_path / "mail"))
    assert "\nWhy it matters: One GPU you <em>already</em> own will do.\n" in (
        tmp_path / "mail" / f"{STEM}.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(("args", "flag"), [(["--format", "html", "--site", "hugo"], "--site"),
                                            (["--format", "email", "--site", "gatsby"], "--site"),
                                            (["--format", "atom", "--strict"], "--strict"),
                                            (["--format", "atom", "--figures"], "--figures")])
def test_an_option_the_format_would_ignore_is_a_usage_error(issue_root: Path, monkeypatch, args: list[str],
                                                             flag: str) -> None:
    if "atom" in args:  # the feed takes no ISSUE
        monkeypatch.chdir(issue_root)
        result = CliRunner().invoke(app, ["build", *args])
    else:
        result = build(issue_root, monkeypatch, *args)
    assert result.exit_code == 2 and flag in result.stderr and "Traceback" not in result.output
