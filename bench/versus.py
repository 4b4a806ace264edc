"""This checkout against another install of digest, side by side in one run: `--help`, `list` and
`build` of a 100-item issue, each command's runs interleaved, medians and their ratio.

For "no slower than the previous commit": install that commit in its own venv, then

    git worktree add ../base HEAD~1 && (cd ../base && python3 -m venv .venv && .venv/bin/pip install -e .)
    .venv/bin/python bench/versus.py --other ../base/.venv/bin/digest [--runs 21]
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

from build import make_issue

COMMANDS = (["--help"], ["list"], ["list", "issue-1"], ["build", "issue-1"])


def seconds(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", required=True, help="the other digest executable (e.g. the previous commit's)")
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    this = shutil.which("digest", path=str(Path(sys.executable).parent)) or "digest"
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_issue(root, args.items)
        # digest.toml as the other install writes it: this checkout reads older settings files, an
        # older digest may refuse settings it does not know yet
        with tempfile.TemporaryDirectory() as elsewhere:
            subprocess.run([args.other, "init", elsewhere], check=True, capture_output=True)
            shutil.copy(Path(elsewhere) / "digest.toml", root / "digest.toml")
        for command in COMMANDS:
            for digest in (this, args.other):  # warm the OS file cache for both
                seconds([digest, *command], root)
            mine, theirs = [], []
            for _ in range(args.runs):
                mine.append(seconds([this, *command], root))
                theirs.append(seconds([args.other, *command], root))
            results[" ".join(command)] = (statistics.median(mine), statistics.median(theirs))
    print(f"median of {args.runs} interleaved runs each; {args.items}-item issue")
    print(f"{'command':<18} {'this':>8} {'other':>8}  this/other")
    for name, (mine_s, theirs_s) in results.items():
        print(f"digest {name:<11} {mine_s * 1000:6.0f}ms {theirs_s * 1000:6.0f}ms  {mine_s / theirs_s:.2f}x")
    print(json.dumps({name: round(mine / theirs, 3) for name, (mine, theirs) in results.items()}))


if __name__ == "__main__":
    main()
