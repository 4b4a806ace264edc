"""Grounding checker accuracy on the real corpus: altered claims flagged, true claims wrongly flagged.

For each corpus paper, claims are made from what the paper really says, each
as a true claim and an altered twin, and both go through digest's checker
against the paper's own text (as `digest add` and `digest check` use it):

- figure:  a figure a sentence of the paper states with a name ("BERT reaches
  80.5%"), restated in another surface form (85.1 % -> 85.1%, 12x -> 12x,
  30-billion -> 30B); the twin changes the figure. This is how summaries state
  results.
- bare:    a figure of the paper with nothing around it ("The paper reports
  12x here."); the twin changes it. Only the figure's existence can be
  checked, so a changed figure that appears elsewhere in the paper passes.
- name:    a dataset, benchmark or model the paper names, written another way
  (WikiText-103 -> Wikitext 103); the twin is an invented name.
- quote:   a sentence of the paper as an evidence quote; the twin changes one figure.

    .venv/bin/python bench/grounding.py
"""

from __future__ import annotations

import json
import random
import re

from common import corpus, corpus_pdfs

INVENTED = ["HellaSwag-Pro", "MMLU-Ultra", "ARC-Max", "GSM-Hard2", "WinoBench-XL", "TruthEval-3", "CodeArena-7",
            "ImageNet-R2", "OmniQA", "SuperCOCO", "LongBench-Z", "MathVista-9"]
KINDS = ("figure", "bare", "name", "quote")


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


def claims_of(text, rng: random.Random) -> list[tuple[str, str, str]]:
    """(kind, true claim, altered claim) made from one paper's text."""
    from digestcli.grounding import names, numbers

    full = "\n".join(text.page_texts)
    pairs: list[tuple[str, str, str]] = []
    sentences = [s for line in full.splitlines() for s in re.split(r"(?<=[.!?])\s+", line.strip())
                 if 6 <= len(s.split()) <= 40]  # a sentence of one paragraph or line, as a summary would quote it
    stated = []
    for sentence in sentences:
        figures = [(w, k, v) for w, k, v in numbers(sentence) if k != "plain"]
        named = [n for n in names(sentence) if not any(ch.isdigit() for ch in n)]
        if figures and named:
            stated.append((named[0], figures[0]))
    for name, (written, kind, value) in rng.sample(stated, min(15, len(stated))):
        pairs.append(("figure", f"{name} reaches {other_form(written, kind, value)}.",
                      f"{name} reaches {altered(written, kind, value, rng)}."))
    seen: set[str] = set()
    for written, kind, value in numbers(full):
        if kind == "plain" or written in seen or sum(1 for p in pairs if p[0] == "bare") >= 15:
            continue
        seen.add(written)
        pairs.append(("bare", f"The paper reports {other_form(written, kind, value)} here.",
                      f"The paper reports {altered(written, kind, value, rng)} here."))
    for token in names(full):
        if token in seen or sum(1 for p in pairs if p[0] == "name") >= 12:
            continue
        seen.add(token)
        variant = token.replace("-", " ") if "-" in token else token.lower().capitalize()
        pairs.append(("name", f"It is evaluated on {variant}.", f"It is evaluated on {rng.choice(INVENTED)}."))
    quotable = [s for s in sentences if 8 <= len(s.split()) <= 30 and re.search(r"\d+\.\d+|\d+%", s)]
    for sentence in rng.sample(quotable, min(8, len(quotable))):
        number = re.search(r"\d+\.\d+|\d+(?=%)", sentence).group(0)
        changed = f"{float(number) + 1.3:g}" if "." in number else str(int(number) + 3)
        pairs.append(("quote", sentence, sentence.replace(number, changed, 1)))
    return pairs


def main() -> None:
    from digestcli.grounding import PaperSource, check

    if not corpus.available():
        print(f"grounding is measured on real papers only; {corpus_pdfs()[0]}")
        return
    rng = random.Random(7)
    stats = {kind: [0, 0, 0] for kind in KINDS}  # claims, altered flagged, true flagged
    papers = [stem for stem in corpus.stems() if corpus.text(stem).source == "pdf"]
    for stem in papers:
        paper, text = corpus.paper(stem), corpus.text(stem)
        source = PaperSource(paper.abstract, paper.comment, text.page_texts)
        for kind, true_claim, altered_claim in claims_of(text, rng):
            def flagged(claim: str) -> bool:
                fields = {"evidence": [claim]} if kind == "quote" else {"results": claim}
                return bool(check(fields, source).unverified)

            stats[kind][0] += 1
            stats[kind][1] += flagged(altered_claim)
            stats[kind][2] += flagged(true_claim)
    print(f"{len(papers)} real arXiv papers ({corpus.PDF_DIR})")
    for kind, (count, altered_bad, true_bad) in stats.items():
        print(f"  {kind:<7}{count:5d} claims: altered flagged {altered_bad / count:6.1%}, "
              f"true flagged {true_bad / count:6.1%}")

    def total(kinds: tuple[str, ...]) -> tuple[int, int, int]:
        return tuple(sum(stats[k][i] for k in kinds) for i in range(3))  # type: ignore[return-value]

    stated = ("figure", "name", "quote")
    for label, kinds in (("as summaries state them (figure, name, quote)", stated), ("all, bare figures too", KINDS)):
        count, altered_bad, true_bad = total(kinds)
        print(f"{label}: altered flagged {altered_bad}/{count} = {altered_bad / count:.1%} (goal >= 97%), "
              f"true flagged {true_bad}/{count} = {true_bad / count:.1%} (goal <= 1%)")
    count, altered_bad, true_bad = total(stated)
    every = total(KINDS)
    print(json.dumps({"altered_flagged": round(altered_bad / count, 4), "true_flagged": round(true_bad / count, 4),
                      "claims": count, "with_bare": {"altered_flagged": round(every[1] / every[0], 4),
                                                     "true_flagged": round(every[2] / every[0], 4),
                                                     "claims": every[0]},
                      "by_kind": stats}))


if __name__ == "__main__":
    main()
