"""Cleaning rules, each shown on a real corpus page where the engine's raw output has the problem.

Every test first checks that the raw lines really hold what the rule removes
or repairs (so it cannot pass vacuously), then that the prose (what the
summaries read) and the page text (what grounding reads) come out right.
Both engines go through the same cleaning; a rule whose problem only one
engine shows is tested with that engine. Unit tests on hand-made lines pin
down the edge cases.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

import pytest

import corpus
from digestcli.characters import clean_chars, drop_garbage
from digestcli.citations import remove_citations
from digestcli.linekinds import STAMP
from digestcli.pdfclean import clean_document, join_lines
from digestcli.pdfread import Document, Line, PageLayout

ENGINES = ["pdfium", "pypdf"]
needs_corpus = corpus.needs_corpus()


def raw_lines(stem: str, engine: str, page: int | None = None) -> list[str]:
    document = corpus.layout(stem, engine)
    return [line.text for p in document.pages if page is None or p.number == page for line in p.lines]


def prose(stem: str, engine: str) -> str:
    return "\n".join(paragraph.text for paragraph in corpus.extracted(stem, engine).paragraphs)


def page_text(stem: str, engine: str, page: int) -> str:
    return corpus.extracted(stem, engine).pages[page - 1]


# -- characters --------------------------------------------------------------------------------

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ue000-\uf8ff]")


@needs_corpus
@pytest.mark.parametrize("stem, engine", [("1512.03385v1", "pdfium"), ("1512.03385v1", "pypdf"),
                                          ("2305.18290v2", "pypdf")])
def test_control_and_private_use_characters_never_leave_the_pdf_stage(stem: str, engine: str) -> None:
    assert any(CONTROL.search(line) for line in raw_lines(stem, engine))  # ResNet's brackets, DPO's β as NUL

    done = corpus.extracted(stem, engine)

    for text in (*done.pages, *done.raw_pages, *(p.text for p in done.paragraphs)):
        assert not CONTROL.search(text), repr(CONTROL.search(text))


@needs_corpus
@pytest.mark.parametrize("engine", ENGINES)
def test_mis_encoded_math_glyphs_are_dropped_from_prose(engine: str) -> None:
    # DPO, printed to PDF from a browser, maps its Greek letters to arrows and dingbats:
    # both engines read "policy ⇡ref", "max⇡✓ Ex⇠D,y⇠⇡✓(y|x)".
    raw = raw_lines("2305.18290v2", engine)
    assert any("⇡ref" in line for line in raw) and any("⇠" in line for line in raw)

    text = prose("2305.18290v2", engine)

    assert not re.search(r"[⇠⇡⇤✓⌧]", text)
    assert "a parameter controlling the deviation from the base reference" in text  # the words around them stay


@needs_corpus
def test_math_letters_are_unfolded() -> None:
    assert any("𝑊 ∈ ℝ𝑑×𝑑" in line for line in raw_lines("2106.09685v2", "pdfium", 1))  # LoRA's Figure 1

    assert "W ∈ Rd×d" in page_text("2106.09685v2", "pdfium", 1)


@needs_corpus
@pytest.mark.parametrize("engine", ENGINES)
def test_ligatures_are_plain_letters(engine: str) -> None:
    text = page_text("2106.09685v2", engine, 1)

    assert "ﬁ" not in text and "fine-tuning" in text


@needs_corpus
def test_broken_diacritics_are_whole_letters_again() -> None:
    # pypdf keeps LaTeX's accent glyphs apart from their letters; pdfium puts them where they are drawn.
    assert any("F´ısica" in line for line in raw_lines("0908.0054v1", "pypdf", 1))
    assert any("Ruckl ¨ e" in line for line in _pdfium_chars_only("2106.09685v2", 3))

    for engine in ENGINES:
        assert "Física" in page_text("0908.0054v1", engine, 1), engine
        assert "Investigación" in page_text("0908.0054v1", engine, 1), engine
        assert "Rücklé" in corpus.extracted("2106.09685v2", engine).raw_pages[2], engine


def _pdfium_chars_only(stem: str, page: int) -> list[str]:
    """pdfium's own lines of a page, as its plain text call gives them (before digest's repairs)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(corpus.pdf_bytes(stem))
    try:
        textpage = document[page - 1].get_textpage()
        return textpage.get_text_range().splitlines()
    finally:
        document.close()


# -- what is not prose -------------------------------------------------------------------------


@needs_corpus
@pytest.mark.parametrize("stem", ["2106.09685v2", "2311.09569v1", "1810.04805v2"])
def test_the_arxiv_margin_stamp_is_nowhere_in_the_text(stem: str) -> None:
    assert any(STAMP.search(line) for line in raw_lines(stem, "pypdf", 1))  # pypdf reads the stamp as text

    for engine in ENGINES:
        done = corpus.extracted(stem, engine)
        for text in (*done.pages, *done.raw_pages, prose(stem, engine)):
            assert not STAMP.search(text), engine


