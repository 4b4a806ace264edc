"""Offline summary quality on real papers, and what the PDF stage makes of the real corpus.

1. ROUGE-1/2/L (rouge-score, with stemming) of the offline summarizer's TL;DR
   against the human summaries a newsletter published for the papers of
   ../shared/eval/highlights-dev.jsonl, beside the lead-1/2/3 baselines (the
   first sentences of the same abstracts), and the words per TL;DR.
   Goal: beat lead-3 on ROUGE-L at no more than 50 words.
2. Over the corpus (../shared/corpus/pdf), per engine: the share of papers with
   each section kind found, Code links against our labels, the summary fields
   (offline backend) holding a control character, arXiv stamp, citation,
   caption or mis-encoded math, and pages/s.

    .venv/bin/python bench/quality.py [--engine pdfium|pypdf|both]
"""

from __future__ import annotations

import argparse
import json
import statistics

from common import SHARED_CORPUS, code_link_verdicts, corpus, read_corpus, section_shares

EVAL = SHARED_CORPUS.parent / "eval" / "highlights-dev.jsonl"


def rouge_table() -> dict:
    from rouge_score import rouge_scorer

    from digestcli.models import ArxivId, Paper, PaperText, Section
    from digestcli.offline import OfflineSummarizer
    from digestcli.text import split_sentences

    everything = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [row for row in everything if row["abstract"].strip()]  # a row without an abstract has no lead to compare
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)

    def offline(row: dict) -> str:
        paper = Paper(id=ArxivId(row.get("arxiv_id") or "2301.00001", 1), title=row["title"], abstract=row["abstract"],
                      authors=tuple(row.get("authors") or ()), published="", updated="", primary_category="",
                      categories=())
        text = PaperText((Section("abstract", "Abstract", row["abstract"], 1),), 0, "abstract")
        return OfflineSummarizer().summarize(paper, text).fields.tldr

    systems = {f"lead-{n}": (lambda row, n=n: " ".join(split_sentences(row["abstract"])[:n])) for n in (1, 2, 3)}
    systems["digest offline TL;DR"] = offline
    empty = len(everything) - len(rows)
    print(f"1. TL;DR against {len(rows)} human summaries ({EVAL})"
          + (f"; {empty} more left out: its abstract is empty in the data" if empty else ""))
    print(f"{'system':<24}{'ROUGE-1':>9}{'ROUGE-2':>9}{'ROUGE-L':>9}{'words':>8}{'max':>6}")
    table = {}
    for name, system in systems.items():
        outputs = [system(row) for row in rows]
        scores = [scorer.score(row["human_summary"], out) for row, out in zip(rows, outputs)]
        mean = {k: statistics.mean(s[k].fmeasure for s in scores) for k in ("rouge1", "rouge2", "rougeL")}
        words = [len(out.split()) for out in outputs]
        table[name] = {**{k: round(v, 4) for k, v in mean.items()}, "words": round(statistics.mean(words), 1),
                       "max_words": max(words)}
        print(f"{name:<24}{mean['rouge1']:>9.4f}{mean['rouge2']:>9.4f}{mean['rougeL']:>9.4f}"
              f"{statistics.mean(words):>8.1f}{max(words):>6}")
    ours, lead3 = table["digest offline TL;DR"], table["lead-3"]
    met = ours["rougeL"] > lead3["rougeL"] and ours["max_words"] <= 50
    print(f"ROUGE-L {ours['rougeL']:.4f} vs lead-3 {lead3['rougeL']:.4f} ({ours['rougeL'] / lead3['rougeL']:.2f}x) "
          f"at {ours['max_words']} words at most: goal {'met' if met else 'NOT met'}")
    return table


def field_defects(texts: dict) -> tuple[int, int, dict[str, int]]:
    """(fields, fields with a defect, count per defect) over the offline summaries of the papers."""
    from digestcli.offline import OfflineSummarizer

    total, bad, kinds = 0, 0, {name: 0 for name in corpus.DEFECTS}
    for stem, text in texts.items():
        fields = OfflineSummarizer().summarize(corpus.paper(stem), text).fields
        values = [fields.tldr, fields.whats_new, fields.how_it_works, fields.results, *fields.key_insights]
        for value in values:
            total += 1
            found = corpus.defects(value)
            bad += bool(found)
            for name in found:
                kinds[name] += 1
    return total, bad, kinds


def corpus_table(engines: list[str]) -> dict:
    if not corpus.available():
        print(f"2. skipped: {corpus.skip_reason()}")
        return {}
    runs = {engine: read_corpus(engine) for engine in engines}
    first = runs[engines[0]]
    print(f"\n2. {len(first['texts'])} real arXiv papers, {first['pages']} pages ({corpus.PDF_DIR})")
    print(f"{'':<44}" + "".join(f"{e:>12}" for e in engines))
    result: dict = {}
    for engine, run in runs.items():
        result[engine] = {"pages_per_s": round(run["pages"] / run["seconds"], 1),
                          "sections": section_shares(run["texts"]), "code_links": code_link_verdicts(run["texts"]),
                          "fields": field_defects(run["texts"])}

    def row(label: str, values: list) -> None:
        print(f"{label:<44}" + "".join(f"{v:>12}" for v in values))

    row("pages/s (read + clean)", [result[e]["pages_per_s"] for e in engines])
    for kind in result[engines[0]]["sections"]:
        row(f"papers with {kind} found", [f"{result[e]['sections'][kind]:.0%}" for e in engines])
    for verdict in result[engines[0]]["code_links"]:
        row(f"Code link {verdict} (labels: tests/corpus_labels)", [result[e]["code_links"][verdict] for e in engines])
    row("offline summary fields", [result[e]["fields"][0] for e in engines])
    row("  holding a control char/stamp/citation/caption", [result[e]["fields"][1] for e in engines])
    for name in corpus.DEFECTS:
        row(f"    {name}", [result[e]["fields"][2][name] for e in engines])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("pdfium", "pypdf", "both"), default="both")
    args = parser.parse_args()
    if EVAL.is_file():
        rouge = rouge_table()
    else:
        print(f"1. skipped: {EVAL} not found")
        rouge = {}
    engines = ["pdfium", "pypdf"] if args.engine == "both" else [args.engine]
    figures = corpus_table(engines)
    print(json.dumps({"rouge": rouge, "corpus": figures}, default=str))


if __name__ == "__main__":
    main()
