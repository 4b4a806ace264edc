"""The item file format: the one module that knows front-matter keys, body labels, the notes marker
and the body hash.

An item is Markdown with YAML front matter (metadata and provenance) and a body a person edits by
hand. Everything else reads and writes items through the names here. Never does I/O of its own
beyond front_matter.py, never touches the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import front_matter
from .front_matter import FLAG, NUMBER, TEXT, TEXTS, WHOLE, validate
from .files import sha256_hex
from .models import IssueInfo
from .sanitize import without_comments, without_controls
from .template import BUILTIN_FIELDS, DEFAULT_TEMPLATE, LEAD, Template, TemplateField

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .models import Paper, PaperText, Summary

ISSUE_FILE = "_issue.md"
ISSUE_INTRO_PROMPT = "<!-- The intro paragraph of this issue: write it here. -->"
DEFAULT_SECTION = "Research"
FIGURES = "figures"  # an issue's folder of figure images
FIGURE_TYPES = {"png": b"\x89PNG\r\n\x1a\n", "webp": b"RIFF", "jpg": b"\xff\xd8\xff", "jpeg": b"\xff\xd8\xff",
                "gif": b"GIF8"}  # extension -> how the file starts


@dataclass
class Item:
    """One entry of a newsletter issue: front matter + editable body, read through typed names."""

    key: str  # file stem, e.g. "2305.17333"
    meta: dict[str, Any]
    body: str
    path: str = ""

    def _text(self, name: str) -> str:
        value = self.meta.get(name)
        return "" if value is None else str(value)

    def _texts(self, name: str) -> list[str]:
        value = self.meta.get(name)
        if isinstance(value, (list, tuple)):
            return [str(entry) for entry in value if entry is not None]
        return [str(value)] if value not in (None, "") else []

    def _whole(self, name: str) -> int | None:
        value = self.meta.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def _provenance(self) -> dict[str, Any]:
        value = self.meta.get("provenance")
        return value if isinstance(value, dict) else {}

    @property
    def title(self) -> str:
        return self._text("title") or self.key

    @property
    def section(self) -> str:
        return self._text("section") or DEFAULT_SECTION

    short_name = property(lambda self: self._text("short_name"))
    arxiv_id = property(lambda self: self._text("arxiv_id"))
    paper_url = property(lambda self: self._text("paper_url"))
    pdf_url = property(lambda self: self._text("pdf_url"))
    code_url = property(lambda self: self._text("code_url"))
    url = property(lambda self: self._text("url"))  # a link item's address
    kind = property(lambda self: self._text("kind"))  # a link item's kind: repository, video, article, link
    quote = property(lambda self: self._text("quote"))
    published = property(lambda self: self._text("published"))
    abstract = property(lambda self: self._text("abstract"))
    doi = property(lambda self: self._text("doi"))
    topic = property(lambda self: self._text("topic"))
    authors = property(lambda self: self._texts("authors"))
    affiliations = property(lambda self: self._texts("affiliations"))  # distinct, in author order (arXiv's)
    categories = property(lambda self: self._texts("categories"))
    accepted_claims = property(lambda self: self._texts("accepted_claims"))
    backend = property(lambda self: str(self._provenance.get("backend") or ""))
    evidence = property(lambda self: [str(q) for q in self._provenance.get("evidence") or []])

    @property
    def source_id(self) -> str:
        """The versioned arXiv id, or the id of a paper read from another PDF address."""
        return self._text("arxiv_id") or self._text("doc_id")

    @property
    def address(self) -> str:
        """The resource the item records: the link's or the paper's address."""
        return self._text("url") or self._text("paper_url")

    @property
    def stars(self) -> int | None:
        return self._whole("stars")

    @property
    def starred(self) -> bool:
        return self.meta.get("starred") is True

    @property
    def order(self) -> int | None:
        return self._whole("order")

    @property
    def cost(self) -> float | None:
        """US dollars its summary cost when it was paid for: 0 for the offline summarizer and for links,
        None when not known (no price for the model, or an item older than the record)."""
        recorded = self._provenance.get("cost_usd")
        if isinstance(recorded, (int, float)) and not isinstance(recorded, bool):
            return float(recorded)
        return 0.0 if self.backend in ("offline", "link") else None

    @property
    def queued(self) -> str:
        """When and where in its command the item was asked for (else when it was made): papers
        summarized concurrently still sort in the order they were given."""
        return str(self._provenance.get("queued") or self._provenance.get("created", ""))

    @property
    def created(self) -> str:
        """When digest last wrote the item (ISO 8601, UTC; "" if not recorded): the feed's updated time."""
        return str(self._provenance.get("created", ""))

    @property
    def recorded_unverified(self) -> list[str]:
        """The claims that grounding could not find when the item was made."""
        grounding = self._provenance.get("grounding") or {}
        return [str(c) for c in grounding.get("unverified", [])] if isinstance(grounding, dict) else []

    @property
    def is_edited(self) -> bool:
        """True when the body differs from what digest wrote (a person edited it)."""
        written = self._provenance.get("body_hash")
        return bool(written) and body_hash(self.body) != written

    def summary_fields(self, template: Template = DEFAULT_TEMPLATE) -> dict[str, Any]:
        """The summary fields of the body as a person may have edited it, notes excluded."""
        return {k: v for k, v in parse_body(self.body, template).items() if k != "notes"}

    def with_meta(self, **changes: Any) -> Item:
        """The item with front-matter fields set (None removes one); the body is kept byte for byte."""
        meta = {k: v for k, v in {**self.meta, **changes}.items() if v is not None}
        return Item(self.key, meta, self.body, self.path)

    def placed(self, section: str | None = None, order: int | None = None) -> Item:
        """The item moved to ``section`` and/or to place ``order`` in its section (None: unchanged)."""
        return self.with_meta(section=self.meta.get("section") if section is None else section,
                              order=self.order if order is None else order)

    def with_star(self, on: bool) -> Item:
        return self.with_meta(starred=True if on else None)

    @property
    def figure(self) -> Figure | None:
        """The figure shown with the item: digest's choice, or the writer's (a file "" means none)."""
        value = self.meta.get("figure")
        if not isinstance(value, dict):
            return None
        return Figure(value.get("number"), value.get("page"), str(value.get("caption") or ""),
                      str(value.get("file") or ""), str(value.get("chosen") or "digest"))

    def with_figure(self, figure: Figure | None) -> Item:
        return self.with_meta(figure=figure.to_meta() if figure else None)

    def with_paper(self, paper: Paper) -> Item:
        """The item with the metadata arXiv gives (what --refresh updates); the summary is untouched."""
        return Item(self.key, {**self.meta, **paper_meta(paper)}, self.body, self.path)


