"""The paper's own code release, out of every link the paper mentions.

A paper links many repositories: its own code, but also the tools it uses
(tiktoken, grobid, llama.cpp), the baselines it compares with and the
datasets it reads. A link counts as the paper's own when the paper says so
("our code is available at", "we release"), when it sits in the abstract,
a first-page footnote or the arXiv comment, or when the repository's owner
is one of the authors or their organisation; a link in the references, or
introduced as something the paper uses, does not. URLs are rebuilt across
line breaks, and taken whole from the PDF's link annotations when it has them.
No link is better than a wrong one. Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from .pdfread import SUPERSCRIPT_DIGITS

# Where code and project pages live; a link elsewhere is never a Code link.
_CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "huggingface.co", "aka.ms",
               "anonymous.4open.science", "git.io", "sourceforge.net", "bit.ly", "goo.gl", "tinyurl.com")
_PAGES = (".github.io", ".gitlab.io")
_URL_START = re.compile(r"(?:https?://|(?<![\w.@/])(?:www\.)?(?:github\.com|gitlab\.com|huggingface\.co|aka\.ms|"
                        r"bitbucket\.org|anonymous\.4open\.science)/|(?<![\w.@/])[a-z0-9-]+\.github\.io\b)", re.I)
_URL_CHARS = re.compile(r"[A-Za-z0-9._~:/?#@!$&*+,;=%\-]+")
_TRAILING = ".,;:)]}'\"”’"
_NOT_CODE_PATHS = re.compile(r"^/(?:features|about|pricing|sponsors|topics|marketplace|docs|blog|papers|spaces|"
                             r"datasets|settings|login|join)(?:/|$)", re.I)

# What a paper says next to its own release, and next to something it merely uses. The cue
# nearest before the link decides.
_OWN = re.compile(
    r"(?<![A-Za-z])our\s+(?:[\w-]+\s+){0,3}?(?:code|codes|codebase|implementation|implementations|models?|checkpoints?|"
    r"weights|software|library|package|toolkit|framework|system|tool|demo|project|repository|repo|data(?:set)?s?|"
    r"benchmark|scripts?|prompts?)\b"
    r"|(?<![A-Za-z])(?:source\s+)?(?:code|codes|codebase|implementation)\b[^.<]{0,60}?\b(?:is|are|will\s+be|can\s+be|"
    r"has\s+been)?\s*(?:publicly\s+|freely\s+|openly\s+|now\s+)?(?:available|released|hosted|accessible|linked)"
    r"|(?<![A-Za-z])(?:source\s+)?(?:code|codes|codebase)\s*(?:(?:and|&)\s+[\w-]+(?:\s+[\w-]+)?\s*)?(?:at\b|:|on\s+github)"
    r"|(?<![A-Za-z])we\s+(?:also\s+)?(?:have\s+)?(?:release[sd]?|open[- ]?sourced?|publicly\s+release|make|made|provide|share|"
    r"publish|attach|include)\b"
    r"|(?<![A-Za-z])(?:to|will)\s+(?:publicly\s+)?(?:release|open[- ]?source)\b"
    r"|(?<![A-Za-z])make\b[^.]{0,60}\b(?:available|accessible|public|open)"
    r"|(?<![A-Za-z])(?:project\s+page|project\s+website|homepage|github)\s*(?:is|:|at)"
    r"|(?<![A-Za-z])open[- ]sourced\b",
    re.I)
_AVAILABLE = re.compile(r"(?<![A-Za-z])(?:publicly\s+|freely\s+)?(?:available|found|hosted|accessible)\s+(?:at|on|from|in|via)"
                        r"(?:\s+github)?\s*:?\s*$|(?<![A-Za-z])github\s*:?\s*$", re.I)
_USED = re.compile(r"(?<![A-Za-z])(?:we\s+use[sd]?|uses|using|is\s+used|are\s+used|were\s+used|based\s+on|built\s+(?:on|upon)|"
                   r"following|adopt(?:ed)?|borrow(?:ed)?|implementation\s+(?:of|by|from)|provided\s+by|"
                   r"released\s+by|official\s+implementation|from\s+the\s+(?:authors|original)|available\s+via|"
                   r"we\s+(?:follow|leverage|employ)|obtained\s+from|downloaded\s+from|evaluated\s+(?:with|using)|"
                   r"the\s+(?:benchmark|data|dataset)\s+(?:is|are))\b", re.I)
_YEAR = re.compile(r"\b(?:19|20)\d{2}[a-z]?\b")
_VENUE = re.compile(r"\b(?:URL|arXiv|Proceedings|In\s+[A-Z]|Conference|Journal|preprint|pp\.|vol\.)", re.I)


@dataclass(frozen=True)
class LinkMention:
    """One link the paper makes, where it makes it."""

    url: str
    page: int  # 0 = the arXiv comment or abstract
    context: str  # the sentence around it
    annotated: bool = False  # the PDF's link annotation holds it whole
    in_references: bool = False


def normal_url(url: str) -> str:
    """https, no www., no trailing punctuation, slash or .git: how two mentions are compared.
    '' for what is not a web address a newsletter can link to."""
    url = url.strip().rstrip(_TRAILING)
    if url.count("(") < url.count(")"):
        url = url[: url.rfind(")")]
    if not re.match(r"https?://", url, re.I):
        url = "https://" + url
    if not _URL_CHARS.fullmatch(url):
        return ""  # spaces, quotes, angle brackets: not from a real link
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[oops/x"
        return ""
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host:
        return ""
    path = parts.path.rstrip("/")
    if path.lower().endswith(".git"):
        path = path[:-4]
    query = f"?{parts.query}" if parts.query else ""
    return f"https://{host}{path}{query}"


def is_code_host(url: str) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if host.endswith(_PAGES):
        return True
    if host not in _CODE_HOSTS:
        return False
    path = parts.path.rstrip("/")
    if host in ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "huggingface.co"):
        return path.count("/") >= 2 and not _NOT_CODE_PATHS.match(path)  # owner/repo, not a bare owner
    return len(path) > 1


def text_urls(text: str) -> list[tuple[str, int]]:
    """(url, offset) of each web address in ``text``, rebuilt where a line break cut it: the URL goes
    on to the next line when it ends in / - _ . or the next line's first word reads like a path."""
    found: list[tuple[str, int]] = []
    for start in _URL_START.finditer(text):
        position = start.start()
        if found and position < found[-1][1] + len(found[-1][0]):
            continue
        match = _URL_CHARS.match(text, position)
        url = match.group() if match else ""
        end = position + len(url)
        while end < len(text) and text[end] == "\n":
            following = _URL_CHARS.match(text, end + 1)
            if not following or not _continues(url, following.group()):
                break
            url += following.group()
            end = end + 1 + len(following.group())
        url = re.sub(r"(?<=\w)(?:\d{1,2})?https?://.*$", "", url)  # "..._sft5https://" glued to the next link
        url = url.rstrip(_TRAILING)
        if len(url) > 10:
            found.append((url, position))
    return found


