"""digest export: the issue's items as JSON, BibTeX and CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from papers import LLAVA, MEZO
from test_cli import digest


def test_export_json_has_one_record_per_item_in_newsletter_order(workspace: Path, fake_arxiv) -> None:
    assert digest("add", MEZO.id, LLAVA.id).exit_code == 0
    result = digest("export", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["id"] for r in rows] == [f"{MEZO.id}v3", f"{LLAVA.id}v2"]
    assert rows[0]["authors"] == MEZO.authors and rows[0]["tldr"] and rows[0]["key_insights"]


def test_export_bibtex_is_one_misc_entry_per_paper_with_arxiv_fields(workspace: Path, fake_arxiv) -> None:
    assert digest("add", MEZO.id, LLAVA.id).exit_code == 0
    text = digest("export", "-f", "bibtex").stdout
    assert text.count("@misc{") == 2
    assert "@misc{malladi2023fine," in text  # the key Google Scholar gives it
    assert f"eprint = {{{MEZO.id}}}" in text and "archivePrefix = {arXiv}" in text
    assert "author = {Sadhika Malladi and Tianyu Gao" in text and "primaryClass = {cs.LG}" in text


def test_export_csv_has_a_header_and_a_row_per_item(workspace: Path, fake_arxiv) -> None:
    assert digest("add", MEZO.id, LLAVA.id).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(digest("export", "--format", "csv").stdout)))
    assert [r["id"] for r in rows] == [f"{MEZO.id}v3", f"{LLAVA.id}v2"]
    assert rows[1]["authors"].startswith("Haotian Liu; ")


def test_export_unknown_format_is_a_usage_error(workspace: Path) -> None:
    result = digest("export", "--format", "xml")
    assert result.exit_code == 2 and "json, bibtex, csv" in result.stderr
