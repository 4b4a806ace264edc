"""digest feed: new submissions in categories, through the API's search, paged and filtered."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from fakes import FakePaper
from papers import mezo_pdf
from test_cli import digest, item_file


def _recent(n: int, hours_ago: float, categories: list[str], title: str) -> FakePaper:
    when = (datetime.now(timezone.utc) - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return FakePaper(id=f"2611.{n:05d}", version=1, title=title, abstract=f"We study {title.lower()}. It works.",
                     authors=["A. One", "B. Two", "C. Three", "D. Four"], published=when, updated=when,
                     primary_category=categories[0], categories=categories)


def test_feed_lists_new_papers_in_the_categories_newest_first(workspace: Path, fake_arxiv) -> None:
    fake_arxiv.add(_recent(1, 2, ["cs.CL"], "Retrieval Augmented Generation at Scale"))
    fake_arxiv.add(_recent(2, 5, ["cs.LG", "cs.CL"], "Sparse Mixtures of Experts"))
    fake_arxiv.add(_recent(3, 1, ["cs.CV"], "A Vision Paper"))
    fake_arxiv.add(_recent(4, 60, ["cs.CL"], "An Old Paper"))
    result = digest("feed", "cs.CL", "--since", "1d")
    assert result.exit_code == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [r[0] for r in rows] == ["2611.00001v1", "2611.00002v1"]
    assert rows[0][2] == "A. One, B. Two, C. Three et al." and rows[0][3].startswith("We study retrieval")
    query = parse_qs(urlparse(fake_arxiv.api_requests()[-1]["path"]).query)
    assert query["sortBy"] == ["submittedDate"] and "cat:cs.CL" in query["search_query"][0]


def test_feed_match_filters_and_add_puts_them_in_the_issue(workspace: Path, fake_arxiv) -> None:
    # The fake serves each paper's PDF: a PDF it lacks would send digest to the feed's own arxiv.org link.
    fake_arxiv.add(_recent(1, 2, ["cs.CL"], "Retrieval Augmented Generation at Scale"), mezo_pdf())
    fake_arxiv.add(_recent(2, 3, ["cs.CL"], "Sparse Mixtures of Experts"), mezo_pdf())
    result = digest("feed", "cs.CL", "--match", "retrieval|RAG", "--add")
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == ["2611.00001v1"]
    assert item_file(workspace, "issue-1", "2611.00001").is_file()
    assert not item_file(workspace, "issue-1", "2611.00002").exists()


def test_feed_pages_through_long_results(workspace: Path, fake_arxiv) -> None:
    for n in range(1, 251):
        fake_arxiv.add(_recent(n, 1 + n / 100, ["cs.LG"], f"Paper {n}"))
    result = digest("feed", "cs.LG")
    assert len(result.stdout.splitlines()) == 250
    starts = [parse_qs(urlparse(r["path"]).query)["start"][0] for r in fake_arxiv.api_requests()]
    assert starts == ["0", "100", "200"]


def test_feed_bad_inputs_are_usage_errors(workspace: Path) -> None:
    assert digest("feed", "not a category").exit_code == 2
    assert digest("feed", "cs.CL", "--since", "yesterday").exit_code == 2
    assert digest("feed", "cs.CL", "--match", "(").exit_code == 2


def test_feed_rank_orders_papers_by_the_topic_with_one_llm_request(workspace: Path, fake_arxiv, fake_openai) -> None:
    import json

    from fakes import chat_completion

    config = workspace / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('topic = ""', 'topic = "retrieval for LLMs"'),
                      encoding="utf-8")
    for n, title in enumerate(["Sparse Mixtures of Experts", "Retrieval Augmented Generation", "Vision Stuff"], 1):
        fake_arxiv.add(_recent(n, n, ["cs.CL"], title))
    fake_openai.responder = lambda request: chat_completion(json.dumps({"order": [1, 99, 1]}))
    result = digest("feed", "cs.CL", "--rank")
    assert result.exit_code == 0, result.stderr
    titles = [line.split("\t")[1] for line in result.stdout.splitlines()]
    assert titles == ["Retrieval Augmented Generation", "Sparse Mixtures of Experts", "Vision Stuff"]
    (request,) = fake_openai.chat_requests()
    assert "retrieval for LLMs" in request["messages"][1]["content"]


def test_feed_rank_without_a_topic_is_a_usage_error(workspace: Path, fake_arxiv, fake_openai) -> None:
    result = digest("feed", "cs.CL", "--rank")
    assert result.exit_code == 2 and "topic" in result.stderr
