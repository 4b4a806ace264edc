"""Token counting and context selection under an input budget.

Counts with tiktoken when the model's encoding can be loaded; otherwise (no
network for tiktoken's first download, an unknown local model) with a stated,
deliberately high estimate, never a crash. select_context keeps sections by
priority and cuts at section, then sentence, then word boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from .models import NEVER_SENT, Context, ContextPart, PaperText
from .text import cut_at_word, split_sentences

DEFAULT_ENCODING = "o200k_base"
ESTIMATE_NOTE = "estimate (1 token per word or symbol, +1 per 6 letters; runs high)"
_PIECE = re.compile(r"\w+|[^\w\s]")
# Sections that get a share of the budget before any lower tier sees a token.
_TIERS = (("introduction", "method", "results", "conclusion"), ("other",), ("appendix",))
MIN_PART_TOKENS = 40


def estimate_tokens(text: str) -> int:
    return sum(1 + len(piece) // 6 for piece in _PIECE.findall(text))


@lru_cache(maxsize=8)
def _load_encoding(model: str) -> tuple[Any, bool]:
    """The model's tiktoken encoding, and whether it is only a guess (OpenAI's default encoding)."""
    import tiktoken

    try:
        return tiktoken.encoding_for_model(model), False
    except KeyError:  # a local model name tiktoken does not know
        return tiktoken.get_encoding(DEFAULT_ENCODING), True


class TokenCounter:
    """Counts tokens for one model; ``notice`` says when it fell back to the estimate, ``guessed`` when
    the model is not OpenAI's and OpenAI's encoding stands in for its own tokenizer."""

    def __init__(self, model: str, mode: str = "auto") -> None:
        self.notice = ""
        self._encode: Callable[[str], int] = estimate_tokens
        self.name = "estimate"
        self.guessed = False
        if mode == "estimate":
            return
        try:
            encoding, self.guessed = _load_encoding(model)
        except Exception as error:  # network, corrupt cache, missing files: all mean "estimate"
            reason = type(error).__name__
            self.notice = f"tiktoken encoding for {model} unavailable ({reason}); counting tokens by {ESTIMATE_NOTE}"
            return
        self.name = encoding.name
        self._encode = lambda text: len(encoding.encode(text, disallowed_special=()))

    def count(self, text: str) -> int:
        return self._encode(text) if text else 0


def cut_to_tokens(text: str, limit: int, counter: TokenCounter) -> str:
    """Longest prefix of whole sentences within ``limit`` tokens; a word cut if even one is too long."""
    if counter.count(text) <= limit:
        return text
    kept: list[str] = []
    used = 0
    for sentence in split_sentences(text):
        cost = counter.count(sentence) + 1
        if used + cost > limit:
            break
        kept.append(sentence)
        used += cost
    if kept:
        return " ".join(kept)
    # A single sentence longer than the limit: cut at a word boundary.
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if counter.count(cut_at_word(text, middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    return cut_at_word(text, low)


def _fair_shares(sizes: list[int], available: int) -> list[int]:
    """Max-min fair split: small sections get all they need, large ones share the rest."""
    shares = [0] * len(sizes)
    remaining = available
    pending = sorted(range(len(sizes)), key=lambda i: sizes[i])
    while pending:
        equal = remaining // len(pending)
        index = pending[0]
        if sizes[index] <= equal:
            shares[index] = sizes[index]
            remaining -= sizes[index]
            pending.pop(0)
            continue
        for index in pending:
            shares[index] = equal
        break
    return shares


def select_context(text: PaperText, budget: int, counter: TokenCounter) -> Context:
    """Fit the paper's sections into ``budget`` tokens, in document order.

    The abstract always goes first; then introduction, method, results and
    conclusion share what is left fairly; other sections and appendices only
    get tokens when those fit whole; references are never sent.
    """
    candidates = [s for s in text.sections if s.kind not in NEVER_SENT and s.text.strip()]
    sizes = [counter.count(s.text) for s in candidates]
    heading_costs = [counter.count(f"## {s.heading}\n") + 2 for s in candidates]
    full_tokens = sum(sizes) + sum(heading_costs)
    allocation = [0] * len(candidates)
    remaining = budget
    for index, section in enumerate(candidates):
        if section.kind == "abstract":
            allocation[index] = min(sizes[index], max(0, remaining - heading_costs[index]))
            remaining -= allocation[index] + heading_costs[index]
    for tier in _TIERS:
        members = [i for i, s in enumerate(candidates) if s.kind in tier]
        if not members or remaining <= MIN_PART_TOKENS:
            continue
        tier_size = len(members)
        # Every member pays for its heading; drop the tail of the tier if even that does not fit.
        while members and sum(heading_costs[i] + min(MIN_PART_TOKENS, sizes[i]) for i in members) > remaining:
            members.pop()
        usable = remaining - sum(heading_costs[i] for i in members)
        shares = _fair_shares([sizes[i] for i in members], usable)
        for i, share in zip(members, shares):
            if share >= min(MIN_PART_TOKENS, sizes[i]):
                allocation[i] = share
                remaining -= share + heading_costs[i]
        if len(members) < tier_size or any(allocation[i] < sizes[i] for i in members):
            break  # lower tiers get nothing until this tier fits whole
    parts: list[ContextPart] = []
    for index, section in enumerate(candidates):
        if allocation[index] <= 0:
            continue
        kept = cut_to_tokens(section.text, allocation[index], counter)
        if not kept:
            continue
        parts.append(ContextPart(section.kind, section.heading, kept, counter.count(kept), sizes[index]))
    context = Context(tuple(parts), 0, full_tokens, budget, counter.name)
    tokens = counter.count(context.text)
    return Context(tuple(parts), tokens, full_tokens, budget, counter.name)

