"""An item's figure in the post and on the blog: the newsletter style shows it under the links, build
--out copies the image where a Jekyll site serves it, and the caption (paper text) stays inert."""

from __future__ import annotations

import html
import re
from pathlib import Path

from test_render import ISSUE, make_workspace, mezo_item
from typer.testing import CliRunner

from digestcli.cli import app
from digestcli.items import Figure, load_item

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64  # a stand-in: build copies bytes, it never decodes them


def with_figure(workspace_root: Path, caption: str, number: int = 1, file: str = "figures/2305.17333.png") -> Path:
    issue = workspace_root / "issues" / ISSUE
    path = issue / "2305.17333.md"
    item = load_item(path).with_figure(Figure(number, 2, caption, file))
    from digestcli.store import Workspace

    Workspace(workspace_root).write_item(ISSUE, item)
    (issue / "figures").mkdir(exist_ok=True)
    (issue / "figures" / "2305.17333.png").write_bytes(PNG)
    return path


def build(workspace_root: Path, monkeypatch, *args: str):
    monkeypatch.chdir(workspace_root)
    return CliRunner().invoke(app, ["build", ISSUE, *args])


def test_the_newsletter_shows_the_figure_under_the_links(tmp_path: Path, monkeypatch) -> None:
    workspace = make_workspace(tmp_path, mezo_item())
    with_figure(workspace.root, "Figure 1: MeZO fine-tunes with forward passes only.")
    result = build(workspace.root, monkeypatch)
    assert result.exit_code == 0, result.output
    links = result.stdout.index("👉[Code](https://github.com/princeton-nlp/MeZO)")
    figure = result.stdout.index('<figure><img src="/assets/digest/issue-3/2305.17333.png"')
    assert links < figure < result.stdout.index("MeZO fine-tunes language models with forward passes only")
    shown = html.unescape(result.stdout)
    assert 'alt="Figure 1: MeZO fine-tunes with forward passes only." width="100%">' in shown
    assert "<figcaption>Figure 1 from <em>Fine-Tuning Language Models with Just Forward Passes</em>" in shown


def test_an_item_without_a_figure_renders_as_before(tmp_path: Path, monkeypatch) -> None:
    workspace = make_workspace(tmp_path, mezo_item())
    result = build(workspace.root, monkeypatch)
    assert result.exit_code == 0 and "<figure>" not in result.stdout


def test_build_out_copies_the_figure_where_the_blog_serves_it(tmp_path: Path, monkeypatch) -> None:
    workspace = make_workspace(tmp_path, mezo_item())
    with_figure(workspace.root, "Figure 1: overview.")
    posts = tmp_path / "blog" / "_posts"
    posts.mkdir(parents=True)
    result = build(workspace.root, monkeypatch, "--out", str(posts))
    assert result.exit_code == 0, result.output
    copied = tmp_path / "blog" / "assets" / "digest" / ISSUE / "2305.17333.png"
    assert copied.read_bytes() == PNG
    post = next(posts.glob("*.md")).read_text(encoding="utf-8")
    assert 'src="/assets/digest/issue-3/2305.17333.png"' in post


def test_assets_dir_and_url_come_from_digest_toml(tmp_path: Path, monkeypatch) -> None:
    workspace = make_workspace(tmp_path, mezo_item())
    config = workspace.root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        'assets_dir = "assets/digest"', 'assets_dir = "static/img"').replace(
        'assets_url = "/assets/digest"', 'assets_url = "https://cdn.example.org/img"'), encoding="utf-8")
    with_figure(workspace.root, "Figure 2: results.", number=2)
    out = tmp_path / "site"
    out.mkdir()
    result = build(workspace.root, monkeypatch, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "static" / "img" / ISSUE / "2305.17333.png").is_file()
    assert 'src="https://cdn.example.org/img/issue-3/2305.17333.png"' in next(out.glob("*.md")).read_text()


def test_a_hostile_caption_stays_text(tmp_path: Path, monkeypatch) -> None:
    workspace = make_workspace(tmp_path, mezo_item())
    with_figure(workspace.root, 'Figure 1: x" onerror="alert(1)" <script>alert(2)</script> {{ site.secret }}')
    result = build(workspace.root, monkeypatch)
    assert result.exit_code == 0, result.output
    block = re.search(r"<figure>.*?</figure>", result.stdout).group(0)
    assert "<script" not in block and 'onerror="' not in block and "{{" not in block
    assert html.unescape(block).count('x" onerror="alert(1)"') == 1  # the alt text, as text
    assert "&#34; onerror&#61;&#34;alert&#40;1&#41;&#34;" in block


