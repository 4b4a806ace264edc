"""`digest doctor`: each check one line (✓, !, ✗), exit 1 when one failed, the key never shown; the
server's model list, response format, real context window and speed probed through the real openai
SDK against FakeOpenAI on 127.0.0.1 (tests/fakes.py), playing a good server and the bad ones users
meet: unreachable, another model, no json_schema, a silently cut prompt (Ollama's 2,048 tokens), a
refused one (llama.cpp's overflow).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from conftest import GOOD_SUMMARY
from fakes import FakeOpenAI, Reply, api_error, chat_completion, prompt_tokens

from digestcli.cli import app
from digestcli.commands.doctor import FAIL, OK, speed_advice

MODEL = "fake-model"
KEY = "sk-doctor-Zq8vK3mW9xT2pL7nR4cJ6hB1"  # distinctive: found anywhere, it leaked
CHECKS = ["settings", "API key", "server", "model", "format", "window", "tokenizer", "cost", "speed"]


def respond(request: dict[str, Any], *, cut: int = 0, window: int = 0, json_schema: bool = True,
            models: tuple[str, ...] = (MODEL,)) -> Reply:
    """A server that counts the prompt a token per word or symbol: it serves ``models`` only, refuses a
    prompt past ``window`` as llama.cpp does, reads only the first ``cut`` tokens as Ollama does, and
    refuses json_schema unless ``json_schema``."""
    if request["model"] not in models:
        return api_error(404, f"The model `{request['model']}` does not exist.", code="model_not_found")
    if not json_schema and request.get("response_format", {}).get("type") == "json_schema":
        return api_error(400, "response_format type json_schema is not supported by this server")
    counted = prompt_tokens(request)
    if window and counted >= window:
        body = {"error": {"code": 400, "type": "exceed_context_size_error", "n_prompt_tokens": counted,
                          "n_ctx": window, "message": "the request exceeds the available context size, try "
                                                      "increasing it"}}
        return Reply(400, json.dumps(body).encode(), {"Content-Type": "application/json"})
    written = min(request.get("max_tokens") or request.get("max_completion_tokens") or 32, 32)
    return chat_completion(json.dumps(GOOD_SUMMARY), prompt_tokens=min(counted, cut or counted),
                           completion_tokens=written)


@pytest.fixture
def server(workspace: Path, monkeypatch: pytest.MonkeyPatch):
    """A good local server serving MODEL, and the workspace's environment pointing at it."""
    fake = FakeOpenAI(respond).start()
    fake.models = [MODEL]
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("DIGEST_MODEL", MODEL)
    yield fake
    fake.stop()


def doctor(*args: str) -> Result:
    return CliRunner().invoke(app, ["doctor", *args], prog_name="digest")


def lines(result: Result) -> dict[str, str]:
    """Each check's line by its name: '✓ window  a prompt of ...' under 'window'."""
    found = {}
    for line in result.stdout.splitlines():
        mark, rest = line.split(" ", 1)
        name = next((n for n in (*CHECKS, "summarizer", "access", "LLM checks") if rest.startswith(n + " ")), rest)
        found[name] = line
        assert mark in "✓!✗-", line
    return found


def notes(cache: Path) -> dict[str, Any]:
    (learned,) = json.loads((cache / "servers.json").read_text()).values()
    return learned


def test_a_good_server_passes_every_check(server: FakeOpenAI, isolated_env: Path) -> None:
    result = doctor()

    assert result.exit_code == 0, result.output
    found = lines(result)
    assert list(found) == CHECKS
    assert all(line.startswith("✓ ") for line in found.values()), result.stdout
    assert "json_schema" in found["format"] and "read whole" in found["window"]
    assert "free (local server)" in found["cost"]
    assert "jobs 1 fit" in found["speed"]
    assert result.stderr == "digest: doctor: every check passed\n"
    assert notes(isolated_env) == {"response_format": "json_schema"}
    paths = [request["path"] for request in server.requests]
    assert paths[0] == "/v1/models" and set(paths[1:]) == {"/v1/chat/completions"}


