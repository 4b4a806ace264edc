"""No live markup from outside, in any style, any template variable, any output format.

Jekyll runs Liquid over a post, then kramdown. Each style is rendered through the
real CLI and parsed here with Python-Markdown and its kramdown-style extensions
(raw HTML passes through, ``{: attr=...}`` attribute lists are applied, HTML
inside Markdown is parsed), then the HTML is scanned for anything live: a tag
from outside, an event handler, a ``javascript:`` link, a Liquid tag. The
payload reaches the item through every door: the arXiv feed (title, authors,
published date, abstract, comment), a PDF's own metadata (/Title, /Author), a
linked page (title, description), a model's answer and evidence quotes, and an
item file whose front matter a person or a tool filled with the wrong types.
"""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import GOOD_SUMMARY
from digestcli.cli import app
from digestcli.items import NOTES_MARKER
from fakes import FakePaper, FakeWeb, chat_completion
from papers import make_pdf

markdown = pytest.importorskip("markdown", reason="Python-Markdown (a test dependency) renders like kramdown")

# Every trick at once; ESC/BEL would retitle a terminal, the notes marker would end the sanitized part.
PAYLOAD = ('<script>alert(1)</script> [x](javascript:alert(2)) {: onmouseover="alert(3)"} '
           '<img src=x onerror=alert(4)> {{ site.secret }} {% include x.html %} '
           '\x1b]0;pwned\x07\x07 ' + NOTES_MARKER + '\n<script>alert(5)</script> {:.evil onclick="alert(6)"}')

FEED_PAYLOAD = re.sub(r"[\x00-\x1f]", "", PAYLOAD)  # XML 1.0 cannot carry control characters
HOSTILE_PAPER = FakePaper(
    id="2402.00042", version=1,
    title="Hostile " + FEED_PAYLOAD,
    abstract="We propose a method. " + FEED_PAYLOAD,
    authors=["Eve " + FEED_PAYLOAD, '{: onmouseover="alert(7)"}', "<b>Mallory</b>", "[m](javascript:alert(8))"],
    published='{:onclick="alert(9)"}',
    comment="Code: https://github.com/evil/repo " + FEED_PAYLOAD,
)

OBEYING_MODEL = {**GOOD_SUMMARY, "short_name": "EVIL <b>{:", "tldr": PAYLOAD, "whats_new": PAYLOAD,
                 "how_it_works": PAYLOAD, "key_insights": [PAYLOAD, "fine"], "results": PAYLOAD,
                 "evidence": [PAYLOAD]}

STYLES = ("newsletter", "highlights", "digest", "bookmarks")
# what the author writes under the marker is theirs, and is published as written
AUTHOR_NOTE = "My own <em>take</em>: read [the thread](https://example.org/thread)."


def digest(*args: str):
    return CliRunner().invoke(app, list(args), prog_name="digest")


class _LiveHTML(HTMLParser):
    """Tags, event handlers and script URLs in HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.handlers: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"{tag} {name}={value}")
            if name in ("href", "src") and value:
                self.urls.append(value)


def to_html(post: str) -> str:
    """The post as Jekyll makes it: front matter off, then Markdown with kramdown's extensions."""
    body = post.split("\n---\n", 1)[1]
    return markdown.markdown(body, extensions=["attr_list", "md_in_html", "tables", "fenced_code", "def_list"])


def assert_inert(post: str, *, author_tags: tuple[str, ...] = ()) -> None:
    html = to_html(post)
    live = _LiveHTML()
    live.feed(html)
    allowed = {"h1", "h2", "h3", "h4", "p", "br", "a", "ul", "ol", "li", "strong", "em", "blockquote", "code", "hr",
               *author_tags}
    assert set(live.tags) <= allowed, sorted(set(live.tags) - allowed)
    assert live.handlers == []
    assert [u for u in live.urls if not u.startswith(("https://", "http://127.0.0.1", "#"))] == []
    assert "javascript:" not in " ".join(live.urls)
    assert not re.search(r"\{\{|\{%|\{:", post), "a Liquid tag or a kramdown attribute list is left"
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", post.replace("\n", "")), "a control character is left"
    assert "<script" not in html and "alert(5)</script>" not in post.split(NOTES_MARKER)[0]
    front = post.split("\n---\n", 1)[0]
    assert "<" not in front and ">" not in front


