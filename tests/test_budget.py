"""Token counting and context selection: the context fits the budget, keeps the right sections, cuts cleanly.

Counting uses the estimate (tiktoken would download its encoding, and tests
never touch the network); the properties hold for any counter.
"""

from __future__ import annotations

from functools import cache

import pytest

import digestcli.budget as budget_module
from digestcli.arxiv import parse_atom_feed
from digestcli.budget import ESTIMATE_NOTE, TokenCounter, cut_to_tokens, estimate_tokens, select_context
from digestcli.models import Context, PaperText, Section
from digestcli.pdftext import paper_text
from digestcli.text import split_sentences, squash
from fakes import FakePaper, atom_feed
from papers import LLAVA, MEZO, MEZO_SECTIONS, llava_pdf, mezo_pdf

CORE = ("introduction", "method", "results", "conclusion")
LOWER = ("other", "appendix")
BUDGETS = range(500, 8001, 50)


@pytest.fixture
def counter() -> TokenCounter:
    return TokenCounter("gpt-4o-mini", "estimate")


def text_from_pdf(fake: FakePaper, pdf: bytes) -> PaperText:
    (paper,), _ = parse_atom_feed(atom_feed([fake]))
    text = paper_text(paper, pdf)
    assert text.source == "pdf", text.warning
    return text


@cache
def mezo_text() -> PaperText:
    return text_from_pdf(MEZO, mezo_pdf())


@cache
def llava_text() -> PaperText:
    return text_from_pdf(LLAVA, llava_pdf())


@cache
def long_text() -> PaperText:
    """A long paper: several sections per kind, each far larger than small budgets."""
    intro, related, method, experiments, conclusion, references, proofs = (
        squash(" ".join(paragraphs)) for _, paragraphs in MEZO_SECTIONS)
    return PaperText((
        Section("abstract", "Abstract", MEZO.abstract),
        Section("introduction", "1 Introduction", " ".join([intro] * 4)),
        Section("other", "2 Related Work", " ".join([related] * 6)),
        Section("method", "3 Zeroth-Order Optimization", " ".join([method] * 3)),
        Section("method", "4 Memory-Efficient ZO-SGD", " ".join([method] * 2)),
        Section("results", "5 Experiments", " ".join([experiments] * 4)),
        Section("results", "6 Ablations", experiments),
        Section("conclusion", "7 Conclusion", " ".join([conclusion] * 3)),
        Section("references", "References", " ".join([references] * 40)),
        Section("appendix", "A Proofs", " ".join([proofs] * 8)),
        Section("appendix", "B Hyper-parameters", " ".join([proofs] * 5)),
    ), 30, "pdf")


@cache
def short_core_text() -> PaperText:
    """Tiny core sections and long lower-priority ones: the core must still come first."""
    return PaperText((
        Section("abstract", "Abstract", MEZO.abstract),
        Section("introduction", "Introduction", "We fine-tune with forward passes only."),
        Section("other", "Related Work", squash(MEZO_SECTIONS[1][1][0]) * 4),
        Section("method", "Method", "We perturb the weights with a seeded Gaussian vector."),
        Section("results", "Results", "MeZO matches fine-tuning on seven of eleven tasks."),
        Section("conclusion", "Conclusion", squash(MEZO_SECTIONS[4][1][0]) * 3),
        Section("appendix", "A Proofs", squash(MEZO_SECTIONS[6][1][0]) * 4),
    ), 9, "pdf")


PAPERS = {"mezo": mezo_text, "llava": llava_text, "long": long_text, "short-core": short_core_text}


@cache
def contexts_over_budgets(paper: str) -> list[tuple[int, Context]]:
    """select_context at every budget of BUDGETS, computed once and shared by the property tests."""
    counter = TokenCounter("gpt-4o-mini", "estimate")
    return [(budget, select_context(PAPERS[paper](), budget, counter)) for budget in BUDGETS]


def whole_sentence_prefix(kept: str, full: str) -> bool:
    """True when ``kept`` is ``full`` or its first k sentences, k >= 1."""
    if squash(kept) == squash(full):  # the whole section (its paragraphs may keep their breaks)
        return True
    sentences = split_sentences(full)
    return any(kept == " ".join(sentences[:k]) for k in range(1, len(sentences)))


