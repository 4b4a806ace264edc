"""A hostile OpenAI-compatible server: it echoes the API key, and it sends malformed chat completions.

Driven through the real CLI and the real openai SDK against FakeOpenAI on 127.0.0.1. Whatever the
server sends back, the key reaches no output, file, cache or post (issue 11, class 3), and a
malformed answer is one line naming the server, never an internal error; odd usage fields never
cost an answer (class 11).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, quote_plus

import pytest

from conftest import GOOD_SUMMARY
from fakes import FakeOpenAI, Reply, api_error, chat_completion
from papers import MEZO
from test_cli import digest, error_lines, item_file, item_meta

KEY = "sk-test-not-a-real-key"  # conftest's fake_openai key
# A key with every character that JSON, URLs or a Python repr would spell differently.
ODD_KEY = 'sk-proj/Ab+Cd=Ef&Gh"Ij\\Kl%Mn 0123456789'


class EchoingOpenAI(FakeOpenAI):
    """FakeOpenAI whose responder also sees the request's headers, to echo the Authorization header."""

    headers: dict[str, str] = {}

    def handle(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        self.headers = headers
        return super().handle(method, path, body, headers)


@pytest.fixture
def echoing_openai(monkeypatch: pytest.MonkeyPatch):
    server = EchoingOpenAI().start()
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("DIGEST_LLM_RETRIES", "0")
    yield server
    server.stop()


def everything_written(*roots: Path) -> str:
    """The bytes of every file under ``roots`` (items, .bak, batch records, caches), as text."""
    return "\n".join(path.read_bytes().decode("utf-8", "replace")
                     for root in roots for path in sorted(root.rglob("*")) if path.is_file())


def leaked(key: str, texts: list[str]) -> list[str]:
    """Each form of ``key`` (and its first 16 characters) found in ``texts``."""
    forms = {key, key[:16], json.dumps(key)[1:-1], quote(key, safe=""), quote_plus(key), repr(key)[1:-1]}
    return sorted({form for form in forms for text in texts if form in text})


def answer_with(secret: str) -> Reply:
    fields = {**GOOD_SUMMARY,
              "tldr": GOOD_SUMMARY["tldr"] + f" Key: {secret}.",
              "key_insights": [*GOOD_SUMMARY["key_insights"], f"The key is {secret}"],
              "results": GOOD_SUMMARY["results"] + f" (key {quote_plus(secret)})",
              "short_name": "MeZO " + secret[:20]}
    return chat_completion(json.dumps(fields), prompt_tokens=2000)


def _split_by_a_zero_width_space(secret: str) -> Reply:
    return answer_with(secret[:10] + "\u200b" + secret[10:])  # the prose cleaner drops it, joining the key again


ECHOES: dict[str, Callable[[EchoingOpenAI, str], Reply]] = {
    "400-message": lambda server, key: api_error(400, f"Invalid request for API key {key}"),
    "422-message": lambda server, key: api_error(422, f"Unprocessable: key={quote_plus(key)} ({key})"),
    "400-json-inside": lambda server, key: api_error(400, "bad request " + json.dumps({"api_key": key})),
    "400-authorization-header": lambda server, key: api_error(
        400, f"rejected headers {json.dumps({k: v for k, v in server.headers.items() if k.lower() == 'authorization'})}"),
    "400-masked-key": lambda server, key: api_error(400, f"Incorrect API key provided: {key[:16]}****{key[-3:]}"),
    "refusal": lambda server, key: chat_completion(None, refusal=f"I will not summarize; your key {key} is logged"),
    "answer-fields": lambda server, key: answer_with(key),
    "answer-zero-width-space": lambda server, key: _split_by_a_zero_width_space(key),
}


@pytest.mark.parametrize("key", [KEY, ODD_KEY], ids=["plain-key", "odd-key"])
@pytest.mark.parametrize("debug", [False, True], ids=["", "debug"])
@pytest.mark.parametrize("echo", list(ECHOES))
def test_a_server_echoing_the_key_never_gets_it_printed_written_cached_or_published(
        workspace: Path, fake_arxiv, echoing_openai: EchoingOpenAI, isolated_env: Path,
        monkeypatch: pytest.MonkeyPatch, echo: str, debug: bool, key: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", key)
    echoing_openai.responder = lambda request: ECHOES[echo](echoing_openai, key)
    flags = ["--debug"] if debug else []
    first = digest(*flags, "add", MEZO.id)
    again = digest(*flags, "add", MEZO.id, "--force")  # the .bak of a saved item, the cached answer
    built = digest(*flags, "build")
    sent = [v for r in echoing_openai.requests for k, v in r["headers"].items() if k.lower() == "authorization"]
    assert sent and sent[0] == f"Bearer {key}"  # the key really went out, and came back
    answered = echo.startswith("answer")
    assert first.exit_code == (0 if answered else 1), first.output
    assert "internal error" not in first.output and "Traceback" not in first.output
    if answered:
        assert "[redacted]" in item_file(workspace, "issue-1", MEZO.id).read_text(encoding="utf-8")
        assert list(item_file(workspace, "issue-1", MEZO.id).parent.glob("*.bak"))
    else:
        assert len(error_lines(first)) == 1 and "[redacted]" in error_lines(first)[0], first.stderr
    texts = [r.stdout + r.stderr for r in (first, again, built)] + [everything_written(workspace, isolated_env)]
    assert leaked(key, texts) == []


@pytest.mark.parametrize("echo", ["400-message", "refusal", "answer-fields"])
def test_a_batch_echoing_the_key_never_gets_it_printed_written_or_cached(
        workspace: Path, fake_arxiv, echoing_openai: EchoingOpenAI, isolated_env: Path,
        monkeypatch: pytest.MonkeyPatch, echo: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    echoing_openai.batch_polls_to_finish = 1
    echoing_openai.responder = lambda request: ECHOES[echo](echoing_openai, KEY)
    submitted = digest("add", MEZO.id, "--batch")
    assert submitted.exit_code == 0, submitted.output
    collected = digest("batch", "collect")
    status = digest("batch", "status")
    built = digest("build")
    assert "internal error" not in collected.output
    assert item_file(workspace, "issue-1", MEZO.id).exists() is (echo == "answer-fields")
    texts = [r.stdout + r.stderr for r in (submitted, collected, status, built)]
    assert leaked(KEY, texts + [everything_written(workspace, isolated_env)]) == []


def test_debug_traceback_and_error_lines_are_redacted_too(workspace: Path, fake_openai,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The sinks themselves: whatever message reaches the CLI, with or without --debug, a bug or not."""
    from digestcli.errors import LLMError
    from digestcli.commands import add as add_command

    for error in (LLMError(f"server said {KEY}"), RuntimeError(f"a bug holding {KEY}")):
        def run(*args: Any, error: Exception = error, **kwargs: Any) -> None:
            raise error
        monkeypatch.setattr(add_command, "add", run)
        for flags in ([], ["--debug"]):
            result = digest(*flags, "add", MEZO.id)
            assert result.exit_code == 1
            assert ("Traceback" in result.stderr) is bool(flags), result.stderr
            assert KEY not in result.output and "[redacted]" in result.stderr


# -- malformed chat completions ---------------------------------------------------------------------


def completion(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1700000000, "model": "fake-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": json.dumps(GOOD_SUMMARY)},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 2000, "completion_tokens": 300, "total_tokens": 2300},
    }
    return {**payload, **changes}


def with_message(message: Any) -> dict[str, Any]:
    return completion(choices=[{"index": 0, "message": message, "finish_reason": "stop"}])


def body(value: Any) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value).encode()


MALFORMED: dict[str, tuple[Any, str]] = {
    "message-null": (with_message(None), "message is null"),
    "choice-null": (completion(choices=[None]), "first choice is null"),
    "choices-a-string": (completion(choices="the answer"), "choices is text"),
    "choices-an-object": (completion(choices={"0": {}}), "choices is an object"),
    "choices-empty": (completion(choices=[]), "no choices"),
    "choices-missing": ({k: v for k, v in completion().items() if k != "choices"}, "no choices"),
    "content-an-object": (with_message({"role": "assistant", "content": GOOD_SUMMARY}), "content is an object"),
    "content-a-list": (with_message({"role": "assistant", "content": [json.dumps(GOOD_SUMMARY)]}),
                       "content is a list"),
    "content-a-number": (with_message({"role": "assistant", "content": 7}), "content is a number"),
    "refusal-an-object": (with_message({"role": "assistant", "content": None, "refusal": {"why": "no"}}),
                          "refusal is an object"),
    "finish-reason-a-list": (completion(choices=[{"index": 0, "message": {"content": "{}"}, "finish_reason": []}]),
                             "finish_reason is a list"),
    "body-a-list": ([completion()], "body is a list"),
    "body-null": (None, "body is null"),
    "body-a-string": ("chat.completion", "body is text"),
    "empty-body": (b"", "empty body"),
    "whitespace-body": (b" \r\n ", "empty body"),
    "truncated-body": (body(completion())[:90], "not json"),
    "not-json": (b"<html><body>502 Bad Gateway</body></html>", "not json"),
    "invalid-utf8": (b'{"choices": "\xff\xfe"}', "not json"),
    "deeply-nested": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "deeply-nested-object": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
}


@pytest.mark.parametrize("debug", [False, True], ids=["", "debug"])
@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_chat_completion_is_one_line_naming_the_server(workspace: Path, fake_arxiv, fake_openai,
                                                                   name: str, debug: bool) -> None:
    payload, reason = MALFORMED[name]
    fake_openai.responder = lambda request: Reply(200, body(payload), {"Content-Type": "application/json"})
    result = digest(*(["--debug"] if debug else []), "add", MEZO.id)
    assert result.exit_code == 1, result.output
    (line,) = error_lines(result)
    assert line.startswith(f"digest: error: {MEZO.id}: the LLM server at {fake_openai.base_url} sent a malformed "
                           "answer ("), line
    assert reason in line.lower()
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert result.stdout == ""
    assert not item_file(workspace, "issue-1", MEZO.id).exists()


@pytest.mark.parametrize("usage, counted", [
    ("missing", (0, 0)),
    (None, (0, 0)),
    ({"prompt_tokens": "2000", "completion_tokens": "many"}, (0, 0)),
    ({"prompt_tokens": -5, "completion_tokens": -1}, (0, 0)),
    ({"prompt_tokens": 2000.0, "completion_tokens": 1e300}, (2000, 0)),
    ({"prompt_tokens": True, "completion_tokens": None}, (0, 0)),
    ({"prompt_tokens": 2100, "completion_tokens": 250, "total_tokens": "x", "prompt_tokens_details": [1, {"a": 2}],
      "vendor": {"cost": "$0"}}, (2100, 250)),
    ("a string", (0, 0)),
    ([2000, 300], (0, 0)),
], ids=["missing", "null", "strings", "negative", "floats", "bool-and-null", "extra-keys", "a-string", "a-list"])
def test_a_valid_answer_with_odd_usage_is_kept_with_usage_counted_as_unknown(workspace: Path, fake_arxiv, fake_openai,
                                                                             usage: Any, counted: tuple[int, int]) -> None:
    payload = completion(usage=usage) if usage != "missing" else {
        k: v for k, v in completion().items() if k != "usage"}
    fake_openai.responder = lambda request: Reply(200, body(payload), {"Content-Type": "application/json"})
    result = digest("add", MEZO.id)
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr  # no "server counted -5 input tokens" nonsense
    provenance = item_meta(workspace, "issue-1", MEZO.id)["provenance"]
    assert (provenance["input_tokens"], provenance["output_tokens"]) == counted


def test_a_model_answer_nested_too_deeply_is_invalid_output_not_a_crash(workspace: Path, fake_arxiv,
                                                                       fake_openai) -> None:
    fake_openai.responder = lambda request: chat_completion('{"a":' * 50_000 + "1" + "}" * 50_000)
    result = digest("add", MEZO.id)
    assert result.exit_code == 1
    (line,) = error_lines(result)
    assert "model returned invalid output twice" in line and "internal error" not in result.output


@pytest.mark.parametrize("line", [
    b"[" * 100_000 + b"]" * 100_000,
    b'"just a string"',
    b'{"custom_id": 7}',
    json.dumps({"custom_id": f"{MEZO.id}v3", "response": "not an object"}).encode(),
    json.dumps({"custom_id": f"{MEZO.id}v3", "response": {"status_code": 200, "body": with_message(None)}}).encode(),
    json.dumps({"custom_id": f"{MEZO.id}v3", "response": {"status_code": 200, "body": [1]}}).encode(),
    json.dumps({"custom_id": f"{MEZO.id}v3", "response": {"status_code": 200, "body": completion(choices="x")}}).encode(),
    json.dumps({"custom_id": f"{MEZO.id}v3", "response": {"status_code": 500, "body": "oops"}, "error": 7}).encode(),
], ids=["nested", "a-string", "custom-id-a-number", "response-a-string", "message-null", "body-a-list",
        "choices-a-string", "error-a-number"])
def test_a_malformed_batch_result_fails_that_paper_in_one_line(workspace: Path, fake_arxiv, fake_openai,
                                                               line: bytes) -> None:
    fake_openai.batch_polls_to_finish = 1
    assert digest("add", MEZO.id, "--batch").exit_code == 0
    assert digest("batch", "status").exit_code == 0  # the batch is done: its output file exists
    (state,) = fake_openai.batches.values()
    fake_openai.files[state["output"]] = line + b"\n"
    result = digest("batch", "collect")
    assert result.exit_code == 3, result.output
    (error,) = error_lines(result)
    assert error.startswith(f"digest: error: {MEZO.id}: ") and "digest add" in error
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert not item_file(workspace, "issue-1", MEZO.id).exists()


def test_feed_rank_with_a_malformed_answer_is_one_line_naming_the_server(workspace: Path, fake_arxiv,
                                                                         fake_openai) -> None:
    from test_feed import _recent

    config = workspace / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('topic = ""', 'topic = "retrieval"'),
                      encoding="utf-8")
    for n in (1, 2):
        fake_arxiv.add(_recent(n, n, ["cs.CL"], f"Paper {n}"))
    fake_openai.responder = lambda request: Reply(200, body(with_message(None)), {"Content-Type": "application/json"})
    result = digest("feed", "cs.CL", "--rank")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"digest: error: the LLM server at {fake_openai.base_url} sent a malformed "
                                          "answer (the first choice's message is null, not an object)"]


# -- the redaction rules ----------------------------------------------------------------------------


def test_redaction_covers_every_spelling_of_the_key_and_authorization_values() -> None:
    from digestcli.redaction import redact, redact_bytes, remember

    remember(ODD_KEY)
    for text in (ODD_KEY, json.dumps(ODD_KEY), json.dumps(json.dumps(ODD_KEY)), quote(ODD_KEY), quote_plus(ODD_KEY),
                 quote(ODD_KEY, safe=""), ODD_KEY[:16] + "...", ODD_KEY[:20] + "****6789"):
        assert leaked(ODD_KEY, [redact(f"echo: {text}!")]) == [], text
    assert redact("Authorization: Bearer abcdefghijklmnop0123 rest") == "Authorization: Bearer [redacted] rest"
    assert redact('{"authorization": "Basic dXNlcjpwYXNzd29yZDEyMzQ="}') == '{"authorization": "Basic [redacted]"}'
    assert redact_bytes(b"%PDF-1.4 \xff\xfe " + ODD_KEY.encode()) == b"%PDF-1.4 \xff\xfe [redacted]"


def test_short_placeholder_keys_and_ordinary_words_are_left_alone() -> None:
    from digestcli.redaction import redact, remember

    remember("ollama")
    remember("EMPTY")
    text = ("Ollama and ollama serve EMPTY prompts; bearer bonds, basic 12-layer models and an authorization "
            "server stay as they are.")
    assert redact(text) == text