@needs_corpus
@pytest.mark.parametrize("engine", ENGINES)
def test_captions_stay_out_of_prose_and_in_the_page_text(engine: str) -> None:
    caption = "Figure 1: Our reparametrization. We only train A and B."
    assert caption in page_text("2106.09685v2", engine, 1)  # grounding still finds what captions say

    assert "reparametrization. We only train" not in prose("2106.09685v2", engine)
    assert "Table 1: GLUE Test results" not in prose("1810.04805v2", engine)


@needs_corpus
def test_sub_figure_legends_stay_out_of_prose() -> None:
    assert "(a) Winogrande" in raw_lines("2305.13048v1", "pdfium", 8)  # RWKV's figure 5

    assert "Winogrande (b)" not in prose("2305.13048v1", "pdfium")
    assert "(a) Winogrande" not in prose("2305.13048v1", "pdfium")


@needs_corpus
@pytest.mark.parametrize("engine", ENGINES)
def test_footnotes_stay_out_of_prose(engine: str) -> None:
    text = prose("2106.09685v2", engine)

    assert "Equal contribution" in page_text("2106.09685v2", engine, 1)
    assert "Equal contribution" not in text
    assert "Compared to V1, this draft includes better baselines" not in text


@needs_corpus
def test_footnote_marks_after_words_are_dropped_from_prose() -> None:
    assert any("training all biases²" in line for line in raw_lines("2106.09685v2", "pdfium", 4))

    text = prose("2106.09685v2", "pdfium")

    assert "training all biases, we roughly recover" in text
    assert "biases²" not in text


@needs_corpus
def test_a_tex_prime_is_a_prime_not_a_raised_zero() -> None:
    # cmsy draws the prime as a small raised "0": LoRA's "a different B′A′" read "B⁰A⁰"
    text = prose("2106.09685v2", "pdfium")

    assert "adding a different B′A′, a quick operation" in text
    assert "B⁰A⁰" not in text


@needs_corpus
@pytest.mark.parametrize("engine", ENGINES)
def test_display_equations_and_their_numbers_stay_out_of_prose(engine: str) -> None:
    assert any(re.search(r"FFN\(x\) = max\(0, ?xW1 \+ b1\)W2 \+ b2 ?\(2\)", line)
               for line in raw_lines("1706.03762v7", engine, 5))

    text = prose("1706.03762v7", engine)

    assert "FFN(x)" not in text
    assert not re.search(r"\(\d\)\s*$", text, re.M)  # no paragraph ends in an equation number


@needs_corpus
@pytest.mark.parametrize("engine", ENGINES)
def test_table_rows_stay_out_of_prose_and_in_the_page_text(engine: str) -> None:
    row = re.compile(r"80\.6/80\.1\s+66\.1\s+82\.3")  # BERT's Table 1, "Pre-OpenAI SOTA"
    assert row.search(page_text("1810.04805v2", engine, 6))

    assert not row.search(prose("1810.04805v2", engine))


@needs_corpus
@pytest.mark.parametrize("stem, head", [("2108.12409v2", "Published as a conference paper at ICLR 2022"),
                                        ("2310.04406v2", "Preprint")])
@pytest.mark.parametrize("engine", ENGINES)
def test_running_heads_are_nowhere_in_the_text(stem: str, head: str, engine: str) -> None:
    document = corpus.layout(stem, engine)
    assert sum(1 for page in document.pages if any(line.text == head for line in page.lines)) >= 10

    done = corpus.extracted(stem, engine)

    assert not any(head in page.splitlines() for page in done.pages)
    assert not any(paragraph.text == head for paragraph in done.paragraphs)


@needs_corpus
@pytest.mark.parametrize("engine", ENGINES)
def test_inline_citations_are_removed_from_prose(engine: str) -> None:
    raw = " ".join(raw_lines("2106.09685v2", engine, 1))
    assert "(Radford et al., b)" in raw and "(Liu et al., 2019)" in raw

    text = prose("2106.09685v2", engine)

    assert "for GPT-2 or RoBERTa large to a critical deployment challenge for GPT-3 with" in text
    assert "(Liu et al., 2019)" not in text
    assert "[41]" not in prose("1512.03385v1", engine)  # numbered citations too


# -- joining lines -------------------------------------------------------------------------------


