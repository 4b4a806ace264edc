"""The offline summarizer: every field made of the paper's own sentences, told in the third person.

Used when no LLM is configured. Sentences are chosen by what they say (a
proposal, a mechanism, a finding, a measured result), by how much they share
with the title, and by where they stand; no sentence is used twice, and none
that cites other work, holds a caption, or is more symbols than words.
A chosen sentence is changed only to read in the third person ("We propose"
-> "The authors propose") and to lose a leading connective ("However,"); its
evidence quote stays verbatim, so the grounding check finds it in the paper. A field of the writer's own
gets the sentences that share its label's and description's words, or a note that it is left to write.
The text stays in the paper's language whatever [llm] language says. Deterministic and pure: no network, no I/O.
"""

from __future__ import annotations

import re
from itertools import combinations
from typing import Any

from .linekinds import math_share
from .models import Context, Paper, PaperText, Summary, Usage
from .pdfclean import prose_text
from .summarize import Request
from .template import DEFAULT_LANGUAGE, DEFAULT_TEMPLATE, Template, TemplateField, is_default_language
from .text import split_sentences

TLDR_WORDS = 50  # a TL;DR a reader takes in at a glance
TITLE_CHARS = 300  # the longest real titles are near 250 characters; the name is looked for in this much
SHORT_NAME_CHARS = 80  # what SummaryFields.short_name allows
NOT_STATED = "Not stated in the text available offline."
LEFT_TO_WRITE = "Left for you to write: the offline summarizer found no sentence of the paper for this field."

_PROPOSAL = re.compile(r"\b(?:we (?:propose|introduce|present|develop|design|describe|release|build|create|study|"
                       r"investigate|explore|analy[sz]e|show)|this (?:paper|work|study)|in this (?:paper|work)|"
                       r"our (?:contributions?|approach|method))\b", re.I)
_NEW = re.compile(rf"{_PROPOSAL.pattern}|\b(?:novel|a new|first (?:attempt|method|approach|to))\b|"
                  r"\b(?:called|named|dubbed|termed)\s+[A-Z]", re.I)
_HOW = re.compile(r"\b(?:(?:we|our method|our approach|our model|it|which) (?:use|uses|train|trains|apply|applies|"
                  r"leverage|leverages|build|builds|compute|computes|estimate|estimates|optimi[sz]es?|model|"
                  r"formulate|combine|combines|replace|replaces|generate|generates|learn|learns|connect|connects|"
                  r"freeze|freezes|inject|injects|map|maps|encode|encodes|decompose|decomposes)|by (?:using|\w+ing)|"
                  r"consists? of|based on|relies on|we (?:first|then)|is trained|are trained|is computed|takes as input)\b",
                  re.I)
_FINDING = re.compile(r"\b(?:we (?:find|found|show|observe|demonstrate|prove|discover|argue|hypothesi[sz]e|"
                      r"note|confirm)|surprisingly|suggests?|reveals?|indicates?|the (?:main|key) (?:idea|insight)|"
                      r"(?:key|important|main) (?:insight|finding|observation))\b", re.I)
_INSIGHT = re.compile(rf"{_FINDING.pattern}|\b(?:enables?|crucial|key|without|only)\b", re.I)
_RESTATE_IT = re.compile(r"^It (?=(?:obtains|achieves|outperforms|matches|reaches|improves|reduces|enables|uses|"
                         r"requires|allows|combines|learns|runs|scales|surpasses|attains|yields|trains|generates)\b)")
_RESULT = re.compile(r"\b(?:outperform\w*|improv\w*|achiev\w*|accuracy|faster|speed-?up|state-of-the-art|sota|"
                     r"reduc\w*|surpass\w*|(?<!to )match\w*|comparable|gain\w*|score\w*|reach\w*|better|lower|"
                     r"higher)\b|%|×", re.I)
_CONNECTIVE = re.compile(
    r"^(?:However|Moreover|Furthermore|In addition|Additionally|Notably|Specifically|Importantly|Finally|"
    r"First(?:ly)?|Second(?:ly)?|Third(?:ly)?|Thus|Therefore|Hence|Overall|As a result|In particular|Concretely|"
    r"Surprisingly|Remarkably|Empirically|Experimentally|Interestingly|Theoretically|Consequently|Instead|"
    r"Motivated by (?:this|these)[^,]{0,40}|With (?:this|these) (?:insights?|observations?|findings?)|"
    r"To (?:address|tackle|overcome|solve|mitigate|bridge|fill) (?:this|these|the)[^,]{0,40}|"
    r"Building on (?:this|these)[^,]{0,40}|In (?:this|our) (?:paper|work|study))\s*,\s+", re.I)
