"""Regenerate the example workspaces in examples/ with the real `digest` CLI, from real papers.

    .venv/bin/python examples/make_examples.py          # the shared corpus, served on 127.0.0.1
    .venv/bin/python examples/make_examples.py --live   # real arXiv (and OPENAI_API_KEY if set)

Without --live the papers are the real arXiv PDFs of ../shared/corpus/pdf with
the metadata read off them (../shared/corpus/papers.jsonl), served by the local
arXiv stand-in of tests/. The summarizer is the offline extractive backend
unless OPENAI_API_KEY is set. Each workspace's README says what produced it. The screenshots of the html and email formats
(<workspace>/screenshots/) come from the browser tests, which build both anew:

    DIGEST_REGENERATE_SCREENSHOTS=1 .venv/bin/python -m pytest tests/test_browser.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NEWSLETTER = ["2106.09685", "2305.14314", "2305.18290", "2402.17764", "2205.14135"]  # LoRA, QLoRA, DPO, BitNet, FlashAttention
MONTHLY = ["2305.11206", "2310.04406", "2403.09629", "2501.12948"]  # LIMA, LATS, Quiet-STaR, DeepSeek-R1


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
        arxiv = corpus_server()
        servers.append(arxiv)
        env.update(DIGEST_ARXIV_API_URL=arxiv.api_url, DIGEST_ARXIV_PDF_URL=arxiv.pdf_url,
                   DIGEST_ARXIV_API_INTERVAL="0", DIGEST_PDF_INTERVAL="0")
    backend = ("an OpenAI-compatible LLM" if env.get("OPENAI_API_KEY")
               else "the offline extractive summarizer (no LLM: every field is the paper's own sentences)")
    source = "arXiv" if live else ("the real arXiv PDFs of the shared corpus (../shared/corpus), with their metadata, "
                                   "served by the local arXiv stand-in of tests/")
    env["DIGEST_CACHE_DIR"] = str(HERE / ".cache")
    try:
        newsletter = make_newsletter(env)
        monthly = make_monthly(env)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(HERE / ".cache", ignore_errors=True)
    for workspace, what in ((newsletter, "the newsletter style: `issue-1.rendered.md` is `digest build issue-1`, "
                                         "and `blog/` is what `digest build issue-1 --out blog/_posts` writes into "
                                         "a Jekyll site: the post, and each paper's key figure under "
                                         "`blog/assets/digest/`; `blog/*.html` is `digest build issue-1 --format html "
                                         "--out blog`, and `screenshots/` show the html and email formats "
                                         "in Chromium at phone and desktop widths"),
                            (monthly, "the digest, highlights and bookmarks styles: `*.rendered.md` are "
                                      "`digest build issue-1 --style NAME`; `screenshots/` show the html and email "
                                      "formats in Chromium at phone and desktop widths")):
        (workspace / "README.md").write_text(
            f"# Example workspace\n\nMade by `examples/make_examples.py` with {backend}; papers fetched from "
            f"{source}.\nIt shows {what}. `issues/issue-1/` holds the item files.\n")
        print(f"wrote {workspace}")


def make_newsletter(env: dict[str, str]) -> Path:
    """A weekly newsletter: papers with the full per-paper template."""
    workspace = HERE / "newsletter"
    shutil.rmtree(workspace, ignore_errors=True)
    digest("init", str(workspace), "--title", "Papers of the Week", cwd=HERE, env=env)
    set_intro(workspace, "Five papers this week on making large models cheaper to adapt, align and run.")
    digest("add", *NEWSLETTER, cwd=workspace, env=env)
    (workspace / "issue-1.rendered.md").write_text(digest("build", "issue-1", cwd=workspace, env=env))
    (workspace / "blog" / "_posts").mkdir(parents=True)  # a Jekyll site: the post, and its figures under assets/
    digest("build", "issue-1", "--out", str(workspace / "blog" / "_posts"), cwd=workspace, env=env)
    # the html format beside it: a standalone page linking the same figures (blog/assets/digest/issue-1/)
    digest("build", "issue-1", "--format", "html", "--out", str(workspace / "blog"), cwd=workspace, env=env)
    return workspace


def make_monthly(env: dict[str, str]) -> Path:
    """A monthly digest: one-line summaries, a favourite starred, topics and a bookmark page."""
    workspace = HERE / "monthly-digest"
    shutil.rmtree(workspace, ignore_errors=True)
    digest("init", str(workspace), "--title", "Monthly Research Digest", cwd=HERE, env=env)
    config = workspace / "digest.toml"
    config.write_text(config.read_text().replace('style = "newsletter"', 'style = "digest"'))
    set_intro(workspace, "This month: four papers on teaching models to reason. Starred (*) is my favourite.")
    digest("add", *MONTHLY, cwd=workspace, env=env)
    digest("star", "issue-1", MONTHLY[-1], cwd=workspace, env=env)
    for style in ("digest", "highlights", "bookmarks"):
        text = digest("build", "issue-1", "--style", style, cwd=workspace, env=env)
        (workspace / f"issue-1.{style}.rendered.md").write_text(text)
    return workspace


def corpus_server():
    """The local arXiv stand-in serving the corpus papers the examples use, with their real metadata."""
    import json

    sys.path.insert(0, str(ROOT / "tests"))
    from fakes import FakeArxiv, FakePaper
    from papers import SHARED_CORPUS

    records = SHARED_CORPUS / "papers.jsonl"
    if not records.is_file():
        raise SystemExit(f"the examples are made from real papers: {SHARED_CORPUS} not found (or use --live)")
    arxiv = FakeArxiv().start()
    for line in records.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["id"] not in NEWSLETTER + MONTHLY:
            continue
        date = f"{record['version_date']}T00:00:00Z"
        paper = FakePaper(id=record["id"], version=record["version"], title=record["title"], abstract=record["abstract"],
                          authors=record["authors"], published=date, updated=date,
                          primary_category=record["primary_category"], categories=[record["primary_category"]],
                          comment=record.get("comment", ""))
        arxiv.add(paper, (SHARED_CORPUS / "pdf" / record["file"]).read_bytes())
    return arxiv


def set_intro(workspace: Path, text: str) -> None:
    intro = workspace / "issues" / "issue-1" / "_issue.md"
    intro.write_text(intro.read_text().replace("<!-- The intro paragraph of this issue: write it here. -->", text))


if __name__ == "__main__":
    main()
