"""The schema is the contract: the JSON schema digest sends carries every limit SummaryFields checks,
so a server that enforces it (llama.cpp's grammar, OpenAI's strict mode) answers within them; what a
server that ignores it gets wrong is cleaned, repaired, or filled field by field, never the paper lost.

Through the real openai SDK against FakeOpenAI on 127.0.0.1 (tests/fakes.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import GOOD_SUMMARY
from fakes import chat_completion
from test_summarize import last_user_message, mezo, parsed, reply_json, summarizer, summary_with

from digestcli.offline import OfflineSummarizer, short_name
from digestcli.schema import ITEM_CHARS, MAX_EVIDENCE, MAX_INSIGHTS, PROSE_CHARS, SHORT_NAME_CHARS, SummaryFields
from digestcli.summarize import FIELD_NAMES, summary_json_schema, validate_fields
from papers import MEZO

# What both llama.cpp's json-schema-to-grammar and OpenAI's strict mode read. llama.cpp ignores the
# lengths of a string that has a "pattern", and applies them only where "type" is "string".
PORTABLE = {"type", "description", "properties", "required", "additionalProperties", "items",
            "minLength", "maxLength", "minItems", "maxItems"}


def keywords(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        found = set(schema) - {"properties"}
        for key, value in schema.items():
            found |= set().union(*(keywords(v) for v in value.values())) if key == "properties" else keywords(value)
        return found
    return set()


def sent_schema(server: Any) -> dict[str, Any]:
    return server.chat_requests()[0]["response_format"]["json_schema"]["schema"]


def test_the_schema_sent_carries_every_limit_the_validator_checks(fake_openai, tmp_path):
    summarizer(fake_openai, tmp_path).summarize(*mezo())

    schema = sent_schema(fake_openai)
    properties = schema["properties"]
    assert schema["required"] == list(FIELD_NAMES) == list(properties) and schema["additionalProperties"] is False
    assert properties["short_name"] | {"description": ""} == {"type": "string", "minLength": 1,
                                                               "maxLength": SHORT_NAME_CHARS, "description": ""}
    for prose in ("tldr", "whats_new", "how_it_works", "results"):
        assert (properties[prose]["type"], properties[prose]["minLength"], properties[prose]["maxLength"]) == (
            "string", 1, PROSE_CHARS)
    item = {"type": "string", "minLength": 1, "maxLength": ITEM_CHARS}
    insights, evidence = properties["key_insights"], properties["evidence"]
    assert (insights["minItems"], insights["maxItems"], insights["items"]) == (1, MAX_INSIGHTS, item)
    assert (evidence.get("minItems", 0), evidence["maxItems"], evidence["items"]) == (0, MAX_EVIDENCE, item)
    assert properties["code_url"]["type"] == ["string", "null"]
    assert keywords(schema) <= PORTABLE
    assert schema == summary_json_schema()  # made from the one model, not kept by hand


def test_every_limit_of_the_model_is_in_the_schema() -> None:
    """Read the other way: each constraint pydantic checks on a field appears in the schema sent."""
    properties = summary_json_schema()["properties"]
    names = {"min_length": ("minLength", "minItems"), "max_length": ("maxLength", "maxItems")}
    for name, info in SummaryFields.model_fields.items():
        for constraint in info.metadata:
            for attribute, schema_keys in names.items():
                value = getattr(constraint, attribute, None)
                if value is not None:
                    assert value in [properties[name].get(key) for key in schema_keys], (name, attribute)


EDGES = {
    "every-limit-reached": summary_with(
        short_name="N" * SHORT_NAME_CHARS, tldr="T" * PROSE_CHARS, results="R" * PROSE_CHARS,
        key_insights=[f"Insight {i} " + "i" * (ITEM_CHARS - 10) for i in range(MAX_INSIGHTS)],
        evidence=["quote " + "q" * (ITEM_CHARS - 6)] * MAX_EVIDENCE),
    "least-allowed": summary_with(short_name="M", tldr="T", whats_new="W", how_it_works="H", results="R",
                                  key_insights=["I"], code_url=None, evidence=[]),
    "bullets-and-padding": summary_with(short_name="  MeZO  ", key_insights=["- One.", "• Two.", "* Three."]),
}


@pytest.mark.parametrize("answer", list(EDGES.values()), ids=list(EDGES))
def test_an_answer_within_the_schema_validates_at_once(fake_openai, tmp_path, answer):
    fake_openai.script.append(reply_json(answer))

    summary = summarizer(fake_openai, tmp_path).summarize(*mezo())

    assert len(fake_openai.chat_requests()) == 1 and summary.filled == ()


def test_a_server_that_ignores_the_limits_gets_its_answer_cleaned_not_refused(fake_openai, tmp_path):
    """The issue's failure: a long short_name (and more) from a server that does not enforce the schema."""
    long_name = "Direct Preference Optimization: Your Language Model Is Secretly a Reward Model, and Much More"
    fake_openai.script.append(reply_json(summary_with(
        short_name=long_name, results="R " * PROSE_CHARS,
        key_insights=[f"Insight {i}." for i in range(MAX_INSIGHTS + 4)],
        evidence=[f"with up to {i}x memory reduction" for i in range(MAX_EVIDENCE + 5)])))

    fields = summarizer(fake_openai, tmp_path).summarize(*mezo()).fields

    assert len(fake_openai.chat_requests()) == 1
    assert len(fields.short_name) <= SHORT_NAME_CHARS and fields.short_name.endswith("…")
    assert long_name.startswith(fields.short_name[:-1]) and fields.short_name[-2] != " "
    assert long_name[len(fields.short_name) - 1] == " "  # cut between words
    assert len(fields.results) <= PROSE_CHARS
    assert fields.key_insights == [f"Insight {i}." for i in range(MAX_INSIGHTS)]
    assert len(fields.evidence) == MAX_EVIDENCE