_ANAPHOR = re.compile(r"^(?:This|These|That|Those|It|Its|They|Their|Such|The latter|The former|Both)\b")
_CITATION_LEFT = re.compile(r"\bet al\b|\[\d|\[[A-Z][A-Za-z+]*\d{2}|\((?:[A-Z][a-z]+,? )+(?:19|20)\d{2}")
_CAPTION = re.compile(r"\b(?:Figure|Fig\.|Table|Algorithm)\s?\d+\s?[:|]|\([a-h]\)\s\S+\s\([b-h]\)")
_REFERENCE_ASIDE = re.compile(r"\s*\((?:see\s+|cf\.\s+)?(?:Fig(?:ure)?s?\.?|Tables?|Sec(?:tion)?s?\.?|Eq(?:uation)?s?\.?|"
                              r"Appendix|App\.)\s?[\dA-Z][^()]{0,30}\)")
_SYMBOLS = re.compile(r"[=∑∏∫√∞≤≥≈∈⊂→←⇒∀∃∂∇‖∆ΘΦΨΩΣΠ\u2190-\u21ff\u2700-\u27bf\U0001d400-\U0001d7ff]")
_NAME = r"[A-Z][A-Za-z0-9-]*[A-Z0-9][A-Za-z0-9-]*"  # MeZO, LLaVA, GPT-4: a capital inside
_STOP = set("a an the of and or for in on to with by at from via is are be we our this that these those as it its "
            "into using use based new model models language large".split())


def third_person(sentence: str) -> str:
    """The sentence as a reader's newsletter tells it: "We propose" -> "The authors propose",
    "our method" -> "their method"; a leading connective ("However,") dropped."""
    text = sentence
    for _ in range(2):
        text = _CONNECTIVE.sub("", text)
    text = re.sub(r"^(?:In this (?:paper|work|study|article)|Here),?\s+we\b", "The authors", text)
    text = re.sub(r"^We\b", "The authors", text)
    text = re.sub(r"^Our\b", "Their", text)
    text = re.sub(r"(?<![\w-])we(?![\w-])", "the authors", text)
    text = re.sub(r"(?<![\w-])We(?![\w-])", "The authors", text)
    text = re.sub(r"(?<![\w-])our(?![\w-])", "their", text)
    text = re.sub(r"(?<![\w-])Our(?![\w-])", "Their", text)
    text = re.sub(r"(?<![\w-])ours(?![\w-])", "theirs", text)
    text = re.sub(r"(?<![\w-])ourselves(?![\w-])", "themselves", text)
    text = re.sub(r"(?<![\w-])(?:let|Let) us\b", "one can", text)
    text = re.sub(r"(?<=\w )us(?![\w-])", "them", text)
    text = _REFERENCE_ASIDE.sub("", text)
    return text[:1].upper() + text[1:]


def _content_words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9-]+", text) if w.lower() not in _STOP}


def usable(sentence: str) -> bool:
    """A sentence a reader can take out of its paper: whole, prose, and citing nothing."""
    words = sentence.split()
    if not 6 <= len(words) <= 60 or not sentence.endswith((".", "!", "?")) or not sentence[:1].isupper():
        return False
    letters = sum(ch.isalpha() for ch in sentence)
    if letters / max(1, len(sentence)) < 0.6 or "http" in sentence or "@" in sentence:
        return False
    if sentence.count("(") != sentence.count(")") or _SYMBOLS.search(sentence) or math_share(sentence) > 0.02:
        return False
    if re.search(r"[|\\^_]", sentence):
        return False
    return not _CITATION_LEFT.search(sentence) and not _CAPTION.search(sentence)


def sentences(text: str) -> list[str]:
    """The sentences of each paragraph (paragraphs are separated by blank lines), list bullets dropped."""
    found = []
    for paragraph in re.split(r"\n\s*\n", text):
        for sentence in split_sentences(paragraph):
            found.append(re.sub(r"^(?:[•◦▪▸►∙‣⁃]|\(?\d{1,2}[.)]|\([a-z]\))\s*", "", sentence))
    return [s for s in found if s]


_GENERIC_NAMES = {"LLM", "LLMs", "NLP", "AI", "ML", "RL", "QA", "GPU", "GPUs", "CNN", "RNN", "LM", "LMs", "API", "APIs"}


