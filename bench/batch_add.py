"""Batch add: pipelined vs strictly sequential vs the schedule's lower bound, in one run.

Local servers inject arXiv-like latency: API 300 ms, PDF 200 ms with at most
one PDF request per second, LLM 2.0 s per call with 4 in flight. Both runs
use the real add command (arXiv client, PDF workers, openai SDK) on fresh caches.
The sequential run is the same code with one worker and one LLM slot.

    .venv/bin/python bench/batch_add.py [--papers 25]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from common import GOOD_SUMMARY_JSON, FakeArxiv, FakeOpenAI, chat_completion, corpus_arxiv, ratio

API_DELAY, PDF_DELAY, PDF_INTERVAL, LLM_DELAY, JOBS = 0.3, 0.2, 1.0, 2.0, 4


class Printed:
    """Warnings and errors only (the reporter a Session takes)."""

    def stage(self, *args: object) -> None: ...
    def warn(self, message: str) -> None: print(f"  warning: {message}")
    def fail(self, message: str) -> None: print(f"  error: {message}")
    def notice(self, message: str) -> None: ...
    def spent(self, paper: str, tokens_in: int, tokens_out: int, cost: float | None = None) -> None: ...
    def close(self) -> None: ...


def run_once(ids: list[str], arxiv: FakeArxiv, llm: FakeOpenAI, *, sequential: bool) -> tuple[float, int]:
    from digestcli import Session, add
    from digestcli.commands import add as add_command
    from digestcli.config import load_settings
    from digestcli.store import Workspace

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        Workspace.create(root, "Bench").create_issue("issue-1")
        env = {
            "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": llm.base_url,
            "DIGEST_ARXIV_API_URL": arxiv.api_url, "DIGEST_ARXIV_PDF_URL": arxiv.pdf_url,
            "DIGEST_ARXIV_API_INTERVAL": "3", "DIGEST_PDF_INTERVAL": str(PDF_INTERVAL),
            "DIGEST_CACHE_DIR": str(root / "cache"), "DIGEST_TOKENIZER": "estimate",
            "DIGEST_JOBS": "1" if sequential else str(JOBS),
            "DIGEST_EXTRACT_PROCESSES": "1" if sequential else str(os.cpu_count() or 1),
        }
        settings = load_settings(root, env)
        saved_workers = add_command.MAX_WORKERS
        add_command.MAX_WORKERS = 1 if sequential else saved_workers
        try:
            with Session(settings, Workspace(root), Printed()) as session:
                started = time.perf_counter()
                report = add(session, ids, "issue-1")
                elapsed = time.perf_counter() - started
        finally:
            add_command.MAX_WORKERS = saved_workers
        return elapsed, report.count("added")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=25)
    args = parser.parse_args()
    source, papers, arxiv = corpus_arxiv(args.papers)
    arxiv.api_delay, arxiv.pdf_delay = API_DELAY, PDF_DELAY

    def answer(request: dict) -> object:
        sent = sum(len(str(m.get("content", ""))) for m in request.get("messages", [])) // 4
        reply = chat_completion(GOOD_SUMMARY_JSON, prompt_tokens=sent)
        reply.delay = LLM_DELAY
        return reply

    llm = FakeOpenAI(answer).start()
    ids = [paper.id for paper, _ in papers]
    try:
        pipelined, added_p = run_once(ids, arxiv, llm, sequential=False)
        sequential, added_s = run_once(ids, arxiv, llm, sequential=True)
    finally:
        arxiv.stop()
        llm.stop()
    bound = (len(ids) - 1) * PDF_INTERVAL + PDF_DELAY + LLM_DELAY + API_DELAY
    print(f"batch add of {len(ids)} papers ({source}; {len({pdf for _, pdf in papers})} distinct PDFs repeated under distinct ids)")
    print(f"latency: API {API_DELAY * 1000:.0f} ms, PDF {PDF_DELAY * 1000:.0f} ms at <= 1/{PDF_INTERVAL:g} s, "
          f"LLM {LLM_DELAY:g} s per call, {JOBS} in flight; {os.cpu_count()} CPUs")
    print(f"pipelined:  {pipelined:6.1f} s  ({added_p} added)")
    print(f"sequential: {sequential:6.1f} s  ({added_s} added)")
    print(f"lower bound of the schedule (PDF schedule + one LLM call + one API request): {bound:.1f} s")
    print(f"speed-up over sequential: {ratio(sequential, pipelined)}  (goal >= 4x; the schedule's own "
          f"bound allows at most {ratio(sequential, bound)})")
    print(f"pipelined / lower bound: {ratio(pipelined, bound)}  (goal <= 1.25x)")
    if added_p != len(ids) or added_s != len(ids):
        raise SystemExit(f"not every paper was added ({added_p} pipelined, {added_s} sequential): the timings are void")
    print(json.dumps({"papers": len(ids), "pipelined_s": round(pipelined, 2), "sequential_s": round(sequential, 2),
                      "bound_s": round(bound, 2), "speedup": round(sequential / pipelined, 2),
                      "over_bound": round(pipelined / bound, 3)}))


if __name__ == "__main__":
    main()