def _continues(url: str, piece: str) -> bool:
    """Whether a URL that reaches the end of a line goes on with the next line's first word."""
    if re.match(r"https?:|www\.", piece, re.I):
        return False
    if url.endswith(("/", "-", "_", "~", "=", "?", "&", "#")):
        return True  # no address ends there
    if url.endswith("."):
        # "github.\nio/x" goes on; "LoRA.\n1 Introduction" or "LoRA.\nWe" ends a sentence
        return bool(re.match(r"[a-z]{2,}[/.]", piece))
    return bool(re.match(r"[a-z0-9_-]*[a-z_-][a-z0-9_-]*[/._#?=-][A-Za-z0-9]", piece)) or bool(
        re.match(r"[a-z0-9_-]+[/#?]", piece))


_SUPERSCRIPT = str.maketrans("0123456789", SUPERSCRIPT_DIGITS)


def _footnote_reference(text: str, offset: int) -> str:
    """For a link that opens a footnote ("3https://..."), the sentence whose mark points to it
    ("we release our code³"): that is where the paper says what the link is."""
    line_start = text.rfind("\n", 0, offset) + 1
    mark = re.fullmatch(r"\s*(\d{1,2})\s*", text[line_start:offset])
    if not mark:
        return ""
    number = mark.group(1)
    pattern = re.compile(rf"(?<=[\w.,;:)\]]){re.escape(number.translate(_SUPERSCRIPT))}(?![⁰¹²³⁴⁵⁶⁷⁸⁹])"
                         rf"|(?<=[a-z][.,;:)]){number}(?=\s)|(?<=[a-z]{{3}}){number}(?=[\s.,;:])")
    for found in pattern.finditer(text, 0, line_start):
        return _sentence_around(text, found.start(), len(found.group()))
    return ""


