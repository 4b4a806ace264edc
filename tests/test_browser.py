"""The html and email formats of the example workspaces, rendered by a real browser (Debian's chromium)
at phone and desktop widths: every figure loads, nothing is wider than the screen, the title and every
paper's heading are on the page, and no script runs, not even one planted in a paper's summary.

The examples' pages are built anew by the digest CLI into tmp_path and served from 127.0.0.1. With
DIGEST_REGENERATE_SCREENSHOTS=1 the screenshots are also kept in examples/<workspace>/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from browser import DESKTOP, PHONE, browser_fixture, render, save_small_png, serve

from digestcli.items import load_issue_file
from digestcli.render import post_filename
from digestcli.store import Workspace

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ISSUE = "issue-1"
WIDTHS = {"phone": PHONE, "desktop": DESKTOP}
PLANTED = "<script>document.title='pwned'</script> <img src=x onerror=\"document.title='pwned'\">"

browser = browser_fixture()


def digest(root: Path, *args: str) -> None:
    """The installed CLI in its own process, as a writer runs it."""
    result = subprocess.run([sys.executable, "-m", "digestcli.cli", *args], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def copy_example(name: str, target: Path, site_url: str) -> Path:
    """The example workspace (its issues and settings only) in ``target``, its figures served at ``site_url``."""
    root = target / name
    shutil.copytree(EXAMPLES / name, root, ignore=shutil.ignore_patterns("blog", "screenshots", "*.rendered.md"))
    config = root / "digest.toml"
    text = config.read_text(encoding="utf-8")
    assert 'site_url = ""' in text or "site_url" not in text
    text = text.replace('site_url = ""', "").replace('assets_url = "/assets/digest"',
                                                      f'assets_url = "/assets/digest"\nsite_url = "{site_url}"')
    config.write_text(text, encoding="utf-8")
    return root


def build_pages(root: Path, site: Path) -> dict[str, str]:
    """`digest build --format html --out SITE` (the page, its figures beside it) and the email in SITE/email;
    the path of each page under SITE."""
    stem = post_filename(load_issue_file(root / "issues" / ISSUE / "_issue.md", ISSUE)).removesuffix(".md")
    digest(root, "build", ISSUE, "--format", "html", "--out", str(site))
    digest(root, "build", ISSUE, "--format", "email", "--out", str(site / "email"))
    return {"html": f"{stem}.html", "email": f"email/{stem}.html"}


def expected(root: Path) -> dict[str, Any]:
    workspace = Workspace(root)
    items = workspace.items(ISSUE)
    return {"title": workspace.load_issue(ISSUE).title, "papers": [item.title for item in items],
            "figures": sum(workspace.figure_file(ISSUE, item) is not None for item in items)}


def assert_readable(page: dict[str, Any], want: dict[str, Any], width: int) -> None:
    assert page["innerWidth"] == width
    assert page["scrollWidth"] <= page["innerWidth"], "the page is wider than the screen"
    images = page["images"]
    assert len(images) == want["figures"] > 0
    for image in images:
        assert image["complete"] and image["naturalWidth"] > 0, f"{image['src']} did not load"
        assert 0 < image["width"] and image["right"] <= width, f"{image['src']} overflows"
    headings = {h["text"].lstrip("★ "): h for h in page["headings"]}
    for title in [want["title"], *want["papers"]]:
        heading = headings.get(" ".join(title.split()))
        assert heading is not None, f"no heading {title!r}"
        assert heading["shown"] and heading["width"] > 0 and heading["height"] > 0, f"{title!r} is not visible"
        assert 0 <= heading["left"] and heading["right"] <= width and heading["bottom"] <= page["scrollHeight"]
    assert page["scripts"] == 0


@pytest.mark.parametrize("example", ["newsletter", "monthly-digest"])
def test_examples_render_readably_at_phone_and_desktop_widths(browser, tmp_path: Path, example: str) -> None:
    site = tmp_path / "site"
    site.mkdir()
    with serve(site) as base:
        root = copy_example(example, tmp_path, base)
        pages = build_pages(root, site)
        want = expected(root)
        for fmt, path in pages.items():
            for device, width in WIDTHS.items():
                shot = tmp_path / f"{fmt}-{device}.png"
                page = render(browser, f"{base}/{path}", width, shot)
                assert_readable(page, want, width)
                assert page["title"].startswith(want["title"])
                if os.environ.get("DIGEST_REGENERATE_SCREENSHOTS"):
                    save_small_png(shot, EXAMPLES / example / "screenshots" / shot.name)


def test_a_script_planted_in_a_summary_never_runs(browser, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    with serve(site) as base:
        root = copy_example("newsletter", tmp_path, base)
        item = next((root / "issues" / ISSUE).glob("2*.md"))
        head, separator, body = item.read_text(encoding="utf-8").partition("\n---\n\n")
        item.write_text(f"{head}{separator}{PLANTED} {body}", encoding="utf-8")
        pages = build_pages(root, site)
        for path in pages.values():
            page = render(browser, f"{base}/{path}", PHONE)
            assert page["title"] != "pwned" and page["scripts"] == 0
            assert "<script>document.title='pwned'</script>" in page["text"]  # shown as the text it is


def test_the_page_forbids_scripts_even_one_the_sanitizer_missed(browser, tmp_path: Path) -> None:
    """The html format's Content-Security-Policy, as chromium enforces it: a <script> that reached the page
    (a template bug) does not run."""
    site = tmp_path / "site"
    site.mkdir()
    with serve(site) as base:
        root = copy_example("newsletter", tmp_path, base)
        path = site / build_pages(root, site)["html"]
        path.write_text(path.read_text(encoding="utf-8").replace(
            "<main>", "<main><script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"),
            encoding="utf-8")
        page = render(browser, f"{base}/{path.name}", DESKTOP)
        assert page["scripts"] == 1 and page["title"] != "pwned"


@pytest.mark.parametrize("example", ["newsletter", "monthly-digest"])
def test_the_examples_keep_their_screenshots(example: str) -> None:
    from PIL import Image

    for fmt in ("html", "email"):
        for device, width in WIDTHS.items():
            shot = EXAMPLES / example / "screenshots" / f"{fmt}-{device}.png"
            assert shot.is_file(), f"missing {shot}: run DIGEST_REGENERATE_SCREENSHOTS=1 pytest tests/test_browser.py"
            with Image.open(shot) as image:
                assert image.format == "PNG" and image.width == width and image.height > 900