@dataclass(frozen=True)
class Figure:
    """An item's figure: the paper's figure ``number`` on ``page``, its caption, and its image
    ``file`` (relative to the issue folder, or a URL of the writer's own). ``chosen`` is "digest"
    or "writer": a writer's choice, or a writer's "none" (file ""), survives --force."""

    number: int | None
    page: int | None
    caption: str
    file: str
    chosen: str = "digest"

    def to_meta(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}

    @property
    def local_name(self) -> str:
        """The image's name in the issue's figures/ folder ("" for a URL, none, or any other path)."""
        found = re.fullmatch(rf"{FIGURES}/([A-Za-z0-9][A-Za-z0-9._-]*\.(?:{'|'.join(FIGURE_TYPES)}))", self.file)
        return found.group(1) if found and ".." not in self.file else ""


# -- the body ---------------------------------------------------------------------------------

# Each field of the template is written under its label (template.py) as **Label:**, a list one "- " line an
# entry; the TL;DR (the lead) comes first, unlabelled.
LINK_PROMPT = "<!-- What is this link about? Write it here. -->"
NOTES_MARKER = "<!-- Your notes go below this line; digest publishes them verbatim and never rewrites them. -->"
# Only digest writes the marker, on a line of its own, and every fetched or generated text it writes
# into a body has its HTML comments removed first (format_body): no paper, page or model can forge it.
_NOTES_LINE = re.compile(rf"^[ \t]*{re.escape(NOTES_MARKER)}[ \t\r]*$", re.M)  # an editor may indent it


def format_body(fields: BaseModel, notes: str = "", template: Template = DEFAULT_TEMPLATE) -> str:
    """An item body: the fields of ``template`` each under its label (fetched or generated text,
    comments removed), the notes marker, then the person's notes verbatim."""
    parts = []
    for field in template.fields:
        value = getattr(fields, field.name)
        if field.kind == "list":
            entries = "\n".join(f"- {_outside(entry)}" for entry in value)
            parts.append(f"**{field.label}:**\n{entries}")
        else:
            parts.append(f"**{field.label}:** {_outside(value)}" if field.label else _outside(value))
    return _with_notes("\n\n".join(parts), notes)


def format_link_body(description: str, notes: str = "") -> str:
    """A link item's body: the page's description (comments removed) or a prompt to write one."""
    description = " ".join(_outside(description).split())
    return _with_notes(description or LINK_PROMPT, notes)


def _outside(text: str) -> str:
    """Fetched or generated text as an item keeps it: no control characters, no HTML comments."""
    return without_comments(without_controls(text))


def _with_notes(generated: str, notes: str) -> str:
    body = f"{generated.strip()}\n\n{NOTES_MARKER}\n"
    return body + (notes.strip("\n") + "\n" if notes.strip() else "")


