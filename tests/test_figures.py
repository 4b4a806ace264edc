"""The figure stage (figures.py, figure_image.py) on real papers and on PDFs built here.

Our labels (tests/corpus_labels/figures.json) were made by rendering the papers' pages and crops
and looking at them: each paper's key figure (number and page) and, where digest finds it, a box
in PDF points (left, bottom, right, top) of the drawing the crop must hold.
"""

from __future__ import annotations

import pickle

import pytest

import corpus
from digestcli.figure_image import render_figure
from digestcli.figures import FigureInfo, find_figures, key_figure
from digestcli.pdfclean import classify_document
from digestcli.pdfread import read_pdf


def labelled() -> list:
    if not corpus.available():
        return [pytest.param(None, marks=pytest.mark.skip(reason=corpus.skip_reason()), id="no-corpus")]
    return [pytest.param(stem, id=stem) for stem in corpus.labels("figures")]


def figures(stem: str) -> tuple[FigureInfo, ...]:
    return corpus.extracted(stem).figures


@corpus.needs_corpus()
def test_key_figure_is_right_for_nine_in_ten_labelled_papers() -> None:
    labels = corpus.labels("figures")
    assert len(labels) >= 12
    wrong = {}
    for stem, label in labels.items():
        found = key_figure(figures(stem))
        got = (found.number, found.page) if found else None
        if got != (label["key"]["number"], label["key"]["page"]):
            wrong[stem] = got
    assert len(wrong) <= 0.1 * len(labels), wrong


@pytest.mark.parametrize("stem", labelled())
def test_labelled_key_figure_crop_holds_the_whole_figure_and_no_body_text(stem: str) -> None:
    label = corpus.labels("figures")[stem]
    if label["contains"] is None:
        pytest.skip("digest misses this paper's key figure (see the label's note)")
    figure = key_figure(figures(stem))
    assert figure is not None
    left, bottom, right, top = figure.box
    want = label["contains"]
    assert left <= want[0] and bottom <= want[1] and right >= want[2] and top >= want[3], (figure.box, want)
    page = classify_document(read_pdf(corpus.pdf_bytes(stem)))[figure.page - 1]
    height = _page_top(stem, figure.page)
    inside = [line.text for line, kind, prose in zip(page.lines, page.kinds, page.prose)
              if kind == "body" and prose and left <= (line.x0 + line.x1) / 2 <= right
              and bottom <= height - (line.top + line.bottom) / 2 <= top]
    assert inside == []


def _page_top(stem: str, number: int) -> float:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(corpus.pdf_bytes(stem))
    try:
        return document[number - 1].get_bbox()[3]
    finally:
        document.close()


@pytest.mark.parametrize("stem", ["1706.03762v7", "2305.14314v1", "2402.17764v1"])
@corpus.needs_corpus()
def test_render_figure_fits_the_byte_budget_at_about_1200_pixels(stem: str) -> None:
    from PIL import Image
    import io

    figure = key_figure(figures(stem))
    image = render_figure(corpus.pdf_bytes(stem), figure)
    assert len(image.data) <= 250_000
    assert image.format in ("png", "webp")
    opened = Image.open(io.BytesIO(image.data))
    assert opened.format.lower() == image.format and opened.size == (image.width, image.height)
    box_width = figure.box[2] - figure.box[0]
    assert image.width == pytest.approx(min(1200, 4 * (box_width + 4)), abs=4)


@corpus.needs_corpus()
def test_render_figure_shrinks_to_a_small_budget() -> None:
    stem = "2402.17764v1"
    image = render_figure(corpus.pdf_bytes(stem), key_figure(figures(stem)), max_bytes=40_000)
    assert len(image.data) <= 40_000
    assert image.width > 300


@pytest.mark.parametrize("stem", [p for p in corpus.params(papers_only=False)
                                  if p.id == "no-corpus" or str(p.values[0]).startswith(corpus.FAULT_FILES)])
def test_a_fault_pdf_gives_no_figures_and_no_crash(stem: str) -> None:
    assert find_figures(corpus.pdf_bytes(stem)) == ()


@corpus.needs_corpus()
def test_every_figure_of_a_paper_is_one_caption_once() -> None:
    found = figures("2305.14314v1")
    assert len({f.number for f in found}) == len(found)
    assert all(f.caption.startswith(("Figure", "Fig")) for f in found)
    assert not any("Table" in f.caption[:8] for f in found)


def test_figure_info_pickles() -> None:
    figure = FigureInfo(2, 3, "Figure 2: A model.", (72.0, 400.0, 300.0, 600.0), False)
    assert pickle.loads(pickle.dumps(figure)) == figure