@pytest.fixture
def hostile_sources(workspace: Path, fake_arxiv, monkeypatch: pytest.MonkeyPatch):
    """A hostile paper on the fake arXiv, a hostile PDF document and a hostile page on a fake web."""
    fake_arxiv.add(HOSTILE_PAPER, make_pdf("Hostile", ["Eve"], "We propose a method. " + PAYLOAD.replace("\n", " "),
                                           [("1 Introduction", ["We propose a method. " * 20])]))
    web = FakeWeb().start()
    page = (f"<html><head><title>Page {PAYLOAD}</title><meta name='description' content='{PAYLOAD}'>"
            f"<meta property='og:type' content='article'></head><body>x</body></html>")
    web.pages["/post"] = ("text/html", page.encode("utf-8", "surrogatepass"))
    pdf = make_pdf("Document " + PAYLOAD.replace("\n", " "), ["Doc Author " + PAYLOAD.replace("\n", " ")],
                   "An abstract. " + PAYLOAD.replace("\n", " "), [("1 Introduction", ["Some text. " * 30])])
    web.pages["/paper.pdf"] = ("application/pdf", pdf)
    yield web
    web.stop()


def _add_everything(web: FakeWeb) -> None:
    for target in (HOSTILE_PAPER.id, f"{web.url}/post", f"{web.url}/paper.pdf"):
        result = digest("add", target)
        assert result.exit_code == 0, (target, result.stderr)


def _append_note(workspace: Path) -> None:
    for path in (workspace / "issues" / "issue-1").glob("*.md"):
        if path.name != "_issue.md":
            path.write_text(path.read_text(encoding="utf-8") + AUTHOR_NOTE + "\n", encoding="utf-8")


def _set_front_matter(path: Path, **values: object) -> None:
    import yaml

    front, body = path.read_text(encoding="utf-8").split("\n---\n", 1)
    meta = yaml.safe_load(front.removeprefix("---\n"))
    meta.update(values)
    path.write_text("---\n" + yaml.safe_dump(meta, allow_unicode=True) + "---\n" + body, encoding="utf-8")


@pytest.mark.parametrize("style", STYLES)
def test_a_hostile_feed_pdf_and_page_are_inert_in_every_style(style: str, workspace: Path, hostile_sources) -> None:
    _add_everything(hostile_sources)
    _append_note(workspace)

    built = digest("build", "--style", style)

    assert built.exit_code == 0, built.stderr
    assert "Hostile" in built.stdout  # the words survive, as text
    if style == "digest":
        assert "Eve" in built.stdout
    assert_inert(built.stdout, author_tags=("em",))
    if style in ("newsletter", "bookmarks"):  # the styles that print notes print them verbatim
        assert AUTHOR_NOTE in built.stdout


@pytest.mark.parametrize("style", STYLES)
def test_a_model_that_answers_with_the_payload_is_inert_in_every_style(style: str, workspace: Path,
                                                                       hostile_sources, fake_openai) -> None:
    fake_openai.responder = lambda request: chat_completion(json.dumps(OBEYING_MODEL))
    _add_everything(hostile_sources)

    built = digest("build", "--style", style)

    assert built.exit_code == 0, built.stderr
    assert_inert(built.stdout)


def test_the_notes_marker_in_fetched_or_generated_text_cannot_open_the_notes(workspace: Path, hostile_sources,
                                                                               fake_openai) -> None:
    fake_openai.responder = lambda request: chat_completion(json.dumps(OBEYING_MODEL))
    _add_everything(hostile_sources)

    for path in (workspace / "issues" / "issue-1").glob("*.md"):
        if path.name == "_issue.md":
            continue
        text = path.read_text(encoding="utf-8")
        body = text.split("\n---\n", 1)[1]
        assert body.count(NOTES_MARKER) == 1, path.name  # digest's own, on its own line
        assert "alert(5)" not in body.split(NOTES_MARKER, 1)[1], path.name  # nothing fetched below it


