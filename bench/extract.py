"""Text extraction throughput: pages per second, one process vs the process pool vs pdftotext.

    .venv/bin/python bench/extract.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import corpus_pdfs, ratio


def main() -> None:
    from digestcli.pdftext import Extractor, extract_pages

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="passes over the corpus")
    args = parser.parse_args()
    source, pdfs = corpus_pdfs()
    work = [pdf for _ in range(args.repeat) for _, pdf in pdfs]
    pages = sum(len(extract_pages(pdf)) for _, pdf in pdfs) * args.repeat  # also warms imports

    started = time.perf_counter()
    for pdf in work:
        extract_pages(pdf)
    single = time.perf_counter() - started

    processes = os.cpu_count() or 1
    pool = Extractor(max(2, processes))
    pool.pages(pdfs[0][1])  # start the workers outside the measurement, as a long batch would
    started = time.perf_counter()
    with ThreadPoolExecutor(max(2, processes) * 2) as feeders:
        list(feeders.map(pool.pages, work))
    pooled = time.perf_counter() - started
    pool.close()

    print(f"{len(work)} PDFs, {pages} pages ({source}); {processes} CPUs")
    print(f"one process:        {pages / single:7.1f} pages/s")
    print(f"pool of {max(2, processes)} processes: {pages / pooled:7.1f} pages/s  ({ratio(single, pooled)} the speed of one process)")
    result = {"pages": pages, "single_pps": round(pages / single, 1), "pool_pps": round(pages / pooled, 1)}
    poppler = shutil.which("pdftotext")
    if poppler:
        with tempfile.TemporaryDirectory() as folder:
            files = []
            for index, (_, pdf) in enumerate(pdfs):
                path = Path(folder) / f"{index}.pdf"
                path.write_bytes(pdf)
                files.append(path)
            started = time.perf_counter()
            for _ in range(args.repeat):
                for path in files:
                    subprocess.run([poppler, str(path), "-"], check=False, capture_output=True)
            native = time.perf_counter() - started
        print(f"pdftotext (poppler): {pages / native:7.1f} pages/s  (the pypdf pool runs at {ratio(native, pooled)} its speed)")
        result["pdftotext_pps"] = round(pages / native, 1)
    else:
        print("pdftotext (poppler): not installed, skipped")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