def _named(token: str) -> bool:
    """A method's name (LoRA, GPT-4, RefinedWeb), not a generic acronym (LLM) or a capitalised
    compound word (Low-Power, Open-Domain)."""
    if token in _GENERIC_NAMES or len(token) > 20:
        return False
    inner = [i for i, ch in enumerate(token) if i and ch.isupper()]
    return any(token[i - 1] != "-" for i in inner) or any(ch.isdigit() for ch in token)


def short_name(paper: Paper) -> str:
    """The name the paper gives its method: the acronym it defines for its title ("Direct Preference
    Optimization (DPO)"), a short title head ("LoRA: ..."), the name it proposes ("we introduce Goat",
    "namely BitNet b1.58"), a name in its title ("RefinedWeb"), else the title's first words.
    Never longer than SHORT_NAME_CHARS, whatever the title (a 10 MB one-word title from a hostile feed)."""
    name = _short_name(paper.title[:TITLE_CHARS], paper.abstract)
    return name if len(name) <= SHORT_NAME_CHARS else name[: SHORT_NAME_CHARS - 1].rstrip() + "…"


def _short_name(title: str, abstract: str) -> str:
    head = title.split(":", 1)[0].strip()
    head_words = head.split()
    if ":" in title and len(head_words) > 1:
        acronym = re.search(rf"(?i:{re.escape(head)})\s*\(({_NAME})\)", abstract)
        if acronym:
            return acronym.group(1)
    if ":" in title and 0 < len(head_words) <= 3:
        return head
    proposals = [s for s in split_sentences(abstract) if _NEW.search(s)]
    for sentence in proposals:
        named = (re.search(rf"\(({_NAME})\)", sentence)
                 or re.search(rf"\b(?:propose|introduce|present|call|name|dub|term)\w*\s+({_NAME}(?:\s[a-z]?\d[\w.]*\d)?)\b",
                              sentence)
                 or re.search(rf"\bnamely\s+({_NAME}(?:\s[a-z]?\d[\w.]*\d)?)\b", sentence))
        if named and not named.group(1).endswith("s") and _named(named.group(1)):
            return named.group(1)
    for token in re.findall(rf"(?<![\w-])({_NAME})(?![\w-])", title):
        if _named(token) and len(token) >= 3:
            return token
    for defined in re.finditer(rf"\(({_NAME})\)", abstract):
        name = defined.group(1)
        if not name.endswith("s") and _named(name):
            return name
    if 0 < len(head_words) <= 5:
        return head
    words = title.split()
    return " ".join(words[:4]) + ("…" if len(words) > 4 else "")


def make(settings: Any, counter: Any, prompts: Any) -> OfflineSummarizer:
    return OfflineSummarizer(settings.template, settings.language)


