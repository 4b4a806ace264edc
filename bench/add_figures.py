"""What the key figure costs `digest add`: the same real corpus papers added offline with figures
and without ([pdf] figures = false), side by side in one run (rounds interleaved), per paper.

Each run is the real add command through a local arXiv, fresh caches, and the PDF worker
processes users run. By default with no latency at all, so the figure's share is as large as it
can be; --pdf-interval 1 paces downloads as digest does toward arxiv.org (an LLM adds seconds more).

    .venv/bin/python bench/add_figures.py [--papers 12] [--rounds 3] [--pdf-interval 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from common import FakeArxiv, corpus_arxiv

BUDGET = 1.20  # the issue's bound: figures add at most 20% to add time per paper


def _cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (the PDF worker processes)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_once(ids: list[str], arxiv: FakeArxiv, figures: bool, pdf_interval: float = 0.0) -> tuple[float, float, int, int]:
    """(seconds, CPU seconds, items added, items with a figure)."""
    from digestcli import Session, Status, add
    from digestcli.config import load_settings
    from digestcli.store import Workspace

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        Workspace.create(root, "Bench").create_issue("issue-1")
        env = {"DIGEST_ARXIV_API_URL": arxiv.api_url, "DIGEST_ARXIV_PDF_URL": arxiv.pdf_url,
               "DIGEST_ARXIV_API_INTERVAL": "0", "DIGEST_PDF_INTERVAL": str(pdf_interval),
               "DIGEST_CACHE_DIR": str(root / "cache"),
               "DIGEST_OFFLINE": "1"}
        settings = replace(load_settings(root, env), figures=figures)
        cpu = _cpu_seconds()
        with Session(settings, Workspace(root)) as session:
            started = time.perf_counter()
            report = add(session, ids, "issue-1")
            elapsed = time.perf_counter() - started
            shown = sum(1 for item in session.workspace.items("issue-1") if item.figure)
        # the session's worker processes are reaped when it closes: their CPU time counts from here
        return elapsed, _cpu_seconds() - cpu, report.count(Status.ADDED), shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pdf-interval", type=float, default=0.0,
                        help="seconds between PDF downloads (digest keeps 1.0 toward arxiv.org); 0: none, the worst case")
    args = parser.parse_args()
    source, papers, arxiv = corpus_arxiv(args.papers)
    ids = [paper.id for paper, _ in papers]
    times: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    shown = added = 0
    try:
        run_once(ids[:2], arxiv, True)  # warm the OS file cache and the imports
        for _ in range(args.rounds):
            for figures in (False, True):
                elapsed, seconds, added, with_figure = run_once(ids, arxiv, figures, args.pdf_interval)
                times[figures].append(elapsed)
                cpu[figures].append(seconds)
                shown = with_figure if figures else shown
    finally:
        arxiv.stop()
    without, with_ = statistics.median(times[False]), statistics.median(times[True])
    per = args.papers
    pacing = f"one PDF per {args.pdf_interval:g} s" if args.pdf_interval else "no latency (the worst case)"
    print(f"{per} papers ({source}); offline digest add, {pacing}, {args.rounds} interleaved rounds, median")
    print(f"without figures   {without:6.2f} s   {without / per * 1000:6.0f} ms per paper")
    print(f"with figures      {with_:6.2f} s   {with_ / per * 1000:6.0f} ms per paper   "
          f"{with_ / without:.2f}x (budget {BUDGET:.2f}x)")
    cpu_without, cpu_with = statistics.median(cpu[False]), statistics.median(cpu[True])
    print(f"CPU time (all processes; less moved by other load than wall time)   {cpu_without:6.2f} s   "
          f"{cpu_with:6.2f} s   {cpu_with / cpu_without:.2f}x")
    print(f"items added {added} of {per}; with a figure {shown}")
    print(json.dumps({"papers": per, "without_s": round(without, 3), "with_s": round(with_, 3),
                      "ratio": round(with_ / without, 3), "cpu_ratio": round(cpu_with / cpu_without, 3),
                      "with_figure": shown}))


if __name__ == "__main__":
    main()
