"""render.py: an issue's items -> newsletter Markdown with Jekyll front matter.

Items are written to a tmp_path workspace with store.Item + format_body, the
way `digest add` writes them, and read back with Workspace.items. The golden
file tests/golden/newsletter.md pins the whole output byte for byte.
"""

from __future__ import annotations

import os

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import GOOD_SUMMARY

from digestcli.config import DEFAULT_SECTIONS
from digestcli.errors import ConfigError
from digestcli.items import ISSUE_FILE, Item, format_body
from digestcli.models import IssueInfo, SummaryFields
from digestcli.render import post_filename, reading_minutes, render_issue
from digestcli.store import Workspace

GOLDEN = Path(__file__).parent / "golden" / "newsletter.md"
ISSUE = "issue-3"
NEWSLETTER_TAGS = ("machine learning", "papers")

MEZO_FIELDS = SummaryFields(**GOOD_SUMMARY)
LLAVA_FIELDS = SummaryFields(
    short_name="LLaVA",
    tldr="LLaVA connects a vision encoder to a language model and tunes both on instructions written by GPT-4.",
    whats_new="The first use of language-only GPT-4 to write multimodal instruction-following data.",
    how_it_works="A projection maps CLIP ViT-L/14 features into Vicuna's word embeddings; the projection is "
                 "pre-trained for alignment, then the model is fine-tuned end to end on 158K generated samples.",
    key_insights=["Captions and bounding boxes let a text-only model describe an image.",
                  "Generated instruction data transfers to real images."],
    results="An 85.1% relative score compared with GPT-4 on a synthetic benchmark; 92.53% on ScienceQA with GPT-4.",
    code_url=None,
)
MEZO_NOTES = "Our take: try this before reaching for LoRA.\n\n> \"Forward passes are all you need\" — a reader"


def item(key: str, title: str, fields: SummaryFields, *, created: str, notes: str = "", code_url: str = "",
         **meta: Any) -> Item:
    return Item(key, {
        "title": title,
        "short_name": fields.short_name,
        "section": "Research",
        "arxiv_id": f"{key}v1",
        "paper_url": f"https://arxiv.org/abs/{key}",
        "code_url": code_url,
        "provenance": {"backend": "openai", "created": created},
        **meta,
    }, format_body(fields, notes))


def mezo_item(**meta: Any) -> Item:
    meta.setdefault("created", "2026-11-20T09:00:00.000+00:00")
    return item("2305.17333", "Fine-Tuning Language Models with Just Forward Passes", MEZO_FIELDS,
                notes=MEZO_NOTES, code_url="https://github.com/princeton-nlp/MeZO", **meta)


def llava_item(**meta: Any) -> Item:
    meta.setdefault("created", "2026-11-21T09:00:00.000+00:00")
    return item("2304.08485", "Visual Instruction Tuning", LLAVA_FIELDS, **meta)


def make_workspace(tmp_path: Path, *items: Item, tags: list[str] | None = None) -> Workspace:
    root = tmp_path / "ws"
    root.mkdir()
    workspace = Workspace.create(root, "Papers of the Week")
    info = workspace.create_issue(ISSUE, today=date(2026, 11, 23))
    info.tags = tags if tags is not None else ["optimization", "multimodal"]
    workspace.save_issue(info)
    for entry in items:
        workspace.write_item(ISSUE, entry)
    return workspace


def render(workspace: Workspace, **options: Any) -> str:
    values: dict[str, Any] = {"newsletter_tags": NEWSLETTER_TAGS, "layout": "post", "default_description": "",
                              "image": "", "sections": tuple(DEFAULT_SECTIONS), "workspace": workspace.root}
    values.update(options)
    return render_issue(workspace.load_issue(ISSUE), workspace.items(ISSUE), **values)


def front_matter(markdown: str) -> dict[str, Any]:
    assert markdown.startswith("---\n")
    head, _ = markdown[4:].split("\n---\n", 1)
    return yaml.safe_load(head)


def body_of(markdown: str) -> str:
    return markdown[4:].split("\n---\n", 1)[1]


@pytest.fixture
def two_papers(tmp_path: Path) -> Workspace:
    # Written LLaVA first: file order and write order must not decide the newsletter order.
    return make_workspace(tmp_path, llava_item(), mezo_item())


# -- front matter --------------------------------------------------------------------


def test_front_matter_has_the_jekyll_fields(two_papers):
    front = front_matter(render(two_papers))

    assert list(front) == ["layout", "title", "date", "description", "summary", "tags", "minute"]
    assert front["layout"] == "post"
    assert front["title"] == "Issue #3"
    assert front["date"] == date(2026, 11, 23)  # a YAML date, unquoted, as Jekyll expects
    assert front["description"] == "Issue #3: MeZO, LLaVA"
    assert front["summary"] == "MeZO, LLaVA"
    assert front["tags"] == ["machine learning", "papers", "optimization", "multimodal"]
    assert isinstance(front["minute"], int) and front["minute"] >= 1


