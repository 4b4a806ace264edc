"""Settings: defaults < digest.toml < environment < command-line flags.

The only module that reads os.environ. Builds one Settings object that is
passed down explicitly; it never touches the network.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from . import __version__, redaction
from .errors import ConfigError
from .pdfread import DEFAULT_ENGINE, ENGINES
from .sanitize import safe_url
from .sites import SITES
from .template import DEFAULT_LANGUAGE, DEFAULT_TEMPLATE, Template, is_default_language, read_language, read_template

CONFIG_NAME = "digest.toml"
DEFAULT_API_URL = "https://export.arxiv.org/api/query"
DEFAULT_PDF_URL = "https://arxiv.org/pdf"
DEFAULT_SECTIONS = ["Research", "More Reads", "Open Source", "Pointers"]
# arXiv's terms of use: no more than one API request every three seconds.
ARXIV_API_MIN_INTERVAL = 3.0
ARXIV_PDF_MIN_INTERVAL = 1.0
MIN_EXTRACT_MEMORY_MB = 128  # below this a worker process cannot even load the PDF engine


@dataclass(frozen=True)
class Settings:
    workspace: Path | None = None
    # newsletter
    title: str = "Research Digest"
    author: str = ""
    description: str = ""
    layout: str = "post"
    tags: tuple[str, ...] = ("machine learning", "papers")
    image: str = ""
    sections: tuple[str, ...] = tuple(DEFAULT_SECTIONS)
    current_issue: str = "issue-1"
    style: str = "newsletter"  # default style of `digest build`
    topic: str = ""  # what the newsletter covers, for `digest feed --rank`
    assets_dir: str = "assets/digest"  # where `build --out` copies figures, under the blog's root
    assets_url: str = "/assets/digest"  # where the blog serves them
    site_url: str = ""  # the blog's address: the Atom feed links posts under it; email figures need it absolute
    figure_styles: tuple[str, ...] = ("newsletter",)  # the styles whose posts show each paper's figure
    topics: dict[str, str] = field(default_factory=dict)  # arXiv category -> topic (highlights style)
    site: str = "jekyll"  # the generator `digest build` writes for (sites.SITES)
    # llm
    model: str = "gpt-4o-mini"
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    offline: bool = False
    input_budget: int = 8000
    max_output_tokens: int = 1500
    response_format: str = "auto"  # auto | json_schema | json_object | text
    llm_timeout: float = 120.0  # seconds per socket read
    llm_deadline: float = 300.0  # seconds for a whole LLM request, headers and body
    llm_retries: int = 3
    jobs: int = 4  # LLM requests in flight at once
    # $ per million tokens, over pricing.py's table of OpenAI's prices (None: the table's; 0: free)
    price_input: float | None = None
    price_cached_input: float | None = None
    price_output: float | None = None
    max_cost: float | None = None  # $ one `digest add` may spend (None: no cap)
    extract_processes: int = field(default_factory=lambda: os.cpu_count() or 1)  # PDF text extraction pool
    pdf_engine: str = DEFAULT_ENGINE  # pdfium (fast, reads positions) | pypdf (pure Python)
    # Per paper, in a worker process: past either bound the paper is summarized from its abstract (0: no bound)
    extract_timeout: float = 120.0  # seconds to read one PDF
    figures: bool = True  # find each paper's figures and keep its key figure with the item
    extract_memory_mb: int = 2048  # address space of the process reading it
    tokenizer: str = "auto"  # auto (tiktoken, else estimate) | estimate
    extra_body: dict[str, Any] = field(default_factory=dict)  # [llm] extra_body: more fields of each LLM request
    language: str = DEFAULT_LANGUAGE  # what the summaries are written in
    template: Template = DEFAULT_TEMPLATE  # [template]: the fields of each paper's summary
    # arxiv
    arxiv_api_url: str = DEFAULT_API_URL
    arxiv_pdf_url: str = DEFAULT_PDF_URL
    arxiv_api_interval: float = ARXIV_API_MIN_INTERVAL
    pdf_interval: float = ARXIV_PDF_MIN_INTERVAL
    max_pdf_bytes: int = 50 * 1024 * 1024
    http_timeout: float = 60.0  # seconds per socket read
    http_deadline: float = 120.0  # seconds for a whole arXiv API request, PDF download or web page
    cache_dir: Path = Path(".")
    user_agent: str = f"digest/{__version__} (paper newsletter tool; +https://github.com/digest-cli/digest)"
    debug: bool = False

    @property
    def use_llm(self) -> bool:
        return bool(self.api_key) and not self.offline

    @property
    def translated(self) -> bool:
        """Whether the summaries are written in another language than English ([llm] language)."""
        return not is_default_language(self.language)

    @property
    def backend(self) -> str:
        """The summarizer backend (a key of summarize.BACKENDS)."""
        return "openai" if self.use_llm else "offline"

    def with_flags(self, **flags: Any) -> "Settings":
        """Apply command-line flags (None means 'not given'), each checked like the same setting in
        digest.toml: one range per setting, whatever its source."""
        given = {k: v for k, v in flags.items() if v is not None}
        for name, value in given.items():
            if name in _RANGES:
                _in_range(name, value, f"--{_FLAGS.get(name, name)}")
        return replace(self, **given)


def find_workspace(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding digest.toml, like git."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    return None


def load_settings(workspace: Path | None, environ: dict[str, str] | None = None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {"workspace": workspace}
    if workspace is not None:
        values.update(_read_toml(workspace / CONFIG_NAME))
    values.update(_read_environ(environ))
    if is_local_server(values.get("base_url")):
        values = {**LOCAL_SERVER_DEFAULTS, **values}
    if "cache_dir" not in values:
        values["cache_dir"] = _default_cache_dir()
    settings = Settings(**values)
    redaction.remember(settings.api_key)  # from here on, no message or file can carry it
    return _polite(settings)


# A model server on this machine answers one request at a time, and a small CPU reads a paper in minutes:
# its defaults, each only where digest.toml, the environment (or --jobs) does not set it.
LOCAL_SERVER_DEFAULTS: dict[str, Any] = {"llm_timeout": 900.0, "llm_deadline": 900.0, "jobs": 1}


def is_local_server(base_url: str | None) -> bool:
    """Whether the LLM server is on this machine (llama.cpp, Ollama, vLLM or LM Studio run locally)."""
    try:
        host = (urlparse(base_url or "").hostname or "").lower()
    except ValueError:  # not a URL at all: the SDK says so when it is used
        return False
    return host in ("localhost", "::1", "0.0.0.0") or host.endswith(".localhost") or host.startswith("127.")


def _default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("digest", appauthor=False))


# (table, key) in digest.toml -> (Settings field, expected type)
_TOML_KEYS: dict[tuple[str, str], tuple[str, type | tuple[type, ...]]] = {
    ("newsletter", "title"): ("title", str),
    ("newsletter", "author"): ("author", str),
    ("newsletter", "description"): ("description", str),
    ("newsletter", "layout"): ("layout", str),
    ("newsletter", "tags"): ("tags", list),
    ("newsletter", "image"): ("image", str),
    ("newsletter", "sections"): ("sections", list),
    ("issue", "current"): ("current_issue", str),
    ("newsletter", "style"): ("style", str),
    ("newsletter", "topic"): ("topic", str),
    ("newsletter", "assets_dir"): ("assets_dir", str),
    ("newsletter", "assets_url"): ("assets_url", str),
    ("newsletter", "site_url"): ("site_url", str),
    ("newsletter", "figure_styles"): ("figure_styles", list),
    ("newsletter", "site"): ("site", str),
    ("llm", "model"): ("model", str),
    ("llm", "base_url"): ("base_url", str),
    ("llm", "input_budget"): ("input_budget", int),
    ("llm", "max_output_tokens"): ("max_output_tokens", int),
    ("llm", "response_format"): ("response_format", str),
    ("llm", "timeout"): ("llm_timeout", (int, float)),
    ("llm", "deadline"): ("llm_deadline", (int, float)),
    ("llm", "retries"): ("llm_retries", int),
    ("llm", "jobs"): ("jobs", int),
    ("llm", "price_input"): ("price_input", (int, float)),
    ("llm", "price_cached_input"): ("price_cached_input", (int, float)),
    ("llm", "price_output"): ("price_output", (int, float)),
    ("llm", "max_cost"): ("max_cost", (int, float)),
    ("llm", "tokenizer"): ("tokenizer", str),
    ("llm", "extra_body"): ("extra_body", dict),
    ("llm", "language"): ("language", str),
    ("arxiv", "api_url"): ("arxiv_api_url", str),
    ("arxiv", "pdf_url"): ("arxiv_pdf_url", str),
    ("arxiv", "api_interval"): ("arxiv_api_interval", (int, float)),
    ("arxiv", "pdf_interval"): ("pdf_interval", (int, float)),
    ("arxiv", "max_pdf_mb"): ("max_pdf_bytes", (int, float)),
    ("arxiv", "timeout"): ("http_timeout", (int, float)),
    ("arxiv", "deadline"): ("http_deadline", (int, float)),
    ("cache", "dir"): ("cache_dir", str),
    ("pdf", "engine"): ("pdf_engine", str),
    ("pdf", "timeout"): ("extract_timeout", (int, float)),
    ("pdf", "figures"): ("figures", bool),
    ("pdf", "max_memory_mb"): ("extract_memory_mb", int),
}


# Settings field -> the finite range its number must lie in (max_pdf_bytes: in MB, as max_pdf_mb is written).
# inf, nan and 1e308 are valid TOML and valid floats; none is a usable timeout, interval or size.
_RANGES: dict[str, tuple[float, float]] = {
    "input_budget": (500, 2_000_000),
    "max_output_tokens": (1, 1_000_000),
    "llm_timeout": (0.01, 86_400),
    "llm_retries": (0, 100),
    "jobs": (1, 64),
    "price_input": (0, 1_000_000),
    "price_cached_input": (0, 1_000_000),
    "price_output": (0, 1_000_000),
    "max_cost": (0, 1_000_000),
    "extract_processes": (0, 256),
    "arxiv_api_interval": (0, 3_600),
    "pdf_interval": (0, 3_600),
    "max_pdf_bytes": (0.001, 4_096),
    "http_timeout": (0.01, 86_400),
    "http_deadline": (0.01, 86_400),
    "llm_deadline": (0.01, 86_400),
    "extract_timeout": (0, 86_400),
    "extract_memory_mb": (0, 1_048_576),
}


# Settings field -> its command-line flag, where the names differ
_FLAGS = {"input_budget": "budget", "max_cost": "max-cost"}


def _in_range(name: str, value: float, where: str) -> float:
    """``value`` if it is finite and within the range of setting ``name``; else one line naming ``where``."""
    low, high = _RANGES.get(name, (-math.inf, math.inf))
    if isinstance(value, float) and not math.isfinite(value):  # an int is finite, however long
        raise ConfigError(f"{where} must be a finite number from {_plain(low)} to {_plain(high)}, got {value!r}")
    if value < low:
        raise ConfigError(f"{where} = {_shown(value)} is too small (minimum {_plain(low)})")
    if value > high:
        raise ConfigError(f"{where} = {_shown(value)} is too large (maximum {_plain(high)})")
    return value


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _shown(value: Any) -> str:
    """A value for an error message: containers by kind (they may be huge or nested thousands deep)."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except RecursionError:  # arrays or inline tables nested about a thousand deep
        raise ConfigError(f"{path}: not valid TOML: nested too deeply") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    values: dict[str, Any] = {}
    for table, entries in data.items():
        if not isinstance(entries, dict):
            raise ConfigError(f"{path}: '{table}' must be a table like [{table}]")
        if table == "topics":  # [topics] maps arXiv categories to topics: "cs.CL" = "Language"
            if not all(isinstance(v, str) for v in entries.values()):
                raise ConfigError(f"{path}: every value in [topics] must be a string (a topic name)")
            values["topics"] = dict(entries)
            continue
        if table == "template":  # the fields of the per-paper template (template.py checks them)
            values["template"] = read_template(entries, path)
            continue
        for key, value in entries.items():
            spec = _TOML_KEYS.get((table, key))
            if spec is None:
                raise ConfigError(f"{path}: unknown setting '{table}.{key}'")
            name, expected = spec
            if (isinstance(value, bool) and expected is not bool) or not isinstance(value, expected):
                kind = {dict: "table", list: "list"}.get(expected, getattr(expected, "__name__", "number"))
                raise ConfigError(f"{path}: '{table}.{key}' must be a {kind}, got {_shown(value)}")
            if expected is list:
                if not all(isinstance(v, str) for v in value):
                    raise ConfigError(f"{path}: '{table}.{key}' must be a list of strings")
                value = tuple(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = _in_range(name, value, f"{path}: '{table}.{key}'")
            if name == "extra_body":
                value = _extra_body(value, f"{path}: '{table}.{key}'")
            if name == "language":
                value = read_language(value, f"{path}: '{table}.{key}'")
            if name == "max_pdf_bytes":
                value = int(value * 1024 * 1024)
            if name == "cache_dir":
                value = (path.parent / Path(value).expanduser()).resolve()
            values[name] = value
    return values


# What digest itself sets in every LLM request: [llm] extra_body adds fields, it never replaces these.
_REQUEST_FIELDS = ("model", "messages", "max_tokens", "max_completion_tokens", "temperature", "seed",
                   "response_format", "stream", "n")


def _extra_body(value: dict[str, Any], where: str) -> dict[str, Any]:
    """[llm] extra_body as sent in the JSON of each request: no field digest sets, no TOML date."""
    taken = sorted(set(value) & set(_REQUEST_FIELDS))
    if taken:
        raise ConfigError(f"{where} cannot set {', '.join(taken)}: digest sets it in every request")

    def plain(item: Any) -> bool:
        if isinstance(item, dict):
            return all(plain(v) for v in item.values())
        if isinstance(item, list):
            return all(plain(v) for v in item)
        return isinstance(item, (str, int, float, bool)) and not (isinstance(item, float) and not math.isfinite(item))

    try:
        usable = plain(value)
    except RecursionError:
        usable = False
    if not usable:
        raise ConfigError(f"{where} must hold only text, numbers, true/false, lists and tables (no dates, inf or nan)")
    return value


def _read_environ(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    plain = {
        "OPENAI_API_KEY": "api_key",
        "OPENAI_BASE_URL": "base_url",
        "DIGEST_MODEL": "model",
        "DIGEST_ARXIV_API_URL": "arxiv_api_url",
        "DIGEST_ARXIV_PDF_URL": "arxiv_pdf_url",
        "DIGEST_TOKENIZER": "tokenizer",
        "DIGEST_RESPONSE_FORMAT": "response_format",
        "DIGEST_PDF_ENGINE": "pdf_engine",
    }
    for variable, name in plain.items():
        if environ.get(variable, "").strip():
            values[name] = environ[variable].strip()
    numbers = {
        "DIGEST_ARXIV_API_INTERVAL": "arxiv_api_interval",
        "DIGEST_PDF_INTERVAL": "pdf_interval",
        "DIGEST_INPUT_BUDGET": "input_budget",
        "DIGEST_LLM_RETRIES": "llm_retries",
        "DIGEST_HTTP_TIMEOUT": "http_timeout",
        "DIGEST_LLM_TIMEOUT": "llm_timeout",
        "DIGEST_HTTP_DEADLINE": "http_deadline",
        "DIGEST_LLM_DEADLINE": "llm_deadline",
        "DIGEST_JOBS": "jobs",
        "DIGEST_EXTRACT_PROCESSES": "extract_processes",
        "DIGEST_EXTRACT_TIMEOUT": "extract_timeout",
        "DIGEST_EXTRACT_MEMORY_MB": "extract_memory_mb",
    }
    for variable, name in numbers.items():
        text = environ.get(variable, "").strip()
        if text:
            try:
                number = _in_range(name, float(text), variable)
            except ValueError:
                raise ConfigError(f"{variable} must be a number, got {text[:60]!r}") from None
            whole = ("input_budget", "llm_retries", "jobs", "extract_processes", "extract_memory_mb")
            values[name] = int(number) if name in whole else number
    if environ.get("DIGEST_CACHE_DIR", "").strip():
        values["cache_dir"] = Path(environ["DIGEST_CACHE_DIR"]).expanduser()
    if environ.get("DIGEST_FIGURES", "").strip().lower() in ("0", "false", "no"):
        values["figures"] = False
    if environ.get("DIGEST_OFFLINE", "").strip().lower() in ("1", "true", "yes"):
        values["offline"] = True
    return values


def _polite(settings: Settings) -> Settings:
    """Never go faster than arXiv allows against arXiv's own hosts."""
    changes: dict[str, Any] = {}
    if _is_arxiv_host(settings.arxiv_api_url) and settings.arxiv_api_interval < ARXIV_API_MIN_INTERVAL:
        changes["arxiv_api_interval"] = ARXIV_API_MIN_INTERVAL
    if _is_arxiv_host(settings.arxiv_pdf_url) and settings.pdf_interval < ARXIV_PDF_MIN_INTERVAL:
        changes["pdf_interval"] = ARXIV_PDF_MIN_INTERVAL
    if settings.response_format not in ("auto", "json_schema", "json_object", "text"):
        raise ConfigError(
            f"response_format must be auto, json_schema, json_object or text, got {settings.response_format!r}"
        )
    if settings.pdf_engine not in ENGINES:
        raise ConfigError(f"PDF engine must be {' or '.join(repr(e) for e in ENGINES)}, got {settings.pdf_engine!r}")
    if settings.site not in SITES:
        raise ConfigError(f"[newsletter] site must be one of {', '.join(SITES)}, got {settings.site!r}")
    if settings.site_url and not safe_url(settings.site_url):
        raise ConfigError(f"[newsletter] site_url must be an http(s) address, got {settings.site_url[:80]!r}")
    if settings.base_url is not None and not _is_server_address(settings.base_url):
        raise ConfigError(f"the LLM server address (OPENAI_BASE_URL or [llm] base_url) must be an http(s) "
                          f"address with a host, got {redaction.redact(settings.base_url)[:80]!r}")
    unknown_styles = [s for s in settings.figure_styles if not str(s).strip()]
    if unknown_styles:
        raise ConfigError("[newsletter] figure_styles must list style names")
    if settings.tokenizer not in ("auto", "estimate"):
        raise ConfigError(f"tokenizer must be 'auto' or 'estimate', got {settings.tokenizer!r}")
    if settings.extract_memory_mb and not MIN_EXTRACT_MEMORY_MB <= settings.extract_memory_mb:
        raise ConfigError(f"PDF memory cap must be at least {MIN_EXTRACT_MEMORY_MB} MB (0: none), "
                          f"got {settings.extract_memory_mb}")
    return replace(settings, **changes) if changes else settings


def _is_server_address(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  (raises ValueError for a port that is not one)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _is_arxiv_host(url: str) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return host == "arxiv.org" or host.endswith(".arxiv.org")


def default_config_text(title: str, current_issue: str = "issue-1") -> str:
    """digest.toml as written by `digest init`, with every setting explained (templates/digest.toml)."""
    from importlib.resources import files
    from string import Template as Text

    escaped = title.replace("\\", "\\\\").replace('"', '\\"')
    text = files("digestcli").joinpath("templates", "digest.toml").read_text(encoding="utf-8")
    return Text(text).substitute(title=escaped, current_issue=current_issue, engine=DEFAULT_ENGINE)
