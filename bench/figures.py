"""Key figures on the whole corpus: what is found, how right it is, how big, and what it costs.

Over ../shared/corpus/pdf in one run: the share of papers with a "Figure 1" caption whose figure
was found; for the papers we labelled (tests/corpus_labels/figures.json) the share whose key figure
is right and whose crop holds the labelled drawing and no body text; the rendered key figures'
sizes; and time per paper for find_figures alone, rendering the key figure, and extract_pdf with
figure finding against extract_pdf without it, measured side by side (the issue's budget: figure
work adds at most 20% to a paper's add time).

    .venv/bin/python bench/figures.py
"""

from __future__ import annotations

import json
import re
import statistics
import time

from common import corpus, corpus_pdfs, ratio

FIGURE_1 = re.compile(r"^(?:Figure|Fig\.?)\s?1\s?[:.|]", re.M)


def _crop_holds(stem: str, figure, label: dict) -> bool:
    """The key figure's box holds the labelled drawing, and no line of body prose sits inside it."""
    from digestcli.pdfclean import classify_document
    from digestcli.pdfread import read_pdf

    want = label.get("contains")
    if figure is None or want is None:
        return False
    left, bottom, right, top = figure.box
    if not (left <= want[0] and bottom <= want[1] and right >= want[2] and top >= want[3]):
        return False
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(corpus.pdf_bytes(stem))
    height = document[figure.page - 1].get_bbox()[3]
    document.close()
    page = classify_document(read_pdf(corpus.pdf_bytes(stem)))[figure.page - 1]
    return not any(kind == "body" and prose and left <= (line.x0 + line.x1) / 2 <= right
                   and bottom <= height - (line.top + line.bottom) / 2 <= top
                   for line, kind, prose in zip(page.lines, page.kinds, page.prose))


def _timed(function, *args, **options) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args, **options)
    return time.perf_counter() - started, result


def main() -> None:
    if not corpus.available():
        source, _ = corpus_pdfs()
        print(f"figures are measured on real papers only; {source}")
        return
    from digestcli import pdftext
    from digestcli.errors import PdfError
    from digestcli.figure_image import render_figure
    from digestcli.figures import find_figures, key_figure

    stems = corpus.stems()
    pdftext.extract_pdf(corpus.pdf_bytes(stems[0]))  # imports and pdfium start-up, outside the timings
    render_figure(corpus.pdf_bytes("1706.03762v7"), key_figure(find_figures(corpus.pdf_bytes("1706.03762v7"))))
    finding, rendering, with_figures, without_figures = [], [], [], []
    keys, sizes, widths, with_caption, found_first = {}, [], [], 0, 0
    for stem in stems:
        data = corpus.pdf_bytes(stem)
        try:
            # side by side, each paper: extraction without figures, with them found (none rendered), then
            # finding alone; rendering the key figure is timed below
            seconds, _ = _timed(pdftext.extract_pdf, data, figures=False)
            without_figures.append(seconds)
            seconds, done = _timed(pdftext.extract_pdf, data, figure=0)
            with_figures.append(seconds)
        except PdfError:
            continue
        seconds, found = _timed(find_figures, data)
        finding.append(seconds)
        if any(FIGURE_1.search(page) for page in done.raw_pages):
            with_caption += 1
            found_first += any(f.number == 1 for f in done.figures)
        key = keys[stem] = key_figure(done.figures)
        if key is not None:
            seconds, image = _timed(render_figure, data, key)
            rendering.append(seconds)
            sizes.append(len(image.data) / 1000)
            widths.append(image.width)
    labels = corpus.labels("figures")
    right = sum(1 for stem, label in labels.items() if keys.get(stem) is not None
                and (keys[stem].number, keys[stem].page) == (label["key"]["number"], label["key"]["page"]))
    holds = sum(1 for stem, label in labels.items() if _crop_holds(stem, keys.get(stem), label))
    per_paper = {name: statistics.mean(values) * 1000 for name, values in
                 (("find", finding), ("render", rendering), ("with", with_figures), ("without", without_figures))}
    print(f"{len(without_figures)} real arXiv papers ({corpus.PDF_DIR})")
    print(f"{'papers with a Figure 1 caption':<46}{with_caption:>8}")
    print(f"{'  ... whose Figure 1 was found':<46}{found_first / max(1, with_caption):>8.0%}")
    print(f"{'papers given a key figure':<46}{sum(k is not None for k in keys.values()):>8}")
    print(f"{'labelled papers':<46}{len(labels):>8}")
    print(f"{'  ... key figure right':<46}{right / max(1, len(labels)):>8.0%}")
    print(f"{'  ... crop holds the figure, no body text':<46}{holds / max(1, len(labels)):>8.0%}")
    print(f"{'key figure image, median / max KB':<46}{statistics.median(sizes):>8.0f}{max(sizes):>8.0f}")
    print(f"{'key figure image width px, median / min':<46}{statistics.median(widths):>8.0f}{min(widths):>8.0f}")
    print(f"{'ms per paper: find_figures alone':<46}{per_paper['find']:>8.0f}")
    print(f"{'ms per paper: render the key figure':<46}{per_paper['render']:>8.0f}")
    print(f"{'ms per paper: extract_pdf without figures':<46}{per_paper['without']:>8.0f}")
    print(f"{'ms per paper: extract_pdf with figures':<46}{per_paper['with']:>8.0f}   "
          f"{ratio(per_paper['with'], per_paper['without'])} (budget 1.20x)")
    print(f"{'  ... and rendering the key figure too':<46}{per_paper['with'] + per_paper['render']:>8.0f}   "
          f"{ratio(per_paper['with'] + per_paper['render'], per_paper['without'])}")
    print(json.dumps({"figure_1_found": round(found_first / max(1, with_caption), 3),
                      "key_right": round(right / max(1, len(labels)), 3),
                      "crop_holds": round(holds / max(1, len(labels)), 3),
                      "median_kb": round(statistics.median(sizes)), "max_kb": round(max(sizes)),
                      "ms": {k: round(v, 1) for k, v in per_paper.items()}}))


if __name__ == "__main__":
    main()
