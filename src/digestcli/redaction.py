"""The secrets this process knows (the API key), and their removal from any text that leaves it.

config.py registers the key when it reads it. Server text is redacted where it enters
(llm.py, openai_batch.py) and again at every sink: stderr, --debug tracebacks, the newsletter
on stdout and every file written through files.write_atomic. This module never prints, logs
or stores a secret, and never redacts a value too short to be a real key.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
# Shorter "keys" are the placeholders local servers accept ("ollama", "EMPTY", "x"): redacting
# them would blank ordinary words in summaries, and they protect nothing.
MIN_SECRET_LENGTH = 8
# A truncated or masked echo ("sk-proj-abcdefgh...", "sk-proj-abcdefgh****wxyz") is redacted when
# it repeats at least this much of the key's start.
PREFIX_LENGTH = 16
# An Authorization header echoed back, whatever the key: "Bearer <token>" and
# "Authorization: [Bearer|Basic] <token>", bare, JSON- or repr-quoted. The scheme stays readable.
_CREDENTIAL = r"[\w.~+/=-]{16,}"
_HEADERS = re.compile(
    r"((?i:\bbearer\s+)|(?i:\bauthorization[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic)\s+)?))" + _CREDENTIAL)


class _Known:
    """The registered secrets as one compiled pattern (rebuilt when a secret is added)."""

    def __init__(self, secrets: frozenset[str] = frozenset()) -> None:
        self.secrets = secrets
        forms = sorted({form for s in secrets for form in _spellings(s)}, key=len, reverse=True)
        starts = sorted({s[:PREFIX_LENGTH] for s in secrets}, key=len, reverse=True)
        # Every spelling a server might echo, then any longer run that starts like the key.
        pattern = "|".join([re.escape(f) for f in forms] + [re.escape(p) + r"[\w*~+/=-]*" for p in starts])
        self.text = re.compile(pattern) if secrets else None
        self.bytes = re.compile(pattern.encode("utf-8")) if secrets else None
        # A cheap first test: every spelling starts with one of these.
        self.needles = tuple({f[:MIN_SECRET_LENGTH] for f in forms})


_lock = threading.Lock()
_known = _Known()


def remember(secret: str | None) -> None:
    """Redact ``secret`` (the API key) from now on; an empty or short one is ignored."""
    global _known
    secret = (secret or "").strip()
    if len(secret) < MIN_SECRET_LENGTH or secret in _known.secrets:
        return
    with _lock:
        _known = _Known(_known.secrets | {secret})


def _spellings(secret: str) -> set[str]:
    """The secret as text may carry it: raw, JSON-escaped (once or twice), in a Python repr, URL-encoded."""
    escaped = json.dumps(secret)[1:-1]
    return {secret, escaped, json.dumps(escaped)[1:-1], escaped.replace("/", "\\/"), repr(secret)[1:-1],
            quote(secret, safe=""), quote(secret), quote_plus(secret)}


def redact(text: str) -> str:
    """``text`` with every known secret and any Authorization credential replaced by [redacted]."""
    if not text:
        return text
    known = _known
    if known.text is not None and any(needle in text for needle in known.needles):
        text = known.text.sub(REDACTED, text)
    return _HEADERS.sub(lambda match: match.group(1) + REDACTED, text)


def redact_bytes(data: bytes) -> bytes:
    """Bytes bound for a file: redacted as text when they are UTF-8, else byte for byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        known = _known
        if known.bytes is None or not any(needle.encode("utf-8") in data for needle in known.needles):
            return data
        return known.bytes.sub(REDACTED.encode("utf-8"), data)
    redacted = redact(text)
    return data if redacted == text else redacted.encode("utf-8")


def redact_value(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings) with every string in it redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_value(k): redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(v) for v in value)
    return value