def test_an_insight_or_quote_the_model_repeats_is_kept_once():
    """A small model (Qwen2.5-Coder-1.5B on Attention Is All You Need) listed one sentence four times."""
    sentence = "The Transformer is based entirely on attention."
    fields, problems = validate_fields(summary_with(
        key_insights=[sentence, f"  {sentence.upper()} ", "- " + sentence, "It trains faster."],
        evidence=["based entirely on attention", "based  entirely on attention"]))
    assert problems == {}
    assert fields.key_insights == [sentence, "It trains faster."]
    assert fields.evidence == ["based entirely on attention"]


def test_a_blank_name_twice_is_filled_from_the_paper_with_a_note(fake_openai, tmp_path):
    """Whitespace satisfies minLength 1 (no portable keyword says "not blank"): the repair, then the
    offline extractive summarizer's name for the paper, and the item says so."""
    fake_openai.script += [reply_json(summary_with(short_name="   ")), reply_json({"short_name": " "})]

    summary = summarizer(fake_openai, tmp_path).summarize(*mezo())

    requests = fake_openai.chat_requests()
    assert len(requests) == 2 and "only these fields: short_name." in last_user_message(requests[1])
    assert summary.fields.short_name == short_name(parsed(MEZO))
    assert summary.fields.tldr == GOOD_SUMMARY["tldr"]
    assert summary.filled == ("short_name",)
    assert any("short_name failed twice" in warning for warning in summary.warnings)


def test_an_optional_field_invalid_twice_is_dropped(fake_openai, tmp_path):
    fake_openai.script += [reply_json(summary_with(evidence="12x less memory")),
                           reply_json({"evidence": {"quote": "12x"}})]

    summary = summarizer(fake_openai, tmp_path).summarize(*mezo())

    assert summary.fields.evidence == [] and summary.filled == ()
    assert summary.fields.results == GOOD_SUMMARY["results"]


def test_the_offline_summary_fits_the_same_contract() -> None:
    paper, text, _ = mezo()
    fields = OfflineSummarizer().summarize(paper, text).fields
    assert validate_fields(json.loads(fields.model_dump_json()), clean=False)[0] == fields


def test_a_filled_field_is_noted_in_the_item(workspace, fake_arxiv, fake_openai):
    from test_cli import digest, item_meta

    fake_openai.script += [chat_completion(json.dumps(summary_with(how_it_works=""))),
                           chat_completion(json.dumps({"how_it_works": "\n"}))]

    result = digest("add", MEZO.id)

    assert result.exit_code == 0, result.stderr
    assert item_meta(workspace, "issue-1", MEZO.id)["provenance"]["extractive_fields"] == ["how_it_works"]
    assert "how_it_works failed twice" in result.stderr
