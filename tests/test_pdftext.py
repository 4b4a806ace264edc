"""The PDF stage end to end: PDFs built by tests/papers.py, and every real paper of the shared corpus.

A PDF that cannot be read must never raise out of paper_text: the paper falls
back to its abstract and the PaperText says why. Both engines (pdfium, the
default, and pypdf) run the same cleaning and give the same sections.
"""

from __future__ import annotations

import dataclasses
import io
from functools import cache

import pytest

import corpus
from digestcli.arxiv import parse_atom_feed
from digestcli.errors import PdfError
from digestcli.models import Paper, PaperText
from digestcli.pdftext import extract_pdf, paper_text, pdf_document_info
from fakes import FakePaper, atom_feed
from papers import LLAVA, LLAVA_SECTIONS, MEZO, MEZO_SECTIONS, image_only_pdf, llava_pdf, make_pdf, mezo_pdf

RUNNING_HEADER = "Preprint. Under review."
ENGINES = ["pdfium", "pypdf"]


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
def encrypted_pdf(algorithm: str = "RC4-128", user_password: str = "reader-secret") -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(llava_pdf()))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# -- sections --------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_paper_text_finds_sections_in_order_with_their_kinds(engine: str) -> None:
    text = paper_text(paper_from_feed(MEZO), mezo_pdf(), engine=engine)

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
        ("appendix", "Proofs"),
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
    assert pages["Proofs"] == 5


@pytest.mark.parametrize("engine", ENGINES)
def test_a_word_hyphenated_across_lines_is_whole_again(engine: str) -> None:
    done = extract_pdf(mezo_pdf(), engine)
    assert "repre-\nsentation" in done.raw_pages[0]  # the PDF really breaks the word

    prose = "\n".join(paragraph.text for paragraph in done.paragraphs)
    assert "keeps a low memory representation of the perturbation" in prose
    assert "repre-" not in prose
    assert "keeps a low memory representation of the perturbation" in done.pages[0]


@pytest.mark.parametrize("engine", ENGINES)
def test_running_header_and_page_numbers_stay_out_of_the_text(engine: str) -> None:
    raw = extract_pdf(long_mezo_pdf(), engine).raw_pages
    assert all(RUNNING_HEADER in page for page in raw)  # every page really has them

    text = paper_text(paper_from_feed(MEZO), long_mezo_pdf(), engine=engine)

    assert "Preprint" not in text.full_text
    assert not any(page.splitlines()[-1].strip().isdigit() for page in text.page_texts)


# -- code links ------------------------------------------------------------------


def test_paper_text_finds_code_link_in_the_arxiv_comment() -> None:
    comment = "NeurIPS 2023. Code: https://github.com/haotian-liu/LLaVA."
    paper = paper_from_feed(dataclasses.replace(LLAVA, comment=comment))

    text = paper_text(paper, llava_pdf())

    assert text.code_links == ("https://github.com/haotian-liu/LLaVA",)


def test_paper_text_finds_code_link_broken_across_lines_in_the_pdf() -> None:
    pdf = make_pdf(LLAVA.title, LLAVA.authors, LLAVA.abstract, LLAVA_SECTIONS,
                   hyphenate="Our code and data are available at https://github.com/haotian|liu/LLaVA.")
    assert "github.com/haotian-\nliu/LLaVA" in extract_pdf(pdf).raw_pages[0]

    text = paper_text(paper_from_feed(dataclasses.replace(LLAVA, comment="")), pdf)

    assert text.code_links == ("https://github.com/haotian-liu/LLaVA",)


def test_paper_text_lists_code_link_once_when_comment_and_pdf_both_have_it() -> None:
    text = paper_text(paper_from_feed(MEZO), mezo_pdf())

    assert text.code_links == ("https://github.com/princeton-nlp/MeZO",)


def test_a_project_page_in_the_comment_is_the_papers_own_link() -> None:
    text = paper_text(paper_from_feed(LLAVA), llava_pdf())  # comment: "project page: https://llava-vl.github.io/"

    assert text.code_links == ("https://llava-vl.github.io",)