class OfflineSummarizer:
    """The Summarizer (see summarize.py) that needs no server. Deterministic: every field of
    ``template`` is made of the paper's own sentences. Pays for nothing, so it caches nothing."""

    backend = "offline"
    model = "extractive-v2"

    def __init__(self, template: Template = DEFAULT_TEMPLATE, language: str = DEFAULT_LANGUAGE) -> None:
        self.template = template
        # Said once per run (the session shows it): sentences copied from a paper keep its language.
        self.notice = "" if is_default_language(language) else (
            f"the offline summarizer copies the paper's own sentences: its summaries stay in the paper's "
            f"language, not {language} ([llm] language needs an LLM)")

    def request(self, paper: Paper, text: PaperText) -> Request:
        return Request(paper, text, None, [], 0)

    def cached(self, request: Request) -> Summary | None:
        return None

    def lock(self, key: str) -> Any:
        return None

    def describe(self, request: Request) -> str:
        return "offline extractive summarizer"

    def close(self) -> None:
        pass

    def summarize(self, paper: Paper, text: PaperText, context: Context | None = None) -> Summary:
        from .schema import summary_model

        name = short_name(paper)
        abstract = [s for s in sentences(prose_text(paper.abstract)) if usable(s)]  # cleaned as the PDF's prose is
        body = {kind: [s for s in sentences(text.text_of(kind)) if usable(s)]
                for kind in ("introduction", "results", "conclusion")}
        method = [s for section in _method_sections(text, name) for s in sentences(section) if usable(s)]
        picker = _Picker()
        tldr = picker.tldr(abstract, paper.title)
        findings = abstract + body["results"] + body["conclusion"]
        introduction = abstract + body["introduction"]
        results = (picker.pick(findings, _RESULT, 3, need_digit=True) or picker.pick(findings, _RESULT, 2)
                   or picker.pick(body["conclusion"] + abstract, None, 1))
        whats_new = (picker.pick(introduction, _PROPOSAL, 2) or picker.pick(introduction, _NEW, 2)
                     or picker.pick(introduction, None, 1))
        how = (picker.pick(method + abstract, _HOW, 3) or picker.pick(method, None, 2)
               or picker.pick(body["introduction"] + abstract, _HOW, 2) or picker.pick(introduction, None, 1))
        insights = picker.pick(introduction + body["results"] + body["conclusion"], _FINDING, 3)
        if len(insights) < 2:
            insights += picker.pick(abstract + body["conclusion"] + body["introduction"], _INSIGHT, 2 - len(insights))
        if len(insights) < 2:
            insights += picker.pick(body["conclusion"] + introduction, None, 2 - len(insights))

        def told(sentences: list[str]) -> list[str]:
            named = name if not name.endswith("…") else ""
            return [_RESTATE_IT.sub(lambda _: f"{named} ", third_person(s)) if named else third_person(s)
                    for s in sentences]

        builtin: dict[str, Any] = {
            "tldr": " ".join(told(tldr)) or paper.title,
            "whats_new": " ".join(told(whats_new)) or NOT_STATED,
            "how_it_works": " ".join(told(how)) or NOT_STATED,
            "key_insights": told(insights) or [NOT_STATED],
            "results": " ".join(told(results)) or NOT_STATED,
        }
        names = self.template.names
        pool = introduction + method + body["results"] + body["conclusion"]
        own = {field.name: told(_guess(picker, pool, field)) for field in self.template.fields if not field.builtin}
        left = [field_name for field_name, chosen in own.items() if not chosen]
        values = {**builtin, **{field.name: _joined(own[field.name], field) for field in self.template.fields
                                if not field.builtin}}
        fields = summary_model(self.template)(
            short_name=name,
            **{field_name: values[field_name] for field_name in names},
            code_url=text.code_links[0] if text.code_links else None,
            # verbatim: the grounding check finds them in the paper
            evidence=(results if "results" in names else []) + (insights if "key_insights" in names else []),
        )
        guessed = [field_name for field_name in own if field_name not in left]
        warnings = ((f"{', '.join(guessed)}: the paper's sentences sharing the field's words, a guess to check",)
                    if guessed else ()) + ((f"{', '.join(left)}: no sentence of the paper fits; left for you to write",)
                                           if left else ())
        return Summary(fields, self.backend, self.model, "", Usage(), cached=False, warnings=warnings)


_PROMPT_WORDS = set("one two three four short sentence sentences line lines why what how who which paper authors "
                    "list item items practitioner reader readers should would write summary".split())


def _guess(picker: _Picker, pool: list[str], field: TemplateField) -> list[str]:
    """The sentences a field of the writer's own most likely wants: those that share a word of its
    name, label or description ("Limitations" finds "A limitation of our method is ..."); none when
    no sentence does."""
    words = _content_words(f"{field.name.replace('_', ' ')} {field.label} {field.description}") - _PROMPT_WORDS
    stems = sorted({word[:7] if len(word) > 7 else word.removesuffix("s") for word in words if len(word) > 3})
    if not stems:
        return []
    cue = re.compile(rf"\b(?:{'|'.join(re.escape(stem) for stem in stems)})\w*", re.I)
    return picker.pick(pool, cue, 3 if field.kind == "list" else 2)


def _joined(chosen: list[str], field: TemplateField) -> Any:
    if field.kind == "list":
        return chosen or [LEFT_TO_WRITE]
    return " ".join(chosen) or LEFT_TO_WRITE


def _method_sections(text: PaperText, name: str) -> list[str]:
    """The text of the method sections, the one that presents the paper's own method first
    ("Our Method", "LoRA") and background ("Problem Statement", "Preliminaries") last."""
    sections = [s for s in text.sections if s.kind == "method"]

    def rank(heading: str) -> int:
        words = heading.lower()
        if name and name.lower() in words or re.search(r"\b(?:our|proposed|method|approach|model|architecture|"
                                                         r"framework|design|algorithm)\b", words):
            return 0
        if re.search(r"\b(?:background|preliminar|problem|notation|related|setup|setting)", words):
            return 2
        return 1

    return [s.text for s in sorted(sections, key=lambda s: rank(s.heading))]


