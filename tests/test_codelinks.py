"""The Code link: the paper's own release, checked against our labels of the real corpus.

tests/corpus_labels/code_links.json says, for every corpus paper, which URL
is the paper's own code (or none), read off the PDF by a person, with the
third-party links a naive picker would take (tiktoken, grobid, llama.cpp,
stanford_alpaca, baselines, datasets).
"""

from __future__ import annotations

import pytest

import corpus
from digestcli.codelinks import LinkMention, is_code_host, normal_url, own_code_links, text_urls


def _labelled() -> list:
    found = [stem for stem in corpus.labels("code_links") if stem in corpus.stems(papers_only=False)]
    return [pytest.param(stem, id=stem) for stem in found] or corpus.params()


@pytest.mark.parametrize("stem", _labelled())
def test_the_code_link_is_the_papers_own_release_or_none(stem: str) -> None:
    label = corpus.labels("code_links")[stem]
    accepted = {normal_url(url) for url in [label["code"], *label.get("also", [])] if url}
    links = corpus.text(stem).code_links

    if not accepted:
        assert links == (), f"the paper releases no code, but got {links}"
        return
    assert links, f"missed {label['code']}"
    assert links[0] in accepted
    assert not {normal_url(url) for url in label.get("not_own", [])} & set(links[:1])


@corpus.needs_corpus()
def test_third_party_tools_a_paper_uses_are_never_its_code() -> None:
    # LongNet links tiktoken and flash-attention, BitNet b1.58 llama.cpp, DsDm grobid, LIMA stanford_alpaca.
    for stem, tool in [("2307.02486v1", "https://github.com/openai/tiktoken"),
                       ("2402.17764v1", "https://github.com/ggerganov/llama.cpp"),
                       ("2401.08406v2", "https://github.com/kermitt2/grobid"),
                       ("2305.11206v1", "https://github.com/tatsu-lab/stanford_alpaca")]:
        mentioned = "\n".join(corpus.extracted(stem).raw_pages) + str(corpus.extracted(stem).links)
        assert tool.removeprefix("https://") in mentioned, stem  # the paper does link it
        assert tool not in corpus.text(stem).code_links, stem


@corpus.needs_corpus()
def test_short_links_and_project_pages_count() -> None:
    assert corpus.text("2307.02486v1").code_links[:1] == ("https://aka.ms/LongNet",)
    assert corpus.text("encrypted-2103.15348v2-excerpt").code_links[:1] == ("https://layout-parser.github.io",)


# -- unit cases -------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("Code: https://github.com/\nprinceton-nlp/MeZO.", ["https://github.com/princeton-nlp/MeZO"]),
    ("see github.com/princeton-nlp/\nMeZO for code", ["github.com/princeton-nlp/MeZO"]),
    ("at https://github.com/ofirpress/attention_with_\nlinear_biases.", ["https://github.com/ofirpress/attention_with_linear_biases"]),
    ("at https://github.com/facebookresearch/llama-m\nodels/blob/main/README.md now", ["https://github.com/facebookresearch/llama-models/blob/main/README.md"]),
    ("Code: https://github.com/org/repo.\nWe show more.", ["https://github.com/org/repo"]),
    ("at https://github.com/microsoft/LoRA.\n1 Introduction", ["https://github.com/microsoft/LoRA"]),
    ("see https://github.\nio/org/repo now", ["https://github.io/org/repo"]),
    ("5https://huggingface.co/x/sft5https://github.com/a/b", ["https://huggingface.co/x/sft", "https://github.com/a/b"]),
])
def test_text_urls_rebuilds_links_cut_or_glued_at_line_breaks(text: str, expected: list[str]) -> None:
    assert [url for url, _ in text_urls(text)] == expected


@pytest.mark.parametrize("url, expected", [
    ("http://www.github.com/org/repo.git)", "https://github.com/org/repo"),
    ("https://github.com/Org/Repo/", "https://github.com/Org/Repo"),
    ("aka.ms/LongNet", "https://aka.ms/LongNet"),
])
def test_normal_url(url: str, expected: str) -> None:
    assert normal_url(url) == expected


@pytest.mark.parametrize("url, code", [
    ("https://github.com/princeton-nlp/MeZO", True), ("https://github.com/princeton-nlp", False),
    ("https://github.com/features/copilot", False), ("https://huggingface.co/facebook/opt-66b", True),
    ("https://llava-vl.github.io", True), ("https://aka.ms/retnet", True), ("https://arxiv.org/abs/1", False),
])
def test_is_code_host(url: str, code: bool) -> None:
    assert is_code_host(url) is code


def test_own_code_links_weighs_what_the_paper_says_around_the_link() -> None:
    own = LinkMention("https://github.com/lab/ours", 3, "Our code is publicly available at <URL>")
    used = LinkMention("https://github.com/other/tool", 3, "We use the tokenizer from <URL>")
    cited = LinkMention("https://github.com/lab/older", 12, "Smith, J. 2021. A tool. URL <URL>", in_references=True)

    assert own_code_links([used, cited, own]) == ("https://github.com/lab/ours",)
    assert own_code_links([used, cited]) == ()


def test_the_arxiv_comment_and_author_owned_repositories_count() -> None:
    comment = LinkMention("https://github.com/x/y", 0, "Accepted at NeurIPS. <URL>")
    footnote = LinkMention("https://github.com/artidoro/qlora", 1, "<URL>")

    assert own_code_links([comment]) == ("https://github.com/x/y",)
    assert own_code_links([footnote], authors=["Tim Dettmers", "Artidoro Pagnoni"]) == (
        "https://github.com/artidoro/qlora",)
    assert own_code_links([footnote], authors=["Someone Else"]) == ()


def test_links_that_are_not_web_addresses_are_ignored() -> None:
    assert normal_url("http://[oops/x") == ""
    assert normal_url('https://github.com/a/b"><img src=x>') == ""
    assert own_code_links([LinkMention(normal_url("http://[oops/x"), 1, "Our code is at <URL>")]) == ()


@pytest.mark.parametrize("context", [
    "code and " + "a" * 20000 + " <URL>",
    "2020 " * 4000 + " <URL>",
    "Our code is " + "available " * 2000 + "at <URL>",
])
def test_scoring_hostile_contexts_ends(context: str) -> None:
    import signal

    from digestcli.codelinks import link_mentions

    def runaway(*_: object) -> None:
        raise TimeoutError("a cue did not end")

    previous = signal.signal(signal.SIGALRM, runaway)
    signal.alarm(20)
    try:
        own_code_links([LinkMention("https://github.com/a/b", 3, context)])
        link_mentions([context.replace("<URL>", "https://github.com/a/b")], [[]], (1, 1))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
