"""The build styles (newsletter, highlights, digest, bookmarks): one data model, one golden file each."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from digestcli.render import render_bookmarks, render_issue
from papers import LLAVA, MEZO
from test_render import ISSUE, llava_item, make_workspace, mezo_item

GOLDEN = Path(__file__).parent / "golden"
PAPER_META = {
    MEZO.id: {"authors": MEZO.authors, "published": "2023-05-27", "categories": MEZO.categories,
              "abstract": MEZO.abstract, "starred": True},
    LLAVA.id: {"authors": ["Haotian Liu", "Chunyuan Li", "Qingyang Wu", "Yong Jae Lee"], "published": "2023-04-17",
               "categories": LLAVA.categories, "abstract": LLAVA.abstract},
}


@pytest.fixture
def styled(tmp_path: Path):
    workspace = make_workspace(tmp_path, llava_item(**PAPER_META[LLAVA.id]), mezo_item(**PAPER_META[MEZO.id]))
    info = workspace.load_issue(ISSUE)
    info.intro = "Two papers this month: fine-tuning without backpropagation, and teaching a language model to see."
    workspace.save_issue(info)
    return workspace


def _render(workspace, style: str) -> str:
    if style == "bookmarks":
        return render_bookmarks(workspace.items(ISSUE), title="Papers of the Week: bookmarks", layout="page",
                                tags=("papers",), workspace=workspace.root)
    return render_issue(workspace.load_issue(ISSUE), workspace.items(ISSUE), newsletter_tags=("papers",),
                        layout="post", default_description="", image="", sections=("Research",),
                        workspace=workspace.root, style=style)


@pytest.mark.parametrize("style", ["highlights", "digest", "bookmarks"])
def test_style_matches_its_golden_file(styled, style: str) -> None:
    text = _render(styled, style)
    golden = GOLDEN / f"{style}.md"
    if os.environ.get("DIGEST_REGENERATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), f"missing {golden}"
    assert text == golden.read_text(encoding="utf-8"), f"{style} differs from {golden}"


def test_highlights_groups_papers_by_topic_from_their_categories(styled) -> None:
    text = _render(styled, "highlights")
    assert text.index("## Computer Vision") < text.index("Visual Instruction Tuning")
    assert text.index("## General Methods") < text.index("Fine-Tuning Language Models")


def test_topics_in_digest_toml_override_the_built_in_mapping(styled) -> None:
    text = render_issue(styled.load_issue(ISSUE), styled.items(ISSUE), newsletter_tags=(), layout="post",
                        default_description="", image="", sections=("Research",), style="highlights",
                        topics={"cs.CV": "Multimodal"})
    assert "## Multimodal" in text and "## Computer Vision" not in text


def test_digest_marks_starred_items_and_shortens_author_lists(styled) -> None:
    text = _render(styled, "digest")
    assert "(*) **Fine-Tuning Language Models with Just Forward Passes** by Sadhika Malladi, Tianyu Gao, " \
           "Eshaan Nichani et al. (2023-05-27), https://arxiv.org/abs/2305.17333" in text
    assert "**Visual Instruction Tuning** by Haotian Liu, Chunyuan Li, Qingyang Wu et al." in text
    assert "(*) **Visual" not in text


def test_bookmarks_sorts_by_year_then_title_with_anchors(styled) -> None:
    text = _render(styled, "bookmarks")
    assert text.index("[Fine-Tuning Language Models") < text.index("[Visual Instruction Tuning")
    assert '<a id="visual-instruction-tuning"></a>' in text and "(#visual-instruction-tuning)" in text
    assert f"> {MEZO.abstract[:60]}" in text


def test_build_style_bookmarks_covers_every_issue(workspace: Path, fake_arxiv) -> None:
    from test_cli import digest

    assert digest("add", MEZO.id).exit_code == 0
    assert digest("add", LLAVA.id, "--issue", "issue-2").exit_code == 0
    result = digest("build", "--style", "bookmarks")
    assert result.exit_code == 0, result.stderr
    assert MEZO.title in result.stdout and LLAVA.title in result.stdout


@pytest.mark.parametrize("starred", [MEZO.id, LLAVA.id])
def test_the_digest_style_lists_starred_papers_first(tmp_path: Path, starred: str) -> None:
    meta = {key: {**value, "starred": key == starred} for key, value in PAPER_META.items()}
    workspace = make_workspace(tmp_path, llava_item(**meta[LLAVA.id]), mezo_item(**meta[MEZO.id]))
    listed = [line for line in _render(workspace, "digest").splitlines() if line[:3] in ("1. ", "2. ")]
    assert listed[0].startswith("1. (*) ") and f"abs/{starred}" in listed[0]
    assert "(*)" not in listed[1]


def test_the_newsletter_gives_each_paper_its_authors_and_reading_time(styled) -> None:
    text = _render(styled, "newsletter")
    assert "\n*Haotian Liu, Chunyuan Li, Qingyang Wu et al. · 1 min read*\n" in text


def test_the_byline_names_the_affiliations_arxiv_lists(tmp_path: Path) -> None:
    from digestcli.render import byline

    assert byline(["A B", "C D"], ["Ohio State", "CfA"]) == "A B, C D (Ohio State, CfA)"
    assert byline(["A", "B", "C", "D"], ["W", "X", "Y", "Z"]) == "A, B, C et al. (W, X, Y and others)"
    assert byline(["A"], []) == "A" and byline([], ["W"]) == "W"
    meta = {**PAPER_META[LLAVA.id], "affiliations": ["University of Wisconsin–Madison", "Microsoft Research"]}
    workspace = make_workspace(tmp_path, llava_item(**meta))
    text = _render(workspace, "newsletter")
    assert "*Haotian Liu, Chunyuan Li, Qingyang Wu et al. (University of Wisconsin–Madison, Microsoft Research) · " in text
