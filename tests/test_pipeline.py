"""The add workflow's own decisions (the CLI tests drive the whole path)."""

from __future__ import annotations

import pytest

from digestcli.commands.paper import choose_code_url

PAPER_LINKS = ("https://github.com/princeton-nlp/MeZO", "https://huggingface.co/princeton-nlp/mezo")


@pytest.mark.parametrize(
    ("suggested", "found", "expected"),
    [
        # The model names a link the paper has: keep the model's choice.
        ("https://huggingface.co/princeton-nlp/mezo", PAPER_LINKS, "https://huggingface.co/princeton-nlp/mezo"),
        ("http://www.github.com/princeton-nlp/MeZO/", PAPER_LINKS, "http://www.github.com/princeton-nlp/MeZO/"),
        # The model invents a repository: the paper's own first link wins.
        ("https://github.com/someone/invented", PAPER_LINKS, "https://github.com/princeton-nlp/MeZO"),
        (None, PAPER_LINKS, "https://github.com/princeton-nlp/MeZO"),
        # The paper links no code: an unverifiable suggestion is dropped.
        ("https://github.com/someone/invented", (), ""),
        (None, (), ""),
    ],
)
def test_code_url_is_only_taken_from_links_the_paper_contains(suggested, found, expected):
    assert choose_code_url(suggested, found) == expected


def test_add_reports_a_cached_response_without_claiming_tokens(workspace, fake_arxiv, fake_openai):
    from typer.testing import CliRunner

    from digestcli.cli import app

    runner = CliRunner()
    first = runner.invoke(app, ["add", "2305.17333"])
    assert first.exit_code == 0, first.stderr
    assert "tokens → " in first.stderr
    again = runner.invoke(app, ["add", "2305.17333", "--force"])
    assert again.exit_code == 0, again.stderr
    assert "cached response, no tokens spent" in again.stderr
    assert "tokens → " not in again.stderr
    assert len(fake_openai.chat_requests()) == 1