_MEASURED = re.compile(r"\d\s?%|\d\s?(?:×|x\b)|\d\s*times\b|\b(?:outperform\w*|surpass\w*|speed-?ups?|"
                       r"improv\w*|achiev\w*|state-of-the-art)\b", re.I)
_POINTER = re.compile(r"\b(?:Sec(?:tion)?s?\.?|Fig(?:ure)?s?\.?|Tables?|Eqs?\.?|Equations?|Appendix)\s?[\dA-Z][\d.]*")


class _Picker:
    """Chooses sentences for the fields, never the same one twice, nor one that says what a chosen
    one already says in nearly the same words."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self._words: list[set[str]] = []

    def _repeats(self, sentence: str) -> bool:
        words = _content_words(sentence)
        return any(len(words & seen) >= 0.6 * min(len(words), len(seen)) for seen in self._words if seen)

    def _take(self, sentence: str) -> None:
        self.used.add(sentence)
        self._words.append(_content_words(sentence))

    def pick(self, pool: list[str], cue: re.Pattern[str] | None, count: int, need_digit: bool = False) -> list[str]:
        """Up to ``count`` sentences of ``pool`` with the cue, those that stand on their own (no
        leading "This" or "These") first; for results (``need_digit``), measured ones first (a
        percentage, a speed-up, "outperforms") and figures that are not a pointer to a table."""
        def rank(sentence: str) -> tuple[int, int]:
            anaphoric = bool(_ANAPHOR.match(_CONNECTIVE.sub("", sentence)))
            return (anaphoric, 0 if not need_digit or _MEASURED.search(sentence) else 1)

        chosen = []
        for sentence in sorted(pool, key=rank):
            if sentence in self.used or (cue and not cue.search(sentence)) or self._repeats(sentence):
                continue
            if need_digit and not re.search(r"\d", _POINTER.sub("", sentence)):
                continue
            chosen.append(sentence)
            self._take(sentence)
            if len(chosen) == count:
                break
        order = {sentence: index for index, sentence in enumerate(pool)}
        return sorted(chosen, key=order.__getitem__)

    def tldr(self, abstract: list[str], title: str) -> list[str]:
        """The abstract's sentences that best say what the paper does, within TLDR_WORDS words:
        a proposal or a result, sharing words with the title, early, and readable on their own
        (no leading "This" pointing at a sentence left out). Kept in the paper's order."""
        title_words = _content_words(title)
        scores = []
        for position, sentence in enumerate(abstract):
            score = 3.0 if _PROPOSAL.search(sentence) else 1.5 if _NEW.search(sentence) else 0.0
            score += 2.0 if _RESULT.search(sentence) else 0.0
            score += 3.0 * len(_content_words(sentence) & title_words) / max(1, len(title_words))
            score -= 0.15 * position
            score -= 2.0 if _ANAPHOR.match(_CONNECTIVE.sub("", sentence)) else 0.0
            scores.append(score)
        lengths = [len(third_person(s).split()) for s in abstract]
        best: tuple[float, tuple[int, ...]] = (float("-inf"), ())
        for size in (1, 2, 3):
            for combo in combinations(range(len(abstract)), size):
                words = sum(lengths[i] for i in combo)
                if words > TLDR_WORDS:
                    continue
                value = sum(scores[i] for i in combo) + 0.02 * words
                if value > best[0]:
                    best = (value, combo)
        chosen = [abstract[i] for i in best[1]]
        if not chosen and abstract:  # every sentence is too long: the best one, cut at a clause
            best_one = abstract[max(range(len(abstract)), key=scores.__getitem__)]
            self._take(best_one)
            return [_shorten(best_one, TLDR_WORDS)]
        for sentence in chosen:
            self._take(sentence)
        return chosen


def _shorten(sentence: str, limit: int) -> str:
    """A sentence within ``limit`` words: asides in parentheses dropped, then cut after a clause."""
    if len(third_person(sentence).split()) <= limit:
        return sentence
    sentence = re.sub(r"\s*\([^()]*\)", "", sentence)
    words = sentence.split()
    if len(words) <= limit - 2:
        return sentence
    cut = " ".join(words[: limit - 2])
    clause = max(cut.rfind(", "), cut.rfind("; "))
    return (cut[:clause] if clause > len(cut) // 2 else cut.rsplit(" ", 1)[0]).rstrip(",;") + "."