def split_notes(body: str) -> tuple[str, str]:
    """(the summary part, the person's notes) of an item body, split at digest's marker line."""
    match = _NOTES_LINE.search(body)
    if not match:
        return body, ""
    return body[: match.start()], body[match.end():].strip("\n")


def parse_body(body: str, template: Template = DEFAULT_TEMPLATE) -> dict[str, Any]:
    """Fields of an item body as a person may have edited it, in the template's order: the lead
    (tldr) first, then each field under its label, then any built-in field the template no longer
    has but the body does; unknown text stays with its field."""
    body, notes = split_notes(body)
    label_line, labelled = _label_lines(template)
    parts: dict[str, Any] = {LEAD: "", **{f.name: [] if f.kind == "list" else "" for f in template.fields}}
    matches = list(label_line.finditer(body))
    parts[LEAD] = body[: matches[0].start()].strip() if matches else body.strip()
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(body)
        field = labelled[_folded(match.group(1))]
        value = body[match.end() : end].strip()
        if field.kind == "list":
            lines = [line.strip() for line in value.splitlines() if line.strip()]
            bullets = [line[2:].strip() for line in lines if line[:2] in ("- ", "* ")]
            parts[field.name] = bullets if bullets and len(bullets) == len(lines) else ([value] if value else [])
        else:
            parts[field.name] = value
    parts["notes"] = notes
    return parts


def _folded(label: str) -> str:
    return label.casefold().replace("’", "'")


@lru_cache(maxsize=16)
def _label_lines(template: Template) -> tuple[re.Pattern[str], dict[str, TemplateField]]:
    """The line that starts a labelled field (any case, either apostrophe), and the field of each label:
    the template's, then the built-in ones it dropped (items written before still read back)."""
    labelled: dict[str, TemplateField] = {}
    for field in (*template.fields, *BUILTIN_FIELDS.values()):
        if field.label:
            labelled.setdefault(_folded(field.label), field)
    written = sorted({field.label for field in labelled.values()}, key=len, reverse=True)
    alternatives = "|".join(re.sub(r"['’]", "['’]", re.escape(label)) for label in written)
    return re.compile(rf"^\*\*({alternatives}):\*\*[ \t]*", re.I | re.M), labelled


# -- front-matter values ---------------------------------------------------------------------

# The front-matter fields digest reads (items and _issue.md), and what each must hold. Other fields are kept as
# they are and never read. A scalar where text is expected becomes text (YAML reads `published: 2023-05-26` as
# a date, `title: 2023` as a number); a scalar where a list is expected becomes a list of one.
ITEM_FIELDS: dict[str, Any] = {
    **dict.fromkeys(("title", "paper_title", "short_name", "section", "arxiv_id", "doc_id", "published", "updated",
                     "primary_category", "paper_url", "pdf_url", "code_url", "comment", "abstract", "journal_ref",
                     "doi", "quote", "url", "kind", "emoji", "topic", "date", "description", "image"), TEXT),
    **dict.fromkeys(("authors", "affiliations", "categories", "accepted_claims", "tags"), TEXTS),
    "order": WHOLE,
    "stars": WHOLE,
    "starred": FLAG,
    "figure": {"number": WHOLE, "page": WHOLE, "caption": TEXT, "file": TEXT, "chosen": TEXT},
    "provenance": {
        **dict.fromkeys(("backend", "model", "created", "queued", "body_hash", "batch"), TEXT),
        "cost_usd": NUMBER,
        "evidence": TEXTS,
        "extractive_fields": TEXTS,
        "grounding": {"unverified": TEXTS},
    },
}


def body_hash(body: str) -> str:
    """The hash digest records of a body it wrote, to tell later whether a person edited it."""
    return sha256_hex(body.strip())[:16]


# -- front matter digest writes ---------------------------------------------------------------