def _sentence_around(text: str, offset: int, length: int) -> str:
    before = text[max(0, offset - 300) : offset]
    after = text[offset + length : offset + length + 200]
    start = max(before.rfind(". "), before.rfind("\n\n"))
    stop = min([i for i in (after.find(". "), after.find("\n\n")) if i >= 0], default=len(after))
    context = before[start + 1 :] + " <URL> " + after[:stop]
    return " ".join(re.sub(r"(?<=[a-z])-\n(?=[a-z])", "", context).split())


def link_mentions(pages: Sequence[str], annotations: Sequence[Sequence[tuple[str, str]]],
                  references: tuple[int, int] | None = None) -> list[LinkMention]:
    """Every code-host link of the paper, with where and how it is mentioned. ``pages`` are the raw
    text of each page (lines in reading order); ``annotations`` the (address, words it covers) of
    each page's link annotations; ``references`` the (first, last) page of the reference list."""
    mentions: list[LinkMention] = []
    whole = {normal_url(uri) for links in annotations for uri, _ in links}
    for number, text in enumerate(pages, start=1):
        text = re.sub(r"(https?:)\n(//)|(https?://)\n", lambda m: (m.group(1) or "") + (m.group(2) or m.group(3)), text)
        for url, offset in text_urls(text):
            normal = normal_url(url)
            # A text URL cut short at a line end, or glued to the next word: the annotation holds it whole.
            longer = [w for w in whole if w.startswith(normal) and len(w) > len(normal)]
            shorter = [w for w in whole if normal.startswith(w) and not re.match(r"[\w/]", normal[len(w):])]
            if normal not in whole and len(longer) == 1:
                normal = longer[0]
            elif normal not in whole and shorter:
                normal = max(shorter, key=len)
            if not is_code_host(normal):
                continue
            referring = _footnote_reference(text, offset)
            if referring:  # a footnote: its own line, and the sentence that points to it
                line_end = text.find("\n", offset)
                context = f"<URL> {text[offset + len(url) : line_end if line_end >= 0 else None]} || {referring}"
            else:
                context = _sentence_around(text, offset, len(url))
            in_references = bool(references and references[0] <= number <= references[1]
                                 and _reference_entry(context))
            mentions.append(LinkMention(normal, number, context, normal in whole, in_references))
    seen = {m.url for m in mentions}
    for number, links in enumerate(annotations, start=1):
        for uri, anchor in links:
            normal = normal_url(uri)
            if normal not in seen and is_code_host(normal):  # linked from words, the URL never printed
                seen.add(normal)
                in_references = bool(references and references[0] <= number <= references[1]
                                     and _reference_entry(anchor))
                mentions.append(LinkMention(normal, number, f"{anchor} <URL>", True, in_references))
    return mentions


def _reference_entry(text: str) -> bool:
    """Reads like an entry of a reference list: a year, then a venue or "URL"."""
    year = _YEAR.search(text)
    return bool(year and _VENUE.search(text, year.end()))