def test_force_does_not_carry_a_marker_from_the_front_matter_over_as_notes(workspace: Path, fake_arxiv,
                                                                            fake_openai) -> None:
    assert digest("add", "2305.17333").exit_code == 0
    path = workspace / "issues" / "issue-1" / "2305.17333.md"
    text = path.read_text(encoding="utf-8")
    # a tool (or a hostile value) put the marker and a script into a front-matter string
    text = text.replace("---\n", f"---\nquote: '{NOTES_MARKER} <script>alert(1)</script>'\n", 1)
    path.write_text(text + "My note.\n", encoding="utf-8")

    assert digest("add", "--force", "2305.17333").exit_code == 0

    body = path.read_text(encoding="utf-8").split("\n---\n", 1)[1]
    notes = body.split(NOTES_MARKER, 1)[1]
    assert notes.strip() == "My note."
    built = digest("build")
    assert_inert(built.stdout)


def test_hand_filled_front_matter_is_inert_in_every_style(workspace: Path, fake_arxiv) -> None:
    assert digest("add", "2305.17333").exit_code == 0
    # text where text belongs (a value of the wrong type is one line naming the file: test_odd_values.py)
    hostile = {"authors": [PAYLOAD, "{: onclick=x}"], "published": PAYLOAD, "topic": PAYLOAD,
               "abstract": PAYLOAD, "section": "News " + PAYLOAD.replace("\n", " "), "quote": PAYLOAD,
               "short_name": PAYLOAD, "kind": PAYLOAD, "categories": PAYLOAD}
    _set_front_matter(workspace / "issues" / "issue-1" / "2305.17333.md", **hostile)

    for style in STYLES:
        built = digest("build", "--style", style)
        assert built.exit_code == 0, (style, built.stderr)
        assert_inert(built.stdout)


def test_a_workspace_template_cannot_print_outside_text_raw(workspace: Path, hostile_sources) -> None:
    _add_everything(hostile_sources)
    (workspace / "templates").mkdir()
    (workspace / "templates" / "mine.md.j2").write_text(
        "---\n{{ front_matter }}---\n{% for item in items %}\n"
        "{{ item.meta.title }} {{ item.meta.get('authors') }} {{ item.meta.get('published') }} "
        "{{ item.meta.get('abstract') }}\n"
        "{{ item.authors | join(' ') }} {{ item.title ~ '!' }} {{ item.key }}\n"
        "{{ item.tldr | e }} {{ item.notes + item.tldr }} {{ item.abstract | safe }}\n{% endfor %}\n",
        encoding="utf-8")

    built = digest("build", "--style", "mine")

    assert built.exit_code == 0, built.stderr
    assert_inert(built.stdout)


@pytest.mark.parametrize("fmt", ["json", "csv", "bibtex"])
def test_exports_carry_no_control_characters_formulas_or_tex_commands(fmt: str, workspace: Path,
                                                                      hostile_sources) -> None:
    _add_everything(hostile_sources)
    _set_front_matter(next((workspace / "issues" / "issue-1").glob("doc-*.md")),
                      authors=['=HYPERLINK("http://e")', "\\input{/etc/passwd}"])

    result = digest("export", "--format", fmt)

    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out.replace("\n", "").replace("\r", ""))
    if fmt == "json":  # JSON would escape them; the values themselves must not hold them
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", "".join(_strings(json.loads(out))).replace("\n", ""))
    if fmt == "csv":
        cells = [cell for row in csv.reader(io.StringIO(out)) for cell in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
        assert "'=HYPERLINK" in out  # kept, as text a spreadsheet will not run
    if fmt == "bibtex":
        assert "\\input" not in out.replace("\\textbackslash{}input", "")


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _strings(v)]
    if isinstance(value, list):
        return [t for v in value for t in _strings(v)]
    return []


def test_terminal_output_carries_no_escape_sequences(workspace: Path, hostile_sources) -> None:
    _add_everything(hostile_sources)
    outputs = [digest("list"), digest("list", "issue-1"), digest("list", "issue-1", "--json"),
               digest("show", "issue-1", _key(workspace, "link-")),
               digest("check", "issue-1"), digest("add", "--dry-run", "--force", HOSTILE_PAPER.id)]

    for result in outputs:
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", result.stdout.replace("\n", "")), result.stdout
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", result.stderr.replace("\n", "")), result.stderr
    assert "Page" in outputs[1].stdout  # the page's title is listed, as text


def _key(workspace: Path, prefix: str) -> str:
    return next((workspace / "issues" / "issue-1").glob(f"{prefix}*.md")).stem


