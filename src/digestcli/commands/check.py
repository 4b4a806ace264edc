"""`digest check`: every number and named dataset, benchmark or model of each item, looked up in
its paper's text (downloaded and extracted once when no run has kept it).

Never prints. Also the home of an item's claims for `build --strict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import DigestError
from ..grounding import Verdict, check as check_fields, still_unverified
from ..ids import parse_many
from ..items import Item
from ..template import DEFAULT_TEMPLATE, Template
from ..textcache import TextCache
from .session import Session


@dataclass(frozen=True)
class CheckedItem:
    key: str
    title: str
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.key, "title": self.title, **self.verdict.to_meta(),
                "findings": [{"field": f.claim.field, "claim": f.claim.text, "kind": f.claim.kind, "page": f.page}
                             for f in self.verdict.findings]}


@dataclass
class CheckResult:
    issue: str
    checked: list[CheckedItem] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # items whose paper's text is not available

    @property
    def failing(self) -> int:
        """Items with a claim not found in their paper."""
        return sum(1 for c in self.checked if c.verdict.unverified)


def item_verdict(item: Item, texts: TextCache, template: Template = DEFAULT_TEMPLATE,
                 translated: bool = False) -> Verdict | None:
    """The item's verdict against its paper's kept text, or None when no run has kept it; the
    template's editorial fields are not checked, a ``translated`` summary's names as grounding reads them."""
    source = texts.get(item.source_id)
    if source is None:
        return None
    return check_fields({**item.summary_fields(template), "evidence": item.evidence}, source, item.accepted_claims,
                        editorial=template.editorial, translated=translated)


def unverified_claims(items: list[Item], texts: TextCache, template: Template = DEFAULT_TEMPLATE,
                      translated: bool = False) -> dict[str, list[str]]:
    """Item key -> its claims not found in the paper: checked again when the paper's text is kept,
    else as recorded when the item was added."""
    found: dict[str, list[str]] = {}
    for item in items:
        verdict = item_verdict(item, texts, template, translated)
        listed = ([f"{c.field}: {c.text}" for c in verdict.unverified] if verdict is not None
                  else still_unverified(item.recorded_unverified, item.accepted_claims))
        if listed:
            found[item.key] = listed
    return found


def fetch_texts(session: Session, inputs: list[str]) -> None:
    """Metadata, PDF and text of each paper, into the text cache (offline: no summary is made)."""
    from .paper import PaperSteps  # the PDF stages: loaded only when a paper must be read

    offline = session.offline()
    try:
        ids, _ = parse_many(inputs)
        steps = PaperSteps(offline, "")
        for result in offline.arxiv.fetch_papers(ids).values():
            if isinstance(result, DigestError):
                offline.reporter.warn(str(result))
            else:
                steps.text(result)
    finally:
        offline.close()


def check(session: Session, issue: str | None = None) -> CheckResult:
    """Each item of ``issue`` (default: the current one) checked against its paper."""
    name = issue or session.settings.current_issue
    session.workspace.load_issue(name)
    items = session.workspace.items(name)
    texts, template, translated = session.texts, session.settings.template, session.settings.translated
    verdicts = {item.key: item_verdict(item, texts, template, translated) for item in items}
    missing = [item for item in items if verdicts[item.key] is None]
    if missing:  # download and extract those papers once, then check them
        fetch_texts(session, [item.arxiv_id or item.key for item in missing])
        verdicts.update({item.key: item_verdict(item, texts, template, translated) for item in missing})
    result = CheckResult(name)
    for item in items:
        verdict = verdicts[item.key]
        if verdict is None:
            result.unchecked.append(item.key)
        else:
            result.checked.append(CheckedItem(item.key, item.title, verdict))
    return result
