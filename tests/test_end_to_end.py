"""The installed `digest` console script, run as a real subprocess.

The product's "done when" scenario: `digest init`, `digest add 2305.17333
2304.08485`, `digest build issue-1` prints a complete newsletter, with the
LLM and with no OPENAI_API_KEY. arXiv and the LLM are the local fake servers;
the child's environment is built explicitly so no real key or URL leaks in.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import GOOD_SUMMARY, LLAVA_SUMMARY, summary_for
import fakes
from fakes import chat_completion
from papers import LLAVA, MEZO

pytestmark = pytest.mark.subprocess


def digest_command() -> list[str]:
    """The console script installed beside this interpreter, else on PATH, else the module."""
    beside = Path(sys.executable).with_name("digest")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("digest")
    return [found] if found else [sys.executable, "-m", "digestcli.cli"]


def child_env(cache: Path, fake_arxiv, fake_openai=None) -> dict[str, str]:
    return fakes.child_env(cache, fake_arxiv, fake_openai)


def run_digest(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*digest_command(), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=300)


def init_add_build(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run the scenario; return the `add` run and the newsletter `build` printed."""
    init = run_digest(["init", "news", "--title", "Papers of the Week"], tmp_path, env)
    assert init.returncode == 0, init.stderr
    assert init.stdout == ""
    workspace = tmp_path / "news"
    add = run_digest(["add", MEZO.id, LLAVA.id], workspace, env)
    assert add.returncode == 0, add.stderr
    assert add.stdout == ""
    build = run_digest(["build", "issue-1"], workspace, env)
    assert build.returncode == 0, build.stderr
    assert build.stderr == ""
    return add, build.stdout


def assert_complete_newsletter(text: str) -> None:
    head, separator, body = text.removeprefix("---\n").partition("\n---\n")
    assert text.startswith("---\n") and separator
    front = yaml.safe_load(head)
    assert front["layout"] == "post"
    assert front["title"] == "Issue #1"
    assert front["date"]
    assert front["description"] and front["summary"]
    assert front["tags"] == ["machine learning", "papers"]
    assert front["minute"] >= 1
    assert "## Research" in body
    for paper in (MEZO, LLAVA):
        assert f"### {paper.title}" in body
        assert f"[Paper](https://arxiv.org/abs/{paper.id})" in body
    for label in ("**What's new:**", "**How it works:**", "**Key insights:**", "**Results:**"):
        assert body.count(label) == 2, label
    assert body.endswith("\n") and not body.endswith("\n\n")


def test_init_add_build_with_the_llm_prints_a_complete_newsletter(tmp_path: Path, fake_arxiv,
                                                                    fake_openai) -> None:
    fake_openai.responder = lambda request: chat_completion(json.dumps(summary_for(request)))
    add, newsletter = init_add_build(tmp_path, child_env(tmp_path / "cache", fake_arxiv, fake_openai))
    assert len(fake_openai.chat_requests()) == 2
    assert add.stderr.splitlines()[-1].startswith("digest: 2 added, 0 skipped, 0 failed in issue-1")
    assert_complete_newsletter(newsletter)
    assert GOOD_SUMMARY["tldr"] in newsletter and LLAVA_SUMMARY["tldr"] in newsletter
    assert f"[Code]({GOOD_SUMMARY['code_url']})" in newsletter


def test_init_add_build_without_an_api_key_prints_a_complete_offline_newsletter(tmp_path: Path,
                                                                                 fake_arxiv) -> None:
    add, newsletter = init_add_build(tmp_path, child_env(tmp_path / "cache", fake_arxiv))
    assert any("offline" in line and "OPENAI_API_KEY" in line for line in add.stderr.splitlines())
    assert add.stderr.splitlines()[-1] == "digest: 2 added, 0 skipped, 0 failed in issue-1"
    assert_complete_newsletter(newsletter)
    assert GOOD_SUMMARY["tldr"] not in newsletter


def test_installed_script_reports_version_and_errors_like_the_module(tmp_path: Path, fake_arxiv) -> None:
    env = child_env(tmp_path / "cache", fake_arxiv)
    version = run_digest(["--version"], tmp_path, env)
    assert version.returncode == 0 and version.stdout.startswith("digest ")
    missing = run_digest(["build"], tmp_path, env)
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert missing.stderr.count("\n") == 1 and "run `digest init`" in missing.stderr
