"""Real servers' quirks, as their own messages and answers say them: context overflow from llama.cpp,
vLLM, Ollama and OpenAI (a smaller context, never a lesser format); a format stepped down only for a
refused format; max_completion_tokens and temperature for OpenAI's reasoning models, learned and
remembered per server; reasoning tokens; <think> blocks; [llm] extra_body.

Through the real openai SDK against FakeOpenAI on 127.0.0.1 (tests/fakes.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import GOOD_SUMMARY
from fakes import FakeOpenAI, Reply, api_error, chat_completion
from test_summarize import counter, extracted, last_user_message, mezo, parsed, reply_json, \
    summarizer

from digestcli.budget import select_context
from digestcli.errors import LLMError
from digestcli.llm import SERVER_NOTES, LLMSummarizer
from digestcli.llmserver import FORMAT, Accepted, Refusal, ServerNotes
from digestcli.prompts import load_prompts
from papers import LLAVA, MEZO

SUMMARY = json.dumps(GOOD_SUMMARY)


def error_reply(status: int, error: dict[str, Any]) -> Reply:
    return Reply(status, json.dumps({"error": error}).encode(), {"Content-Type": "application/json"})


def formats(server: FakeOpenAI) -> list[str]:
    return [request.get("response_format", {}).get("type", "text") for request in server.chat_requests()]


# -- context overflow -------------------------------------------------------------------------------

OVERFLOWS = {
    "llama.cpp": error_reply(400, {"code": 400, "type": "exceed_context_size_error", "n_prompt_tokens": 5200,
                                   "n_ctx": 2048, "message": "the request exceeds the available context size, "
                                                             "try increasing it"}),
    "llama.cpp-n_ctx": error_reply(400, {"code": 400, "type": "invalid_request_error",
                                         "message": "prompt tokens (5200) exceed the context size (n_ctx: 2048)"}),
    "vllm": api_error(400, "This model's maximum context length is 2048 tokens. However, you requested 6700 tokens "
                           "(5200 in the messages, 1500 in the completion). Please reduce the length of the messages "
                           "or completion."),
    "vllm-input": api_error(400, "This model's maximum context length is 2048 tokens. However, your request has "
                                 "5200 input tokens. Please reduce the length of the input messages."),
    "ollama": api_error(400, "the input length exceeds the context length"),
    "ollama-maximum": api_error(400, "input length exceeds maximum context length"),
    "openai": api_error(400, "This model's maximum context length is 2048 tokens. However, your messages resulted in "
                             "5200 tokens. Please reduce the length of the messages.", code="context_length_exceeded"),
}


@pytest.mark.parametrize("overflow", list(OVERFLOWS.values()), ids=list(OVERFLOWS))
def test_context_overflow_sends_less_of_the_paper_in_the_same_format(fake_openai, tmp_path, overflow):
    fake_openai.script.append(overflow)
    llm = summarizer(fake_openai, tmp_path)

    summary = llm.summarize(*mezo())

    first, second = fake_openai.chat_requests()
    assert formats(fake_openai) == ["json_schema", "json_schema"]  # never a lesser format
    assert len(last_user_message(second)) < len(last_user_message(first))
    assert summary.fields.model_dump() == GOOD_SUMMARY
    (warning,) = [w for w in summary.warnings if "did not fit" in w]
    assert "--budget" in warning
    assert llm.input_budget < 8000  # the run's next papers start smaller


def test_the_servers_own_counts_size_the_smaller_context(fake_openai, tmp_path):
    """llama.cpp says its window and its count of the prompt: the retry fits that window, answer included."""
    paper, text, context = mezo()
    fake_openai.script.append(OVERFLOWS["llama.cpp"])
    llm = summarizer(fake_openai, tmp_path, max_output_tokens=500)

    llm.summarize(paper, text, context)

    first, second = (sum(counter().count(m["content"]) + 4 for m in r["messages"]) for r in fake_openai.chat_requests())
    assert second <= first * (2048 - 500) / 5200  # scaled by the server's own count, room left for the answer
    assert second > first * (2048 - 500) / 5200 * 0.7  # and not needlessly small


# -- only a refused format steps the format down ----------------------------------------------------

FORMAT_REFUSALS = {
    "openai-unrecognized": "Unrecognized request argument supplied: response_format",
    "llama.cpp-grammar": "JSON schema conversion failed: Unrecognized schema",
    "not-supported": "'json_schema' is not supported with this model",
    "response-format-type": "Invalid value: 'json_schema'. Supported values are: 'json_object' and 'text'.",
}


@pytest.mark.parametrize("message", list(FORMAT_REFUSALS.values()), ids=list(FORMAT_REFUSALS))
def test_a_refused_format_steps_down(fake_openai, tmp_path, message):
    fake_openai.script.append(api_error(400, message))

    summarizer(fake_openai, tmp_path).summarize(*mezo())

    assert formats(fake_openai) == ["json_schema", "json_object"]


@pytest.mark.parametrize("message", ["Invalid 'messages[1].role': 'robot'", "Bad request",
                                     "Invalid type for 'seed': expected an integer"])
def test_any_other_400_is_one_clear_error_naming_the_paper(fake_openai, tmp_path, message):
    fake_openai.script.append(api_error(400, message))

    with pytest.raises(LLMError) as raised:
        summarizer(fake_openai, tmp_path).summarize(*mezo())

    assert len(fake_openai.chat_requests()) == 1  # no format tried in vain
    assert str(raised.value).startswith("2305.17333v3: ")
    assert "refused the request (HTTP 400)" in str(raised.value) and message.split("'")[0] in str(raised.value)


def test_two_requests_refused_at_once_step_the_format_down_once(tmp_path):
    """With --jobs above 1, the requests in flight are all refused for the same format."""
    accepted = Accepted("auto", ServerNotes(tmp_path / SERVER_NOTES, None, "gpt-4o-mini"))
    refusal, asked_at = Refusal(FORMAT, "json_schema is not supported"), accepted.version

    assert accepted.adapt(refusal, asked_at) and accepted.adapt(refusal, asked_at)
    assert accepted.step == "json_object"


def test_a_schema_keyword_refused_drops_the_limits_not_the_schema(fake_openai, tmp_path):
    fake_openai.script.append(api_error(400, "Invalid schema for response_format 'paper_summary': In context=("
                                             "'properties', 'short_name'), 'maxLength' is not permitted."))

    summarizer(fake_openai, tmp_path).summarize(*mezo())

    first, second = (r["response_format"]["json_schema"]["schema"] for r in fake_openai.chat_requests())
    assert "maxLength" in json.dumps(first) and "maxLength" not in json.dumps(second)
    assert formats(fake_openai) == ["json_schema", "json_schema"]


# -- max_tokens or max_completion_tokens; temperature ---------------------------------------------

MAX_TOKENS_REFUSED = error_reply(400, {
    "message": "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' "
               "instead.", "type": "invalid_request_error", "param": "max_tokens", "code": "unsupported_parameter"})
TEMPERATURE_REFUSED = error_reply(400, {
    "message": "Unsupported value: 'temperature' does not support 0 with this model. Only the default (1) value is "
               "supported.", "type": "invalid_request_error", "param": "temperature", "code": "unsupported_value"})


def test_max_tokens_refused_is_asked_as_max_completion_tokens_and_remembered(fake_openai, tmp_path):
    fake_openai.script.append(MAX_TOKENS_REFUSED)

    summarizer(fake_openai, tmp_path, model="gpt-5-mini", max_output_tokens=900).summarize(*mezo())

    first, second = fake_openai.chat_requests()
    assert first["max_tokens"] == 900 and "max_completion_tokens" not in first
    assert second["max_completion_tokens"] == 900 and "max_tokens" not in second
    assert formats(fake_openai) == ["json_schema", "json_schema"]
    # A later run against the same server and model starts right; another model does not.
    llava, text = parsed(LLAVA), extracted(LLAVA)
    summarizer(fake_openai, tmp_path, model="gpt-5-mini").summarize(llava, text, select_context(text, 3000, counter()))
    summarizer(fake_openai, tmp_path, model="other").summarize(llava, text, select_context(text, 3000, counter()))
    third, fourth = fake_openai.chat_requests()[2:]
    assert "max_completion_tokens" in third and "max_tokens" not in third
    assert "max_tokens" in fourth


def test_temperature_refused_is_left_out_and_remembered(fake_openai, tmp_path):
    fake_openai.script.append(TEMPERATURE_REFUSED)

    summarizer(fake_openai, tmp_path, model="o4-mini").summarize(*mezo())
    summarizer(fake_openai, tmp_path, model="o4-mini").summarize(parsed(LLAVA), extracted(LLAVA))

    first, second, third = fake_openai.chat_requests()
    assert first["temperature"] == 0 and "temperature" not in second and "temperature" not in third


def test_what_a_server_needs_is_kept_without_key_or_credentials(fake_openai, tmp_path):
    fake_openai.script.append(MAX_TOKENS_REFUSED)
    address = fake_openai.base_url.replace("http://", "http://reader:hunter2-password@")
    llm = LLMSummarizer(model="gpt-5", api_key="sk-test-notes-secret", base_url=address, cache_dir=tmp_path,
                        prompts=load_prompts(None), counter=counter(), retries=0)

    llm.summarize(*mezo())

    notes = (tmp_path / SERVER_NOTES).read_text(encoding="utf-8")
    assert json.loads(notes) == {f"{fake_openai.base_url} gpt-5": {"token_parameter": "max_completion_tokens"}}
    assert not any(secret in notes for secret in ("hunter2", "reader", "sk-test"))


@pytest.mark.parametrize("model, base_url, parameter, temperature", [
    ("o1", None, "max_completion_tokens", False),
    ("o3-mini", None, "max_completion_tokens", False),
    ("o4-mini", "https://api.openai.com/v1", "max_completion_tokens", False),
    ("gpt-5", None, "max_completion_tokens", False),
    ("gpt-5-mini-2025-08-07", None, "max_completion_tokens", False),
    ("gpt-4o-mini", None, "max_tokens", True),
    ("gpt-4.1", None, "max_tokens", True),
    ("o3-mini", "http://127.0.0.1:8080/v1", "max_tokens", True),  # a local model that happens to share the name
])
def test_openai_reasoning_models_start_with_max_completion_tokens(tmp_path, model, base_url, parameter, temperature):
    llm = LLMSummarizer(model=model, api_key="sk-test", base_url=base_url, cache_dir=tmp_path,
                        prompts=load_prompts(None), counter=counter(), client=object())  # no request is made

    params = llm.request_params([{"role": "user", "content": "hi"}])

    assert params[parameter] == 1500
    assert not ({"max_tokens", "max_completion_tokens"} - {parameter}) & set(params)
    assert ("temperature" in params) is temperature


# -- what the answer carries ------------------------------------------------------------------------


def test_reasoning_tokens_are_recorded_in_usage_cache_and_item(workspace, fake_arxiv, fake_openai):
    from test_cli import digest, item_meta

    def reasoning_answer(request: dict[str, Any]) -> Reply:
        reply = chat_completion(SUMMARY, prompt_tokens=2000, completion_tokens=700)
        body = json.loads(reply.body)
        body["usage"]["completion_tokens_details"] = {"reasoning_tokens": 512, "accepted_prediction_tokens": 0}
        return Reply(200, json.dumps(body).encode(), reply.headers)

    fake_openai.responder = reasoning_answer

    assert digest("add", MEZO.id).exit_code == 0
    assert digest("add", MEZO.id, "--force").exit_code == 0  # from the cache this time

    provenance = item_meta(workspace, "issue-1", MEZO.id)["provenance"]
    assert (provenance["output_tokens"], provenance["reasoning_tokens"]) == (700, 512)
    assert len(fake_openai.chat_requests()) == 1


THINKING = {
    "think-block": "<think>\nThe user wants JSON like {\"short_name\": \"X\"}. Let me read.\n</think>\n\n" + SUMMARY,
    "lone-close": "They want {\"short_name\": \"Y\"} maybe.\n</think>\n" + SUMMARY,  # the template opened it
    "unterminated": "<think>Consider {\"tldr\": \"draft\"} first... then answer:\n" + SUMMARY,
    "unterminated-fenced": "<think>Consider {\"tldr\": \"draft\"} first:\n```json\n" + SUMMARY + "\n```",
    "thinking-tag": "<thinking>{\"short_name\": \"Z\"}</thinking>" + SUMMARY,
}


@pytest.mark.parametrize("content", list(THINKING.values()), ids=list(THINKING))
def test_a_thinking_models_reasoning_is_never_read_as_the_answer(fake_openai, tmp_path, content):
    fake_openai.script.append(chat_completion(content))

    summary = summarizer(fake_openai, tmp_path).summarize(*mezo())

    assert summary.fields.model_dump() == GOOD_SUMMARY
    assert len(fake_openai.chat_requests()) == 1


def test_think_tags_inside_the_answer_are_the_answers(fake_openai, tmp_path):
    about_thinking = {**GOOD_SUMMARY, "tldr": "The model writes its reasoning between <think> and </think> tags."}
    fake_openai.script.append(chat_completion("<think>Short.</think>" + json.dumps(about_thinking)))

    assert summarizer(fake_openai, tmp_path).summarize(*mezo()).fields.tldr == about_thinking["tldr"]


def test_reasoning_content_is_ignored(fake_openai, tmp_path):
    reply = chat_completion(SUMMARY)
    body = json.loads(reply.body)
    body["choices"][0]["message"]["reasoning_content"] = json.dumps({**GOOD_SUMMARY, "short_name": "Wrong"})
    fake_openai.script.append(Reply(200, json.dumps(body).encode(), reply.headers))

    assert summarizer(fake_openai, tmp_path).summarize(*mezo()).fields.short_name == "MeZO"


# -- [llm] extra_body -------------------------------------------------------------------------------


def test_extra_body_from_digest_toml_reaches_the_server(workspace: Path, fake_arxiv, fake_openai):
    from test_cli import digest

    config = workspace / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[llm]\n", "[llm]\nextra_body = { chat_template_kwargs = { enable_thinking = false }, top_k = 20 }\n"),
        encoding="utf-8")

    result = digest("add", MEZO.id)

    assert result.exit_code == 0, result.stderr
    (request,) = fake_openai.chat_requests()
    assert request["chat_template_kwargs"] == {"enable_thinking": False} and request["top_k"] == 20
    assert request["response_format"]["type"] == "json_schema" and request["temperature"] == 0


def test_extra_body_changes_the_cache_key(fake_openai, tmp_path):
    paper, text, _ = mezo()
    plain = summarizer(fake_openai, tmp_path).request(paper, text).key
    thinking_off = summarizer(fake_openai, tmp_path, extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    assert thinking_off.request(paper, text).key != plain