# -- unusable PDFs fall back to the abstract --------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
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
def test_paper_text_falls_back_to_abstract_for_unusable_pdf(make_bytes, reason: str, engine: str) -> None:
    paper = paper_from_feed(MEZO)

    text = paper_text(paper, make_bytes(), engine=engine)

    assert isinstance(text, PaperText)
    assert text.source == "abstract"
    assert reason in text.warning
    assert [(s.kind, s.text) for s in text.sections] == [("abstract", MEZO.abstract)]
    assert text.code_links == ("https://github.com/princeton-nlp/MeZO",)  # from the comment


@pytest.mark.parametrize("engine", ENGINES)
def test_a_pdf_encrypted_without_a_user_password_opens_and_one_with_a_password_says_encrypted(engine: str) -> None:
    opened = extract_pdf(encrypted_pdf("AES-256", user_password=""), engine)  # AES: pypdf needs cryptography
    assert "Visual Instruction Tuning" in opened.raw_pages[0]

    with pytest.raises(PdfError, match="encrypted"):
        extract_pdf(encrypted_pdf("AES-256"), engine)


def test_paper_text_passes_on_a_download_error_as_warning() -> None:
    text = paper_text(paper_from_feed(MEZO), pdf_error="PDF download failed: HTTP 503")

    assert text.source == "abstract"
    assert text.warning == "PDF download failed: HTTP 503"


def test_an_unknown_engine_is_a_pdf_error() -> None:
    with pytest.raises(PdfError, match="unknown PDF engine 'mupdf'"):
        extract_pdf(mezo_pdf(), "mupdf")


# -- papers that are not on arXiv ---------------------------------------------------------


def test_pdf_document_info_reads_title_and_abstract_from_the_pdf() -> None:
    title, authors, abstract = pdf_document_info(extract_pdf(mezo_pdf()))

    assert title == MEZO.title
    assert abstract.startswith("Fine-tuning language models (LMs) has yielded success")


# -- the shared corpus of real arXiv PDFs -------------------------------------------------


@pytest.mark.parametrize("stem", corpus.params(papers_only=False))
def test_paper_text_reads_every_real_corpus_pdf(stem: str) -> None:
    text = corpus.text(stem)

    if stem.startswith("truncated"):  # the corpus's deliberately broken files
        assert text.source == "abstract" and "corrupt or truncated" in text.warning
        return
    if stem.startswith("scanned"):  # a scanned page has no text layer to read
        assert text.source == "abstract" and "no usable text layer" in text.warning
        return
    assert text.source == "pdf", text.warning
    kinds = [s.kind for s in text.sections]
    assert kinds[0] == "abstract"
    if not stem.startswith("encrypted"):  # a two-page excerpt
        assert len(kinds) >= 4, [s.heading for s in text.sections]
        assert sum(len(s.text.split()) for s in text.sections) > 1000


@corpus.needs_corpus()
def test_the_aes_encrypted_corpus_excerpt_opens_with_both_engines() -> None:
    for engine in ENGINES:
        done = corpus.extracted("encrypted-2103.15348v2-excerpt", engine)
        assert "LayoutParser" in done.raw_pages[0], engine


def _pdf_with(link: str = "", title: bytes = b"") -> bytes:
    """LLaVA's PDF with a link annotation to ``link`` and a raw /Title in its document info."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for paragraph in [LLAVA.abstract] * 4:
        pdf.multi_cell(0, 5, paragraph, new_x="LMARGIN", new_y="NEXT")
    if link:
        pdf.link(20, 20, 40, 10, link)
    data = bytes(pdf.output())
    if title:
        data = data.replace(b"/Producer", b"/Title <" + title.hex().encode() + b"> /Producer", 1)
    return data


@pytest.mark.parametrize("engine", ENGINES)
def test_a_broken_link_or_title_in_the_pdf_never_escapes_paper_text(engine: str) -> None:
    paper = paper_from_feed(dataclasses.replace(LLAVA, comment=""))

    for pdf in (_pdf_with(link="http://[oops/x"), _pdf_with(title=b"\xfe\xff\xd8\x00\x00A")):
        text = paper_text(paper, pdf, engine=engine)
        assert text.code_links == ()
        assert text.source in ("pdf", "abstract")
