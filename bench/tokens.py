"""Tokens per paper: the full extracted text vs what the default budget sends, and which sections are kept.

Counts with tiktoken when its encoding is available, else with digest's stated
estimate (it says which).

    .venv/bin/python bench/tokens.py [--budget 8000]
"""

from __future__ import annotations

import argparse
import json

from common import corpus_pdfs


def main() -> None:
    from digestcli.budget import TokenCounter, select_context
    from digestcli.models import ArxivId, Paper
    from digestcli.pdftext import paper_text
    from digestcli.prompts import build_messages, load_prompts

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=8000)
    args = parser.parse_args()
    source, pdfs = corpus_pdfs()
    counter = TokenCounter("gpt-4o-mini", "auto")
    prompts = load_prompts(None)
    print(f"{len(pdfs)} PDFs ({source}); tokens counted with {counter.name}"
          + (f" ({counter.notice})" if counter.notice else ""))
    print("sent = the prompt plus the paper text chosen under the budget; references are never sent")
    print(f"{'paper':<28} {'pages':>5} {'full text':>10} {'sent':>6} {'share':>6}  kept sections")
    rows = []
    for name, pdf in pdfs:
        paper = Paper(id=ArxivId("2401.00001", 1), title=name, abstract="", authors=(), published="",
                      updated="", primary_category="", categories=())
        text = paper_text(paper, pdf)
        overhead = sum(counter.count(m["content"]) + 4 for m in build_messages(prompts, paper, text, ""))
        context = select_context(text, max(200, args.budget - overhead), counter)
        full = sum(counter.count(section.text) for section in text.sections)
        sent = context.tokens + overhead
        kept = ", ".join(context.kept_sections)
        rows.append({"paper": name, "pages": text.pages, "full": full, "sent": sent, "kept": kept})
        print(f"{name[:28]:<28} {text.pages:>5} {full:>10} {sent:>6} {sent / max(full, 1):>6.0%}  {kept}")
    total_full, total_sent = sum(r["full"] for r in rows), sum(r["sent"] for r in rows)
    print(f"all: {total_full} tokens of text, {total_sent} sent under a {args.budget}-token budget "
          f"({total_sent / max(total_full, 1):.0%}); max sent {max(r['sent'] for r in rows)}")
    print(json.dumps({"budget": args.budget, "full": total_full, "sent": total_sent,
                      "max_sent": max(r["sent"] for r in rows)}))


if __name__ == "__main__":
    main()