def test_issue_description_beats_config_default_which_beats_intro(tmp_path):
    workspace = make_workspace(tmp_path, mezo_item())
    info = workspace.load_issue(ISSUE)
    info.intro = "This week: forward passes only. Also a second sentence."
    workspace.save_issue(info)

    from_intro = front_matter(render(workspace))["description"]
    from_config = front_matter(render(workspace, default_description="Weekly ML papers."))["description"]
    info.description = "Memory-light fine-tuning."
    workspace.save_issue(info)
    from_issue = front_matter(render(workspace, default_description="Weekly ML papers."))["description"]

    assert from_intro == "This week: forward passes only."
    assert from_config == "Weekly ML papers."
    assert from_issue == "Memory-light fine-tuning."


def test_tags_are_not_repeated(tmp_path):
    workspace = make_workspace(tmp_path, mezo_item(), tags=["papers", "optimization", "papers"])

    assert front_matter(render(workspace))["tags"] == ["machine learning", "papers", "optimization"]


def test_front_matter_stays_valid_yaml_with_colons_and_quotes(tmp_path):
    workspace = make_workspace(tmp_path, mezo_item())
    info = workspace.load_issue(ISSUE)
    info.title = 'Issue #3: "Forward" passes — and: more'
    workspace.save_issue(info)

    front = front_matter(render(workspace, layout="digest: post"))

    assert front["title"] == 'Issue #3: "Forward" passes — and: more'
    assert front["layout"] == "digest: post"


def test_reading_time_grows_with_the_text():
    assert reading_minutes("") == 1
    assert reading_minutes("word " * 200) == 1
    assert reading_minutes("word " * 201) == 2
    assert reading_minutes("word " * 1000) == 5


# -- body ----------------------------------------------------------------------------


def test_each_item_renders_title_links_and_labelled_fields(two_papers):
    body = body_of(render(two_papers))

    assert body.count("## Research\n") == 1
    assert "### Fine-Tuning Language Models with Just Forward Passes\n" in body
    assert ("🔬[Paper](https://arxiv.org/abs/2305.17333) 👉[Code](https://github.com/princeton-nlp/MeZO)\n"
            in body)
    assert f"\n{GOOD_SUMMARY['tldr']}\n" in body
    assert f"**What's new:** {GOOD_SUMMARY['whats_new']}\n" in body
    assert f"**How it works:** {GOOD_SUMMARY['how_it_works']}\n" in body
    # A blank line before the list: plain kramdown would otherwise glue the bullets to the label.
    assert ("**Key insights:**\n\n- Memory use equals inference.\n- Task prompts make zeroth-order fine-tuning "
            "work.\n\n") in body
    assert f"**Results:** {GOOD_SUMMARY['results']}\n" in body
    assert MEZO_NOTES + "\n" in body  # the author's notes, verbatim


def test_item_without_code_link_has_only_the_paper_link(two_papers):
    body = body_of(render(two_papers))

    llava = body.split("### Visual Instruction Tuning\n", 1)[1]
    byline, links = llava.lstrip("\n").split("\n\n", 1)  # authors and reading time, then the links
    assert byline.startswith("*") and byline.endswith(" min read*")
    assert links.startswith("🔬[Paper](https://arxiv.org/abs/2304.08485)\n")
    assert "👉" not in llava


def test_notes_marker_and_comments_are_not_published(two_papers):
    markdown = render(two_papers)

    assert "<!--" not in markdown
    assert "\n\n\n" not in markdown
    assert markdown.endswith("\n") and not markdown.endswith("\n\n")


def test_items_follow_the_order_they_were_added(two_papers):
    body = body_of(render(two_papers))

    assert body.index("### Fine-Tuning Language Models") < body.index("### Visual Instruction Tuning")
    assert front_matter(render(two_papers))["summary"] == "MeZO, LLaVA"


def test_order_in_front_matter_beats_the_time_added(tmp_path):
    workspace = make_workspace(tmp_path, mezo_item(), llava_item(order=1))

    body = body_of(render(workspace))

    assert body.index("### Visual Instruction Tuning") < body.index("### Fine-Tuning Language Models")
    assert front_matter(render(workspace))["summary"] == "LLaVA, MeZO"