@needs_corpus
@pytest.mark.parametrize("engine", ENGINES)
def test_words_broken_at_line_ends_are_whole_and_compounds_keep_their_hyphen(engine: str) -> None:
    raw = "\n".join(raw_lines("2106.09685v2", engine, 1))
    assert re.search(r"indepen[\u00ad-]\ndent", raw) and re.search(r"the pre[\u00ad-]\ntrained model", raw)

    text = prose("2106.09685v2", engine)

    assert "deploying independent instances" in text  # TeX's hyphenation
    assert "freezes the pre-trained model weights" in text  # the paper writes "pre-trained"


@needs_corpus
def test_columns_read_left_then_right_even_when_the_engine_interleaves_them() -> None:
    """No engine mixes the columns of the corpus's two-column papers; an engine that reads
    line by line across the page would. BERT's first page, its lines put in that order, reads
    the same as the engine's own order."""
    document = corpus.layout("1810.04805v2", "pdfium")
    first = document.pages[0]
    interleaved = replace(first, lines=tuple(sorted(first.lines, key=lambda line: (round(line.bottom), line.x0))))
    assert _hops(interleaved) > 20  # the left and right columns now alternate line by line

    expected = clean_document(Document((first,), "pdfium")).paragraphs
    got = clean_document(Document((interleaved,), "pdfium")).paragraphs

    assert [p.text for p in got] == [p.text for p in expected]
    left = next(p.text for p in got if p.text.startswith("Language model pre-training has been shown"))
    assert left.endswith("where models are required to produce fine-grained output at the token level.")


def _hops(page: PageLayout) -> int:
    middle = page.width / 2
    sides = ["L" if line.x1 < middle else "R" for line in page.lines if line.x1 < middle or line.x0 > middle]
    return sum(1 for a, b in zip(sides, sides[1:]) if a != b)


# -- unit cases ------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, expected", [
    ("an e\ufb03cient \ufb01ne-tuning \ufb02ow", "an efficient fine-tuning flow"),
    ("o\ufb00set and ba\ufb04ing", "offset and baffling"),
    ("non\u2011differentiable", "non-differentiable"),
    ("R\u00a8uckl\u00b4e and F\u00b4\u0131sica and Lema\u02c6\u0131tre", "Rücklé and Física and Lemaître"),
    ("Fran\u00b8cois and c\u00b8a", "Fran\u00e7ois and \u00e7a"),
    ("a \u00b4 stray accent", "a stray accent"),
    ("Gar\u00b8con", "Garçon"),
    ("𝑊 ∈ ℝ𝑑×𝑘 and 𝜃", "W ∈ Rd×k and θ"),
    ("where\x00is the \uf8eebracket\u200b", "where is the  bracket"),
])
def test_clean_chars(raw: str, expected: str) -> None:
    assert clean_chars(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("for GPT-2 (Radford et al., b) or RoBERTa (Liu et al., 2019) to", "for GPT-2 or RoBERTa to"),
    ("models (Peters et al., 2018a; Radford et al., 2018), BERT", "models, BERT"),
    ("as in Shoeybi et al. (2020); Lepikhin et al. (2020), because", "as in Shoeybi et al.; Lepikhin et al., because"),
    ("a model (BERT; Devlin et al., 2019) is", "a model (BERT) is"),
    ("deeper than VGG nets [41] and [3, 5-7] or [XLS+23, FAHA23].", "deeper than VGG nets and or."),
    ("tuning (Li & Liang, 2021) works", "tuning works"),
    ("accuracy (85.1%, 3 runs) holds", "accuracy (85.1%, 3 runs) holds"),  # not a citation
    ("the parameters.\u00b9 Then", "the parameters. Then"),
])
def test_remove_citations(raw: str, expected: str) -> None:
    assert remove_citations(raw) == expected


def test_drop_garbage_keeps_plain_arrows_and_words() -> None:
    assert drop_garbage("from 5.9% → 10.9% and BLEU↑ here") == "from 5.9% → 10.9% and BLEU↑ here"
    assert "⇡" not in drop_garbage("max⇡✓ Ex⇠D,y⇠⇡✓(y|x) holds")


def test_join_lines_keeps_hyphens_the_paper_writes() -> None:
    from collections import Counter

    vocabulary = (Counter({"pretraining": 1, "representation": 2}), Counter({"pre-training": 5}))
    assert join_lines(["large pre\u00ad", "training works"], vocabulary) == "large pre-training works"
    assert join_lines(["a repre\u00ad", "sentation"], vocabulary) == "a representation"
    assert join_lines(["compared with GPT-", "4 on"], vocabulary) == "compared with GPT-4 on"
    assert join_lines(["the Stanford-", "Berkeley team"], vocabulary) == "the Stanford-Berkeley team"


def _line(text: str, top: float, x0: float = 72, width: float = 468, size: float = 10.0) -> Line:
    return Line(text, x0, x0 + width, top - 8, top, size)