def clean_cut(kept: str, full: str, counter: TokenCounter) -> bool:
    """Whole sentences; or, when even the first sentence is too long, whole words of it."""
    if whole_sentence_prefix(kept, full):
        return True
    first = split_sentences(full)[0]
    too_long = counter.count(first) + 1 > counter.count(kept)
    return bool(kept) and too_long and first.startswith(kept) and first[len(kept)] == " "


# -- properties over a range of budgets ------------------------------------------------


@pytest.mark.parametrize("paper", PAPERS)
def test_select_context_never_exceeds_the_budget(paper: str, counter: TokenCounter) -> None:
    for budget, context in contexts_over_budgets(paper):
        assert context.tokens == counter.count(context.text), budget
        assert context.tokens <= budget, (budget, context.kept_sections)
        assert context.budget == budget


@pytest.mark.parametrize("paper", ["mezo", "llava", "long"])
def test_select_context_never_sends_references(paper: str, counter: TokenCounter) -> None:
    text = PAPERS[paper]()
    references = text.text_of("references")
    assert references
    everything = (10**6, select_context(text, 10**6, counter))
    for budget, context in [*contexts_over_budgets(paper), everything]:
        assert "references" not in [part.kind for part in context.parts]
        assert references[:60] not in context.text


@pytest.mark.parametrize("paper", PAPERS)
def test_select_context_puts_the_abstract_first(paper: str, counter: TokenCounter) -> None:
    for budget, context in contexts_over_budgets(paper):
        assert context.parts[0].kind == "abstract", budget
        assert context.text.startswith("## Abstract\n")


@pytest.mark.parametrize("paper", ["mezo", "long", "short-core"])  # the papers with other/appendix sections
def test_select_context_drops_lower_sections_before_cutting_core_ones(paper: str, counter: TokenCounter) -> None:
    text = PAPERS[paper]()
    core_sections = [s for s in text.sections if s.kind in CORE]
    lower_dropped_with_core_kept = False
    for budget, context in contexts_over_budgets(paper):
        kept = {part.heading: part for part in context.parts}
        core_whole = all(s.heading in kept and not kept[s.heading].truncated for s in core_sections)
        lower_kept = [part.kind for part in context.parts if part.kind in LOWER]

        if not core_whole:
            assert lower_kept == [], (budget, context.kept_sections)
        if "appendix" in lower_kept:
            others = [s for s in text.sections if s.kind == "other"]
            assert all(s.heading in kept and not kept[s.heading].truncated for s in others), budget
        if core_whole and len(lower_kept) < len([s for s in text.sections if s.kind in LOWER]):
            lower_dropped_with_core_kept = True
    assert lower_dropped_with_core_kept  # the range really reaches budgets where something must give


@pytest.mark.parametrize("paper", PAPERS)
def test_select_context_cuts_sections_after_a_whole_sentence_or_word(paper: str, counter: TokenCounter) -> None:
    text = PAPERS[paper]()
    sections = {s.heading: s for s in text.sections}
    cuts = 0
    for budget, context in contexts_over_budgets(paper):
        for part in context.parts:
            assert clean_cut(part.text, sections[part.heading].text, counter), (budget, part.heading, part.text)
            assert part.full_tokens == counter.count(sections[part.heading].text)
            cuts += part.truncated
    assert cuts > 0


def test_select_context_keeps_everything_when_it_fits(counter: TokenCounter) -> None:
    text = mezo_text()

    context = select_context(text, 100_000, counter)

    sendable = [s for s in text.sections if s.kind != "references"]
    assert [(p.heading, p.text) for p in context.parts] == [(s.heading, s.text) for s in sendable]
    assert not any(p.truncated for p in context.parts)
    assert context.full_tokens >= context.tokens


