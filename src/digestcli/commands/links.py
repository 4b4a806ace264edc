"""Inputs that are not arXiv papers: a paper at another PDF address (OpenReview, a direct .pdf), and
any other link (a repository, a video, an article), each filed as an item of its own.

Never prints; one address's failure is its outcome, never the batch's.
"""

from __future__ import annotations

from .. import items
from ..errors import DigestError
from ..links import document_key, document_pdf_url, fetch_link, legacy_item_key
from ..links import item_key as link_key
from ..models import ArxivId, Paper
from ..pdftext import paper_text, pdf_document_info
from .outcomes import Outcome, Status
from .paper import NotStarted, PaperSteps


def add_address(steps: PaperSteps, url: str, *, force: bool, dry_run: bool) -> Outcome:
    """A PDF address is summarized like a paper; any other link is read for a title and description."""
    try:
        if document_pdf_url(url) and not dry_run:
            return add_document(steps, url, force=force)
        return add_link(steps, url, force=force, dry_run=dry_run)
    except Exception as error:  # a bug in one address must not cost the rest of the batch (as for papers)
        message = f"{url}: internal error: {type(error).__name__}: {error}"
        steps.reporter.fail(message)
        return Outcome(url, Status.FAILED, message)


def _already_there(steps: PaperSteps, url: str, key: str, again: str) -> Outcome:
    message = f"{url} is already in {steps.issue} (--force {again} and keeps a backup)"
    steps.reporter.notice(message)
    return Outcome(url, Status.SKIPPED, message, key)


def add_document(steps: PaperSteps, url: str, *, force: bool) -> Outcome:
    """A paper from any PDF address, with its title, authors and abstract read from the PDF itself."""
    session = steps.session
    key = resource_key(steps, url, "doc")
    if session.workspace.has_item(steps.issue, key) and not force:
        return _already_there(steps, url, key, "regenerates it")
    pdf_url = document_pdf_url(url) or url
    try:
        data = session.arxiv.download_pdf(pdf_url)
        extracted = session.extractor.extract(data)
    except DigestError as error:
        steps.reporter.fail(f"{url}: {error}")
        return Outcome(url, Status.FAILED, str(error))
    title, authors, abstract = pdf_document_info(extracted)
    paper = Paper(id=ArxivId(key), title=title or url, abstract=abstract, authors=tuple(authors),
                  published="", updated="", primary_category="", categories=(), abs_url=url,
                  pdf_url=pdf_url, source="pdf")
    text = paper_text(paper, extracted=extracted)
    steps.keep_text(paper, text)
    steps.keep_figure(paper, extracted)
    try:
        summary, context_tokens = steps.gate.summarize(paper, text)
    except NotStarted as skipped:
        return steps.not_started(url, url, skipped)
    except DigestError as error:
        steps.reporter.fail(f"{url}: {error}")
        return Outcome(url, Status.FAILED, str(error))
    return steps.save(paper, text, summary, context_tokens, url, backup=force)


def add_link(steps: PaperSteps, url: str, *, force: bool, dry_run: bool) -> Outcome:
    """A link that is not a paper: its page read for a title and description, filed by kind."""
    session, issue, options = steps.session, steps.issue, steps.options
    key = resource_key(steps, url, "link")
    if session.workspace.has_item(issue, key) and not force:
        return _already_there(steps, url, key, "fetches it again")
    if dry_run:
        return Outcome(url, Status.SKIPPED, "links cost no tokens", key)
    info = fetch_link(session.arxiv.http, url)
    if info.warning:
        steps.reporter.warn(info.warning)
    try:
        with session.workspace.lock(issue):  # the old notes are read and kept under the same lock, as for papers
            item = items.link_item(key, info, steps.notes_for(key), section=options.section, title=options.title,
                                   quote=options.quote)
            if force and session.workspace.has_item(issue, key):  # --force keeps the old file, as for papers
                saved = session.workspace.backup_item(issue, key)
                steps.reporter.notice(f"kept the previous {key}.md as {saved.name}")
            path = session.workspace.write_item(issue, item)
    except DigestError as error:
        steps.reporter.fail(f"{url}: {error}")
        return Outcome(url, Status.FAILED, str(error))
    steps.reporter.stage(url, "saved", f"{path.relative_to(session.workspace.root)} ({info.section})")
    return Outcome(url, Status.ADDED, str(path), key)


def resource_key(steps: PaperSteps, url: str, prefix: str) -> str:
    """The item name of the link or document at ``url``. An item an earlier version named by host and
    path alone keeps that name when it records this very resource, so a workspace's items still match."""
    workspace, issue = steps.session.workspace, steps.issue
    name_of = document_key if prefix == "doc" else link_key
    key, legacy = name_of(url), legacy_item_key(url, prefix)
    if legacy == key or workspace.has_item(issue, key) or not workspace.has_item(issue, legacy):
        return key
    try:
        recorded = workspace.read_item(issue, legacy).address
        same = bool(recorded) and name_of(recorded) == key
    except DigestError:  # a broken or foreign file: leave it alone
        same = False
    return legacy if same else key
