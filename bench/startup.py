"""Start-up: `digest --help` vs `python -c "import typer"`, median of repeated cold runs, as a ratio.

Also checks that --help, list and build import none of openai, pypdf, tiktoken, httpx.

    .venv/bin/python bench/startup.py [--runs 15]
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

HEAVY = ("openai", "pypdf", "pypdfium2", "tiktoken", "httpx")


def median_seconds(command: list[str], runs: int, cwd: Path | None = None) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def heavy_imports(args: list[str], cwd: Path) -> list[str]:
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "digestcli.cli", *args], cwd=cwd,
                         capture_output=True, text=True)
    loaded = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in run.stderr.splitlines() if "|" in line}
    return sorted(loaded & set(HEAVY))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    digest = shutil.which("digest", path=str(Path(sys.executable).parent)) or "digest"
    python = sys.executable
    median_seconds([digest, "--help"], 2)  # warm the OS file cache for both, then measure interleaved
    typer_times, help_times = [], []
    for _ in range(args.runs):
        typer_times.append(median_seconds([python, "-c", "import typer"], 1))
        help_times.append(median_seconds([digest, "--help"], 1))
    typer_s, help_s = statistics.median(typer_times), statistics.median(help_times)
    print(f"median of {args.runs} runs each, interleaved")
    print(f'python -c "import typer": {typer_s * 1000:6.0f} ms')
    print(f"digest --help:            {help_s * 1000:6.0f} ms")
    print(f"ratio: {help_s / typer_s:.2f}x  (goal <= 3x)")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        subprocess.run([digest, "init", str(root)], check=True, capture_output=True)
        for command in (["--help"], ["list"], ["build"]):
            found = heavy_imports(command, root)
            print(f"digest {' '.join(command)}: heavy modules imported: {', '.join(found) or 'none'}")
    print(json.dumps({"typer_ms": round(typer_s * 1000), "help_ms": round(help_s * 1000),
                      "ratio": round(help_s / typer_s, 2)}))


if __name__ == "__main__":
    main()