def test_select_context_keeps_short_core_sections_whole_while_long_ones_share_the_rest(
        counter: TokenCounter) -> None:
    text = short_core_text()
    conclusion_tokens = counter.count(text.text_of("conclusion"))

    context = select_context(text, counter.count(MEZO.abstract) + conclusion_tokens // 2 + 100, counter)

    kept = {p.kind: p for p in context.parts}
    assert [p.kind for p in context.parts] == ["abstract", "introduction", "method", "results", "conclusion"]
    assert not any(kept[k].truncated for k in ("abstract", "introduction", "method", "results"))
    assert kept["conclusion"].truncated


@cache
def tiny_core_text() -> PaperText:
    """A short abstract, three one-sentence core sections, a long conclusion and long lower sections."""
    return PaperText((
        Section("abstract", "Abstract", "We fine-tune language models with forward passes only."),
        Section("introduction", "Introduction", "Backpropagation needs too much memory."),
        Section("method", "Method", "We perturb the weights with a seeded Gaussian vector."),
        Section("results", "Results", "MeZO matches fine-tuning on seven of eleven tasks."),
        # A long heading: dropping this section frees more than MIN_PART_TOKENS.
        Section("conclusion", "Conclusions, Limitations and Broader Impacts of Zeroth-Order Fine-Tuning",
                squash(MEZO_SECTIONS[4][1][0]) * 3),
        Section("other", "Related Work", squash(MEZO_SECTIONS[1][1][0]) * 4),
        Section("appendix", "A Proofs", squash(MEZO_SECTIONS[6][1][0]) * 4),
    ), 5, "pdf")


def test_select_context_gives_lower_sections_nothing_while_a_core_section_is_left_out(
        counter: TokenCounter) -> None:
    text = tiny_core_text()
    for budget in range(0, 1500):
        context = select_context(text, budget, counter)
        kinds = [part.kind for part in context.parts]
        core_whole = all(kind in kinds for kind in CORE) and not any(
            part.truncated for part in context.parts if part.kind in CORE)

        if not core_whole:
            assert not set(kinds) & set(LOWER), (budget, context.kept_sections)


def test_select_context_fits_every_small_core_section_next_to_a_long_one(counter: TokenCounter) -> None:
    text = tiny_core_text()
    whole = select_context(text, 10**6, counter)
    small_parts = sum(p.tokens + counter.count(f"## {p.heading}\n") + 2 for p in whole.parts if p.kind != "conclusion"
                      and p.kind not in LOWER)
    conclusion_heading = text.sections[4].heading
    room_for_conclusion = counter.count(f"## {conclusion_heading}\n") + 2 + 60

    context = select_context(text, small_parts + room_for_conclusion, counter)

    assert context.kept_sections == ["abstract", "introduction", "method", "results", "conclusion(cut)"]


def test_select_context_cuts_the_abstract_when_it_alone_is_over_budget(counter: TokenCounter) -> None:
    context = select_context(mezo_text(), 120, counter)

    assert [p.kind for p in context.parts] == ["abstract"]
    assert context.parts[0].truncated
    assert whole_sentence_prefix(context.parts[0].text, MEZO.abstract)
    assert context.tokens <= 120


# -- cutting -------------------------------------------------------------------


def test_cut_to_tokens_keeps_whole_sentences(counter: TokenCounter) -> None:
    text = "First short sentence. Second short sentence. Third sentence is a little longer than the rest."

    kept = cut_to_tokens(text, counter.count("First short sentence. Second short sentence.") + 2, counter)

    assert kept == "First short sentence. Second short sentence."


@pytest.mark.parametrize("limit", [1, 5, 17, 40, 99])
def test_cut_to_tokens_cuts_one_long_sentence_at_a_word_boundary(limit: int, counter: TokenCounter) -> None:
    text = " ".join(f"word{n}" for n in range(200)) + "."

    kept = cut_to_tokens(text, limit, counter)

    assert counter.count(kept) <= limit
    assert text.startswith(kept)
    assert kept == "" or text[len(kept)] == " "  # never mid-word
    assert kept.split() == text.split()[: len(kept.split())]


def test_cut_to_tokens_drops_a_single_word_longer_than_the_limit(counter: TokenCounter) -> None:
    assert cut_to_tokens("x" * 600, 20, counter) == ""


def test_cut_to_tokens_returns_text_that_fits_unchanged(counter: TokenCounter) -> None:
    text = "Fits easily.  Even   with odd spacing."

    assert cut_to_tokens(text, 1000, counter) == text


# -- never crashes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sections", "budget"),
    [
        ((), 1000),
        ((Section("references", "References", "[1] A. Author. A paper. 2020."),), 1000),
        ((Section("abstract", "Abstract", "   "), Section("introduction", "Introduction", "\n\t")), 1000),
        ((Section("abstract", "Abstract", "A short abstract."),), 0),
        ((Section("abstract", "Abstract", "A short abstract."),), -50),
        ((Section("abstract", "Abstract", "A short abstract."), Section("method", "Method", "x" * 50_000)), 500),
        ((Section("introduction", "Introduction", "没有空格的中文文本。" * 400),), 300),
        ((Section("results", "Results", "🚀 " * 3000 + "Done."),), 200),
        ((Section("other", "Weird", "Fig. 3 e.g. et al. 3.5. J. Smith. " * 200),), 64),
    ],
    ids=["no-sections", "only-references", "blank-sections", "zero-budget", "negative-budget", "one-giant-word",
         "no-spaces", "emoji", "abbreviations"],
)
def test_select_context_never_crashes_and_stays_within_budget(sections: tuple[Section, ...], budget: int,
                                                               counter: TokenCounter) -> None:
    context = select_context(PaperText(sections, 1, "pdf"), budget, counter)

    assert context.tokens <= max(budget, 0)
    assert all(part.text.strip() for part in context.parts)
    assert "references" not in [part.kind for part in context.parts]