def test_an_unreachable_server_is_named_and_fails_at_once(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")

    run = subprocess.run([sys.executable, "-m", "digestcli.cli", "doctor"], capture_output=True, text=True,
                         encoding="utf-8", timeout=60)

    assert run.returncode == 1, run.stderr
    server = next(line for line in run.stdout.splitlines() if " server " in line)
    assert server.startswith("✗ ") and f"127.0.0.1:{port}/v1" in server
    assert "not checked" in run.stdout and "Traceback" not in run.stderr
    assert run.stderr == "digest: doctor: 1 failed, 0 warnings\n"


def test_a_model_the_server_does_not_serve_fails(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    server.models = ["qwen2.5-1.5b-instruct"]
    server.responder = partial(respond, models=("qwen2.5-1.5b-instruct",))

    result = doctor()

    assert result.exit_code == 1
    model = lines(result)["model"]
    assert model.startswith("✗ ") and f"'{MODEL}'" in model and "qwen2.5-1.5b-instruct" in model
    assert "window" not in lines(result)


def test_a_model_the_list_lacks_but_the_server_answers_is_a_warning(server: FakeOpenAI) -> None:
    server.models = ["smollm2-135m-instruct-q4_1.gguf"]  # llama.cpp lists its file; it serves any name

    result = doctor()

    assert result.exit_code == 0, result.output
    assert lines(result)["model"].startswith("! ") and "answered" in lines(result)["model"]


def test_a_server_refusing_json_schema_gets_json_object_and_the_next_run_starts_there(
        server: FakeOpenAI, fake_arxiv, isolated_env: Path) -> None:
    from papers import MEZO

    server.responder = partial(respond, json_schema=False)

    result = doctor()

    assert result.exit_code == 0, result.output
    line = lines(result)["format"]
    assert line.startswith("! format     json_object") and "json_schema" in line and "not supported" in line
    assert notes(isolated_env)["response_format"] == "json_object"
    asked = len(server.chat_requests())
    assert CliRunner().invoke(app, ["add", MEZO.id]).exit_code == 0
    sent = [r.get("response_format", {}).get("type") for r in server.chat_requests()[asked:]]
    assert sent == ["json_object"]  # no refused json_schema first


def test_a_refused_max_tokens_is_learned_for_later_runs(server: FakeOpenAI, isolated_env: Path) -> None:
    def reasoning_server(request: dict[str, Any]) -> Reply:
        if "max_tokens" in request:
            return api_error(400, "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                                  "'max_completion_tokens' instead.")
        return respond(request)

    server.responder = reasoning_server

    result = doctor()

    assert result.exit_code == 0, result.output
    assert notes(isolated_env)["token_parameter"] == "max_completion_tokens"


def test_a_server_cutting_long_prompts_silently_fails_the_window_check(server: FakeOpenAI) -> None:
    server.responder = partial(respond, cut=2048)  # Ollama's default window

    result = doctor()

    assert result.exit_code == 1
    window = lines(result)["window"]
    assert window.startswith("✗ ") and "2048" in window and "silently" in window
    assert "num_ctx" in window  # what to change
    assert result.stderr == "digest: doctor: 1 failed, 0 warnings\n"


def test_a_cut_window_with_room_for_the_answer_gets_the_budget_that_fits(server: FakeOpenAI, workspace: Path) -> None:
    config = workspace / "digest.toml"
    config.write_text(config.read_text().replace("max_output_tokens = 1500", "max_output_tokens = 500"))
    server.responder = partial(respond, cut=2048)

    result = doctor()

    window = lines(result)["window"]
    budget = int(window.split("--budget ")[1].split()[0])
    assert window.startswith("✗ ") and 500 <= budget < 2048 - 500
    assert "was read whole" in window  # the budget advised was tried
    assert "(%d in" % budget in lines(result)["speed"]


def test_an_overflow_refusal_reports_the_window_and_a_budget_that_fits(server: FakeOpenAI) -> None:
    server.responder = partial(respond, window=4096)  # llama.cpp started with --ctx-size 4096

    result = doctor()

    assert result.exit_code == 1
    window = lines(result)["window"]
    assert window.startswith("✗ ") and "4096 tokens" in window and "exceeds the available context size" in window
    assert "was read whole" in window
    fitted = server.chat_requests()[-1]
    assert prompt_tokens(fitted) + 1500 <= 4096  # the prompt advised leaves the answer its room, as the server counts
    assert lines(result)["speed"].startswith("✓ ")  # timed on the prompt that fit


def test_the_key_is_never_shown(server: FakeOpenAI, isolated_env: Path) -> None:
    good = doctor()
    as_json = doctor("--json")
    server.script.append(api_error(401, f"Incorrect API key provided: {KEY}. You can find your API key at "
                                        "https://platform.openai.com/account/api-keys."))
    refused = doctor()  # the model list is public, the chat is not (llama.cpp --api-key)

    assert good.exit_code == 0 and as_json.exit_code == 0
    assert "set in OPENAI_API_KEY" in lines(good)["API key"]
    assert refused.exit_code == 1 and "rejected the API key (HTTP 401)" in lines(refused)["access"]
    for result in (good, as_json, refused):
        assert KEY not in result.stdout + result.stderr
        assert KEY[-8:] not in result.stdout + result.stderr
    assert KEY not in (isolated_env / "servers.json").read_text()


def test_json_lists_every_check_with_its_status(server: FakeOpenAI) -> None:
    result = doctor("--json")

    checks = json.loads(result.stdout)
    assert [c["name"] for c in checks] == CHECKS
    assert {c["status"] for c in checks} == {OK}
    window = next(c for c in checks if c["name"] == "window")
    assert window["details"]["counted"] < window["details"]["sent"] <= 8000


@pytest.mark.parametrize("how", ["--offline", "no key"])
def test_without_a_server_the_network_checks_are_skipped(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch,
                                                         how: str) -> None:
    if how == "no key":
        monkeypatch.delenv("OPENAI_API_KEY")
        monkeypatch.delenv("OPENAI_BASE_URL")

    result = doctor(*([how] if how == "--offline" else []))

    assert result.exit_code == 0, result.output
    found = lines(result)
    assert found["server"].startswith("- ") and "offline summarizer" in found["server"]
    assert found.get("summarizer", found.get("API key")).split()[0] in ("✓", "!")
    assert server.requests == []


def test_outside_a_workspace_the_settings_check_fails_and_the_rest_still_run(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    result = doctor("--offline")

    assert result.exit_code == 1
    assert lines(result)["settings"].startswith("✗ ") and "digest init" in lines(result)["settings"]
    assert "cost" in lines(result)
    assert not (tmp_path / "digest.toml").exists()  # nothing made


@pytest.mark.parametrize(("timeout", "jobs", "status", "advice"), [
    (900, 1, OK, "fit"),
    (120, 1, FAIL, "timeout = 360 and deadline = 360"),
    (900, 6, FAIL, "set jobs = 1"),
])
def test_speed_advice_fits_a_paper_in_the_timeouts(timeout: float, jobs: int, status: str, advice: str) -> None:
    # Qwen2.5-Coder 1.5B on 2 cores: reads 49 tokens/s, writes 13.6 (the measurements)
    check = speed_advice(49, 13.6, 3000, 1500, timeout=timeout, deadline=timeout, jobs=jobs, local=True)

    assert check.status == status
    assert advice in check.message and "2 min 51 s" in check.message


def test_a_format_noted_before_is_probed_again(server: FakeOpenAI, isolated_env: Path) -> None:
    """A server that learned json_schema since (a newer llama.cpp) gets it back: the note is found, not assumed."""
    doctor()
    assert notes(isolated_env)["response_format"] == "json_schema"
    server.responder = partial(respond, json_schema=False)
    doctor()
    assert notes(isolated_env)["response_format"] == "json_object"
    server.responder = respond

    result = doctor()

    assert lines(result)["format"].startswith("✓ format     json_schema")
    assert notes(isolated_env)["response_format"] == "json_schema"


def test_invalid_settings_are_one_failed_line_naming_the_file(workspace: Path) -> None:
    (workspace / "digest.toml").write_text('[llm]\ninput_budget = "many"\n')

    result = doctor()

    assert result.exit_code == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith("✗ settings") and "digest.toml" in line and "input_budget" in line
    assert "Traceback" not in result.output


def test_a_priced_server_shows_the_most_a_paper_costs(server: FakeOpenAI, workspace: Path) -> None:
    config = workspace / "digest.toml"
    config.write_text(config.read_text().replace("[llm]\n", "[llm]\nprice_input = 1.0\nprice_output = 2.0\n"))

    result = doctor()

    # 8000 input tokens at $1 and 1500 output tokens at $2 per million
    assert lines(result)["cost"] == "✓ cost       at most $0.0110 a paper (8000 input and 1500 output tokens at $1/$2 " \
                                    "per million, digest.toml)"
