"""Money: OpenAI's prices and the workspace's own, what each item cost, `digest list`'s totals,
`add --dry-run` in dollars, and `add --max-cost`. The LLM is the fake server on 127.0.0.1, reached
through the real openai SDK; a price is never taken from a server's name and never shown as $0
when it is not known."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import GOOD_SUMMARY
from digestcli.config import load_settings
from digestcli.errors import ConfigError
from digestcli.models import Usage
from digestcli.pricing import CostCap, Price, cost, listed_price, price_for, shown_total
from fakes import Reply, chat_completion
from papers import LLAVA, MEZO, numbered_papers
from test_cli import digest, item_file, item_meta

PAPERS = numbered_papers(5)


def set_llm(workspace: Path, **settings: Any) -> None:
    """Settings under [llm] in the workspace's digest.toml (replacing those `digest init` wrote)."""
    config = workspace / "digest.toml"
    text = config.read_text(encoding="utf-8")
    for name, value in settings.items():
        text, found = re.subn(rf"^{name} = .*$", f"{name} = {json.dumps(value)}", text, flags=re.M)
        if not found:
            text = text.replace("[llm]\n", f"[llm]\n{name} = {json.dumps(value)}\n")
    config.write_text(text, encoding="utf-8")


def with_cached_tokens(prompt_tokens: int, cached_tokens: int, completion_tokens: int) -> Reply:
    """A good answer whose usage says the server read ``cached_tokens`` of the prompt from its cache."""
    reply = chat_completion(json.dumps(GOOD_SUMMARY), prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
    payload = json.loads(reply.body)
    payload["usage"]["prompt_tokens_details"] = {"cached_tokens": cached_tokens}
    return Reply(reply.status, json.dumps(payload).encode(), reply.headers)


@pytest.fixture
def papers_arxiv(fake_arxiv):
    for paper, pdf in PAPERS:
        fake_arxiv.add(paper, pdf)
    return fake_arxiv


# -- prices ----------------------------------------------------------------------------------------


def settings(tmp_path: Path, toml: str = "", **environ: str):
    (tmp_path / "digest.toml").write_text(toml, encoding="utf-8")
    return load_settings(tmp_path, {"DIGEST_CACHE_DIR": str(tmp_path / "cache"), **environ})


def test_openai_models_are_priced_from_the_table_on_openais_api_only(tmp_path: Path) -> None:
    assert listed_price("gpt-4o-mini") == listed_price("gpt-4o-mini-2024-07-18")  # a dated snapshot
    assert (listed_price("gpt-4o-mini").input, listed_price("gpt-4o-mini").output) == (0.15, 0.60)
    assert listed_price("gpt-4o") != listed_price("gpt-4o-mini")
    key = {"OPENAI_API_KEY": "sk-test"}
    assert price_for(settings(tmp_path, **key, DIGEST_MODEL="gpt-5-mini")) == listed_price("gpt-5-mini")
    # Another server's model called gpt-4o-mini is not billed at OpenAI's prices, and an unlisted one is unknown.
    assert price_for(settings(tmp_path, **key, OPENAI_BASE_URL="http://127.0.0.1:8080/v1")) is None
    assert price_for(settings(tmp_path, **key, DIGEST_MODEL="my-model")) is None
    assert price_for(settings(tmp_path)) == Price(0, 0, 0, price_for(settings(tmp_path)).source)  # offline: free


def test_digest_toml_prices_any_server_and_zero_means_free(tmp_path: Path) -> None:
    local = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1", "DIGEST_MODEL": "qwen"}
    free = price_for(settings(tmp_path, "[llm]\nprice_input = 0\nprice_output = 0\n", **local))
    assert free is not None and cost(Usage(5000, 900), free) == 0.0
    priced = price_for(settings(tmp_path, "[llm]\nprice_input = 1\nprice_output = 4\n", **local))
    assert priced is not None and (priced.input, priced.cached_input, priced.output) == (1, 1, 4)
    assert price_for(settings(tmp_path, "[llm]\nprice_input = 1\n", **local)) is None  # output still unknown
    over = price_for(settings(tmp_path, "[llm]\nprice_output = 1\n", OPENAI_API_KEY="sk-test"))  # gpt-4o-mini
    assert over is not None and (over.input, over.cached_input, over.output) == (0.15, 0.075, 1.0)


def test_cost_bills_cached_input_at_its_price_and_the_batch_api_at_half() -> None:
    price = Price(input=2.0, cached_input=0.5, output=8.0)
    usage = Usage(input_tokens=3_000_000, output_tokens=1_000_000, cached_input_tokens=1_000_000)
    assert cost(usage, price) == pytest.approx(2 * 2.0 + 1 * 0.5 + 1 * 8.0)
    assert cost(usage, price, batch=True) == pytest.approx((2 * 2.0 + 1 * 0.5 + 1 * 8.0) / 2)
    assert cost(usage, None) is None


def test_a_total_with_unknown_parts_is_at_least_the_known_part_never_zero() -> None:
    assert shown_total(0.0123, 0) == "$0.0123"
    assert shown_total(0.0123, 2) == "≥$0.0123"
    assert shown_total(0.0, 1) == "unknown"


def test_the_cost_cap_counts_what_requests_in_flight_may_spend() -> None:
    cap = CostCap(1.5)
    assert cap.reserve(1.0)
    assert not cap.reserve(1.0)  # 1.0 in flight + 1.0 > 1.5
    cap.settle(1.0, 0.2)
    assert cap.reserve(1.0) and cap.committed == pytest.approx(1.2)
    cap.settle(1.0, None)  # failed: it may have been paid for
    assert cap.committed == pytest.approx(1.2) and not cap.reserve(0.5)
    assert CostCap(None).reserve(1e9)


@pytest.mark.parametrize("toml, message", [
    ("[llm]\nmax_cost = -1\n", "'llm.max_cost' = -1 is too small (minimum 0)"),
    ("[llm]\nprice_cached_input = \"cheap\"\n", "'llm.price_cached_input' must be a number"),
])
def test_odd_money_settings_are_one_line_errors(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings(tmp_path, toml)


# -- what an item cost -------------------------------------------------------------------------------


def test_each_item_records_its_cost_with_cached_input_billed_at_the_cached_price(workspace: Path, fake_arxiv,
                                                                                 fake_openai) -> None:
    set_llm(workspace, price_input=1.0, price_cached_input=0.1, price_output=2.0)
    fake_openai.responder = lambda request: with_cached_tokens(2000, 1000, 200)
    result = digest("add", MEZO.id)
    assert result.exit_code == 0, result.stderr
    provenance = item_meta(workspace, "issue-1", MEZO.id)["provenance"]
    assert provenance["cached_input_tokens"] == 1000
    assert provenance["cost_usd"] == pytest.approx((1000 * 1.0 + 1000 * 0.1 + 200 * 2.0) / 1e6)
    assert "digest: spent $0.0015 on 1 summaries (prices: digest.toml)" in result.stderr.splitlines()


def test_an_answer_from_the_cache_costs_the_run_nothing_and_the_item_keeps_its_cost(workspace: Path, fake_arxiv,
                                                                                    fake_openai) -> None:
    set_llm(workspace, price_input=1.0, price_output=2.0)
    assert digest("add", MEZO.id).exit_code == 0
    again = digest("add", MEZO.id, "--issue", "issue-2")
    assert again.exit_code == 0, again.stderr
    assert len(fake_openai.chat_requests()) == 1
    assert "digest: spent" not in again.stderr and "cost" not in again.stderr  # this run paid for nothing
    assert item_meta(workspace, "issue-2", MEZO.id)["provenance"]["cost_usd"] == pytest.approx(0.0024)


def test_an_unknown_price_is_shown_as_unknown_never_as_zero(workspace: Path, fake_arxiv, fake_openai) -> None:
    result = digest("add", MEZO.id, "--model", "my-local-model")
    assert result.exit_code == 0, result.stderr
    assert "cost_usd" not in item_meta(workspace, "issue-1", MEZO.id)["provenance"]
    assert ("digest: cost unknown for 1 summaries: no price is known for model 'my-local-model' on "
            f"{fake_openai.base_url}; set [llm] price_input and price_output") in result.stderr
    listed = digest("list", "issue-1")
    assert listed.stdout.split()[3] == "unknown" and "$" not in listed.stdout
    assert "digest: issue-1: 1 items, unknown for their summaries" in listed.stderr
    assert json.loads(digest("list", "issue-1", "--json").stdout)[0]["cost_usd"] is None


def test_items_collected_from_the_batch_api_cost_half(workspace: Path, fake_arxiv, fake_openai) -> None:
    set_llm(workspace, price_input=1.0, price_output=2.0)
    assert digest("add", MEZO.id, "--batch").exit_code == 0
    assert digest("batch", "status").exit_code == 0
    done = digest("batch", "collect")
    assert done.exit_code == 0, done.stderr
    assert item_meta(workspace, "issue-1", MEZO.id)["provenance"]["cost_usd"] == pytest.approx(0.0024 / 2)


# -- digest list ---------------------------------------------------------------------------------------


def test_list_shows_each_issues_total_and_at_least_the_known_part(workspace: Path, fake_arxiv,
                                                                  fake_openai) -> None:
    set_llm(workspace, price_input=1.0, price_output=2.0)
    assert digest("add", MEZO.id, LLAVA.id).exit_code == 0
    assert digest("new").exit_code == 0
    lines = digest("list").stdout.splitlines()
    assert "$0.0048" in lines[0].split() and "$0.0000" in lines[1].split()
    listed = digest("list", "issue-1")
    assert [line.split()[3] for line in listed.stdout.splitlines()] == ["$0.0024", "$0.0024"]
    assert "digest: issue-1: 2 items, $0.0048 for their summaries" in listed.stderr
    # An item made before costs were recorded (or by an unpriced model): the total is a lower bound.
    path = item_file(workspace, "issue-1", MEZO.id)
    head, body = path.read_text(encoding="utf-8")[4:].split("\n---\n", 1)
    meta = yaml.safe_load(head)
    del meta["provenance"]["cost_usd"]
    path.write_text(f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n{body}", encoding="utf-8")
    rows = json.loads(digest("list", "--json").stdout)
    assert (rows[0]["cost_usd"], rows[0]["cost_unknown"], rows[0]["cost"]) == (pytest.approx(0.0024), 1, "≥$0.0024")
    assert "≥$0.0024" in digest("list").stdout.splitlines()[0].split()


def test_offline_items_and_links_cost_nothing(workspace: Path, fake_arxiv) -> None:
    assert digest("add", MEZO.id).exit_code == 0
    assert "$0.0000" in digest("list").stdout.split()


# -- add --dry-run in dollars --------------------------------------------------------------------------


def dry_rows(result) -> list[list[str]]:
    return [line.split("\t") for line in result.stdout.splitlines()]


def test_dry_run_prints_dollars_per_paper_and_in_total_with_output_at_most_max_output_tokens(
        workspace: Path, papers_arxiv, fake_openai) -> None:
    set_llm(workspace, price_input=1.0, price_output=2.0, max_output_tokens=1000)
    ids = [paper.id for paper, _ in PAPERS[:3]]
    result = digest("add", *ids, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert fake_openai.chat_requests() == []
    rows = dry_rows(result)
    for row in rows[:-1]:
        assert row[2] == f"${(int(row[1]) * 1.0 + 1000 * 2.0) / 1e6:,.4f}"
    assert rows[-1][2] == f"${(int(rows[-1][1]) * 1.0 + 3 * 1000 * 2.0) / 1e6:,.4f}"
    assert "1000 output tokens a paper (max_output_tokens, an upper bound); prices: digest.toml" in result.stderr
    batch = dry_rows(digest("add", *ids, "--dry-run", "--batch"))
    assert batch[-1][2] == f"${(int(rows[-1][1]) * 1.0 + 3 * 1000 * 2.0) / 2e6:,.4f}"


def test_dry_run_with_an_unknown_price_says_so(workspace: Path, papers_arxiv, fake_openai) -> None:
    result = digest("add", PAPERS[0][0].id, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert [row[2] for row in dry_rows(result)] == ["unknown", "unknown"]
    assert "cost unknown: no price is known for model 'gpt-4o-mini' on" in result.stderr


# -- add --max-cost ------------------------------------------------------------------------------------

# Output at $1000 per million and input free: every paper's estimate is max_output_tokens (1000) = $1.00,
# whatever its length; the fake server writes 200 tokens, so each summary costs $0.20.
CAPPED = {"price_input": 0, "price_output": 1000, "max_output_tokens": 1000, "jobs": 1}


def test_max_cost_starts_no_paper_whose_estimate_would_pass_the_cap(workspace: Path, papers_arxiv,
                                                                   fake_openai) -> None:
    set_llm(workspace, **CAPPED)
    ids = [paper.id for paper, _ in PAPERS]
    result = digest("add", *ids, "--max-cost", "1.5")
    assert result.exit_code == 3, result.stderr  # partial: some papers did not land
    assert len(fake_openai.chat_requests()) == 3  # $0.20 spent + $1.00 each fits three times under $1.50
    added = [i for i in ids if item_file(workspace, "issue-1", i).is_file()]
    assert len(added) == 3
    skipped = [line for line in result.stderr.splitlines() if ": skipped (not started: its summary" in line]
    assert len(skipped) == 2 and all("past the cost cap of $1.5000" in line for line in skipped)
    assert result.stderr.splitlines()[-1] == "digest: 3 added, 0 skipped, 0 failed, 2 not started (cost cap) in " \
                                             "issue-1; 6000 input / 600 output tokens spent"
    assert "digest: spent $0.6000 on 3 summaries" in result.stderr
    rest = digest("add", *ids, "--max-cost", "5")  # nothing finished is lost; a rerun adds the rest
    assert rest.exit_code == 0, rest.stderr
    assert len(fake_openai.chat_requests()) == 5
    assert all(item_file(workspace, "issue-1", i).is_file() for i in ids)


def test_max_cost_in_digest_toml_and_nothing_under_the_cap_exits_1(workspace: Path, papers_arxiv,
                                                                   fake_openai) -> None:
    set_llm(workspace, **CAPPED, max_cost=0.5)
    result = digest("add", PAPERS[0][0].id, PAPERS[1][0].id)
    assert result.exit_code == 1, result.stderr
    assert fake_openai.chat_requests() == []
    assert "0 added, 0 skipped, 0 failed, 2 not started (cost cap)" in result.stderr


def test_max_cost_lets_cached_answers_through(workspace: Path, papers_arxiv, fake_openai) -> None:
    set_llm(workspace, **CAPPED)
    assert digest("add", PAPERS[0][0].id, "--issue", "issue-2").exit_code == 0
    result = digest("add", PAPERS[0][0].id, "--max-cost", "0")
    assert result.exit_code == 0, result.stderr
    assert len(fake_openai.chat_requests()) == 1


def test_dry_run_shows_what_max_cost_would_not_start(workspace: Path, papers_arxiv, fake_openai) -> None:
    set_llm(workspace, **CAPPED)
    result = digest("add", *[paper.id for paper, _ in PAPERS[:3]], "--dry-run", "--max-cost", "2.5")
    assert result.exit_code == 0, result.stderr
    rows = dry_rows(result)
    assert [row[3] for row in rows[:-1]] == ["pdf", "pdf", "over --max-cost"]  # the order given
    assert rows[-1][2] == "$2.0000" and rows[-1][4].endswith("1 over --max-cost")


def test_max_cost_without_a_price_is_a_usage_error(workspace: Path, papers_arxiv, fake_openai) -> None:
    result = digest("add", PAPERS[0][0].id, "--max-cost", "1")
    assert result.exit_code == 2
    assert "needs a price: no price is known for model 'gpt-4o-mini'" in result.stderr
    assert fake_openai.chat_requests() == []


def test_max_cost_applies_to_the_batch_api_at_its_price(workspace: Path, papers_arxiv, fake_openai) -> None:
    set_llm(workspace, **CAPPED)
    result = digest("add", *[paper.id for paper, _ in PAPERS[:3]], "--batch", "--max-cost", "1.2")
    assert result.exit_code == 3, result.stderr
    assert len(fake_openai.batch_lines()) == 2  # $0.50 each at half price, reserved until the batch is paid
    assert "2 queued in the batch, 0 added from the cache, 0 skipped, 0 failed, 1 not started" in result.stderr


def test_readme_and_help_document_prices_the_dry_run_dollars_and_the_cap() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    help_text = " ".join(digest("add", "--help").stdout.split())
    assert "--max-cost DOLLARS" in help_text and "what it would cost at most" in help_text
    assert "with what each cost" in digest("list", "--help").stdout
    for documented in ("--max-cost", "price_input", "price_cached_input", "price_output", "max_cost",
                       "≥$", "taken as the whole `max_output_tokens`", "Batch API"):
        assert documented in readme, documented


def test_an_unknown_price_names_the_server_without_its_credentials(workspace: Path, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://alice:hunter2secret@llm.example.com/v1?token=qq")
    result = digest("add", MEZO.id, "--max-cost", "1", "--dry-run")
    assert result.exit_code == 2
    assert "on https://llm.example.com/v1;" in result.stderr
    assert "hunter2secret" not in result.output and "token=qq" not in result.output


@pytest.mark.parametrize("address", ["http://[::1", "ftp://llm.example.com/v1", "llm.example.com", "http://host:port/v1"])
def test_a_server_address_that_is_not_one_is_a_setting_error(tmp_path: Path, address: str) -> None:
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL or \\[llm\\] base_url"):
        settings(tmp_path, OPENAI_BASE_URL=address)
