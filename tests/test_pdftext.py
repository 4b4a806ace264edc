"""PDF text extraction on real PDF files built by tests/papers.py, and on the shared corpus when present.

A PDF that cannot be read must never raise out of paper_text: the paper falls
back to its abstract and the PaperText says why.
"""

from __future__ import annotations

import dataclasses
import io
import re
from functools import cache
from pathlib import Path

import pytest

from digestcli.arxiv import parse_atom_feed
from digestcli.errors import IdentifierError, PdfError
from digestcli.ids import parse_arxiv_id
from digestcli.models import ArxivId, Paper, PaperText
from digestcli.pdftext import clean_pages, extract_pages, find_code_links, paper_text, split_sections
from fakes import FakePaper, atom_feed
from papers import (LLAVA, LLAVA_SECTIONS, MEZO, MEZO_SECTIONS, SHARED_CORPUS, image_only_pdf, llava_pdf, make_pdf,
                    mezo_pdf)

RUNNING_HEADER = "Preprint. Under review."


def paper_from_feed(fake: FakePaper) -> Paper:
    """The Paper the arXiv client would build from this metadata."""
    (paper,), errors = parse_atom_feed(atom_feed([fake]))
    assert errors == []
    return paper


@cache
def long_mezo_pdf() -> bytes:
    """MeZO with every paragraph tripled: five pages, so running headers can be recognised."""
    sections = [(heading, paragraphs * 3) for heading, paragraphs in MEZO_SECTIONS]
    return make_pdf(MEZO.title, MEZO.authors, MEZO.abstract, sections, running_header=RUNNING_HEADER)


@cache
def encrypted_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(llava_pdf()))
    writer.encrypt(user_password="reader-secret", owner_password="owner-secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# -- sections --------------------------------------------------------------------


def test_paper_text_finds_sections_in_order_with_their_kinds() -> None:
    text = paper_text(paper_from_feed(MEZO), mezo_pdf())

    assert text.source == "pdf"
    assert text.warning == ""
    assert [(s.kind, s.heading) for s in text.sections] == [
        ("abstract", "Abstract"),
        ("introduction", "Introduction"),
        ("other", "Related Work"),
        ("method", "Zeroth-Order Optimization"),
        ("results", "Experiments"),
        ("conclusion", "Conclusion"),
        ("references", "References"),
        ("appendix", "A Proofs"),
    ]


def test_paper_text_uses_the_api_abstract_and_keeps_section_bodies() -> None:
    text = paper_text(paper_from_feed(MEZO), mezo_pdf())

    assert text.sections[0].text == MEZO.abstract
    assert text.text_of("introduction").startswith("Fine-tuning pre-trained language models has become")
    assert "Our contributions are threefold." in text.text_of("introduction")
    assert text.text_of("results").startswith("We evaluate on RoBERTa-large")
    assert "Spall" in text.text_of("references")
    assert "Spall" not in text.text_of("appendix", "conclusion")
    assert text.pages == 2


def test_paper_text_gives_unknown_numbered_headings_a_kind_by_position() -> None:
    text = paper_text(paper_from_feed(LLAVA), llava_pdf())

    assert [(s.kind, s.heading) for s in text.sections][1:] == [
        ("introduction", "Introduction"),
        ("method", "GPT-assisted Visual Instruction Data Generation"),
        ("method", "Visual Instruction Tuning"),
        ("results", "Experiments"),
        ("conclusion", "Conclusion"),
        ("references", "References"),
    ]


def test_paper_text_records_the_page_each_section_starts_on() -> None:
    text = paper_text(paper_from_feed(MEZO), long_mezo_pdf())

    pages = {s.heading: s.page for s in text.sections}
    assert text.pages == 5
    assert pages["Introduction"] == 1
    assert list(pages.values()) == sorted(pages.values())
    assert pages["A Proofs"] == 5


# -- cleaning --------------------------------------------------------------------


def test_pdf_text_rejoins_a_word_hyphenated_across_lines() -> None:
    pages = extract_pages(mezo_pdf())
    assert "repre-\nsentation" in "\n".join(pages)  # the PDF really breaks the word

    sections = split_sections(clean_pages(pages))

    abstract = next(s for s in sections if s.kind == "abstract")
    assert "keeps a low memory representation of the perturbation" in abstract.text
    assert "repre-" not in abstract.text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("an e\ufb03cient \ufb01ne-tuning \ufb02ow", "an efficient fine-tuning flow"),
        ("o\ufb00set and ba\ufb04ing", "offset and baffling"),
        ("non\u2011differentiable", "non-differentiable"),
        ("soft\u00adware", "software"),
        ("a low memory repre-\nsentation", "a low memory representation"),
        ("language-\nonly models", "languageonly models"),
        ("compared with GPT-\n4 on", "compared with GPT-\n4 on"),  # a hyphen before a capital or digit stays
    ],
)
def test_clean_pages_expands_ligatures_and_rejoins_hyphenation(raw: str, expected: str) -> None:
    assert clean_pages([raw]) == [expected]