def test_a_running_head_needs_three_pages_and_the_page_edge() -> None:
    pages = []
    for number in range(1, 5):
        lines = [_line("Under review as a conference paper", 40, width=200)]
        lines += [_line(f"Body sentence {n} on page {number} says something long enough to count.", 100 + 12 * n)
                  for n in range(30)]
        lines.append(_line(str(number), 760, x0=300, width=8))
        pages.append(PageLayout(number, 612, 792, tuple(lines)))

    done = clean_document(Document(tuple(pages), "pdfium"))

    assert not any("Under review" in page for page in done.pages)
    assert not any(re.search(r"^\d+$", page, re.M) for page in done.pages)
    assert "Body sentence 0 on page 1" in done.pages[0]


def test_clean_document_is_deterministic() -> None:
    rng = random.Random(3)
    lines = tuple(_line(" ".join(rng.choice(["alpha", "beta", "gamma"]) for _ in range(12)) + ".", 100 + 12 * n)
                  for n in range(40))
    document = Document((PageLayout(1, 612, 792, lines),), "pdfium")

    assert clean_document(document) == clean_document(document)


@pytest.mark.parametrize("raw, expected", [
    ("values in [0, 1] and the range [2, 5] stay", "values in [0, 1] and the range [2, 5] stay"),
    ("10⁴ steps in O(n²) with R² stay", "10⁴ steps in O(n²) with R² stay"),
    ("the biases² and the model.³ go", "the biases and the model. go"),
    ("(a + b)² and W′ and 13D²L stay", "(a + b)² and W′ and 13D²L stay"),
    # footnote marks and superscript citations of corpus papers
    ("collaboration, 2021).⁵ It", "collaboration, 2021). It"),  # 2204.02311
    ("both GPT-3,⁶ Gopher", "both GPT-3, Gopher"),  # 2204.02311
    ("and BLEURT-20.¹³ For", "and BLEURT-20. For"),  # 2204.02311
    ("(see Figure 3)⁵. This", "(see Figure 3). This"),  # 2306.02707
    ("closed-box LFM’s⁷, recent", "closed-box LFM’s, recent"),  # 2306.02707
    ("small “intrinsic rank”.⁶ To", "small “intrinsic rank”. To"),  # 2106.09685
    ("such as drug design, 18,¹⁹ as", "such as drug design, as"),  # 2407.01603
    ("layers 1, 2,³ and", "layers 1, 2, and"),
])
def test_remove_citations_leaves_intervals_and_exponents(raw: str, expected: str) -> None:
    assert remove_citations(raw) == expected


def test_bold_by_weight_when_font_names_say_nothing() -> None:
    """Fonts named F1, F2 (a 2007 dvips paper): the heading's font is heavier than the body's."""
    body = [Line("Body text of the paper goes on here.", 72, 500, 100 + 12 * n, 110 + 12 * n, 12.0, "Fk", 732)
            for n in range(40)]
    heading = Line("2. Method", 72, 140, 600, 610, 12.0, "Fn", 752)
    pages = (PageLayout(1, 612, 792, (*body, heading)),)

    paragraphs = clean_document(Document(pages, "pdfium")).paragraphs

    assert next(p for p in paragraphs if p.text == "2. Method").bold
    assert not paragraphs[0].bold


def test_a_line_joined_across_a_superscript_keeps_its_font() -> None:
    from digestcli.pdfclean import _merge_scripts

    first = Line("Theorem 1", 72, 120, 90, 100, 10.0, "CMBX10", 0, True)
    mark = Line("2", 120.5, 124, 86, 96, 7.0, "CMR7", 0)

    (merged,) = _merge_scripts([first, mark])

    assert (merged.text, merged.font, merged.bold) == ("Theorem 12", "CMBX10", True)


@pytest.mark.parametrize("text", [
    "(" + "see also " * 40 + "x)",
    "1" * 20000 + "a",
    "x" * 20000 + "⇡",
    "word" + " " * 20000 + ".",
    "[" + "1, " * 5000 + "]",
    "(" + "Smith et al., 2020; " * 200 + ")",
])
def test_cleaning_hostile_text_ends(text: str) -> None:
    """Text from a PDF or a model can be anything: no rule backtracks without end on it (the
    alarm stops a runaway regular expression; every case here takes milliseconds)."""
    import signal

    from digestcli.linekinds import numeric_share
    from digestcli.pdfclean import prose_text

    def runaway(*_: object) -> None:
        raise TimeoutError("a cleaning rule did not end")

    previous = signal.signal(signal.SIGALRM, runaway)
    signal.alarm(20)
    try:
        prose_text(text)
        prose_text(text, marks=False)
        numeric_share(text)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