@pytest.mark.parametrize(("figures_given", "expected"), [
    ((FigureInfo(1, 2, "Figure 1: Results.", (0, 0, 1, 1), False),
      FigureInfo(2, 5, "Figure 2: Overview of our method.", (0, 0, 1, 1), False)), 1),
    ((FigureInfo(1, 7, "Figure 1: Loss curves.", (0, 0, 1, 1), False),
      FigureInfo(2, 8, "Figure 2: The architecture of the model.", (0, 0, 1, 1), False)), 2),
    ((FigureInfo(1, 7, "Figure 1: Loss curves.", (0, 0, 1, 1), False),
      FigureInfo(5, 20, "Figure 5: Overview of the pipeline.", (0, 0, 1, 1), True)), 1),
    ((FigureInfo(5, 20, "Figure 5: Overview.", (0, 0, 1, 1), True),), None),
    # every figure after the references, numbered from 1: a journal's layout, not an appendix
    ((FigureInfo(1, 10, "Fig. 1.— Light curve.", (0, 0, 1, 1), True),
      FigureInfo(2, 11, "Fig. 2.— Power spectrum.", (0, 0, 1, 1), True)), 1),
    ((), None),
])
def test_key_figure_prefers_an_early_figure_1_then_a_method_figure_never_the_appendix(figures_given, expected) -> None:
    found = key_figure(figures_given)
    assert (found.number if found else None) == expected


# -- PDFs built here ------------------------------------------------------------------------------

PROSE = ("The method reads the paper and writes a short summary of what it found there, line by line, "
         "so that a reader can follow every step of the argument without the original at hand. ")


def built_pdf() -> bytes:
    """One page: prose that mentions figures ("as shown in Figure 3", a line opening with "Figure 3
    shows"), a drawn figure captioned "Figure 1:", and a ruled table captioned "Table 1:"."""
    from fpdf import FPDF

    pdf = FPDF(format="letter", unit="pt")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.set_xy(72, 72)
    pdf.multi_cell(468, 12, (PROSE * 3) + "As shown in Figure 3: the results hold.")
    pdf.set_xy(72, pdf.get_y())
    pdf.multi_cell(468, 12, "Figure 3 shows the same results once more, " + PROSE * 2)
    top = pdf.get_y() + 10
    pdf.set_fill_color(60, 120, 200)
    pdf.rect(200, top, 200, 120, style="F")
    pdf.set_fill_color(220, 80, 40)
    pdf.ellipse(240, top + 20, 60, 60, style="F")
    pdf.set_font("Helvetica", size=9)
    pdf.set_xy(72, top + 130)
    pdf.multi_cell(468, 11, "Figure 1: Overview of the method: a blue box and a red disc.")
    pdf.set_font("Helvetica", size=10)
    pdf.set_xy(72, pdf.get_y() + 8)
    pdf.multi_cell(468, 12, PROSE * 2)
    pdf.set_font("Helvetica", size=9)
    pdf.set_xy(72, pdf.get_y() + 8)
    pdf.multi_cell(468, 11, "Table 1: Numbers in rows.")
    y = pdf.get_y() + 4
    for row in range(4):
        pdf.line(150, y + row * 14, 450, y + row * 14)
        pdf.set_xy(160, y + row * 14 + 2)
        pdf.cell(80, 10, f"{row} 12.5 33.1 0.4")
    pdf.set_font("Helvetica", size=10)
    pdf.set_xy(72, y + 70)
    pdf.multi_cell(468, 12, PROSE * 2)
    return bytes(pdf.output())


def test_mentions_and_table_captions_are_not_figures() -> None:
    found = find_figures(built_pdf())
    assert [(f.number, f.page) for f in found] == [(1, 1)]
    assert found[0].caption == "Figure 1: Overview of the method: a blue box and a red disc."


def prose_page(figure) -> bytes:
    """One page: prose, what ``figure(pdf, top)`` draws from ``top`` down (returning where it ends), prose."""
    from fpdf import FPDF

    pdf = FPDF(format="letter", unit="pt")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.set_xy(72, 72)
    pdf.multi_cell(468, 12, PROSE * 3)
    end = figure(pdf, pdf.get_y() + 10)
    pdf.set_font("Helvetica", size=10)
    pdf.set_xy(72, end)
    pdf.multi_cell(468, 12, PROSE * 2)
    return bytes(pdf.output())