def test_clean_pages_drops_running_header_and_page_numbers() -> None:
    pages = extract_pages(long_mezo_pdf())
    assert len(pages) >= 3
    assert all(page.splitlines()[0] == RUNNING_HEADER for page in pages)
    assert [page.splitlines()[-1] for page in pages] == [str(n) for n in range(1, len(pages) + 1)]

    cleaned = clean_pages(pages)

    for page in cleaned:
        lines = page.splitlines()
        assert RUNNING_HEADER not in lines
        assert not any(re.fullmatch(r"\d+", line) for line in lines)
    text = paper_text(paper_from_feed(MEZO), long_mezo_pdf())
    assert "Preprint" not in text.full_text


@pytest.mark.parametrize("number", ["3", "Page 3", "3 / 12", "page 3 of 12", "iv"])
def test_clean_pages_drops_page_numbers_even_on_short_documents(number: str) -> None:
    assert clean_pages([f"Body text of the page.\n{number}"]) == ["Body text of the page."]


def test_clean_pages_keeps_a_repeated_line_on_short_documents() -> None:
    pages = ["Draft\nFirst page body text.", "Draft\nSecond page body text."]

    assert clean_pages(pages) == pages


def test_clean_pages_keeps_body_lines_that_differ_from_page_to_page() -> None:
    openings = ["We study memory.", "Gradients need storage.", "Seeds replace vectors.", "Results follow now."]
    closings = ["Tables come later.", "Proofs are deferred.", "Costs stay low.", "Figures show trends."]
    bodies = ["\n".join(f"{topic} sentence {n} of the body." for n in range(20))
              for topic in ("Memory", "Storage", "Vector", "Result")]
    pages = [f"Running Title\n{first}\n{body}\n{last}\n{number}"
             for number, (first, body, last) in enumerate(zip(openings, bodies, closings), start=1)]

    cleaned = clean_pages(pages)

    assert cleaned == [f"{first}\n{body}\n{last}" for first, body, last in zip(openings, bodies, closings)]


def test_split_sections_ignores_numbered_lines_out_of_sequence() -> None:
    pages = ["1 Introduction\nWe study things.\n3 Results are shown below\nMore intro text.\n2 Method\nWe do this."]

    sections = split_sections(pages)

    assert [(s.kind, s.heading) for s in sections] == [("introduction", "Introduction"), ("method", "Method")]
    assert "3 Results are shown below" in sections[0].text


# -- code links ------------------------------------------------------------------


def test_paper_text_finds_code_link_in_the_arxiv_comment() -> None:
    comment = "NeurIPS 2023. Code: https://github.com/haotian-liu/LLaVA."
    paper = paper_from_feed(dataclasses.replace(LLAVA, comment=comment))

    text = paper_text(paper, llava_pdf())

    assert text.code_links == ("https://github.com/haotian-liu/LLaVA",)


def test_paper_text_finds_code_link_broken_across_lines_in_the_pdf() -> None:
    pdf = make_pdf(LLAVA.title, LLAVA.authors, LLAVA.abstract, LLAVA_SECTIONS,
                   hyphenate="Code and data are available at https://github.com/haotian|liu/LLaVA.")
    assert "github.com/haotian-\nliu/LLaVA" in "\n".join(extract_pages(pdf))

    text = paper_text(paper_from_feed(LLAVA), pdf)

    assert text.code_links == ("https://github.com/haotian-liu/LLaVA",)