def test_a_figure_file_that_leaves_the_issue_folder_is_neither_linked_nor_copied(tmp_path: Path,
                                                                                  monkeypatch) -> None:
    workspace = make_workspace(tmp_path, mezo_item())
    secret = workspace.root / "digest.toml"
    with_figure(workspace.root, "Figure 1: x", file="figures/../../../digest.toml")
    out = tmp_path / "site"
    out.mkdir()
    result = build(workspace.root, monkeypatch, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert not [p for p in out.rglob("*") if p.is_file() and p.read_bytes() == secret.read_bytes()]


def test_the_writer_drops_the_figure_or_gives_their_own(tmp_path: Path, monkeypatch) -> None:
    workspace = make_workspace(tmp_path, mezo_item())
    path = with_figure(workspace.root, "Figure 1: overview.")
    monkeypatch.chdir(workspace.root)
    dropped = CliRunner().invoke(app, ["figure", ISSUE, "2305.17333", "--none"])
    assert dropped.exit_code == 0, dropped.output
    assert load_item(path).figure == Figure(None, None, "", "", "writer")
    assert "<figure>" not in build(workspace.root, monkeypatch).stdout

    own = tmp_path / "mine.png"
    own.write_bytes(PNG)
    given = CliRunner().invoke(app, ["figure", ISSUE, "2305.17333", "--image", str(own)])
    assert given.exit_code == 0, given.output
    assert load_item(path).figure.file == "figures/2305.17333.png"
    assert 'src="/assets/digest/issue-3/2305.17333.png"' in build(workspace.root, monkeypatch).stdout

    url = CliRunner().invoke(app, ["figure", ISSUE, "2305.17333", "--image", "https://example.org/f.png"])
    assert url.exit_code == 0 and load_item(path).figure.file == "https://example.org/f.png"
    assert 'src="https://example.org/f.png"' in build(workspace.root, monkeypatch).stdout


def test_an_image_that_is_not_one_is_refused_in_one_line(tmp_path: Path, monkeypatch) -> None:
    workspace = make_workspace(tmp_path, mezo_item())
    monkeypatch.chdir(workspace.root)
    fake = tmp_path / "notes.png"
    fake.write_text("<svg onload=alert(1)>", encoding="utf-8")
    for args in (["--image", str(fake)], ["--image", "javascript:alert(1)"], ["--none", "--number", "2"], []):
        result = CliRunner().invoke(app, ["figure", ISSUE, "2305.17333", *args])
        assert result.exit_code in (1, 2) and "Traceback" not in result.output, (args, result.output)
        assert "rror" in result.output and "internal error" not in result.output
    assert load_item(workspace.root / "issues" / ISSUE / "2305.17333.md").figure is None


def _blog(tmp_path: Path) -> Path:
    posts = tmp_path / "blog" / "_posts"
    posts.mkdir(parents=True, exist_ok=True)
    return posts


def test_the_other_styles_show_figures_only_when_they_opt_in(tmp_path: Path, monkeypatch) -> None:
    workspace = make_workspace(tmp_path, mezo_item())
    with_figure(workspace.root, "Figure 1: overview.")
    served = 'src="/assets/digest/issue-3/2305.17333.png"'
    for style in ("highlights", "digest", "bookmarks"):
        plain = build(workspace.root, monkeypatch, "--style", style, "--out", str(_blog(tmp_path)))
        assert plain.exit_code == 0, plain.output
        assert not (tmp_path / "blog" / "assets").exists()  # nothing copied for a post that shows nothing
        shown = build(workspace.root, monkeypatch, "--style", style, "--figures")
        assert shown.exit_code == 0, shown.output
        assert served in shown.stdout and "<figcaption>Figure 1 from <em>" in shown.stdout, style
    assert "<figure>" not in build(workspace.root, monkeypatch, "--no-figures").stdout
    config = workspace.root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        'figure_styles = ["newsletter"]', 'figure_styles = ["highlights"]'), encoding="utf-8")
    assert served in build(workspace.root, monkeypatch, "--style", "highlights").stdout
    assert "<figure>" not in build(workspace.root, monkeypatch).stdout  # the newsletter no longer listed
    result = build(workspace.root, monkeypatch, "--style", "highlights", "--out", str(_blog(tmp_path)))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "blog" / "assets" / "digest" / ISSUE / "2305.17333.png").read_bytes() == PNG


def test_a_digest_style_figure_stays_inside_its_list_item(tmp_path: Path, monkeypatch) -> None:
    from markdown_it import MarkdownIt

    workspace = make_workspace(tmp_path, mezo_item())
    with_figure(workspace.root, "Figure 1: overview.")
    post = build(workspace.root, monkeypatch, "--style", "digest", "--figures").stdout
    html = MarkdownIt("commonmark").render(post.split("---", 2)[2])
    item = html[html.index("<li>"):html.rindex("</li>")]
    assert '<figure><img src="/assets/digest/issue-3/2305.17333.png"' in item


def test_a_title_or_caption_finds_no_syntax_in_any_site_dialect(tmp_path: Path, monkeypatch) -> None:
    """The figure is a raw HTML block, which a list item (digest style) lets kramdown and Python-Markdown
    parse, and Pandoc (Quarto) reads: a link, math, a citation or a shortcode there must stay text."""
    from digestcli.sanitize import plain_value
    from digestcli.store import Workspace

    workspace = make_workspace(tmp_path, mezo_item())
    hostile = "T [click](javascript:alert(1)) $\\href{javascript:alert(2)}{x}$ @cite {{< shortcode >}}"
    path = with_figure(workspace.root, f"Figure 1: {hostile}")
    Workspace(workspace.root).write_item(ISSUE, load_item(path).with_meta(title=hostile))
    for site in ("jekyll", "hugo", "mkdocs", "quarto"):
        post = build(workspace.root, monkeypatch, "--style", "digest", "--figures", "--site", site).stdout
        block = re.search(r"<figure>.*?</figure>", post).group(0)
        alt = re.search(r'alt="([^"]*)"', block).group(1)
        caption = re.sub(r"</?(?:figcaption|em)>", "", block[block.index("<figcaption>"):block.index("</figure>")])
        for text in (alt, caption):
            assert not re.search(r"[\[\]()$@{}<>:]", text), (site, text)
        assert html.unescape(caption) == f"Figure 1 from {plain_value(hostile)}"  # the reader sees the words
