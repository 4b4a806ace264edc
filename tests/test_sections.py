"""Top-level headings and section kinds, on our labelled table of the corpus's real headings.

tests/corpus_labels/headings.json holds, for every corpus paper, the
top-level headings read off its PDF by a person (number, title, page, kind),
never from digest's output. The detector must find nearly all of them,
invent nearly none, and give most the labelled kind.
"""

from __future__ import annotations

import pytest

import corpus
from digestcli.pdfclean import Paragraph
from digestcli.sections import find_headings, kind_of, split_sections

needs_corpus = corpus.needs_corpus()


def _outline(stem: str, engine: str = "pdfium"):
    done = corpus.extracted(stem, engine)
    return find_headings(done.paragraphs, done.body_size)


def _labelled() -> list:
    found = [stem for stem in corpus.labels("headings") if stem in corpus.stems(papers_only=False)]
    return [pytest.param(stem, id=stem) for stem in found] or corpus.params()


@pytest.mark.parametrize("stem", _labelled())
def test_every_labelled_heading_of_the_paper_is_found(stem: str) -> None:
    """Per paper: every labelled heading found, with at most one exception in a long paper."""
    labelled = corpus.labels("headings")[stem]["headings"]
    found = _outline(stem)

    missed = [h["title"] for h in labelled if not any(corpus.same_heading(f.title, h["title"]) for f in found)]
    invented = [f.title for f in found if not any(corpus.same_heading(f.title, h["title"]) for h in labelled)]

    allowed = max(1, len(labelled) // 10)
    assert len(missed) <= allowed, f"missed: {missed}"
    assert len(invented) <= allowed, f"not headings: {invented}"


@needs_corpus
def test_headings_found_across_the_labelled_corpus() -> None:
    scores = corpus.heading_scores("pdfium")
    print(f"{scores['found']}/{scores['labelled']} labelled headings found ({scores['recall']:.1%}), "
          f"precision {scores['precision']:.1%}, kind right for {scores['kind_accuracy']:.1%}")
    assert scores["labelled"] > 800
    assert scores["recall"] >= 0.99
    assert scores["precision"] >= 0.99
    assert scores["kind_accuracy"] >= 0.94


@needs_corpus
def test_the_sections_a_summary_needs_are_found_where_the_paper_has_them() -> None:
    """Introduction, method, results and conclusion: found in every paper whose labels have one,
    but for three sections whose kind is a judgement (Constitutional AI's method sections are full
    of results; an astronomer's "Observations" are data, not findings)."""
    gaps = []
    for stem, label in corpus.labels("headings").items():
        if stem.startswith(corpus.FAULT_FILES):
            continue
        kinds = {s.kind for s in corpus.text(stem).sections}
        for kind in ("introduction", "method", "results", "conclusion"):
            if any(h["kind"] == kind for h in label["headings"]) and kind not in kinds:
                gaps.append(f"{stem}: {kind}")
    assert len(gaps) <= 3, gaps


@needs_corpus
@pytest.mark.parametrize("stem", ["1910.02054v3", "2402.17764v1"])
def test_no_section_swallows_the_paper(stem: str) -> None:
    """ZeRO used to come out as one giant method section and BitNet b1.58 as a 9,000-character abstract."""
    text = corpus.text(stem)
    total = sum(len(s.text) for s in text.sections if s.kind not in ("references", "appendix"))

    assert len(text.sections) >= 6
    assert max(len(s.text) for s in text.sections if s.kind not in ("references", "appendix")) < 0.5 * total


@needs_corpus
def test_both_engines_find_the_same_headings() -> None:
    """The same headings, and the same kinds where a heading's words name one (a kind taken from
    what a section's text holds may differ: the engines see a table's numbers differently)."""
    for stem in ("2106.09685v2", "1810.04805v2", "0908.0054v1", "2402.17764v1"):
        pdfium, pypdf = _outline(stem, "pdfium"), _outline(stem, "pypdf")
        assert [(h.number, h.title) for h in pypdf] == [(h.number, h.title) for h in pdfium], stem
        named = [(h.title, h.kind) for h in pdfium if kind_of(h.title)]
        assert [(h.title, h.kind) for h in pypdf if kind_of(h.title)] == named, stem


# -- unit cases -------------------------------------------------------------------------------


def _paragraph(text: str, size: float = 10.0, bold: bool = False, lines: int = 1, gap: float = 6.0,
               top: float = 0.0) -> Paragraph:
    return Paragraph(text, 1, size, bold, lines, top=top, gap_before=gap)


BODY = "We study things in detail and report what we see in many experiments across several settings."


def test_numbered_lines_out_of_sequence_are_not_headings() -> None:
    paragraphs = [
        _paragraph("1 Introduction", 12, True), _paragraph(BODY, lines=4),
        _paragraph("3 Results are shown below", lines=1), _paragraph(BODY, lines=4),
        _paragraph("2 Method", 12, True), _paragraph(BODY, lines=4),
    ]

    sections = split_sections(paragraphs, 10.0)

    assert [(s.kind, s.heading) for s in sections] == [("introduction", "Introduction"), ("method", "Method")]
    assert "3 Results are shown below" in sections[0].text


def test_a_numbered_list_in_the_text_loses_to_the_bold_headings() -> None:
    paragraphs = [_paragraph("1 Introduction", 12, True), _paragraph(BODY, lines=3)]
    paragraphs += [_paragraph(f"{n} Step number {n} of the procedure", lines=1) for n in (2, 3, 4)]
    paragraphs += [_paragraph("2 Experiments", 12, True), _paragraph(BODY, lines=3),
                   _paragraph("3 Conclusion", 12, True), _paragraph(BODY, lines=3)]

    assert [h.title for h in find_headings(paragraphs, 10.0)] == ["Introduction", "Experiments", "Conclusion"]


def test_appendix_letters_after_the_references_are_appendices() -> None:
    paragraphs = [_paragraph("1 Introduction", 12, True), _paragraph(BODY, lines=3),
                  _paragraph("References", 12, True), _paragraph("[1] A. Author. A paper. 2020.", lines=2),
                  _paragraph("A Proofs of the theorems", 12, True), _paragraph(BODY, lines=3),
                  _paragraph("B Hyperparameters", 12, True), _paragraph(BODY, lines=3)]

    assert [(h.number, h.kind) for h in find_headings(paragraphs, 10.0)] == [
        ("1", "introduction"), ("", "references"), ("A", "appendix"), ("B", "appendix")]


def test_a_heading_wrapped_onto_two_lines_is_one_heading() -> None:
    paragraphs = [_paragraph("1 Introduction", 12, True), _paragraph(BODY, lines=3),
                  _paragraph("2 Retrieval-Augmented Generation for Knowledge-Intensive", 12, True, top=400),
                  _paragraph("Question Answering", 12, True, top=414), _paragraph(BODY, lines=3, top=440)]

    assert [h.title for h in find_headings(paragraphs, 10.0)] == [
        "Introduction", "Retrieval-Augmented Generation for Knowledge-Intensive Question Answering"]


@pytest.mark.parametrize("title, kind", [
    ("Experiments and Discussion", "results"), ("Discussion and Limitations", "conclusion"),
    ("RELATED WORKS", "other"), ("Our Approach", "method"), ("Broader Impact", "conclusion"),
    ("Impact Statements", "conclusion"), ("Acknowledgments", "other"), ("Bibliography", "references"),
    ("Supplementary Material", "appendix"), ("Understanding the Low-Rank Updates", None),
])
def test_kind_of_a_heading_by_its_first_telling_word(title: str, kind: str | None) -> None:
    assert kind_of(title) == kind
