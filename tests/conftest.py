"""Shared fixtures: local fake servers and an isolated environment.

No test touches the network: arXiv and the LLM are local servers on
127.0.0.1 (tests/fakes.py), tiktoken is told to estimate unless a test says
otherwise, and the cache lives in tmp_path.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fakes import FakeArxiv, FakeOpenAI, chat_completion  # noqa: E402
from papers import LLAVA, MEZO, llava_pdf, mezo_pdf  # noqa: E402

GOOD_SUMMARY = {
    "short_name": "MeZO",
    "tldr": "MeZO fine-tunes language models with forward passes only, at the memory cost of inference.",
    "whats_new": "An in-place zeroth-order SGD that regenerates its perturbation from a seed.",
    "how_it_works": "It perturbs all weights with one seeded Gaussian vector and compares two losses.",
    "key_insights": ["Memory use equals inference.", "Task prompts make zeroth-order fine-tuning work."],
    "results": "Up to 12x memory reduction; a 30-billion parameter model trains on one A100 80GB GPU.",
    "code_url": "https://github.com/princeton-nlp/MeZO",
}

_ENV_VARS = (
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "DIGEST_MODEL", "DIGEST_ARXIV_API_URL", "DIGEST_ARXIV_PDF_URL",
    "DIGEST_CACHE_DIR", "DIGEST_OFFLINE", "DIGEST_TOKENIZER", "DIGEST_ARXIV_API_INTERVAL", "DIGEST_PDF_INTERVAL",
    "DIGEST_INPUT_BUDGET", "DIGEST_LLM_RETRIES", "DIGEST_RESPONSE_FORMAT", "DIGEST_HTTP_TIMEOUT",
    "DIGEST_LLM_TIMEOUT", "DIGEST_JOBS", "DIGEST_EXTRACT_PROCESSES",
)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A clean environment: no API key, a private cache, no sleeping between fake requests."""
    for name in _ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("DIGEST_CACHE_DIR", str(cache))
    monkeypatch.setenv("DIGEST_TOKENIZER", "estimate")
    monkeypatch.setenv("DIGEST_ARXIV_API_INTERVAL", "0")
    monkeypatch.setenv("DIGEST_PDF_INTERVAL", "0")
    monkeypatch.setenv("DIGEST_EXTRACT_PROCESSES", "1")  # in-process; tests of the pool set their own
    return cache


@pytest.fixture
def fake_arxiv(monkeypatch: pytest.MonkeyPatch):
    """A local arXiv with MeZO and LLaVA (PDFs built by tests/papers.py)."""
    server = FakeArxiv().start()
    server.add(MEZO, mezo_pdf())
    server.add(LLAVA, llava_pdf())
    monkeypatch.setenv("DIGEST_ARXIV_API_URL", server.api_url)
    monkeypatch.setenv("DIGEST_ARXIV_PDF_URL", server.pdf_url)
    yield server
    server.stop()


@pytest.fixture
def fake_openai(monkeypatch: pytest.MonkeyPatch):
    """A local OpenAI-compatible server answering GOOD_SUMMARY; queue other replies in .script."""
    server = FakeOpenAI(lambda request: chat_completion(json.dumps(GOOD_SUMMARY), prompt_tokens=2000)).start()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("DIGEST_LLM_RETRIES", "2")
    yield server
    server.stop()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised workspace as the working directory."""
    from digestcli.store import Workspace

    root = tmp_path / "ws"
    root.mkdir()
    Workspace.create(root, "Test Digest").create_issue("issue-1")
    monkeypatch.chdir(root)
    return root
