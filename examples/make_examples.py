"""Regenerate the example workspaces in examples/ with the real `digest` CLI.

    .venv/bin/python examples/make_examples.py          # local stand-in for arXiv (no network)
    .venv/bin/python examples/make_examples.py --live   # real arXiv (and OPENAI_API_KEY if set)

Without --live the papers' metadata and PDFs come from the test stand-ins in
tests/ (arXiv-format metadata of 2305.17333 and 2304.08485; PDFs built by the
tests), served on 127.0.0.1. The summarizer is the offline extractive backend
unless OPENAI_API_KEY is set. Each workspace's README says what produced it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAPERS = ["2305.17333", "2304.08485"]


def digest(*args: str, cwd: Path, env: dict[str, str]) -> str:
    command = [sys.executable, "-m", "digestcli.cli", *args]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise SystemExit(f"digest {' '.join(args)} failed with exit code {result.returncode}")
    return result.stdout


def main() -> None:
    live = "--live" in sys.argv
    env = dict(os.environ)
    servers = []
    if not live:
        sys.path.insert(0, str(ROOT / "tests"))
        from fakes import FakeArxiv
        from papers import LLAVA, MEZO, llava_pdf, mezo_pdf

        arxiv = FakeArxiv().start()
        arxiv.add(MEZO, mezo_pdf())
        arxiv.add(LLAVA, llava_pdf())
        servers.append(arxiv)
        env.update(DIGEST_ARXIV_API_URL=arxiv.api_url, DIGEST_ARXIV_PDF_URL=arxiv.pdf_url,
                   DIGEST_ARXIV_API_INTERVAL="0", DIGEST_PDF_INTERVAL="0")
    backend = "an OpenAI-compatible LLM" if env.get("OPENAI_API_KEY") else "the offline extractive summarizer"
    source = "arXiv" if live else "the local arXiv stand-in of tests/ (metadata of the real papers, PDFs built by the tests)"
    env["DIGEST_CACHE_DIR"] = str(HERE / ".cache")
    try:
        newsletter = make_newsletter(env)
        monthly = make_monthly(env)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(HERE / ".cache", ignore_errors=True)
    for workspace, what in ((newsletter, "the newsletter style: `issue-1.rendered.md` is `digest build issue-1`"),
                            (monthly, "the digest, highlights and bookmarks styles: `*.rendered.md` are "
                                      "`digest build issue-1 --style NAME`")):
        (workspace / "README.md").write_text(
            f"# Example workspace\n\nMade by `examples/make_examples.py` with {backend}; papers fetched from "
            f"{source}.\nIt shows {what}. `issues/issue-1/` holds the item files.\n")
        print(f"wrote {workspace}")


def make_newsletter(env: dict[str, str]) -> Path:
    """A weekly newsletter: papers with the full per-paper template."""
    workspace = HERE / "newsletter"
    shutil.rmtree(workspace, ignore_errors=True)
    digest("init", str(workspace), "--title", "Papers of the Week", cwd=HERE, env=env)
    set_intro(workspace, "Two papers this week: fine-tuning with forward passes only, and instruction tuning for vision.")
    digest("add", *PAPERS, cwd=workspace, env=env)
    (workspace / "issue-1.rendered.md").write_text(digest("build", "issue-1", cwd=workspace, env=env))
    return workspace


def make_monthly(env: dict[str, str]) -> Path:
    """A monthly digest: one-line summaries, a favourite starred, topics and a bookmark page."""
    workspace = HERE / "monthly-digest"
    shutil.rmtree(workspace, ignore_errors=True)
    digest("init", str(workspace), "--title", "Monthly Research Digest", cwd=HERE, env=env)
    config = workspace / "digest.toml"
    config.write_text(config.read_text().replace('style = "newsletter"', 'style = "digest"'))
    set_intro(workspace, "This month: two papers on adapting large models cheaply. Starred (*) is my favourite.")
    digest("add", *PAPERS, cwd=workspace, env=env)
    digest("star", "issue-1", PAPERS[0], cwd=workspace, env=env)
    for style in ("digest", "highlights", "bookmarks"):
        text = digest("build", "issue-1", "--style", style, cwd=workspace, env=env)
        (workspace / f"issue-1.{style}.rendered.md").write_text(text)
    return workspace


def set_intro(workspace: Path, text: str) -> None:
    intro = workspace / "issues" / "issue-1" / "_issue.md"
    intro.write_text(intro.read_text().replace("<!-- The intro paragraph of this issue: write it here. -->", text))


if __name__ == "__main__":
    main()
