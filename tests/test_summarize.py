"""summarize.py: the LLM backend through the real openai SDK, and the offline backend.

The LLM server is FakeOpenAI on 127.0.0.1 (tests/fakes.py); the paper is
MeZO, parsed from an Atom feed and extracted from a PDF built by
tests/papers.py, so every request carries real context.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from conftest import GOOD_SUMMARY
from fakes import FakeOpenAI, FakePaper, Reply, api_error, atom_feed, chat_completion
from papers import LLAVA, MEZO, llava_pdf, mezo_pdf

from digestcli.arxiv import parse_atom_feed
from digestcli.budget import TokenCounter, select_context
from digestcli.errors import LLMError
from digestcli.models import ArxivId, Context, Paper, PaperText
from digestcli.pdftext import paper_text
from digestcli.llm import LLMSummarizer
from digestcli.offline import OfflineSummarizer
from digestcli.prompts import Prompts, load_prompts
from digestcli.summarize import FIELD_NAMES

API_KEY = "sk-test"
CONTEXT_BUDGET = 3000


_PDFS = {MEZO.id: mezo_pdf, LLAVA.id: llava_pdf}


def parsed(paper: FakePaper) -> Paper:
    return _parsed(paper.id)


def extracted(paper: FakePaper) -> PaperText:
    return _extracted(paper.id)


@cache
def _parsed(base_id: str) -> Paper:
    fake = {MEZO.id: MEZO, LLAVA.id: LLAVA}[base_id]
    papers, errors = parse_atom_feed(atom_feed([fake]))
    assert not errors and len(papers) == 1
    return papers[0]


@cache
def _extracted(base_id: str) -> PaperText:
    text = paper_text(_parsed(base_id), _PDFS[base_id]())
    assert text.source == "pdf", text.warning
    return text


def counter() -> TokenCounter:
    return TokenCounter("gpt-4o-mini", "estimate")


def mezo() -> tuple[Paper, PaperText, Context]:
    text = extracted(MEZO)
    return parsed(MEZO), text, select_context(text, CONTEXT_BUDGET, counter())


def summarizer(server: FakeOpenAI, cache_dir: Path, *, model: str = "gpt-4o-mini", prompts: Prompts | None = None,
               api_key: str = API_KEY, **options: Any) -> LLMSummarizer:
    options.setdefault("retries", 2)
    return LLMSummarizer(model=model, api_key=api_key, base_url=server.base_url, cache_dir=cache_dir,
                         prompts=prompts or load_prompts(None), counter=counter(), **options)


def summary_with(**changes: Any) -> dict[str, Any]:
    return {**GOOD_SUMMARY, **changes}


def reply_json(data: dict[str, Any], **options: Any) -> Reply:
    return chat_completion(json.dumps(data), **options)


def last_user_message(request: dict[str, Any]) -> str:
    return [m for m in request["messages"] if m["role"] == "user"][-1]["content"]


def system_message(request: dict[str, Any]) -> str:
    return [m for m in request["messages"] if m["role"] == "system"][0]["content"]


# -- reading the answer --------------------------------------------------------------


@pytest.mark.parametrize("content", [
    pytest.param(json.dumps(GOOD_SUMMARY), id="bare-json"),
    pytest.param("```json\n" + json.dumps(GOOD_SUMMARY, indent=2) + "\n```", id="json-code-fence"),
    pytest.param("Here is the summary you asked for:\n\n" + json.dumps(GOOD_SUMMARY)
                 + "\n\nLet me know if you want it shorter {or longer}.", id="json-inside-prose"),
])
def test_summary_is_read_from_bare_fenced_or_wrapped_json(fake_openai, tmp_path, content):
    fake_openai.script.append(chat_completion(content))

    summary = summarizer(fake_openai, tmp_path).summarize(*mezo())

    assert summary.fields.model_dump() == GOOD_SUMMARY
    assert summary.backend == "openai" and summary.model == "gpt-4o-mini" and not summary.cached
    assert len(fake_openai.chat_requests()) == 1


def test_a_models_prose_is_cleaned_like_the_papers(fake_openai, tmp_path):
    """A model that copies citations, arXiv's stamp, control bytes or glyph salad from its input
    does not get them into an item."""
    dirty = summary_with(
        tldr="MeZO fine-tunes LMs (Malladi et al., 2023; Spall, 1992) with forward passes [12].\x00",
        whats_new="An in-place ZO-SGD arXiv:2305.17333v3 [cs.LG] 11 Jan 2024 regenerating its noise.",
        key_insights=["Memory equals inference max⇡✓ Ex⇠D.", "Prompts matter (Gao et al., 2021)."],
    )
    fake_openai.script.append(reply_json(dirty))

    fields = summarizer(fake_openai, tmp_path).summarize(*mezo()).fields

    assert fields.tldr == "MeZO fine-tunes LMs with forward passes."
    assert fields.whats_new == "An in-place ZO-SGD regenerating its noise."
    assert fields.key_insights == ["Memory equals inference.", "Prompts matter."]


def test_invalid_fields_are_repaired_once_keeping_the_valid_ones(fake_openai, tmp_path):
    first = summary_with(tldr="", key_insights=[])
    del first["results"]
    fake_openai.script += [
        reply_json(first),
        # The repair answer also tries to change a field that was valid: it must be ignored.
        reply_json({"short_name": "Something Else", "tldr": "Repaired TL;DR sentence.",
                    "key_insights": ["A repaired insight."], "results": "Repaired results with 12x."}),
    ]

    summary = summarizer(fake_openai, tmp_path).summarize(*mezo())

    requests = fake_openai.chat_requests()
    assert len(requests) == 2
    repair = last_user_message(requests[1])
    named = repair.split("only these fields:", 1)[1].split(".", 1)[0]
    assert [name.strip() for name in named.split(",")] == ["tldr", "key_insights", "results"]
    for valid in ("short_name", "whats_new", "how_it_works", "code_url"):
        assert valid not in repair
    # The model sees its own failed answer before the repair request.
    assert requests[1]["messages"][-2] == {"role": "assistant", "content": json.dumps(first)}
    fields = summary.fields
    assert fields.short_name == GOOD_SUMMARY["short_name"]
    assert fields.whats_new == GOOD_SUMMARY["whats_new"]
    assert fields.how_it_works == GOOD_SUMMARY["how_it_works"]
    assert fields.code_url == GOOD_SUMMARY["code_url"]
    assert fields.tldr == "Repaired TL;DR sentence."
    assert fields.key_insights == ["A repaired insight."]
    assert fields.results == "Repaired results with 12x."


def test_answer_without_json_asks_for_every_field_again(fake_openai, tmp_path):
    fake_openai.script += [chat_completion("I think this paper is about fine-tuning."), reply_json(GOOD_SUMMARY)]

    summary = summarizer(fake_openai, tmp_path).summarize(*mezo())

    repair = last_user_message(fake_openai.chat_requests()[1])
    assert "only these fields: " + ", ".join(FIELD_NAMES) + "." in repair
    assert summary.fields.model_dump() == GOOD_SUMMARY


def test_a_field_invalid_twice_is_filled_from_the_paper_not_the_whole_summary_lost(fake_openai, tmp_path):
    fake_openai.script += [reply_json(summary_with(tldr="   ")), reply_json({"tldr": ""})]

    summary = summarizer(fake_openai, tmp_path).summarize(*mezo())

    assert len(fake_openai.chat_requests()) == 2
    assert summary.filled == ("tldr",)
    assert summary.fields.tldr and summary.fields.tldr in OfflineSummarizer().summarize(*mezo()).fields.tldr
    assert summary.fields.results == GOOD_SUMMARY["results"]  # the model's valid fields stay
    assert any("tldr failed twice" in warning for warning in summary.warnings)
    assert summarizer(fake_openai, tmp_path).summarize(*mezo()).filled == ("tldr",)  # cached as it was made


def test_an_answer_with_no_valid_field_twice_is_an_error_naming_the_fields(fake_openai, tmp_path):
    fake_openai.script += [reply_json(summary_with(short_name="", tldr="", whats_new="", how_it_works="",
                                                   key_insights=[], results="")), chat_completion("Sorry.")]

    with pytest.raises(LLMError, match=r"invalid output twice \(fields: how_it_works, key_insights, results, "
                                       r"short_name, tldr, whats_new\)") as raised:
        summarizer(fake_openai, tmp_path).summarize(*mezo())

    assert str(raised.value).startswith("2305.17333v3")
    assert len(fake_openai.chat_requests()) == 2


def test_answer_cut_off_by_length_is_retried_with_more_tokens(fake_openai, tmp_path):
    truncated = json.dumps(GOOD_SUMMARY)[:120]
    fake_openai.script += [chat_completion(truncated, finish_reason="length"), reply_json(GOOD_SUMMARY)]

    summary = summarizer(fake_openai, tmp_path, max_output_tokens=700).summarize(*mezo())

    first, second = fake_openai.chat_requests()
    assert first["max_tokens"] == 700
    assert second["max_tokens"] > first["max_tokens"]
    assert "cut off by the length limit" in last_user_message(second)
    assert summary.fields.model_dump() == GOOD_SUMMARY


def test_answer_cut_off_twice_is_an_error_about_the_length_limit(fake_openai, tmp_path):
    truncated = json.dumps(GOOD_SUMMARY)[:120]
    fake_openai.script += [chat_completion(truncated, finish_reason="length"),
                           chat_completion(truncated[:60], finish_reason="length")]

    with pytest.raises(LLMError, match="cut off by the length limit twice; raise max_output_tokens"):
        summarizer(fake_openai, tmp_path).summarize(*mezo())


# -- the request -----------------------------------------------------------------------


def test_first_request_asks_for_strict_json_schema_deterministically(fake_openai, tmp_path):
    paper, text, context = mezo()

    summarizer(fake_openai, tmp_path, model="gpt-4o-mini", max_output_tokens=900).summarize(paper, text, context)

    (request,) = fake_openai.chat_requests()
    assert request["model"] == "gpt-4o-mini"
    assert request["temperature"] == 0
    assert request["seed"] == 0
    assert request["max_tokens"] == 900
    response_format = request["response_format"]
    assert response_format["type"] == "json_schema"
    schema = response_format["json_schema"]
    assert schema["strict"] is True
    assert set(schema["schema"]["required"]) == set(FIELD_NAMES) == set(schema["schema"]["properties"])
    assert schema["schema"]["additionalProperties"] is False
    user = last_user_message(request)
    assert paper.title in user and "2305.17333v3" in user
    assert context.text in user
    assert "https://github.com/princeton-nlp/MeZO" in user


def test_server_refusing_response_format_falls_back_to_json_mode_then_plain_text(fake_openai, tmp_path):
    def no_response_format(request: dict[str, Any]) -> Reply:
        if "response_format" in request:
            return api_error(400, f"response_format {request['response_format']['type']} is not supported")
        return reply_json(GOOD_SUMMARY)

    fake_openai.responder = no_response_format
    llm = summarizer(fake_openai, tmp_path)

    summary = llm.summarize(*mezo())

    schema, json_mode, plain = fake_openai.chat_requests()
    assert schema["response_format"]["type"] == "json_schema"
    assert json_mode["response_format"] == {"type": "json_object"}
    assert json_mode["seed"] == 0 and json_mode["temperature"] == 0
    assert "response_format" not in plain and "seed" not in plain
    assert plain["temperature"] == 0
    assert plain["messages"] == schema["messages"]
    assert summary.fields.model_dump() == GOOD_SUMMARY

    # The summarizer remembers what this server speaks: the next paper goes straight to plain text.
    llava = parsed(LLAVA)
    text = extracted(LLAVA)
    llm.summarize(llava, text, select_context(text, CONTEXT_BUDGET, counter()))
    assert len(fake_openai.chat_requests()) == 4
    assert "response_format" not in fake_openai.chat_requests()[3]


def test_fixed_response_format_does_not_fall_back(fake_openai, tmp_path):
    fake_openai.script.append(api_error(400, "response_format json_schema is not supported"))

    with pytest.raises(LLMError, match=r"refused the request \(HTTP 400\): response_format json_schema"):
        summarizer(fake_openai, tmp_path, response_format="json_schema").summarize(*mezo())

    assert len(fake_openai.chat_requests()) == 1


def test_context_overflow_that_persists_is_an_error_suggesting_a_lower_budget(fake_openai, tmp_path):
    fake_openai.responder = lambda request: api_error(400, "This model's maximum context length is 4096 tokens.")

    with pytest.raises(LLMError, match=r"does not fit model 'gpt-4o-mini' context window \(.*\); lower --budget"):
        summarizer(fake_openai, tmp_path).summarize(*mezo())

    requests = fake_openai.chat_requests()
    sizes = [len(last_user_message(request)) for request in requests]
    assert len(requests) == 3 and sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 3  # each smaller
    # no format fallback for a paper that is too long
    assert all(request["response_format"]["type"] == "json_schema" for request in requests)


# -- server errors ---------------------------------------------------------------------


def test_rate_limit_is_retried_and_then_succeeds(fake_openai, tmp_path):
    fake_openai.script.append(api_error(429, "Rate limit reached", {"Retry-After": "0"}))

    summary = summarizer(fake_openai, tmp_path, retries=2).summarize(*mezo())

    assert summary.fields.model_dump() == GOOD_SUMMARY
    assert len(fake_openai.requests) == 2


def test_rate_limit_after_all_retries_is_an_error(fake_openai, tmp_path):
    fake_openai.script += [api_error(429, "Rate limit reached", {"Retry-After": "0"})] * 2

    with pytest.raises(LLMError, match=r"kept rate limiting \(HTTP 429\) after retries"):
        summarizer(fake_openai, tmp_path, retries=1).summarize(*mezo())

    assert len(fake_openai.requests) == 2


def test_rejected_api_key_says_how_to_set_it_and_never_shows_it(fake_openai, tmp_path):
    secret = "sk-test-0123456789-secret"
    # Real servers echo (part of) the key back; none of it may reach the message.
    fake_openai.script.append(api_error(401, f"Incorrect API key provided: {secret}.", code="invalid_api_key"))

    with pytest.raises(LLMError) as raised:
        summarizer(fake_openai, tmp_path, api_key=secret).summarize(*mezo())

    message = str(raised.value)
    assert "HTTP 401" in message and "set OPENAI_API_KEY" in message
    assert "sk-" not in message and "secret" not in message
    assert len(fake_openai.requests) == 1  # a bad key is not retried


def test_unknown_model_is_an_error_naming_the_model(fake_openai, tmp_path):
    fake_openai.script.append(api_error(404, "The model `gpt-nope` does not exist", code="model_not_found"))

    with pytest.raises(LLMError, match=r"model 'gpt-nope' not found on .*127\.0\.0\.1.*\(HTTP 404\)"):
        summarizer(fake_openai, tmp_path, model="gpt-nope").summarize(*mezo())


def test_response_without_choices_is_an_error(fake_openai, tmp_path):
    payload = {"id": "chatcmpl-fake", "object": "chat.completion", "created": 1700000000, "model": "fake-model",
               "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 0, "total_tokens": 10}}
    fake_openai.script.append(Reply(200, json.dumps(payload).encode(), {"Content-Type": "application/json"}))

    with pytest.raises(LLMError, match=r"sent a malformed answer \(no choices\)"):
        summarizer(fake_openai, tmp_path).summarize(*mezo())


def test_refusal_is_an_error_quoting_the_model(fake_openai, tmp_path):
    fake_openai.script.append(chat_completion(None, refusal="I'm sorry, I can't help with that request."))

    with pytest.raises(LLMError, match="model refused to summarize: I'm sorry, I can't help"):
        summarizer(fake_openai, tmp_path).summarize(*mezo())


def test_failed_summary_is_not_cached(fake_openai, tmp_path):
    fake_openai.script.append(api_error(404, "no such model"))
    llm = summarizer(fake_openai, tmp_path)
    with pytest.raises(LLMError):
        llm.summarize(*mezo())

    summary = llm.summarize(*mezo())

    assert not summary.cached
    assert len(fake_openai.chat_requests()) == 2


# -- usage and cache -------------------------------------------------------------------


def test_usage_of_the_response_is_stored_in_the_summary(fake_openai, tmp_path):
    fake_openai.script.append(reply_json(GOOD_SUMMARY, prompt_tokens=2345, completion_tokens=321))

    summary = summarizer(fake_openai, tmp_path).summarize(*mezo())

    assert (summary.usage.input_tokens, summary.usage.output_tokens) == (2345, 321)


def test_usage_of_a_repaired_summary_adds_both_requests(fake_openai, tmp_path):
    fake_openai.script += [reply_json(summary_with(results=""), prompt_tokens=2000, completion_tokens=300),
                           reply_json({"results": "Fixed."}, prompt_tokens=2400, completion_tokens=20)]

    summary = summarizer(fake_openai, tmp_path).summarize(*mezo())

    assert (summary.usage.input_tokens, summary.usage.output_tokens) == (4400, 320)


def test_same_input_again_is_served_from_the_cache_without_requests(fake_openai, tmp_path):
    first = summarizer(fake_openai, tmp_path).summarize(*mezo())
    assert len(fake_openai.requests) == 1

    fresh = summarizer(fake_openai, tmp_path)  # a new run: nothing shared but the cache folder
    assert fresh.is_cached(*mezo())
    again = fresh.summarize(*mezo())

    assert len(fake_openai.requests) == 1
    assert again.cached and not first.cached
    assert again.fields == first.fields
    assert again.usage == first.usage
    assert fresh.calls == 0


@pytest.mark.parametrize("change", ["new-paper-version", "other-model", "other-prompts"])
def test_cache_misses_when_paper_version_model_or_prompts_change(fake_openai, tmp_path, change):
    paper, text, context = mezo()
    summarizer(fake_openai, tmp_path / "cache").summarize(paper, text, context)
    options: dict[str, Any] = {}
    if change == "new-paper-version":
        paper = replace(paper, id=ArxivId(paper.id.base, 4))
    elif change == "other-model":
        options["model"] = "gpt-4o"
    else:
        workspace = tmp_path / "ws"
        (workspace / "prompts").mkdir(parents=True)
        (workspace / "prompts" / "repair.md.j2").write_text("Fix these fields: {{ fields | join(', ') }}.\n")
        options["prompts"] = load_prompts(workspace)

    llm = summarizer(fake_openai, tmp_path / "cache", **options)
    assert not llm.is_cached(paper, text, context)
    summary = llm.summarize(paper, text, context)

    assert not summary.cached
    assert len(fake_openai.requests) == 2


def test_truncation_warning_when_server_counts_far_fewer_tokens_than_sent(fake_openai, tmp_path):
    fake_openai.script.append(reply_json(GOOD_SUMMARY, prompt_tokens=300))

    summary = summarizer(fake_openai, tmp_path).summarize(*mezo())

    (warning,) = summary.warnings
    assert "server counted 300 input tokens" in warning
    assert "truncated" in warning and "lower --budget" in warning


def test_no_truncation_warning_when_server_counts_what_was_sent(fake_openai, tmp_path):
    paper, text, context = mezo()
    fake_openai.script.append(reply_json(GOOD_SUMMARY, prompt_tokens=context.tokens + 600))

    summary = summarizer(fake_openai, tmp_path).summarize(paper, text, context)

    assert summary.warnings == ()


# -- prompts ---------------------------------------------------------------------------


def test_workspace_prompt_overrides_system_message_and_prompt_hash(fake_openai, tmp_path):
    workspace = tmp_path / "ws"
    (workspace / "prompts").mkdir(parents=True)
    (workspace / "prompts" / "system.md.j2").write_text(
        "You summarize papers about {{ paper.primary_category }} for a pirate newsletter. Answer in JSON.\n",
        encoding="utf-8",
    )
    packaged = load_prompts(None)
    custom = load_prompts(workspace)

    summary = summarizer(fake_openai, tmp_path / "cache", prompts=custom).summarize(*mezo())

    (request,) = fake_openai.chat_requests()
    assert system_message(request) == "You summarize papers about cs.LG for a pirate newsletter. Answer in JSON."
    assert custom.hash != packaged.hash
    assert summary.prompt_hash == custom.hash
    # Only the overridden file changes: the user prompt is still the packaged one.
    assert custom.sources["user.md.j2"] == packaged.sources["user.md.j2"]


def test_packaged_prompts_are_used_without_a_workspace_override(fake_openai, tmp_path):
    summary = summarizer(fake_openai, tmp_path).summarize(*mezo())

    (request,) = fake_openai.chat_requests()
    assert system_message(request).startswith("You write paper summaries for an ML research newsletter")
    assert summary.prompt_hash == load_prompts(None).hash == load_prompts(tmp_path).hash
