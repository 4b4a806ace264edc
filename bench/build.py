"""`digest build` of a 100-item issue: wall time (median of cold runs) and no network module imported.

    .venv/bin/python bench/build.py [--items 100] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import LLAVA, MEZO

NETWORK = ("httpx", "httpcore", "openai", "anyio", "ssl", "urllib3", "requests", "pypdf", "tiktoken")


def make_issue(root: Path, count: int) -> None:
    from digestcli.items import Item, body_hash, format_body
    from digestcli.store import Workspace
    from digestcli.models import SummaryFields

    workspace = Workspace.create(root, "Bench Digest")
    workspace.create_issue("issue-1")
    for n in range(count):
        base = MEZO if n % 2 == 0 else LLAVA
        fields = SummaryFields(
            short_name=f"Paper{n}", tldr=base.abstract[:300], whats_new=base.abstract[300:500],
            how_it_works=base.abstract[500:800], key_insights=[base.abstract[800:900], base.abstract[900:1000]],
            results=base.abstract[1000:1200], code_url=None)
        body = format_body(fields, "")
        meta = {"title": f"{base.title} ({n})", "short_name": f"Paper{n}", "section": "Research",
                "arxiv_id": f"2401.{n:05d}v1", "authors": base.authors, "paper_url": f"https://arxiv.org/abs/2401.{n:05d}",
                "code_url": "https://github.com/example/repo" if n % 3 == 0 else "",
                "provenance": {"created": f"2026-11-23T00:00:{n % 60:02d}.{n:03d}+00:00", "body_hash": body_hash(body)}}
        workspace.write_item("issue-1", Item(f"2401.{n:05d}", meta, body))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    digest = shutil.which("digest", path=str(Path(sys.executable).parent)) or "digest"
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_issue(root, args.items)
        times, typer_times = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            run = subprocess.run([digest, "build", "issue-1"], cwd=root, capture_output=True, text=True, check=True)
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import typer"], check=True)
            typer_times.append(time.perf_counter() - started)
        headings = run.stdout.count("\n### ")
        trace = subprocess.run([sys.executable, "-X", "importtime", "-m", "digestcli.cli", "build", "issue-1"],
                               cwd=root, capture_output=True, text=True)
        loaded = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in trace.stderr.splitlines() if "|" in line}
    build_s, typer_s = statistics.median(times), statistics.median(typer_times)
    network = sorted(loaded & set(NETWORK))
    print(f"digest build of a {args.items}-item issue: {build_s * 1000:.0f} ms median of {args.runs} "
          f"({headings} items rendered, {len(run.stdout) // 1024} KiB)")
    print(f'python -c "import typer": {typer_s * 1000:.0f} ms; build / bare start-up: {build_s / typer_s:.2f}x')
    print(f"network, PDF or LLM modules imported: {', '.join(network) or 'none'}")
    print(json.dumps({"items": headings, "build_ms": round(build_s * 1000), "ratio_to_typer": round(build_s / typer_s, 2),
                      "network_modules": network}))
    if network or headings != args.items:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