# -- token counting --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("", 0), ("word", 1), ("a, b.", 4), ("representation", 3), ("12x memory", 3)],
)
def test_estimate_counts_words_symbols_and_long_words(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens
    assert TokenCounter("gpt-4o-mini", "estimate").count(text) == tokens


def test_estimate_mode_never_loads_tiktoken(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_load(model: str) -> None:
        raise AssertionError("tiktoken was asked for an encoding")

    monkeypatch.setattr(budget_module, "_load_encoding", must_not_load)

    counter = TokenCounter("gpt-4o-mini", "estimate")

    assert (counter.name, counter.notice) == ("estimate", "")


@pytest.fixture
def no_cached_encodings():
    load_encoding = budget_module._load_encoding  # the cached original, before any monkeypatch
    load_encoding.cache_clear()
    yield
    load_encoding.cache_clear()


@pytest.mark.parametrize("failure", [ConnectionError("no network"), OSError("corrupt cache"), ValueError("bad file")])
def test_token_counter_falls_back_to_estimate_with_a_notice(monkeypatch: pytest.MonkeyPatch, no_cached_encodings,
                                                            failure: Exception, counter: TokenCounter) -> None:
    def unavailable(model: str) -> None:
        raise failure

    monkeypatch.setattr(budget_module, "_load_encoding", unavailable)

    fallback = TokenCounter("gpt-4o-mini", "auto")

    assert fallback.name == "estimate"
    assert "gpt-4o-mini" in fallback.notice and type(failure).__name__ in fallback.notice
    assert ESTIMATE_NOTE in fallback.notice
    assert fallback.count(MEZO.abstract) == estimate_tokens(MEZO.abstract)
    context = select_context(mezo_text(), 1000, fallback)
    assert context.tokenizer == "estimate"
    assert context.tokens <= 1000


def test_token_counter_falls_back_when_tiktoken_cannot_fetch_its_encoding(monkeypatch: pytest.MonkeyPatch,
                                                                          no_cached_encodings) -> None:
    import tiktoken

    def offline(*args: object, **kwargs: object) -> None:
        raise ConnectionError("no network for the encoding download")

    monkeypatch.setattr(tiktoken, "encoding_for_model", offline)
    monkeypatch.setattr(tiktoken, "get_encoding", offline)

    fallback = TokenCounter("some-local-model", "auto")

    assert fallback.name == "estimate"
    assert "some-local-model" in fallback.notice and "ConnectionError" in fallback.notice