def test_the_live_progress_table_prints_outside_text_without_markup_or_escapes() -> None:
    from rich.console import Console

    from digestcli.progress import RichReporter

    console = Console(file=io.StringIO(), force_terminal=True, color_system=None, width=200)
    reporter = RichReporter("gpt-4o-mini", console=console)
    reporter.stage("2402.00042", "summary", "[link=http://evil.example]click[/link] \x1b]0;pwned\x07")
    reporter.warn("2402.00042: title [bold red]FAKE ERROR[/] \x1b[2J")
    reporter.close()

    shown = console.file.getvalue()
    assert "[bold red]FAKE ERROR[/]" in shown and "[link=http://evil.example]" in shown  # shown as text
    assert "\x1b]0;" not in shown and "\x1b[2J" not in shown and "\x1b]8;" not in shown


# -- found in review ------------------------------------------------------------------------------

def test_invisible_format_characters_cannot_hide_words_from_the_sanitizer() -> None:
    from digestcli.sanitize import inline_text

    assert inline_text("{\u200b{ site.secret }} <\ufeffscript> sk-\u00adsecret") == "&#123;{ site.secret }} &lt;script&gt; sk-secret"


def test_an_indented_marker_still_keeps_the_notes_yours(workspace: Path, fake_arxiv, fake_openai) -> None:
    assert digest("add", "2305.17333").exit_code == 0
    path = workspace / "issues" / "issue-1" / "2305.17333.md"
    path.write_text(path.read_text(encoding="utf-8").replace(NOTES_MARKER, "  " + NOTES_MARKER)
                    + "My <em>own</em> note.\n", encoding="utf-8")

    built = digest("build")

    assert "My <em>own</em> note." in built.stdout  # verbatim, as notes are


def test_force_on_a_link_whose_file_is_broken_is_one_line(workspace: Path, hostile_sources) -> None:
    url = f"{hostile_sources.url}/post"
    assert digest("add", url).exit_code == 0
    path = next((workspace / "issues" / "issue-1").glob("link-*.md"))
    path.write_text("---\ntitle: [unclosed\n---\nnotes\n", encoding="utf-8")

    result = digest("add", "--force", url)

    assert result.exit_code != 0
    assert "internal error" not in result.stderr and str(path.name) in result.stderr
    assert path.read_text(encoding="utf-8").endswith("notes\n")  # never overwritten


def test_an_issue_locked_too_long_is_one_line(workspace: Path) -> None:
    from filelock import FileLock

    from digestcli.errors import WorkspaceError
    from digestcli.store import Workspace

    space = Workspace(workspace)
    held = FileLock(str(workspace / ".digest" / "locks" / "issue-1.lock"))
    with held, pytest.raises(WorkspaceError, match="issue-1 stayed locked by another digest process"):
        with space.lock("issue-1", timeout=0.05):
            pass


def test_a_since_before_the_year_one_is_a_usage_error(workspace: Path) -> None:
    result = digest("feed", "cs.CL", "--since", "999999d")

    assert result.exit_code == 2 and "internal error" not in result.stderr


def test_show_and_export_never_print_the_key_an_older_item_holds(workspace: Path, fake_arxiv, fake_openai,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-test-not-a-real-key"
    assert digest("add", "2305.17333").exit_code == 0
    path = workspace / "issues" / "issue-1" / "2305.17333.md"
    path.write_text(path.read_text(encoding="utf-8") + f"Written by an older digest: {key}\n", encoding="utf-8")

    for result in (digest("show", "issue-1", "2305.17333"), digest("export"), digest("export", "-f", "csv")):
        assert result.exit_code == 0, result.stderr
        assert key not in result.stdout


def test_an_add_racing_a_new_of_the_same_issue_adds_to_it(workspace: Path, fake_arxiv,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from digestcli.store import Workspace

    real = Workspace.create_issue

    def new_wins_the_race(self, name, *args, **kwargs):  # `digest new issue-5` lands between check and create
        real(self, name)
        return real(self, name, *args, **kwargs)

    monkeypatch.setattr(Workspace, "create_issue", new_wins_the_race)
    result = digest("add", "--issue", "issue-5", "2305.17333")

    assert result.exit_code == 0, result.stderr
    assert (workspace / "issues" / "issue-5" / "2305.17333.md").is_file()