def metadata_mentions(comment: str, abstract: str) -> list[LinkMention]:
    """Links in the arXiv comment ("Code: https://...") and the abstract: the authors' own words."""
    mentions = []
    for text in (comment, abstract):
        for url, offset in text_urls(text):
            normal = normal_url(url)
            if is_code_host(normal):
                mentions.append(LinkMention(normal, 0, f"{text[max(0, offset - 200) : offset]} <URL>"))
    return mentions


def _fold(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower())


def _owner_matches(url: str, authors: Sequence[str], front: str) -> bool:
    """The repository's owner is an author (artidoro, TimSalimans, lhao499 for Hao Liu) or an
    organisation named on the first page (microsoft, google-research, facebookresearch)."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    host = (urlsplit(url).hostname or "").lower()
    if host not in ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "huggingface.co") and not host.endswith(
            _PAGES):
        return False  # a short link's path names no owner
    owner = parts[0] if parts and not host.endswith(_PAGES) else host.split(".")[0]
    folded = _fold(re.sub(r"\d+$", "", owner))
    if len(folded) < 3:
        return False
    for author in authors:
        names = [_fold(n) for n in re.split(r"[\s.-]+", author) if len(_fold(n)) >= 3]
        if any(name == folded or (len(name) >= 4 and name in folded) for name in names):
            return True
    organisation = re.sub(r"(research|ai|lab|labs|team|group|inc|org|s)$", "", folded)
    return len(organisation) >= 4 and organisation in _fold(front)


def cue_points(context: str) -> int:
    """3 when the words before the link say it is the paper's own release, 2 when they only say
    it is available there, -3 when they say the paper uses it, else 0. In each sentence of the
    context (the link's own, and the one whose footnote mark leads to it) the nearest cue counts."""
    verdicts = []
    for part in context.split(" || "):
        before = part.split("<URL>")[0]
        own = max((m.end() for m in _OWN.finditer(before)), default=-1)
        used = max((m.end() for m in _USED.finditer(before)), default=-1)
        if own >= 0 and own >= used:
            verdicts.append(3)
        elif _AVAILABLE.search(before) and used < 0:
            verdicts.append(2)
        elif used >= 0:
            verdicts.append(-3)
    if 3 in verdicts and -3 in verdicts:
        return 0  # "the benchmark is hosted at" it, "our results will be made available" there
    return max(verdicts, default=0) if -3 not in verdicts else -3


def score(mention: LinkMention, authors: Sequence[str], front: str) -> int:
    """How surely a mention is the paper's own release: 3 or more counts."""
    if mention.in_references:
        return -5
    points = cue_points(mention.context)
    label = re.search(r"(\w+)\s*:?\s*<URL>", mention.context)
    if label and label.group(1).lower() in ("code", "github", "repository", "repo", "codebase", "implementation"):
        points += 1  # "Code: <URL>" in a list of the paper's links
    elif label and label.group(1).lower() in ("weights", "data", "dataset", "datasets", "models", "demo", "blog",
                                              "paper", "website", "evaluation", "adaptation", "checkpoints"):
        points -= 1
    if mention.page == 0:
        points += 4  # the arXiv comment or the abstract
    if mention.page == 1:
        points += 1
    if _owner_matches(mention.url, authors, front):
        points += 2
    host = (urlsplit(mention.url).hostname or "")
    if host in ("huggingface.co", "bit.ly", "goo.gl", "tinyurl.com") and points < 3:
        points -= 2  # others' models and datasets, or a short link to anywhere
    return points


def own_code_links(mentions: Sequence[LinkMention], authors: Sequence[str] = (), front: str = "") -> tuple[str, ...]:
    """The paper's own code links, surest first; empty when the paper releases none."""
    best: dict[str, int] = {}
    order: dict[str, int] = {}
    for position, mention in enumerate(mentions):
        if not mention.url:
            continue
        points = score(mention, authors, front)
        best[mention.url] = max(best.get(mention.url, points), points)
        order.setdefault(mention.url, position)
    own = [url for url, points in best.items() if points >= 3]
    return tuple(sorted(own, key=lambda url: (-best[url], order[url])))
