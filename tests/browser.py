"""Debian's chromium driven by playwright, and a local web server, for tests/test_browser.py.

Never downloads a browser: playwright launches /usr/bin/chromium (`apt-get install chromium`; .ci/run
does it). Without it the fixtures skip, naming the install line, except under CI (CI set), where they fail.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import util
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
INSTALL = "apt-get install -y chromium (as root), and pip install -e '.[test]' for playwright"
# No sandbox (CI runs as root), no GPU, and none of the calls home a fresh profile makes.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-default-apps", "--disable-extensions"]
PHONE, DESKTOP = 390, 1280  # CSS pixels: an iPhone 12-15, a laptop
# What the page shows, measured by the browser itself after it loaded (images included).
MEASURE = """() => {
  const box = e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
    return {text: e.textContent.replace(/\\s+/g, ' ').trim(), width: r.width, height: r.height,
            left: r.left + scrollX, right: r.right + scrollX, top: r.top + scrollY, bottom: r.bottom + scrollY,
            shown: s.visibility !== 'hidden' && s.display !== 'none' && Number(s.opacity) > 0}; };
  return {scrollWidth: document.scrollingElement.scrollWidth, innerWidth: innerWidth,
          scrollHeight: document.scrollingElement.scrollHeight, title: document.title,
          scripts: document.scripts.length,
          images: [...document.images].map(i => ({src: i.currentSrc, complete: i.complete,
                                                  naturalWidth: i.naturalWidth, ...box(i)})),
          headings: [...document.querySelectorAll('h1, h3')].map(box),
          text: document.body.innerText};
}"""


def missing() -> str | None:
    """Why a browser test cannot run here, or None when it can."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is not installed; run: {INSTALL}"
    if util.find_spec("playwright") is None:
        return f"playwright is not installed; run: {INSTALL}"
    return None


def browser_fixture() -> Any:
    """A module-scoped fixture: one headless chromium, closed after the module."""
    import pytest

    @pytest.fixture(scope="module")
    def browser() -> Iterator[Any]:
        reason = missing()
        if reason:
            if os.environ.get("CI"):
                pytest.fail(f"CI must run the browser tests: {reason}", pytrace=False)
            pytest.skip(reason)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
            yield launched
            launched.close()

    return browser


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """``folder`` served on a free 127.0.0.1 port; yields its base URL (no trailing slash)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def render(browser: Any, url: str, width: int, screenshot: Path | None = None) -> dict[str, Any]:
    """The page at ``url`` loaded (images too) at ``width`` CSS pixels, measured; a full-page PNG on request."""
    page = browser.new_page(viewport={"width": width, "height": 900}, device_scale_factor=1)
    try:
        page.goto(url, wait_until="load")
        measured = page.evaluate(MEASURE)
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        return measured
    finally:
        page.close()


def save_small_png(source: Path, target: Path) -> None:
    """A screenshot kept in the repository: 256 colours, a third of the bytes, text still sharp."""
    from PIL import Image

    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
