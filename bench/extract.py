"""PDF engines side by side on the whole corpus: pages/s, and what each makes of the text.

pdfium (pypdfium2, the default) and pypdf run through the same cleaning in one
run: speed as pages per second of extract_pdf (reading plus cleaning), the
process pool against one process, and for each engine the text-quality
figures: prose paragraphs holding a control character, an arXiv stamp, a
caption or mis-encoded math, sections found, headings found against our
labels, Code links against our labels.

    .venv/bin/python bench/extract.py [--skip-pool]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

from common import (corpus, code_link_verdicts, corpus_pdfs, heading_scores, prose_defects, ratio, read_corpus,
                    section_shares)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-pool", action="store_true", help="do not measure the process pool")
    args = parser.parse_args()
    if not corpus.available():
        source, _ = corpus_pdfs()
        print(f"the engines are compared on real papers only; {source}")
        return
    from digestcli.pdftext import Extractor, extract_pdf

    extract_pdf(corpus.pdf_bytes(corpus.stems()[0]))  # imports and pdfium start-up, outside the timings
    runs = {engine: read_corpus(engine) for engine in ("pdfium", "pypdf")}
    pdfium, pypdf = runs["pdfium"], runs["pypdf"]
    print(f"{len(pdfium['texts'])} real arXiv papers, {pdfium['pages']} pages ({corpus.PDF_DIR}); {os.cpu_count()} CPUs")
    print(f"{'':<34}{'pdfium':>12}{'pypdf':>12}")
    speed = {e: r["pages"] / r["seconds"] for e, r in runs.items()}
    reading = {e: r["pages"] / r["reading"] for e, r in runs.items()}
    print(f"{'pages/s (read positioned lines)':<34}{reading['pdfium']:>12.1f}{reading['pypdf']:>12.1f}   "
          f"pdfium is {ratio(reading['pdfium'], reading['pypdf'])} as fast")
    print(f"{'pages/s (read + clean)':<34}{speed['pdfium']:>12.1f}{speed['pypdf']:>12.1f}   "
          f"pdfium is {ratio(speed['pdfium'], speed['pypdf'])} as fast")
    defects = {e: prose_defects(r["texts"]) for e, r in runs.items()}
    for name in defects["pdfium"]:
        print(f"{'paragraphs with ' + name:<34}{defects['pdfium'][name]:>12}{defects['pypdf'][name]:>12}")
    shares = {e: section_shares(r["texts"]) for e, r in runs.items()}
    for kind in shares["pdfium"]:
        print(f"{'papers with ' + kind + ' found':<34}{shares['pdfium'][kind]:>12.0%}{shares['pypdf'][kind]:>12.0%}")
    headings = {e: heading_scores(e, r["documents"]) for e, r in runs.items()}
    print(f"{'labelled headings found':<34}{headings['pdfium']['recall']:>12.1%}{headings['pypdf']['recall']:>12.1%}"
          f"   of {headings['pdfium']['labelled']}")
    print(f"{'headings found that are labelled':<34}{headings['pdfium']['precision']:>12.1%}"
          f"{headings['pypdf']['precision']:>12.1%}")
    links = {e: code_link_verdicts(r["texts"]) for e, r in runs.items()}
    print(f"{'Code links right (of labels)':<34}{links['pdfium']['right']:>12}{links['pypdf']['right']:>12}"
          f"   of {sum(links['pdfium'].values())}")
    result = {"pages": pdfium["pages"], "pdfium_pps": round(speed["pdfium"], 1), "pypdf_pps": round(speed["pypdf"], 1),
              "pdfium_read_pps": round(reading["pdfium"], 1), "pypdf_read_pps": round(reading["pypdf"], 1),
              "defects": defects, "headings": headings, "code_links": links}
    if not args.skip_pool:
        processes = max(2, os.cpu_count() or 1)
        pool = Extractor(processes)
        work = [corpus.pdf_bytes(stem) for stem in corpus.stems()]
        pool.extract(work[0])  # start the workers outside the measurement, as a long batch would
        started = time.perf_counter()
        with ThreadPoolExecutor(processes * 2) as feeders:
            list(feeders.map(pool.extract, work))
        pooled = time.perf_counter() - started
        pool.close()
        print(f"pdfium in a pool of {processes} processes: {pdfium['pages'] / pooled:.1f} pages/s "
              f"({ratio(pdfium['seconds'], pooled)} the speed of one process)")
        result["pool_pps"] = round(pdfium["pages"] / pooled, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
