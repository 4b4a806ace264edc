"""`digest add` and `digest build` against a real llama.cpp server (SmolLM2-135M, tests/live_server.py).

The installed entry point runs as a user runs it: the real arXiv client against a local arXiv
serving a real corpus paper, the real openai SDK against llama.cpp. Between digest and the server
a proxy counts the requests (and, in the repair test, blanks one field of the model's answer).
Each test checks a promise of issue 14 that no scripted fake can: the JSON schema sent carries the
validator's limits, a window smaller than the prompt is named and worked around, a repair goes to
the real model, and a second add pays for nothing.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import corpus
import fakes
import pytest
import tomlkit
from fakes import FakeArxiv, FakePaper
from live_server import MODEL_NAME, counting_proxy, live_server_fixture
from test_end_to_end import digest_command

from digestcli.items import load_item

pytestmark = pytest.mark.subprocess

STEM = "1706.03762v7"  # Attention Is All You Need
WINDOW = 2048  # tokens of context on the server: a --budget above it overflows
FITS = 900  # --budget that fits the window with the answer (SmolLM2 counts about 800 tokens of it)
OVERFLOWS = 3000  # --budget the server refuses (about 2,600 of its tokens)
MAX_OUTPUT = 600  # a SmolLM2 answer is 300-450 tokens; this bounds a run of the old code too

llama = live_server_fixture(window=WINDOW)


class Live:
    """One workspace whose digest talks to the llama.cpp server through a counting proxy."""

    def __init__(self, root: Path, arxiv: FakeArxiv, proxy: Any, paper_id: str) -> None:
        self.root, self.proxy, self.paper_id = root, proxy, paper_id
        self.env = fakes.child_env(root / "cache", arxiv, OPENAI_API_KEY="any-key-will-do",
                                   OPENAI_BASE_URL=proxy.base_url, DIGEST_EXTRACT_TIMEOUT="0")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*digest_command(), *args], cwd=self.root / "ws", env=self.env, capture_output=True,
                              text=True, encoding="utf-8", timeout=600)

    def item(self) -> Any:
        return load_item(self.root / "ws" / "issues" / "issue-1" / f"{self.paper_id}.md")

    def contents(self) -> list[str]:
        """What the server answered each chat request: the model's content, or the error body."""
        return [a["body"]["choices"][0]["message"]["content"] if a["status"] == 200 else json.dumps(a["body"])
                for a in self.proxy.answers]

    def schemas(self) -> list[dict[str, Any]]:
        """The JSON schema of each chat request (None for a request that sent none)."""
        return [((request.get("response_format") or {}).get("json_schema") or {}).get("schema")
                for request in self.proxy.chat_requests()]


@pytest.fixture
def live(llama: Any, tmp_path: Path):
    if not corpus.available():
        pytest.skip(corpus.skip_reason())
    record = corpus.metadata()[STEM]
    arxiv = FakeArxiv().start()
    arxiv.add(FakePaper(record["id"], int(record.get("version") or 7), record["title"], record["abstract"],
                        record["authors"]), corpus.pdf_bytes(STEM))
    proxy = counting_proxy(llama.base_url)
    session = Live(tmp_path, arxiv, proxy, record["id"])
    init = subprocess.run([*digest_command(), "init", "ws"], cwd=tmp_path, env=session.env, capture_output=True,
                          text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    settings = tomlkit.parse((tmp_path / "ws" / "digest.toml").read_text(encoding="utf-8"))
    # The server has one slot: one request at a time, and no retry (it would queue behind the one it retries).
    settings["llm"].update({"model": MODEL_NAME, "max_output_tokens": MAX_OUTPUT, "jobs": 1,
                            "timeout": 300, "retries": 0})
    (tmp_path / "ws" / "digest.toml").write_text(tomlkit.dumps(settings), encoding="utf-8")
    yield session
    proxy.stop()
    arxiv.stop()


def test_add_fills_every_field_build_publishes_them_and_a_second_add_is_cached(live: Live) -> None:
    added = live.run("add", live.paper_id, "--budget", str(FITS))
    assert added.returncode == 0, (added.stderr, live.contents())
    # A server that enforces the schema answers within the validator's limits: no repair was needed.
    assert len(live.proxy.chat_requests()) == 1, live.contents()
    item = live.item()
    fields = item.summary_fields()
    assert all(fields[name] for name in ("tldr", "whats_new", "how_it_works", "results")), fields
    assert 1 <= len(fields["key_insights"]) <= 8, fields

    again = live.run("add", live.paper_id, "--budget", str(FITS), "--force")
    assert again.returncode == 0, again.stderr
    assert len(live.proxy.chat_requests()) == 1, "the second add asked the server again"
    assert "cached" in again.stderr
    assert live.item().summary_fields() == fields

    built = live.run("build", "issue-1")
    assert built.returncode == 0, built.stderr
    assert "Attention Is All You Need" in built.stdout
    assert fields["tldr"].split()[0] in built.stdout

    # The schema is the contract: every limit the validator checks reaches the server.
    properties = live.schemas()[0]["properties"]
    assert properties["short_name"].get("maxLength") == 80, properties["short_name"]
    assert (properties["key_insights"].get("minItems"), properties["key_insights"].get("maxItems")) == (1, 8), \
        properties["key_insights"]
    assert all(properties[name].get("minLength") == 1 for name in ("tldr", "whats_new", "how_it_works", "results")), \
        properties


def test_a_field_the_model_got_wrong_is_repaired_by_the_model(live: Live) -> None:
    def without_results(content: str) -> str:
        answer = json.loads(content)
        answer.pop("results", None)
        return json.dumps(answer)

    live.proxy.alter.append(without_results)  # the first answer only; the repair reaches digest as sent
    added = live.run("add", live.paper_id, "--budget", str(FITS))
    assert added.returncode == 0, (added.stderr, live.contents())
    requests = live.proxy.chat_requests()
    assert len(requests) == 2, [r["messages"][-1]["content"][:200] for r in requests]
    repair = requests[1]["messages"][-1]["content"]
    assert '"results"' in repair or "results" in repair.split("these fields:")[-1], repair
    assert all(schema is not None for schema in live.schemas()), "the repair kept the JSON schema"
    repaired = json.loads(live.proxy.answers[1]["body"]["choices"][0]["message"]["content"])["results"]
    results = live.item().summary_fields()["results"]
    assert results and results.split()[0] in repaired, (results, repaired)


def test_a_prompt_larger_than_the_window_is_cut_to_fit_with_a_warning(live: Live) -> None:
    added = live.run("add", live.paper_id, "--budget", str(OVERFLOWS))
    first = live.proxy.answers[0]
    assert first["status"] == 400 and "exceeds the available context size" in first["body"]["error"]["message"]
    # Recognised as an overflow, never as "format not supported": every request kept the schema.
    assert all(schema is not None for schema in live.schemas()), [r.get("response_format") for r in
                                                                  live.proxy.chat_requests()]
    assert added.returncode == 0, added.stderr
    assert "context window" in added.stderr and "--budget" in added.stderr, added.stderr
    assert live.proxy.answers[-1]["status"] == 200
    assert live.item().summary_fields()["tldr"]
