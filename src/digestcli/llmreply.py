"""A chat completion's answer as digest's data: its text (without a thinking model's <think> block),
why it stopped, and the tokens it cost.

Pure: never calls a server, never prints. Trusts nothing of the answer's shape (one LLMError naming
the server for anything malformed) and lets no API key through (every text is redacted on entry).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .errors import LLMError
from .models import Usage
from .redaction import redact

MAX_TOKEN_COUNT = 10**12  # a usage count above this is not a count


@dataclass
class Reply:
    content: str
    finish_reason: str
    usage: Usage


def malformed(server: str, reason: str) -> LLMError:
    return LLMError(f"the LLM server at {server} sent a malformed answer ({reason})")


def decode_completion(body: bytes, server: str) -> Any:
    """The JSON value of a chat completion's body, or the server's fault (empty, cut short, not JSON, nested
    too deeply for any answer)."""
    if not body.strip():
        raise malformed(server, "an empty body")
    try:
        return json.loads(body)
    except RecursionError:
        raise malformed(server, "JSON nested too deeply") from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise malformed(server, "not JSON, or cut short") from None


def read_completion(data: Any, server: str) -> Reply:
    """A chat completion (a direct answer's JSON or a batch's) as digest's data: strict on the answer,
    tolerant of usage (a count that is missing, null, text or negative is 0). Any other shape is the
    server's fault, one LLMError naming it. Every text the answer carries is redacted; a thinking
    model's reasoning (a <think> block in the content, a reasoning_content field) is never read."""
    if not isinstance(data, dict):
        raise malformed(server, f"the body is {_kind(data)}, not an object")
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise malformed(server, "no choices" if choices is None else f"choices is {_kind(choices)}, not a list")
    if not choices:
        raise malformed(server, "no choices")
    choice = choices[0]
    if not isinstance(choice, dict):
        raise malformed(server, f"the first choice is {_kind(choice)}, not an object")
    message = choice.get("message")
    if not isinstance(message, dict):
        raise malformed(server, f"the first choice's message is {_kind(message)}, not an object")
    content, refusal, finish = message.get("content"), message.get("refusal"), choice.get("finish_reason")
    for name, value in (("message content", content), ("refusal", refusal), ("finish_reason", finish)):
        if value is not None and not isinstance(value, str):
            raise malformed(server, f"the {name} is {_kind(value)}, not text")
    if refusal:
        raise LLMError(f"model refused to summarize: {squash(redact(refusal))[:160]}")
    return Reply(content=without_thinking(redact(content or "")), finish_reason=finish or "",
                 usage=read_usage(data.get("usage")))


def read_usage(usage: Any) -> Usage:
    """The tokens of an answer: input (and the part read from the server's prompt cache), output (and the
    part spent reasoning)."""
    usage = usage if isinstance(usage, dict) else {}
    completion = usage.get("completion_tokens_details")
    completion = completion if isinstance(completion, dict) else {}
    prompt = usage.get("prompt_tokens_details")
    prompt = prompt if isinstance(prompt, dict) else {}
    return Usage(input_tokens=_token_count(usage.get("prompt_tokens")),
                 output_tokens=_token_count(usage.get("completion_tokens")),
                 cached_input_tokens=_token_count(prompt.get("cached_tokens")),
                 reasoning_tokens=_token_count(completion.get("reasoning_tokens")))


_OPEN = re.compile(r"\s*<think(?:ing)?>", re.I)
_CLOSE = re.compile(r"</think(?:ing)?>", re.I)


def without_thinking(content: str) -> str:
    """``content`` without what a thinking model wrote before its answer: a <think>...</think> block it
    starts with, the reasoning before a </think> when its template opened the block, and an opened
    block the length limit cut off, up to the JSON object that ends the content (if any). Tags inside
    the answer (a summary of a paper about thinking models) stay."""
    opened = _OPEN.match(content)
    if opened:
        closed = _CLOSE.search(content, opened.end())
        return content[closed.end():].strip() if closed else _trailing_object(content[opened.end():])
    closed = _CLOSE.search(content)
    if closed and not content.lstrip().startswith(("{", "```")):
        return content[closed.end():].strip()
    return content.strip()


def _trailing_object(text: str) -> str:
    """The JSON object that ends ``text`` (a fence around it allowed), or "" when none does."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, end = decoder.raw_decode(text, match.start())
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict) and not text[end:].strip().strip("`").strip():
            return text[match.start():end]
    return ""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    kinds = {bool: "true or false", dict: "an object", list: "a list", str: "text", int: "a number", float: "a number"}
    return kinds.get(type(value), type(value).__name__)


def _token_count(value: Any) -> int:
    """A usage count, or 0 when the server's is not one (usage only informs; it never fails an answer)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    if value != value or not 0 <= value < MAX_TOKEN_COUNT or value != int(value):
        return 0
    return int(value)


def squash(text: str) -> str:
    return " ".join(str(text).split())
