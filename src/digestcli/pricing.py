"""What LLM tokens cost: OpenAI's published prices, the workspace's own, the dollars of a usage, and
the cap on what one run may spend.

Pure: no I/O, no network. A price it does not know is None ("cost unknown"), never $0: only a server
priced at 0 in digest.toml, or the offline summarizer, is free.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import urlparse

if TYPE_CHECKING:
    from .config import Settings
    from .models import Usage

# When the table below was read from https://openai.com/api/pricing (standard tier). Prices change:
# set [llm] price_input, price_cached_input and price_output in digest.toml to override them.
PRICES_READ = "2025-08"
BATCH_DISCOUNT = 0.5  # the Batch API bills input, cached input and output at half price
MILLION = 1_000_000


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens: input the server had not cached, cached input, output
    (reasoning tokens are output tokens), and where the figures come from."""

    input: float
    cached_input: float
    output: float
    source: str = ""

    def for_batch(self) -> Price:
        return Price(self.input * BATCH_DISCOUNT, self.cached_input * BATCH_DISCOUNT,
                     self.output * BATCH_DISCOUNT, f"{self.source}, Batch API at half price")


def _openai(input: float, cached_input: float, output: float) -> Price:
    return Price(input, cached_input, output, f"OpenAI's list as read {PRICES_READ}")


OPENAI_PRICES: dict[str, Price] = {
    "gpt-4o": _openai(2.50, 1.25, 10.00),
    "gpt-4o-mini": _openai(0.15, 0.075, 0.60),
    "gpt-4.1": _openai(2.00, 0.50, 8.00),
    "gpt-4.1-mini": _openai(0.40, 0.10, 1.60),
    "gpt-4.1-nano": _openai(0.10, 0.025, 0.40),
    "gpt-5": _openai(1.25, 0.125, 10.00),
    "gpt-5-mini": _openai(0.25, 0.025, 2.00),
    "gpt-5-nano": _openai(0.05, 0.005, 0.40),
    "o1": _openai(15.00, 7.50, 60.00),
    "o1-mini": _openai(1.10, 0.55, 4.40),
    "o3": _openai(2.00, 0.50, 8.00),
    "o3-mini": _openai(1.10, 0.55, 4.40),
    "o4-mini": _openai(1.10, 0.275, 4.40),
}
FREE = Price(0.0, 0.0, 0.0, "none, the offline summarizer is free")
_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")  # gpt-4o-mini-2024-07-18 is priced as gpt-4o-mini


def listed_price(model: str) -> Price | None:
    """OpenAI's price of ``model`` (or of the model a dated snapshot name belongs to), if listed."""
    name = model.strip().lower()
    return OPENAI_PRICES.get(name) or OPENAI_PRICES.get(_SNAPSHOT.sub("", name))


def is_openai(base_url: str | None) -> bool:
    """True for OpenAI's own API: another server's model named "gpt-4o" is not billed at OpenAI's prices."""
    if not base_url:
        return True
    try:
        return (urlparse(base_url).hostname or "").lower() == "api.openai.com"
    except ValueError:  # not an address at all: config refuses it; never OpenAI's
        return False


def price_for(settings: Settings) -> Price | None:
    """The price of the summaries ``settings`` ask for: free offline; else OpenAI's listed price (on
    OpenAI's API only) with each [llm] price_* of digest.toml in its place; None when the input or
    output price is still unknown. Cached input without a price of its own costs as much as input."""
    if not settings.use_llm:
        return FREE
    listed = listed_price(settings.model) if is_openai(settings.base_url) else None
    given = {"input": settings.price_input, "cached_input": settings.price_cached_input,
             "output": settings.price_output}
    given = {name: float(value) for name, value in given.items() if value is not None}
    if listed is not None:
        return replace(listed, **given, source=f"digest.toml over {listed.source}") if given else listed
    if "input" not in given or "output" not in given:
        return None
    return Price(given["input"], given.get("cached_input", given["input"]), given["output"], "digest.toml")


def cost(usage: Usage, price: Price | None, *, batch: bool = False) -> float | None:
    """Dollars of ``usage`` at ``price`` (the Batch API's half price with ``batch``), None when the price
    is unknown. Input the server read from its prompt cache is billed at the cached-input price."""
    if price is None:
        return None
    if batch:
        price = price.for_batch()
    cached = min(max(usage.cached_input_tokens, 0), usage.input_tokens)
    return ((usage.input_tokens - cached) * price.input + cached * price.cached_input
            + usage.output_tokens * price.output) / MILLION


def estimate(input_tokens: int, output_tokens: int, price: Price | None, *, batch: bool = False) -> float | None:
    """Dollars of one request sending ``input_tokens`` (none of them cached) and writing ``output_tokens``."""
    from .models import Usage

    return cost(Usage(input_tokens, output_tokens), price, batch=batch)


def dollars(amount: float | None) -> str:
    """An amount as digest shows it: "$0.0123", or "unknown" (never $0 for a cost it cannot tell)."""
    return "unknown" if amount is None else f"${amount:,.4f}"


def total(costs: list[float | None]) -> tuple[float, int]:
    """(the sum of the known costs, how many are unknown)."""
    return sum(c for c in costs if c is not None), sum(1 for c in costs if c is None)


def shown_total(known: float, unknown: int) -> str:
    """A total with unknown parts: "$0.0123" when all are known, "≥$0.0123" (at least) when some are
    not, "unknown" when none of it is known."""
    if not unknown:
        return dollars(known)
    return f"≥{dollars(known)}" if known else "unknown"


class CostCap:
    """The most one run may spend (None: no cap). A paid request reserves its estimate before it starts
    and is refused if what is spent, what requests in flight reserved and its own estimate would pass
    the cap; when it ends, its actual cost replaces the reservation (a failed one keeps its estimate:
    it may have been paid for). Safe to share between worker threads."""

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.spent = 0.0
        self.reserved = 0.0
        self._lock = threading.Lock()

    def reserve(self, estimate: float | None) -> bool:
        """True (and the estimate reserved) when the request fits under the cap."""
        with self._lock:
            if self.limit is None:
                return True
            if estimate is None or self.spent + self.reserved + estimate > self.limit:
                return False
            self.reserved += estimate
            return True

    def settle(self, estimate: float | None, actual: float | None) -> None:
        """The request that reserved ``estimate`` cost ``actual`` (None: not known, count the estimate)."""
        with self._lock:
            if self.limit is None:
                return
            self.reserved = max(self.reserved - (estimate or 0.0), 0.0)
            self.spent += actual if actual is not None else (estimate or 0.0)

    @property
    def committed(self) -> float:
        with self._lock:
            return self.spent + self.reserved
