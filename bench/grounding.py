"""Grounding checker accuracy: share of altered claims flagged, share of true claims wrongly flagged.

Evidence quotes too: a sentence of the paper is a true quote; the same
sentence with one figure changed is an altered one.

For each corpus paper, true claims are numbers and names the paper really
contains, each rewritten in another surface form (85.1 % -> 85.1%, 12x -> 12×,
30-billion -> 30B, WikiText-103 -> Wikitext 103) so that normalisation is
exercised. Each true claim then gets an altered twin: a changed figure, a
wrong multiplier or scale, or an invented benchmark name. Both sets go
through digest's checker against the paper's own text.

    .venv/bin/python bench/grounding.py
"""

from __future__ import annotations

import json
import random
import re

from common import corpus_pdfs

INVENTED = ["HellaSwag-Pro", "MMLU-Ultra", "ARC-Max", "GSM-Hard2", "WinoBench-XL", "TruthEval-3", "CodeArena-7",
            "ImageNet-R2", "OmniQA", "SuperCOCO", "LongBench-Z", "MathVista-9"]


def other_form(written: str, kind: str, value: float) -> str:
    """The same claim in another surface form."""
    number = f"{value:g}"
    if kind == "%":
        return f"{number} %" if "%" in written and " %" not in written else f"{number}%"
    if kind == "x":
        return f"{number}×" if "x" in written.lower() else f"{number}x"
    if kind == "n":
        for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
            if value >= scale:
                return f"{value / scale:g}{suffix}" if not written.endswith(suffix) else f"{value / scale:g} " + {
                    "T": "trillion", "B": "billion", "M": "million", "K": "thousand"}[suffix]
    return written.replace(",", "") if "," in written else written


def altered(written: str, kind: str, value: float, rng: random.Random) -> str:
    factor = rng.choice([1.07, 1.13, 0.88, 1.5, 0.6])
    new = round(value * factor, 2 if not float(value).is_integer() else 0)
    if new == value:
        new = value + 1
    if kind == "n":
        for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
            if value >= scale:
                return f"{round(value * factor / scale, 1):g}{suffix}"
    unit = {"%": "%", "x": "x", "pt": " points"}.get(kind, "")
    return f"{new:g}{unit}"


def main() -> None:
    from digestcli.grounding import PaperSource, check, names, numbers
    from digestcli.models import ArxivId, Paper
    from digestcli.pdftext import paper_text

    rng = random.Random(7)
    source_name, pdfs = corpus_pdfs()
    true_total = true_flagged = alt_total = alt_flagged = 0
    by_kind: dict[str, list[int]] = {}
    for name, pdf in pdfs:
        paper = Paper(id=ArxivId("2401.00001", 1), title=name, abstract="", authors=(), published="", updated="",
                      primary_category="", categories=())
        text = paper_text(paper, pdf)
        source = PaperSource("", "", text.page_texts)
        full = "\n".join(text.page_texts)
        seen: set[str] = set()
        pairs: list[tuple[str, str, str]] = []  # (kind, true claim, altered claim)
        for written, kind, value in numbers(full):
            if kind == "plain" or written in seen or len(pairs) >= 25:
                continue
            seen.add(written)
            pairs.append((kind, other_form(written, kind, value), altered(written, kind, value, rng)))
        for token in names(full):
            if token in seen or sum(1 for p in pairs if p[0] == "name") >= 12:
                continue
            seen.add(token)
            variant = token.replace("-", " ") if "-" in token else token.lower().capitalize()
            pairs.append(("name", variant, rng.choice(INVENTED)))
        sentences = [x for x in re.split(r"(?<=[.!?])\s+", " ".join(full.split()))
                     if 8 <= len(x.split()) <= 30 and re.search(r"\d+\.\d+|\d+%", x)]
        for sentence in rng.sample(sentences, min(8, len(sentences))):
            number = re.search(r"\d+\.\d+|\d+(?=%)", sentence).group(0)
            changed = f"{float(number) + 1.3:g}" if "." in number else str(int(number) + 3)
            pairs.append(("quote", sentence.replace("  ", " "), sentence.replace(number, changed, 1)))
        for kind, true_claim, alt_claim in pairs:
            def flagged(claim: str) -> bool:
                fields = {"evidence": [claim]} if kind == "quote" else {"results": f"The paper reports {claim} here."}
                return bool(check(fields, source).unverified)

            true_bad, alt_bad = flagged(true_claim), flagged(alt_claim)
            true_total += 1
            true_flagged += true_bad
            alt_total += 1
            alt_flagged += alt_bad
            stats = by_kind.setdefault(kind, [0, 0, 0])
            stats[0] += 1
            stats[1] += alt_bad
            stats[2] += true_bad
    print(f"{len(pdfs)} papers ({source_name})")
    for kind, (count, alt_bad, true_bad) in sorted(by_kind.items()):
        print(f"  {kind:<6} {count:4d} claims: altered flagged {alt_bad / count:6.1%}, true flagged {true_bad / count:6.1%}")
    print(f"altered claims flagged: {alt_flagged}/{alt_total} = {alt_flagged / alt_total:.1%}  (goal >= 95%)")
    print(f"true claims flagged:    {true_flagged}/{true_total} = {true_flagged / true_total:.1%}  (goal <= 5%)")
    print(json.dumps({"altered_flagged": round(alt_flagged / alt_total, 4), "true_flagged": round(true_flagged / true_total, 4),
                      "claims": true_total}))


if __name__ == "__main__":
    main()