def now_stamp() -> str:
    """Milliseconds keep the order of one command's papers when build sorts by creation time."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def paper_meta(paper: Paper) -> dict[str, Any]:
    """Front-matter fields that come from arXiv alone (what --refresh updates)."""
    if paper.source != "arxiv":
        return {"title": paper.title, "doc_id": paper.id.base, "authors": list(paper.authors),
                "published": paper.published, "paper_url": paper.abs_url, "pdf_url": paper.pdf_url,
                "abstract": paper.abstract}
    return {
        "title": paper.title,
        "arxiv_id": paper.id.versioned,
        "authors": list(paper.authors), **({"affiliations": list(paper.affiliations)} if paper.affiliations else {}),
        "published": paper.published,
        "updated": paper.updated,
        "primary_category": paper.primary_category,
        "categories": list(paper.categories),
        "paper_url": f"https://arxiv.org/abs/{paper.id.base}",
        "pdf_url": f"https://arxiv.org/pdf/{paper.id.versioned}",
        "comment": paper.comment,
        "abstract": paper.abstract,
        "journal_ref": paper.journal_ref,
        "doi": paper.doi,
    }


@dataclass(frozen=True)
class Provenance:
    """How a paper item was made, beyond the summary itself."""

    context_tokens: int
    tokenizer: str
    extractor_version: str
    queued: str = ""
    grounding: dict[str, Any] | None = None
    extra: dict[str, Any] | None = None  # e.g. the Batch API batch it came from
    cost: float | None = None  # US dollars the summary cost when paid for (None: price unknown)


def paper_item(paper: Paper, text: PaperText, summary: Summary, code_url: str, notes: str,
               made: Provenance, *, section: str = "", title: str = "", quote: str = "",
               template: Template = DEFAULT_TEMPLATE) -> Item:
    """A paper's item: arXiv's metadata, the summary (of ``template``'s fields) as an editable body,
    the notes kept below the marker, and how it was made. ``title`` is the author's own heading for it."""
    fields = summary.fields
    body = format_body(fields, notes, template)
    provenance: dict[str, Any] = {
        "backend": summary.backend,
        "model": summary.model,
        "prompt_hash": summary.prompt_hash,
        "input_tokens": summary.usage.input_tokens,
        "output_tokens": summary.usage.output_tokens,
        **({"cached_input_tokens": summary.usage.cached_input_tokens} if summary.usage.cached_input_tokens else {}),
        **({"cost_usd": round(made.cost, 6)} if made.cost is not None else {}),
        "context_tokens": made.context_tokens,
        "tokenizer": made.tokenizer,
        "text_source": text.source,
        "source_text_hash": text.text_hash[:16],
        "extractor_version": made.extractor_version,
        "pdf_engine": text.engine,
        "created": now_stamp(),
        "body_hash": body_hash(body),
        "evidence": list(fields.evidence),  # quotes the model gave for its figures (checked by grounding)
    }
    meta: dict[str, Any] = {"title": paper.title, "short_name": fields.short_name,
                            "section": section or DEFAULT_SECTION, **paper_meta(paper), "code_url": code_url,
                            "provenance": provenance}
    if title:
        meta = {"title": title, "paper_title": paper.title, **{k: v for k, v in meta.items() if k != "title"}}
    if quote:
        meta["quote"] = quote
    if summary.usage.reasoning_tokens:
        provenance["reasoning_tokens"] = summary.usage.reasoning_tokens  # part of output_tokens
    if summary.filled:  # the model failed these twice: the paper's own sentences stand in
        provenance["extractive_fields"] = list(summary.filled)
    if made.queued:
        provenance["queued"] = made.queued  # keeps the command's order when build sorts
    provenance.update(made.extra or {})
    if made.grounding is not None:
        provenance["grounding"] = made.grounding
    return Item(paper.id.filename, meta, body)


def link_item(key: str, info: Any, notes: str, *, section: str = "", title: str = "", quote: str = "") -> Item:
    """A link's item (``info`` a links.LinkInfo): its page's title and description, filed by kind."""
    meta: dict[str, Any] = {"title": title or info.title, "section": section or info.section,
                            "kind": info.kind, "url": info.url, "emoji": info.emoji}
    if info.stars is not None:
        meta["stars"] = info.stars
    if quote:
        meta["quote"] = quote
    body = format_link_body(info.description, notes)
    meta["provenance"] = {"backend": "link", "fetched": not info.warning, "created": now_stamp(),
                          "body_hash": body_hash(body)}
    return Item(key, meta, body)


# -- files ------------------------------------------------------------------------------------


def dump_item(item: Item) -> str:
    return front_matter.dump(item.meta, item.body)


def load_item(path: Path) -> Item:
    """An item file with its front matter checked field by field against ITEM_FIELDS."""
    meta, body = front_matter.read(path)
    return Item(key=path.stem, meta=validate(path, meta, ITEM_FIELDS), body=body, path=str(path))


def dump_issue(info: IssueInfo) -> str:
    meta = {"title": info.title, "date": info.date, "description": info.description,
            "tags": list(info.tags), "image": info.image}
    return front_matter.dump(meta, info.intro or ISSUE_INTRO_PROMPT)


def load_issue_file(path: Path, name: str) -> IssueInfo:
    item = load_item(path)
    intro = item.body.strip()
    if intro.startswith("<!--") and intro.endswith("-->"):
        intro = ""
    return IssueInfo(name=name, title=item._text("title") or name, date=item._text("date"),
                     description=item._text("description"), tags=item._texts("tags"), intro=intro,
                     image=item._text("image"))