def bare_caption_pdf(bold_label: bool) -> bytes:
    """A drawn figure whose caption has no stop after its number ("Figure 1 Overview ..."), its
    label bold (as in Anthropic's and Meta's papers) or, like a line of prose, not."""
    def figure(pdf, top: float) -> float:
        pdf.set_fill_color(60, 120, 200)
        pdf.rect(200, top, 200, 120, style="F")
        pdf.set_xy(72, top + 130)
        pdf.set_font("Helvetica", style="B" if bold_label else "", size=9)
        pdf.cell(pdf.get_string_width("Figure 1 "), 11, "Figure 1 ")
        pdf.set_font("Helvetica", size=9)
        pdf.cell(300, 11, "Overview of the method: a blue box.")
        return top + 160

    return prose_page(figure)


def test_a_caption_without_a_stop_counts_when_its_label_is_bold() -> None:
    (figure,) = find_figures(bare_caption_pdf(bold_label=True))
    assert figure.caption == "Figure 1 Overview of the method: a blue box."
    assert figure.box[2] - figure.box[0] == pytest.approx(200, abs=1)
    # the same words in the body's font are a sentence that opens with a figure's name
    assert find_figures(bare_caption_pdf(bold_label=False)) == ()


def rotated_label_pdf() -> bytes:
    """A plot (a framed box) with a rotated axis title at its left, and an arXiv-like stamp rotated
    in the page's left margin."""
    def figure(pdf, top: float) -> float:
        pdf.set_draw_color(0, 0, 0)
        pdf.rect(200, top, 240, 140)
        pdf.line(210, top + 120, 430, top + 20)
        pdf.set_font("Helvetica", size=9)
        with pdf.rotation(90, 175, top + 110):
            pdf.text(175, top + 110, "Accuracy (%)")
        with pdf.rotation(90, 30, 600):
            pdf.set_font("Helvetica", size=20)
            pdf.text(30, 600, "arXiv:2401.00001v1 [cs.CL] 1 Jan 2024")
        pdf.set_font("Helvetica", size=9)
        pdf.set_xy(72, top + 150)
        pdf.multi_cell(468, 11, "Figure 1: Accuracy over training.")
        return top + 175

    return prose_page(figure)


def test_a_rotated_axis_title_is_in_the_crop_and_the_margin_stamp_is_not() -> None:
    (figure,) = find_figures(rotated_label_pdf())
    left, bottom, right, top = figure.box
    assert 160 <= left <= 172  # the title's glyphs stand left of x 175, not the stamp's at x 10-30
    assert right == pytest.approx(440, abs=1)


def test_a_built_figure_is_found_whole_and_without_text() -> None:
    (figure,) = find_figures(built_pdf())
    left, bottom, right, top = figure.box
    # the blue box: x 200-400; 120 points tall
    assert left == pytest.approx(200, abs=1) and right == pytest.approx(400, abs=1)
    assert top - bottom == pytest.approx(120, abs=1)


def test_extract_pdf_carries_the_figures_into_paper_text() -> None:
    from digestcli.pdftext import extract_pdf, paper_text
    from digestcli.models import ArxivId, Paper

    extracted = extract_pdf(built_pdf())
    assert [f.number for f in extracted.figures] == [1]
    paper = Paper(id=ArxivId("2401.00001", 1), title="T", abstract="A.", authors=(), published="", updated="",
                  primary_category="", categories=())
    assert pickle.loads(pickle.dumps(extracted)).figures == extracted.figures
    text = paper_text(paper, extracted=extracted)
    assert text.source == "pdf" and text.figures == extracted.figures


def _encoded_mode(image) -> str:
    import io

    from PIL import Image

    from digestcli.figure_image import _encode

    encoded = _encode(image, 250_000)
    return Image.open(io.BytesIO(encoded.data)).mode


def test_a_diagram_is_written_with_a_palette_and_a_photograph_in_full_colour() -> None:
    import random

    from PIL import Image, ImageDraw

    diagram = Image.new("RGB", (600, 300), "white")
    draw = ImageDraw.Draw(diagram)
    draw.rounded_rectangle((20, 20, 280, 280), radius=20, fill=(220, 235, 250), outline="black", width=3)
    draw.line((300, 150, 580, 150), fill=(200, 40, 40), width=5)
    draw.text((60, 140), "Encoder", fill="black")
    assert _encoded_mode(diagram) == "P"
    generator = random.Random(7)
    photograph = Image.frombytes("RGB", (300, 200), bytes(generator.randrange(256) for _ in range(300 * 200 * 3)))
    assert _encoded_mode(photograph) == "RGB"
