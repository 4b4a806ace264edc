"""What an OpenAI-compatible server's errors mean, and what digest has learned a server needs.

Reads the refusals of OpenAI, vLLM, llama.cpp and Ollama alike: a prompt past the context window, a
response format or schema keyword the server does not speak, a parameter it refuses (``max_tokens``
and ``temperature`` on OpenAI's reasoning models). Keeps what it learned per server and model in a
small JSON file in the cache, written atomically, with no key and no credentials of the URL. Never
calls a server, never prints.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import DigestError, LLMError, LLMSetupError, ModelNotFoundError
from .files import write_atomic
from .llmreply import malformed, squash
from .pricing import is_openai  # one home for "OpenAI's own API" (its models are also priced there)
from .redaction import redact

OVERFLOW, FORMAT, SCHEMA_LIMITS, TOKEN_PARAMETER, TEMPERATURE, OTHER = (
    "overflow", "format", "schema limits", "token parameter", "temperature", "other")

_OVERFLOW = re.compile(r"context[ _-]?(?:length|size|window)|n_ctx|maximum context|too many tokens|prompt is too long|"
                       r"exceeds? (?:the )?(?:maximum |available )?(?:input|context)")
_FORMAT = re.compile(r"response_format|response format|json_schema|json schema|json_object|json mode|grammar|"
                     r"structured output|guided_(?:json|decoding)")
_SCHEMA_LIMITS = re.compile(r"minlength|maxlength|minitems|maxitems")
_REFUSED = re.compile(r"unsupported|not supported|does not support|unrecognized|unknown|not permitted|not allowed|"
                      r"extra (?:fields|inputs)|only the default")
_WINDOW = (re.compile(r"\bn_ctx\W{0,4}(\d+)"), re.compile(r"maximum context length (?:is |of )?(\d+)"),
           re.compile(r"context (?:length|size|window) (?:is |of )?(\d+)"))
_PROMPT = (re.compile(r"\bn_prompt_tokens\W{0,4}(\d+)"), re.compile(r"(\d+) (?:tokens )?in the messages"),
           re.compile(r"(?:has|have|resulted in|requested|input of) (\d+) (?:input )?tokens"))


@dataclass(frozen=True)
class Refusal:
    """An HTTP error of a chat request, read: what kind of refusal, and the server's reason."""

    kind: str
    reason: str  # the server's words, redacted and cut, for a message
    window: int = 0  # overflow: the context window the server names, if it does
    prompt_tokens: int = 0  # overflow: the prompt as the server counted it, if it says

    def smaller_budget(self, sent_tokens: int, max_output_tokens: int) -> int:
        """Input tokens (as digest counts them) that should fit the window: scaled by the server's own
        count where it gave one, leaving room for the answer; else half of what was sent."""
        budget = sent_tokens // 2
        if self.window:
            room = self.window - max_output_tokens
            room = room if room >= self.window // 4 else self.window // 2  # the answer's share is too large
            counted = self.prompt_tokens or sent_tokens
            budget = int(sent_tokens * room / counted * 0.9)
        return min(budget, sent_tokens * 3 // 4)


def read_refusal(error: Any, token_parameter: str = "max_tokens") -> Refusal:
    """What an SDK status error says, tried in this order: the prompt is too long (never mistaken for a
    format the server lacks), the token parameter digest sent is refused, temperature is, the response
    format or a keyword of its schema is; else another refusal."""
    text = _error_text(error)
    reason = short_reason(error)
    if _OVERFLOW.search(text):
        return Refusal(OVERFLOW, reason, _first_number(_WINDOW, text), _first_number(_PROMPT, text))
    named = re.search(rf"(?<!\w){re.escape(token_parameter)}(?!\w)", text) or _names(error, token_parameter)
    if named and _REFUSED.search(text):
        return Refusal(TOKEN_PARAMETER, reason)
    if "temperature" in text and _REFUSED.search(text):
        return Refusal(TEMPERATURE, reason)
    if _FORMAT.search(text):
        return Refusal(SCHEMA_LIMITS if _SCHEMA_LIMITS.search(text) else FORMAT, reason)
    return Refusal(OTHER, reason)


def _names(error: Any, parameter: str) -> bool:
    return getattr(error, "param", None) == parameter


def _error_text(error: Any) -> str:
    """All an error says (message, code, type, body), redacted and lower-cased, for reading its kind."""
    body = getattr(error, "body", None)
    try:
        dumped = json.dumps(body, default=str) if body is not None else ""
    except (TypeError, ValueError, RecursionError):
        dumped = ""
    words = (str(getattr(error, "message", "") or ""), str(getattr(error, "code", "") or ""), dumped)
    return redact(" ".join(words)).lower()[:20_000]


def _first_number(patterns: tuple[re.Pattern[str], ...], text: str) -> int:
    for pattern in patterns:
        found = pattern.search(text)
        if found and 0 < int(found.group(1)[:9]) < 100_000_000:
            return int(found.group(1)[:9])
    return 0


def short_reason(error: Any) -> str:
    """The server's reason for an error, redacted before it is cut (a cut must not leave half a key)."""
    body = getattr(error, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    return squash(redact(str(message or getattr(error, "message", "") or type(error).__name__)))[:200]


# -- what a server needs --------------------------------------------------------------------------

_REASONING_MODELS = re.compile(r"(?:o\d|gpt-5)(?:$|[-.])")  # o1, o3, o4-mini, gpt-5, gpt-5-mini, gpt-5.1




def is_reasoning_model(model: str, base_url: str | None) -> bool:
    """One of OpenAI's reasoning models on OpenAI's own API: they refuse max_tokens and temperature."""
    return is_openai(base_url) and bool(_REASONING_MODELS.match(model.strip().lower()))


def server_name(base_url: str | None) -> str:
    """The server as a key: scheme, host, port and path; never a user name, password or query."""
    if not base_url:
        return "https://api.openai.com/v1"
    try:
        parts = urlsplit(base_url.strip())
        host = parts.hostname or ""
    except ValueError:  # config refuses such an address; the name only has to be safe
        return "unparsable-address"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a port: the server is unusable anyway, the key only has to be safe
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"


class ServerNotes:
    """What one server and model were found to need (e.g. {"token_parameter": "max_completion_tokens"},
    {"response_format": "json_object"}, the richest format `digest doctor` found it to accept),
    kept across runs in ``path``, a JSON object keyed by server and model. A note that cannot be read
    or written is only relearned: it never fails a run."""

    _lock = threading.Lock()

    def __init__(self, path: Path, base_url: str | None, model: str) -> None:
        self.path = path
        self.key = f"{server_name(base_url)} {model}"

    def _all(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self) -> dict[str, Any]:
        notes = self._all().get(self.key)
        return notes if isinstance(notes, dict) else {}

    def put(self, **learned: Any) -> None:
        with self._lock:
            everything = self._all()
            everything[self.key] = {**self.get(), **learned}
            try:
                write_atomic(self.path, json.dumps(everything, indent=1, sort_keys=True))
            except (DigestError, OSError):  # a cache that cannot be written: learned again next run
                pass


# Each step drops a feature an older or local server may refuse with HTTP 400.
FORMAT_STEPS = ("json_schema", "json_object", "text")
TOKEN_PARAMETERS = ("max_tokens", "max_completion_tokens")


class Accepted:
    """What the next request to one server asks for: the richest response format it has not refused,
    the schema's limits, the parameter that caps the answer's tokens, and temperature 0. Each refusal
    it can answer changes one of them; the parameters are remembered in the server's notes."""

    def __init__(self, response_format: str, notes: ServerNotes, *, reasoning: bool = False) -> None:
        self.steps = list(FORMAT_STEPS if response_format == "auto" else (response_format,))
        self.schema_limits = True  # dropped for a server that refuses the schema's length keywords
        self.notes = notes
        learned = notes.get()
        if response_format == "auto" and learned.get("response_format") in FORMAT_STEPS:  # found by `digest doctor`
            self.steps = self.steps[self.steps.index(learned["response_format"]):]
        self.token_parameter = learned.get("token_parameter") if learned.get("token_parameter") in TOKEN_PARAMETERS \
            else TOKEN_PARAMETERS[reasoning]
        self.temperature = learned.get("temperature", not reasoning) is not False
        self.version = 0  # one more at each change: a refusal of what another thread already changed is old news
        self._lock = threading.Lock()

    @property
    def step(self) -> str:
        return self.steps[0]

    def adapt(self, refusal: Refusal, version: int) -> bool:
        """Drop or change what the server refused in a request made at ``version``; False when nothing is
        left to change."""
        with self._lock:
            if version != self.version:
                return True  # another request's refusal changed it already: ask again as it stands
            changed = self._change(refusal)
            self.version += changed
            return changed

    def _change(self, refusal: Refusal) -> bool:
        if refusal.kind == TOKEN_PARAMETER:
            self.token_parameter = TOKEN_PARAMETERS[self.token_parameter == "max_tokens"]
            self.notes.put(token_parameter=self.token_parameter)  # later runs start right
            return True
        if refusal.kind == TEMPERATURE and self.temperature:
            self.temperature = False
            self.notes.put(temperature=False)
            return True
        if refusal.kind == SCHEMA_LIMITS and self.step == "json_schema" and self.schema_limits:
            self.schema_limits = False  # the model's lenient checks and the repair still hold them
            return True
        if refusal.kind in (FORMAT, SCHEMA_LIMITS) and len(self.steps) > 1:
            self.steps.pop(0)  # this server does not speak that feature; try the next
            return True
        return False


# -- the one line for a failed request ------------------------------------------------------------

def api_error(error: Any, server: str, model: str) -> LLMError:
    """The one line a user needs for an openai SDK error (after the SDK's own retries). Never the key."""
    import openai

    from .net import BodyTooLarge, DeadlineExceeded

    if isinstance(error, openai.AuthenticationError):
        return LLMSetupError(f"LLM server {server} rejected the API key (HTTP 401); set OPENAI_API_KEY to a valid "
                             "key, or unset it to use the offline summarizer")
    if isinstance(error, openai.PermissionDeniedError):
        return LLMSetupError(f"LLM server {server} denied access to model '{model}' (HTTP 403)")
    if isinstance(error, openai.NotFoundError):
        return ModelNotFoundError(f"model '{model}' not found on {server} (HTTP 404); choose one with --model or "
                                  "DIGEST_MODEL")
    if isinstance(error, openai.RateLimitError):
        return LLMError(f"LLM server {server} kept rate limiting (HTTP 429) after retries")
    cause = _network_cause(error)
    if isinstance(cause, DeadlineExceeded):
        return LLMError(f"LLM server {server} {cause} on every try; gave up")
    if isinstance(cause, BodyTooLarge):
        return LLMError(f"LLM server {server} sent an {cause}; refused")
    if isinstance(error, openai.APITimeoutError):
        return LLMError(f"LLM server {server} timed out after retries")
    if isinstance(error, openai.APIConnectionError):
        return LLMError(f"cannot reach LLM server {server}; check OPENAI_BASE_URL")
    if isinstance(error, openai.APIStatusError):
        return LLMError(f"LLM server {server} failed with HTTP {error.status_code} after retries")
    if isinstance(error, openai.APIResponseValidationError):
        return malformed(server, "not a chat completion")
    return LLMError(f"LLM server {server} answered unusably ({type(error).__name__})")


def _network_cause(error: BaseException) -> BaseException | None:
    """The deadline or size cap of net.py behind an SDK error (the SDK wraps what the transport raised)."""
    from .net import BodyTooLarge, DeadlineExceeded

    seen: BaseException | None = error
    for _ in range(5):
        if isinstance(seen, (DeadlineExceeded, BodyTooLarge)):
            return seen
        seen = seen.__cause__ or seen.__context__
        if seen is None:
            return None
    return None
