"""The pdfium engine's drawings: the boxes of a page's images, paths, shadings and small forms.

Called by pdfium_reader while a page is open, for pages that may hold a figure, so the figure
stage never opens a page twice. Never decides what a drawing is for (figures does).
"""

from __future__ import annotations

from .pdfread import Box

MAX_FORM_PIECES = 1500  # a figure drawn as a form of more pieces than this is taken whole


def drawn_boxes(page: object) -> tuple[Box, ...]:
    """The boxes of the page's drawn objects (y downward from the page's top, as Line), clipped
    to the page and to their forms; a page's background, white paths and dots left out."""
    import ctypes

    import pypdfium2.raw as raw

    left, bottom, right, top = page.get_bbox()
    area = (right - left) * (top - bottom)
    drawn = (raw.FPDF_PAGEOBJ_IMAGE, raw.FPDF_PAGEOBJ_PATH, raw.FPDF_PAGEOBJ_SHADING)
    box = [ctypes.c_float() for _ in range(4)]
    matrix = raw.FS_MATRIX()
    mode, stroke, colour = ctypes.c_int(), ctypes.c_int(), [ctypes.c_uint() for _ in range(4)]
    rects: list[Box] = []

    in_page, in_form = (*drawn, raw.FPDF_PAGEOBJ_FORM), (*drawn, raw.FPDF_PAGEOBJ_FORM, raw.FPDF_PAGEOBJ_TEXT)

    def visit(obj: object, transform: tuple[float, ...] | None, clip: tuple[float, float, float, float], in_figure: bool, depth: int) -> None:
        kind = raw.FPDFPageObj_GetType(obj)
        if kind not in (in_form if in_figure else in_page) or not raw.FPDFPageObj_GetBounds(obj, *box):
            return
        x0, y0, x1, y1 = _transformed([b.value for b in box], transform)
        unclipped = (x1 - x0) * (y1 - y0)
        x0, y0, x1, y1 = max(x0, clip[0]), max(y0, clip[1]), min(x1, clip[2]), min(y1, clip[3])
        if x1 - x0 < 1 and y1 - y0 < 1 or x1 <= x0 or y1 <= y0:
            return  # a dot, or nothing once clipped
        if kind == raw.FPDF_PAGEOBJ_FORM and unclipped < 0.5 * area and \
                raw.FPDFFormObj_CountObjects(obj) > MAX_FORM_PIECES:
            # a plot of thousands of marks: its own bounds are its figure's, and walking every mark
            # would cost most of the paper's reading time
            if x1 - x0 < 0.9 * (right - left) and y1 - y0 < 0.9 * (top - bottom):
                rects.append(Box(x0, top - y1, x1, top - y0))
            return
        if kind == raw.FPDF_PAGEOBJ_FORM and depth < 4:
            # a form's pieces are in its own space, mapped by its matrix; their bounds are tighter than
            # the form's (which may hold white space or clipped-away drawing). A form wrapping (most
            # of) the page holds the page's text too; a smaller one is a figure, its text its labels.
            raw.FPDFPageObj_GetMatrix(obj, matrix)
            inner = (matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f)
            combined = inner if transform is None else _compose(inner, transform)
            figure = in_figure or unclipped < 0.5 * area
            for index in range(raw.FPDFFormObj_CountObjects(obj)):
                visit(raw.FPDFFormObj_GetObject(obj, index), combined, (x0, y0, x1, y1), figure, depth + 1)
            return
        # only a large white path hides much (a slide's background); small ones are not worth the calls
        if kind == raw.FPDF_PAGEOBJ_PATH and (x1 - x0) * (y1 - y0) > 2000 and _blank(raw, obj, mode, stroke, colour):
            return
        # not a page's background, nor a drawing whose bounds run off the page (its clipped-away parts)
        if x1 - x0 < 0.9 * (right - left) and y1 - y0 < 0.9 * (top - bottom):
            rects.append(Box(x0, top - y1, x1, top - y0))

    for index in range(raw.FPDFPage_CountObjects(page.raw)):
        visit(raw.FPDFPage_GetObject(page.raw, index), None, (left, bottom, right, top), False, 0)
    return tuple(rects)


def _blank(raw: object, path: object, mode: object, stroke: object, colour: list) -> bool:
    """A path that only fills white, or draws nothing: a slide's or chart's background, invisible on paper."""
    if not raw.FPDFPath_GetDrawMode(path, mode, stroke):
        return False
    if stroke.value:
        return False
    if mode.value == raw.FPDF_FILLMODE_NONE:
        return True
    if not raw.FPDFPageObj_GetFillColor(path, *colour):
        return False
    red, green, blue, alpha = (c.value for c in colour)
    return alpha == 0 or min(red, green, blue) >= 250


def _transformed(bounds: list[float], matrix: tuple[float, ...] | None) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = bounds
    if matrix is None:
        return x0, y0, x1, y1
    a, b, c, d, e, f = matrix
    if b == 0 and c == 0:  # scaled and moved only (almost every form): two corners suffice
        xa, xb, ya, yb = a * x0 + e, a * x1 + e, d * y0 + f, d * y1 + f
        return min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)
    points = [(a * x + c * y + e, b * x + d * y + f) for x in (x0, x1) for y in (y0, y1)]
    return min(p[0] for p in points), min(p[1] for p in points), max(p[0] for p in points), max(p[1] for p in points)


def _compose(inner: tuple[float, ...], outer: tuple[float, ...]) -> tuple[float, ...]:
    """The matrix applying ``inner`` then ``outer`` (PDF row-vector convention)."""
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer
    return a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F