def test_paper_text_lists_code_link_once_when_comment_and_pdf_both_have_it() -> None:
    text = paper_text(paper_from_feed(MEZO), mezo_pdf())

    assert text.code_links == ("https://github.com/princeton-nlp/MeZO",)


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["Code: https://github.com/\nprinceton-nlp/MeZO."], ["https://github.com/princeton-nlp/MeZO"]),
        (["see github.com/princeton-nlp/\nMeZO for code"], ["https://github.com/princeton-nlp/MeZO"]),
        (["http://www.github.com/org/repo.git)"], ["https://github.com/org/repo"]),
        (["weights at huggingface.co/facebook/opt-66b"], ["https://huggingface.co/facebook/opt-66b"]),
        (["https://github.com/Org/Repo", "https://github.com/org/repo"], ["https://github.com/Org/Repo"]),
        (["our lab https://github.com/princeton-nlp and https://github.com/features/copilot"], []),
        (["project page: https://llava-vl.github.io/"], []),
        (["Code: https://github.com/org/repo.\nWe show more."], ["https://github.com/org/repo"]),
        (["at https://github.com/org/repo.\n1 Introduction"], ["https://github.com/org/repo"]),
        (["see https://github.\ncom/org/repo now"], ["https://github.com/org/repo"]),
    ],
)
def test_find_code_links_normalises_and_skips_non_repositories(texts: list[str], expected: list[str]) -> None:
    assert find_code_links(*texts) == expected


# -- unusable PDFs fall back to the abstract --------------------------------------------


@pytest.mark.parametrize(
    ("make_bytes", "reason"),
    [
        (lambda: b"", "corrupt or truncated"),
        (lambda: b"<!DOCTYPE html><html>not a pdf</html>", "corrupt or truncated"),
        (lambda: mezo_pdf()[: len(mezo_pdf()) // 2], "corrupt or truncated"),
        (lambda: b"%PDF-1.7\n" + b"\x00garbage" * 200, "corrupt or truncated"),
        (encrypted_pdf, "encrypted"),
        (image_only_pdf, "no usable text layer"),
    ],
    ids=["empty", "html", "truncated", "garbage", "encrypted", "image-only"],
)
def test_paper_text_falls_back_to_abstract_for_unusable_pdf(make_bytes, reason: str) -> None:
    paper = paper_from_feed(MEZO)

    text = paper_text(paper, make_bytes())

    assert isinstance(text, PaperText)
    assert text.source == "abstract"
    assert reason in text.warning
    assert [(s.kind, s.text) for s in text.sections] == [("abstract", MEZO.abstract)]
    assert text.code_links == ("https://github.com/princeton-nlp/MeZO",)  # from the comment


@pytest.mark.parametrize(
    ("make_bytes", "reason"),
    [(lambda: mezo_pdf()[:3000], "corrupt or truncated"), (encrypted_pdf, "encrypted")],
    ids=["truncated", "encrypted"],
)
def test_extract_pages_raises_pdf_error_for_unreadable_pdf(make_bytes, reason: str) -> None:
    with pytest.raises(PdfError, match=reason):
        extract_pages(make_bytes())


def test_paper_text_passes_on_a_download_error_as_warning() -> None:
    text = paper_text(paper_from_feed(MEZO), None, pdf_error="PDF download failed: HTTP 503")

    assert text.source == "abstract"
    assert text.warning == "PDF download failed: HTTP 503"


# -- the shared corpus of real arXiv PDFs -------------------------------------------------


def corpus_pdfs() -> list:
    folder = SHARED_CORPUS / "pdf"
    if not folder.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"shared corpus not found at {folder}"),
                             id="no-corpus")]
    found = sorted(folder.glob("*.pdf"))
    if not found:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no PDFs in {folder}"), id="empty-corpus")]
    return [pytest.param(path, id=path.stem) for path in found]


def corpus_paper(path: Path) -> Paper:
    try:
        arxiv_id = parse_arxiv_id(path.stem.replace("_", "/"))
    except IdentifierError:
        arxiv_id = ArxivId("0704.0001", 1)
    return Paper(id=arxiv_id, title=path.stem, abstract="Abstract from the API.", authors=(),
                 published="", updated="", primary_category="", categories=())


@pytest.mark.parametrize("pdf_path", corpus_pdfs())
def test_paper_text_reads_every_real_corpus_pdf(pdf_path: Path) -> None:
    text = paper_text(corpus_paper(pdf_path), pdf_path.read_bytes())

    kinds = [s.kind for s in text.sections]
    if "truncated" in pdf_path.stem:  # the corpus's deliberately broken file
        assert text.source == "abstract" and "corrupt or truncated" in text.warning
        return
    assert text.source == "pdf", text.warning
    assert kinds[0] == "abstract"
    assert len(kinds) >= 3, [s.heading for s in text.sections]
    assert sum(len(s.text.split()) for s in text.sections) > 1000
