"""Hostile PDFs that are small on the wire and ruinous to read, written byte by byte.

inflating_pdf: pages whose one Flate content stream inflates to hundreds of MB
(a decompression bomb: memory). slow_pdf: pages of tens of thousands of tiny
text operators (minutes of reading in a few KB: time). Both are valid PDFs
that pdfium and pypdf open; built once per test session.
"""

from __future__ import annotations

import struct
import zlib
from functools import cache


def raw_pdf(contents: list[bytes], pages: int) -> bytes:
    """A PDF of ``pages`` Letter pages in Helvetica; page i draws the Flate-compressed content stream
    ``contents[i % len(contents)]`` (pages share streams, so the file stays small)."""
    first_stream = 4 + pages  # objects: 1 catalog, 2 page tree, 3 font, the pages, then the streams
    kids = " ".join(f"{4 + i} 0 R" for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for index in range(pages):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
                       f" /Contents {first_stream + index % len(contents)} 0 R >>".encode())
    for data in contents:
        objects.append(f"<< /Length {len(data)} /Filter /FlateDecode >>\nstream\n".encode() + data + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    table = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{table}\n%%EOF\n".encode()
    return bytes(out)


@cache
def inflating_pdf(megabytes: int = 150, pages: int = 3) -> bytes:
    """Each page one sentence and ``megabytes`` MB of blanks: about 150 KB on the wire."""
    text = b"BT /F1 12 Tf 72 700 Td (A page of nothing) Tj ET\n"
    return raw_pdf([deflate_repeated(text, b" " * (1 << 20), megabytes)], pages)


def deflate_repeated(head: bytes, filler: bytes, times: int) -> bytes:
    """zlib data of ``head + filler * times``, with ``filler`` compressed once: a full flush makes each
    copy of its block independent of what came before, so the block can simply be repeated."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(filler) + packer.flush(zlib.Z_FULL_FLUSH)
    checksum = zlib.adler32(head)
    for _ in range(times):
        checksum = zlib.adler32(filler, checksum)
    return b"\x78\xda" + start + block * times + packer.flush() + struct.pack(">I", checksum)


@cache
def slow_pdf(pages: int = 400, letters: int = 50_000) -> bytes:
    """``letters`` one-letter text operators a page: a few KB that take pdfium and the cleaning
    a third of a second a page (minutes in all), in little memory."""
    content = b"BT /F1 1 Tf 72 700 Td " + b"(a) Tj " * letters + b"ET\n"
    return raw_pdf([zlib.compress(content, 9)], pages)
