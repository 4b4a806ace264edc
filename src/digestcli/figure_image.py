"""A figure of a PDF (figures.FigureInfo) -> a small image of just that region, PNG or WebP bytes.

Renders the region with pdfium and encodes it with Pillow, shrinking until it fits the byte budget.
Returns bytes and never writes a file (the caller saves them); pure of network.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import PdfError
from .figures import FigureInfo

MAX_SCALE = 4.0  # never render beyond 288 dpi, however small the figure
MARGIN = 2.0  # points kept around the figure: less than the gap to its caption
# a palette this close to the original is not told apart by eye: under 4 on every corpus key figure,
# where its dithering keeps pastel fills; a photograph strays further
MAX_PALETTE_ERROR = 6.0


@dataclass(frozen=True)
class FigureImage:
    """An encoded figure: ``data`` in ``format`` ("png" or "webp", also the file extension)."""

    data: bytes
    format: str
    width: int  # pixels
    height: int


def render_figure(pdf: bytes, figure: FigureInfo, width_px: int = 1200, max_bytes: int = 250_000) -> FigureImage:
    """The figure's region, about ``width_px`` wide (less when that would take a scale above 4),
    as a PNG (palette-reduced if needed) or else a WebP, of at most ``max_bytes``.
    Raises PdfError when the PDF cannot be opened or the figure's page does not exist."""
    import pypdfium2 as pdfium

    from .pdfium_reader import _PDFIUM_LOCK

    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(pdf)
        except pdfium.PdfiumError as error:
            raise PdfError(f"PDF cannot be opened ({error})") from None
        try:
            if not 1 <= figure.page <= len(document):
                raise PdfError(f"PDF has no page {figure.page}")
            page = document[figure.page - 1]
            try:
                image = _render(page, figure.box, width_px)
            finally:
                page.close()
        finally:
            document.close()
    return _encode(image, max_bytes)


def _render(page: object, box: tuple[float, float, float, float], width_px: int) -> object:
    left, bottom, right, top = page.get_bbox()
    x0, y0 = max(left, box[0] - MARGIN), max(bottom, box[1] - MARGIN)
    x1, y1 = min(right, box[2] + MARGIN), min(top, box[3] + MARGIN)
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise PdfError("figure region lies outside its page")
    scale = min(MAX_SCALE, width_px / (x1 - x0))
    # render's crop is what to cut off each side of the page's box, in points
    crop = (x0 - left, y0 - bottom, right - x1, top - y1)
    bitmap = page.render(scale=scale, crop=crop, fill_color=(255, 255, 255, 255))
    return bitmap.to_pil().convert("RGB")


def _encode(image: object, max_bytes: int) -> FigureImage:
    """PNG of 256 colours when they render the figure faithfully (diagrams and plots: a third of the
    bytes, and faster to write); else full-colour PNG when it fits (photographs); else the palette
    PNG; else WebP at quality 80, at 85% of the size each further try."""
    import io

    from PIL import Image

    def png(picture: Image.Image) -> bytes:
        out = io.BytesIO()
        # level 3 is a third faster than 6 and no bigger on paper figures; optimize=True, 4x slower for 2% fewer bytes
        picture.save(out, "PNG", compress_level=3)
        return out.getvalue()

    def webp(picture: Image.Image) -> bytes:
        out = io.BytesIO()
        picture.save(out, "WEBP", quality=80, method=4)
        return out.getvalue()

    palette = image.quantize(256, method=Image.Quantize.FASTOCTREE)
    faithful = _colour_error(image, palette) <= MAX_PALETTE_ERROR
    tries = (palette, image) if faithful else (image, palette)
    for picture in tries:
        data = png(picture)
        if len(data) <= max_bytes:
            return FigureImage(data, "png", *image.size)
    while True:
        data = webp(image)
        if len(data) <= max_bytes or image.width < 200:
            return FigureImage(data, "webp", *image.size)
        image = image.resize((int(image.width * 0.85), max(1, int(image.height * 0.85))), Image.Resampling.LANCZOS)


def _colour_error(image: object, palette: object) -> float:
    """How far, on average over the pixels, the palette image strays from the original (0-255, worst channel)."""
    from PIL import ImageChops, ImageStat

    return max(ImageStat.Stat(ImageChops.difference(image, palette.convert("RGB"))).mean)