def test_sections_follow_the_configured_order_then_by_name(tmp_path):
    workspace = make_workspace(
        tmp_path,
        mezo_item(section="Open Source"),
        llava_item(),
        item("2401.00001", "A Survey Worth Reading", MEZO_FIELDS.model_copy(update={"short_name": "Survey"}),
             created="2026-11-22T00:00:00.000+00:00", section="Zeta Picks"),
        item("2401.00002", "Another Pick", MEZO_FIELDS.model_copy(update={"short_name": "Pick"}),
             created="2026-11-22T00:00:01.000+00:00", section="Editor Picks"),
    )

    body = body_of(render(workspace))

    headings = [line for line in body.splitlines() if line.startswith("## ")]
    assert headings == ["## Research", "## Open Source", "## Editor Picks", "## Zeta Picks"]


def test_hand_edits_to_an_item_body_are_rendered(two_papers):
    path = two_papers.root / "issues" / ISSUE / "2305.17333.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("**Results:** Up to 12x", "**Results:** As much as 12x")
                        .replace("- Memory use equals inference.", "* Memory use equals inference (edited)."),
                    encoding="utf-8")

    body = body_of(render(two_papers))

    assert "**Results:** As much as 12x memory reduction" in body
    assert "- Memory use equals inference (edited).\n" in body


def test_issue_intro_and_image_come_before_the_items(tmp_path):
    workspace = make_workspace(tmp_path, mezo_item())
    issue_file = workspace.root / "issues" / ISSUE / ISSUE_FILE
    issue_file.write_text(issue_file.read_text(encoding="utf-8").replace(
        "<!-- The intro paragraph of this issue: write it here. -->", "Welcome to issue three."), encoding="utf-8")

    body = body_of(render(workspace, image="https://example.org/header.png"))

    assert body.startswith("\n![Issue #3](https://example.org/header.png)\n\nWelcome to issue three.\n\n## Research\n")


def test_two_renders_are_byte_identical(two_papers):
    assert render(two_papers).encode() == render(two_papers).encode()


# -- templates -----------------------------------------------------------------------


def test_workspace_template_overrides_the_packaged_one(two_papers):
    templates = two_papers.root / "templates"
    templates.mkdir()
    (templates / "newsletter.md.j2").write_text(
        "---\n{{ front_matter }}---\n{% for section in sections %}{% for item in section.items %}"
        "* [{{ item.short_name }}]({{ item.paper_url }})\n{% endfor %}{% endfor %}",
        encoding="utf-8",
    )

    markdown = render(two_papers)

    assert body_of(markdown) == ("* [MeZO](https://arxiv.org/abs/2305.17333)\n"
                                 "* [LLaVA](https://arxiv.org/abs/2304.08485)\n")
    assert front_matter(markdown)["summary"] == "MeZO, LLaVA"


def test_workspace_can_add_a_new_style(two_papers):
    (two_papers.root / "templates").mkdir()
    (two_papers.root / "templates" / "short.md.j2").write_text("{{ title }}: {{ sections | length }} section\n")

    assert render(two_papers, style="short") == "Issue #3: 1 section\n"
    assert render(two_papers).startswith("---\nlayout: post\n")  # the default style is untouched


def test_unknown_style_is_a_config_error(two_papers):
    with pytest.raises(ConfigError, match=r"no template for style 'fancy' \(looked for templates/fancy\.md\.j2\)"):
        render(two_papers, style="fancy")


def test_broken_workspace_template_is_a_config_error(two_papers):
    (two_papers.root / "templates").mkdir()
    (two_papers.root / "templates" / "newsletter.md.j2").write_text("{{ no_such_value }}\n")

    with pytest.raises(ConfigError, match="template newsletter.md.j2 failed"):
        render(two_papers)


# -- file name -------------------------------------------------------------------------


@pytest.mark.parametrize("title, expected", [
    ("Issue #3", "2026-11-23-issue-3.md"),
    ("Papers of the Week: Forward Passes!", "2026-11-23-papers-of-the-week-forward-passes.md"),
    ("Zoë's Ünïcode Issue", "2026-11-23-zoe-s-unicode-issue.md"),
    ("!!!", "2026-11-23-issue-3.md"),  # nothing to slug in the title: fall back to the issue name
])
def test_post_filename_is_date_and_slug(title, expected):
    assert post_filename(IssueInfo(name="issue-3", title=title, date="2026-11-23")) == expected


# -- golden file -----------------------------------------------------------------------


def test_newsletter_matches_the_golden_file(two_papers):
    info = two_papers.load_issue(ISSUE)
    info.intro = "Two papers this week: fine-tuning without backpropagation, and teaching a language model to see."
    two_papers.save_issue(info)

    markdown = render(two_papers)
    if os.environ.get("DIGEST_REGENERATE_GOLDEN"):
        GOLDEN.write_bytes(markdown.encode("utf-8"))

    assert GOLDEN.is_file(), f"missing {GOLDEN}"
    assert markdown.encode("utf-8") == GOLDEN.read_bytes(), (
        f"the rendered newsletter differs from {GOLDEN}; if the change is intended, regenerate the file "
        "and read it before committing"
    )
