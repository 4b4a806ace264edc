"""Command-line interface: parse arguments, call the stages, print.

No logic lives here. Data goes to stdout; progress, notices and errors go to
stderr. Every DigestError becomes one line and a non-zero exit; --debug shows
the traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from . import __version__
from .errors import DigestError, WorkspaceError
from .progress import echo_err
from .sanitize import terminal_text, without_controls

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
_state = {"debug": False}


def _err(message: str) -> None:
    echo_err(message)  # no key, no escape sequences from outside


def _debug_traceback(ctx: typer.Context, error: BaseException) -> None:
    """--debug: the traceback, printed here (not by Python) so that it passes through redaction too."""
    import traceback

    from .redaction import redact

    text = redact("".join(traceback.format_exception(error)).rstrip("\n"))
    typer.echo(without_controls(text), err=True)
    ctx.exit(EXIT_ERROR)


class DigestGroup(TyperGroup):
    """Turns DigestError (and surprises) into one line on stderr."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DigestError as error:
            if _state["debug"]:
                _debug_traceback(ctx, error)
            _err(f"digest: error: {error}")
            ctx.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            _err("digest: interrupted; finished items are saved, rerun the same command to resume")
            ctx.exit(130)
        except OSError as error:  # a read-only folder, a full disk, a vanished file
            if _state["debug"]:
                _debug_traceback(ctx, error)
            from .files import os_reason

            where = f" {error.filename}" if error.filename else ""
            _err(f"digest: error: cannot access{where}: {os_reason(error)}")
            ctx.exit(EXIT_ERROR)
        except Exception as error:
            if _is_cli_control_flow(error):
                raise
            if _state["debug"]:
                _debug_traceback(ctx, error)
            # A bug: still one line unless --debug.
            _err(f"digest: internal error: {type(error).__name__}: {error} (rerun with --debug for details)")
            ctx.exit(EXIT_ERROR)


def _is_cli_control_flow(error: Exception) -> bool:
    """Exit, Abort and usage errors belong to typer, which prints them itself."""
    if isinstance(error, (typer.Exit, typer.Abort)):
        return True
    return type(error).__module__.split(".")[0] in ("typer", "click")


class DigestCommand(TyperCommand):
    """Refuses, in one line, a text option whose value is not text: bytes that are not UTF-8 reach
    Python's argv as lone surrogates, which no file, YAML or terminal can take later."""

    def invoke(self, ctx: Any) -> Any:
        from .ids import shown

        for param in self.params:
            value = ctx.params.get(param.name or "")
            values = value if isinstance(value, (list, tuple)) else [value]
            if param.param_type_name == "option" and not all(_is_text(v) for v in values):
                option = max(param.opts, key=len)
                bad = next(v for v in values if not _is_text(v))
                _err(f"digest: error: {option} {shown(bad)}: not valid UTF-8 text; pass it in UTF-8")
                ctx.exit(EXIT_USAGE)
        return super().invoke(ctx)


def _is_text(value: Any) -> bool:
    """False for a string holding lone surrogates (undecodable bytes of an argument)."""
    if not isinstance(value, str):
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class DigestTyper(typer.Typer):
    """Every command of the app is a DigestCommand."""

    def command(self, *args: Any, cls: Any = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or DigestCommand, **kwargs)


app = DigestTyper(
    cls=DigestGroup,
    help="Summarize arXiv papers into an ML research newsletter.\n\n"
         "Example: digest init && digest add 2305.17333 && digest build > post.md",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"digest {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Print the version and exit.")] = None,
) -> None:
    _state["debug"] = debug


# -- helpers -------------------------------------------------------------------


def _settings(create: bool = False, dry_run: bool = False, **flags: Any) -> tuple[Any, Any]:
    from .config import find_workspace, load_settings
    from .store import Workspace

    cwd = Path.cwd()
    root = find_workspace(cwd)
    if root is None:
        if dry_run:  # writes nothing: the defaults stand in for the workspace it would create
            return load_settings(None).with_flags(**flags), Workspace(cwd)
        if not create:
            raise WorkspaceError(f"no digest.toml in {cwd} or any parent folder; run `digest init` to create a workspace")
        Workspace.create(cwd, "Research Digest")
        _err(f"digest: created a new workspace in {cwd} (edit digest.toml to set the newsletter title)")
        root = cwd
    settings = load_settings(root).with_flags(**flags)
    return settings, Workspace(root)


# -- commands ------------------------------------------------------------------


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Folder for the workspace (created if missing).")] = Path("."),
    title: Annotated[str, typer.Option(metavar="TITLE", help="Newsletter title.")] = "Research Digest",
) -> None:
    """Create a workspace: digest.toml and an issues/ folder.

    Example: digest init my-newsletter --title "Papers of the Week"
    """
    from .store import Workspace

    directory.mkdir(parents=True, exist_ok=True)
    workspace = Workspace.create(directory.resolve(), title)
    workspace.create_issue("issue-1")
    _err(f"digest: created workspace {workspace.root} with issue issue-1")


@app.command()
def add(
    ids: Annotated[Optional[list[str]], typer.Argument(metavar="ID", help="arXiv ids or URLs, e.g. 2305.17333 or https://arxiv.org/abs/2304.08485; - reads them from stdin.")] = None,
    from_file: Annotated[Optional[Path], typer.Option("--from", metavar="FILE", help="Read ids from FILE: one id or URL per line, # starts a comment.")] = None,
    issue: Annotated[Optional[str], typer.Option("--issue", "-i", metavar="NAME", help="Issue to add to (created on first use). Default: the current issue in digest.toml.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", metavar="MODEL", help="LLM model name (default: DIGEST_MODEL or digest.toml).")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Use the offline extractive summarizer even if OPENAI_API_KEY is set.")] = False,
    budget: Annotated[Optional[int], typer.Option("--budget", metavar="TOKENS", help="Input token budget per paper (default 8000).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Regenerate items already in the issue; the old file is kept as a .bak backup.")] = False,
    refresh: Annotated[bool, typer.Option("--refresh", help="Re-fetch arXiv metadata of items already in the issue; summary text is untouched.")] = False,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, max=64, metavar="N", help="Summaries requested at once (default 4).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the input tokens each paper would send, and the total; call no LLM, write nothing.")] = False,
    section: Annotated[Optional[str], typer.Option("--section", metavar="NAME", help="Newsletter section of the items (default: Research).")] = None,
    title: Annotated[Optional[str], typer.Option("--title", metavar="TEXT", help="Your own heading for the item instead of the paper's title.")] = None,
    note: Annotated[Optional[str], typer.Option("--note", metavar="TEXT", help="Your commentary, published verbatim under the summary.")] = None,
    quote: Annotated[Optional[str], typer.Option("--quote", metavar="TEXT", help="A quote shown under the item's heading.")] = None,
    batch: Annotated[bool, typer.Option("--batch", help="Send the summaries through the OpenAI Batch API (half the price, done within 24 h); finish with `digest batch collect`.")] = False,
) -> None:
    """Fetch papers from arXiv, summarize them and add them to an issue.

    PDF downloads, text extraction and summaries run as a pipeline: a paper's
    summary starts as soon as its own text is ready.

    Example: digest add 2305.17333 arXiv:2304.08485 --issue issue-3
    """
    from .ids import read_id_lines
    from .pipeline import AddPipeline, AddReport, ItemOptions

    inputs = list(ids or [])
    if "-" in inputs:
        stdin = getattr(sys.stdin, "buffer", None)
        inputs = [i for i in inputs if i != "-"] + read_id_lines(_lines_text(stdin.read()) if stdin else sys.stdin.read())
    if from_file is not None:
        try:
            inputs += read_id_lines(_lines_text(from_file.read_bytes()))
        except OSError as error:
            raise WorkspaceError(f"cannot read ids from {from_file}: {getattr(error, 'strerror', None) or error}") from None
    if not inputs:
        raise typer.BadParameter("give at least one arXiv id, --from FILE, or - to read ids from stdin")
    settings, workspace = _settings(create=True, dry_run=dry_run, model=model, input_budget=budget,
                                    offline=offline or None, jobs=jobs)
    target = issue or settings.current_issue
    from .store import validate_issue_name

    validate_issue_name(target)
    from .progress import make_reporter

    if force and refresh:
        raise typer.BadParameter("use either --force or --refresh, not both")
    if batch and (dry_run or not settings.use_llm):
        raise typer.BadParameter("--batch needs OPENAI_API_KEY (and no --offline or --dry-run)")
    reporter = make_reporter(settings.model, settings.price)
    if not settings.use_llm:
        why = "--offline" if settings.offline else "no OPENAI_API_KEY set"
        reporter.notice(f"{why}: using the offline extractive summarizer (fields are the paper's own sentences)")
    try:
        pipeline = AddPipeline(settings, workspace, reporter)
    except BaseException:
        reporter.close()  # a live display must give the terminal back
        raise
    report = AddReport(target)
    try:
        options = ItemOptions(section=section or "", title=title or "", note=note or "", quote=quote or "")
        pipeline.run(inputs, target, force=force, refresh=refresh, dry_run=dry_run, batch=batch, report=report,
                     options=options)
    except KeyboardInterrupt:
        _err(f"digest: interrupted: {_summary_line(report)}; rerun the same command to finish (nothing is paid twice)")
        raise typer.Exit(130) from None
    finally:
        pipeline.close()
        reporter.close()
    if dry_run:
        _print_plan(report, settings.model)
    if report.batch_id:
        typer.echo(report.batch_id)
        _err(f"digest: batch {report.batch_id} submitted with {report.count('batched')} requests; "
             f"`digest batch status` follows it, `digest batch collect` adds the items when it is done")
    _err(f"digest: {_summary_line(report)}")
    added = report.count("added") + report.count("refreshed") + report.count("planned") + report.count("batched")
    skipped, failed = report.count("skipped"), report.count("failed")
    if failed and not (added or skipped):
        raise typer.Exit(EXIT_ERROR)
    if failed:
        raise typer.Exit(EXIT_PARTIAL)


def _lines_text(data: bytes) -> str:
    """A file of ids as text: a UTF-8 BOM dropped, bytes that are not UTF-8 kept as escapes, so that
    line alone fails (naming it) and the others still land."""
    return data.decode("utf-8-sig", "surrogateescape")


def _print_plan(report: Any, model: str) -> None:
    """--dry-run: one tab-separated line per paper on stdout, then the total."""
    plans = [o.plan for o in sorted(report.outcomes, key=lambda o: o.position) if o.plan]
    for plan in plans:
        cached = "cached" if plan["cached"] else plan["text_source"]
        typer.echo(f"{plan['id']}\t{plan['tokens']}\t{cached}\t{terminal_text(plan['title'])}")
    to_send = sum(p["tokens"] for p in plans if not p["cached"])
    typer.echo(f"total\t{to_send}\t\t{len(plans)} papers, {sum(p['cached'] for p in plans)} cached")
    _err(f"digest: dry run: {to_send} input tokens would be sent to {model}; nothing was written")


def _summary_line(report: Any) -> str:
    if report.count("batched"):
        return (f"{report.count('batched')} queued in the batch, {report.count('added')} added from the cache, "
                f"{report.count('skipped')} skipped, {report.count('failed')} failed in {report.issue}")
    if report.count("planned"):
        return f"{report.count('planned')} planned, {report.count('skipped')} skipped, {report.count('failed')} failed in {report.issue}"
    counts = [f"{report.count(status)} {status}" for status in ("added", "refreshed", "skipped", "failed")
              if report.count(status) or status != "refreshed"]
    tokens_in, tokens_out = report.tokens
    spent = f"; {tokens_in} input / {tokens_out} output tokens spent" if tokens_in or tokens_out else ""
    return f"{', '.join(counts)} in {report.issue}{spent}"


@app.command()
def build(
    issue: Annotated[Optional[str], typer.Argument(metavar="ISSUE", help="Issue to render (default: the current issue).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", metavar="DIR", help="Write DIR/YYYY-MM-DD-<slug>.md instead of stdout.")] = None,
    style: Annotated[Optional[str], typer.Option(metavar="STYLE", help="newsletter, highlights, digest or bookmarks (all issues), or your own templates/<style>.md.j2 (default: [newsletter] style in digest.toml).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse to build when an item states a number or name its paper does not contain.")] = False,
) -> None:
    """Render an issue as one newsletter Markdown file with Jekyll front matter.

    Example: digest build issue-3 > _posts/2026-11-23-issue-3.md
    """
    from .render import post_filename, render_issue

    settings, workspace = _settings()
    style = style or settings.style
    if style == "bookmarks":  # one page across every issue
        from .render import render_bookmarks

        everything = [i for name in workspace.list_issues() for i in workspace.items(name)]
        text = render_bookmarks(everything, title=f"{settings.title}: bookmarks", layout=settings.layout,
                                tags=settings.tags, workspace=workspace.root)
        _write_or_print(text, out, "bookmarks.md")
        return
    name = issue or settings.current_issue
    info = workspace.load_issue(name)
    items = workspace.items(name)  # no lock: item files are replaced whole, and the workspace may be read-only
    from .grounding import text_cache, unverified_claims

    unverified = unverified_claims(items, text_cache(settings.cache_dir))
    for key, listed in unverified.items():
        _err(f"digest: {'error' if strict else 'warning'}: {key}: claims not found in the paper: {'; '.join(listed)}")
    if strict and unverified:
        raise WorkspaceError(f"--strict: {len(unverified)} item(s) state claims their paper does not support; "
                             "fix them or list them under accepted_claims (see `digest check`)")
    text = render_issue(info, items, newsletter_tags=settings.tags, layout=settings.layout,
                        default_description=settings.description, image=settings.image,
                        sections=settings.sections, workspace=workspace.root, style=style, topics=settings.topics)
    _write_or_print(text, out, post_filename(info))


def _write_or_print(text: str, out: Path | None, filename: str) -> None:
    from .files import write_atomic

    from .redaction import redact

    text = redact(text)  # items are redacted when written; this also covers one written by an older digest
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = out / filename
    write_atomic(path, text)
    _err(f"digest: wrote {path}")


@app.command()
def check(
    issue: Annotated[Optional[str], typer.Argument(metavar="ISSUE", help="Issue to check (default: the current issue).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON to stdout.")] = False,
) -> None:
    """Check every number and named dataset, benchmark or model of each item against its paper.

    Prints, per item, each claim and the page it was found on (0 = abstract or
    comment). Exit 1 when a claim is not found: fix the text, or list the claim
    under accepted_claims in the item's front matter.

    Example: digest check issue-3
    """
    from .grounding import item_verdict, text_cache

    settings, workspace = _settings()
    name = issue or settings.current_issue
    workspace.load_issue(name)
    items = workspace.items(name)
    cache = text_cache(settings.cache_dir)
    verdicts = {item.key: item_verdict(item, cache) for item in items}
    missing = [item for item in items if verdicts[item.key] is None]
    if missing:  # download and extract those papers once, then check them
        _fetch_texts(settings, workspace, [str(item.meta.get("arxiv_id", item.key)) for item in missing])
        verdicts.update({item.key: item_verdict(item, cache) for item in missing})
    report, bad = [], 0
    for item in items:
        verdict = verdicts[item.key]
        if verdict is None:
            _err(f"digest: warning: {item.key}: the paper's text is not available; not checked")
            continue
        bad += bool(verdict.unverified)
        report.append({"item": item.key, "title": item.title, **verdict.to_meta(),
                       "findings": [{"field": f.claim.field, "claim": f.claim.text, "kind": f.claim.kind,
                                     "page": f.page} for f in verdict.findings]})
    if as_json:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for entry in report:
            typer.echo(f"{entry['item']}  {terminal_text(entry['title'])}: {entry['claims']} claims, {entry['found']} found")
            for finding in entry["findings"]:
                where = "NOT FOUND" if finding["page"] is None else (
                    "abstract/comment" if finding["page"] == 0 else f"page {finding['page']}")
                typer.echo(f"  {finding['field']:<13} {terminal_text(finding['claim']):<24} {where}")
    _err(f"digest: {len(report)} items checked, {bad} with claims not found in their paper")
    if bad:
        raise typer.Exit(EXIT_ERROR)


def _fetch_texts(settings: Any, workspace: Any, arxiv_ids: list[str]) -> None:
    """Download and extract the papers whose text is not cached (so `check` can read them)."""
    from .pipeline import AddPipeline
    from .progress import LineReporter

    pipeline = AddPipeline(settings.with_flags(offline=True), workspace, LineReporter())
    try:
        pipeline.fetch_texts(arxiv_ids)
    finally:
        pipeline.close()


def _since(text: str) -> Any:
    """'1d', '12h', '2w' before now, or a date YYYY-MM-DD (UTC)."""
    import re
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    relative = re.fullmatch(r"(\d+)\s*([hdw])", text.strip().lower())
    try:
        if relative:
            amount, unit = int(relative.group(1)), relative.group(2)
            return now - timedelta(hours=amount * {"h": 1, "d": 24, "w": 168}[unit])
        return datetime.fromisoformat(text.strip()).replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError):  # OverflowError: 999999d is before the year 1
        raise typer.BadParameter(f"{text!r}: use 12h, 1d, 2w or a date such as 2026-11-20", param_hint="--since") from None


@app.command()
def feed(
    categories: Annotated[list[str], typer.Argument(metavar="CATEGORY", help="arXiv categories, e.g. cs.CL cs.LG.")],
    since: Annotated[str, typer.Option("--since", metavar="WHEN", help="12h, 1d, 2w or a date (default 1d).")] = "1d",
    match: Annotated[Optional[str], typer.Option("--match", metavar="REGEX", help="Keep papers whose title or abstract matches (case-insensitive).")] = None,
    add: Annotated[bool, typer.Option("--add", help="Add the papers listed to the current issue (or --issue).")] = False,
    issue: Annotated[Optional[str], typer.Option("--issue", "-i", metavar="NAME", help="Issue for --add.")] = None,
    rank: Annotated[bool, typer.Option("--rank", help="Order the papers by relevance to `topic` in digest.toml, with one LLM request.")] = False,
) -> None:
    """List new arXiv submissions in some categories: id, title, authors, first sentence.

    Example: digest feed cs.CL cs.LG --since 1d --match "retrieval|RAG" --add
    """
    import re
    from datetime import datetime, timezone

    from .pipeline import AddPipeline, AddReport
    from .progress import LineReporter
    from .text import split_sentences

    for category in categories:
        if not re.fullmatch(r"[a-z-]+(\.[A-Za-z-]+)?", category):
            raise typer.BadParameter(f"{category!r} is not an arXiv category such as cs.CL", param_hint="CATEGORY")
    try:
        pattern = re.compile(match, re.IGNORECASE) if match else None
    except re.error as error:
        raise typer.BadParameter(f"{match!r}: {error}", param_hint="--match") from None
    start = _since(since)
    settings, workspace = _settings(create=add)
    if rank and not (settings.use_llm and settings.topic):
        raise typer.BadParameter("--rank needs OPENAI_API_KEY and a topic under [newsletter] in digest.toml")
    pipeline = AddPipeline(settings if add or rank else settings.with_flags(offline=True), workspace, LineReporter())
    try:
        papers = pipeline.feed(categories, start, datetime.now(timezone.utc), pattern)
        if rank and len(papers) > 1:
            from .summarize import rank_by_topic

            firsts = [(p.title, (split_sentences(p.abstract) or [""])[0]) for p in papers]
            papers = [papers[i] for i in rank_by_topic(pipeline.summarizer, settings.topic, firsts)]
        for paper in papers:
            authors = ", ".join(paper.authors[:3]) + (" et al." if len(paper.authors) > 3 else "")
            first = (split_sentences(paper.abstract) or [""])[0]
            typer.echo("\t".join(terminal_text(v) for v in (paper.id.versioned, paper.title, authors, first)))
        _err(f"digest: {len(papers)} new papers in {', '.join(categories)} since {start:%Y-%m-%d %H:%M} UTC")
        if add and papers:
            report = AddReport(issue or settings.current_issue)
            pipeline.run([p.id.versioned for p in papers], report.issue, report=report)
            _err(f"digest: {_summary_line(report)}")
    finally:
        pipeline.close()


@app.command()
def export(
    issue: Annotated[Optional[str], typer.Argument(metavar="ISSUE", help="Issue to export (default: the current issue).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="json, bibtex or csv.")] = "json",
) -> None:
    """Print an issue's items as JSON, BibTeX or CSV on stdout.

    Example: digest export issue-3 --format bibtex > issue-3.bib
    """
    from .export import FORMATS, export as export_items

    if fmt not in FORMATS:
        raise typer.BadParameter(f"choose one of {', '.join(FORMATS)}", param_hint="--format")
    settings, workspace = _settings()
    name = issue or settings.current_issue
    workspace.load_issue(name)
    from .render import order_items

    items = workspace.items(name)
    ordered = [i for section in order_items(items, settings.sections) for i in section.source_items]
    from .redaction import redact

    sys.stdout.write(redact(export_items(ordered, fmt)))  # an item from an older digest may hold the key


@app.command(name="list")
def list_(
    issue: Annotated[Optional[str], typer.Argument(metavar="ISSUE", help="Issue to list items of (default: list issues).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON to stdout.")] = False,
) -> None:
    """List issues, or the items of one issue.

    Example: digest list issue-1 --json
    """
    settings, workspace = _settings()
    if issue is None:
        rows = []
        for name in workspace.list_issues():
            try:
                info = workspace.load_issue(name)
            except WorkspaceError as error:  # flagged, not fatal: list is how you find what is broken
                from .models import IssueInfo

                _err(f"digest: warning: {error}")
                info = IssueInfo(name=name, title=f"BROKEN: {error}", date="")
            count = len(list(workspace.issue_dir(name).glob("*.md"))) - 1
            rows.append({"name": name, "title": terminal_text(info.title), "date": info.date, "items": count,
                         "current": name == settings.current_issue})
        if as_json:
            typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        for row in rows:
            mark = "*" if row["current"] else " "
            noun = "item" if row["items"] == 1 else "items"
            typer.echo(f"{mark} {row['name']:<16} {row['items']:>3} {noun:<5}  {row['date']}  {row['title']}")
        return
    items, broken = workspace.scan_items(issue)
    rows = [{
        "key": item.key,
        "arxiv_id": item.meta.get("arxiv_id", ""),
        "short_name": terminal_text(item.meta.get("short_name", "")),
        "title": terminal_text(item.title),
        "section": terminal_text(item.section),
        "backend": (item.meta.get("provenance") or {}).get("backend", ""),
    } for item in items]
    for path, error in broken:  # listed and flagged (build, export and check stop at it), named on stderr
        _err(f"digest: warning: {error}")
        reason = str(error).removeprefix(f"{path}: ")
        rows.append({"key": path.stem, "arxiv_id": "", "short_name": "", "title": f"BROKEN: {reason}",
                     "section": "", "backend": "", "error": str(error)})
    rows.sort(key=lambda row: row["key"])
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        typer.echo(f"{row['key']:<18} {row['section']:<10} {row['backend']:<8} {row['title']}")


def _item_key(text: str) -> str:
    from .errors import IdentifierError
    from .ids import parse_arxiv_id

    try:
        return parse_arxiv_id(text).filename
    except IdentifierError:
        return text.strip()


@app.command()
def show(
    issue: Annotated[str, typer.Argument(metavar="ISSUE", help="Issue name, e.g. issue-1.")],
    item: Annotated[str, typer.Argument(metavar="ID", help="Item id, e.g. 2305.17333.")],
) -> None:
    """Print one item file (front matter and summary).

    Example: digest show issue-1 2305.17333
    """
    _, workspace = _settings()
    workspace.load_issue(issue)
    path = workspace.item_path(issue, _item_key(item))
    if not path.is_file():
        raise WorkspaceError(f"no item {item} in issue {issue}")
    from .redaction import redact

    sys.stdout.write(without_controls(redact(path.read_text(encoding="utf-8"))))


@app.command()
def rm(
    issue: Annotated[str, typer.Argument(metavar="ISSUE", help="Issue name, e.g. issue-1.")],
    item: Annotated[str, typer.Argument(metavar="ID", help="Item id, e.g. 2305.17333.")],
) -> None:
    """Remove an item from an issue.

    Example: digest rm issue-1 2305.17333
    """
    _, workspace = _settings()
    workspace.load_issue(issue)
    path = workspace.remove_item(issue, _item_key(item))
    _err(f"digest: removed {path.relative_to(workspace.root)}")


@app.command()
def mv(
    issue: Annotated[str, typer.Argument(metavar="ISSUE", help="Issue the item is in.")],
    item: Annotated[str, typer.Argument(metavar="ID", help="Item id, e.g. 2305.17333.")],
    to: Annotated[Optional[str], typer.Option("--to", metavar="ISSUE", help="Move the item to this issue.")] = None,
    section: Annotated[Optional[str], typer.Option("--section", metavar="NAME", help="Put the item in this section.")] = None,
    position: Annotated[Optional[int], typer.Option("--position", min=1, metavar="N", help="Place the item N-th in its section (build honours it).")] = None,
) -> None:
    """Move an item to another issue, another section, or another place in its section.

    Example: digest mv issue-3 2305.17333 --section "Efficient Training" --position 1
    """
    _, workspace = _settings()
    workspace.load_issue(issue)
    key = _item_key(item)
    if to is None and section is None and position is None:
        raise typer.BadParameter("say where: --to ISSUE, --section NAME and/or --position N")
    changes: dict[str, Any] = {}
    if section is not None:
        changes["section"] = section
    if position is not None:
        changes["order"] = position
    path = workspace.update_item(issue, key, changes) if changes else workspace.item_path(issue, key)
    if to is not None and to != issue:
        path = workspace.move_item(issue, key, to)
    _err(f"digest: {path.relative_to(workspace.root)}" + (f" in {section}" if section else "")
         + (f" at position {position}" if position else ""))


@app.command()
def star(
    issue: Annotated[str, typer.Argument(metavar="ISSUE", help="Issue the item is in.")],
    item: Annotated[str, typer.Argument(metavar="ID", help="Item id, e.g. 2305.17333.")],
    off: Annotated[bool, typer.Option("--off", help="Remove the star.")] = False,
) -> None:
    """Star an item as a favourite (the digest style marks it with (*)).

    Example: digest star issue-3 2305.17333
    """
    _, workspace = _settings()
    workspace.load_issue(issue)
    path = workspace.update_item(issue, _item_key(item), {"starred": None if off else True})
    _err(f"digest: {'unstarred' if off else 'starred'} {path.relative_to(workspace.root)}")


@app.command()
def new(
    name: Annotated[Optional[str], typer.Argument(metavar="NAME", help="Issue name (default: the next issue-N).")] = None,
    title: Annotated[Optional[str], typer.Option(metavar="TITLE", help="Issue title (default: 'Issue #N').")] = None,
) -> None:
    """Start a new issue and make it the current one.

    Example: digest new issue-4 --title "Issue #4: Long context"
    """
    _, workspace = _settings()
    # The next number is claimed, not just computed: two `digest new` at once make two issues.
    name = workspace.create_next_issue(title).name if name is None else workspace.create_issue(name, title).name
    workspace.set_current_issue(name)
    _err(f"digest: created {name}; it is now the current issue")


batch_app = DigestTyper(cls=DigestGroup, help="Follow and collect `digest add --batch` jobs.\n\n"
                        "Example: digest batch status && digest batch collect", no_args_is_help=True,
                        rich_markup_mode=None)
app.add_typer(batch_app, name="batch")


@contextmanager
def _batches(batch_id: str | None) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    """The pipeline (with the LLM client) and the one batch asked for, or every batch of the workspace."""
    from .pipeline import AddPipeline
    from .progress import make_reporter

    settings, workspace = _settings()
    if not settings.use_llm:
        raise WorkspaceError("batches need OPENAI_API_KEY (and no DIGEST_OFFLINE)")
    reporter = make_reporter(settings.model, settings.price)
    pipeline = None
    try:
        pipeline = AddPipeline(settings, workspace, reporter)
        yield pipeline, [pipeline.batches.load(batch_id)] if batch_id else pipeline.batches.all()
    finally:
        if pipeline is not None:
            pipeline.close()
        reporter.close()  # a live display must give the terminal back


@batch_app.command("status")
def batch_status(
    batch_id: Annotated[Optional[str], typer.Argument(metavar="BATCH", help="A batch id (default: every batch of this workspace).")] = None,
) -> None:
    """Print each batch: id, status, requests done, issue.

    Example: digest batch status
    """
    from . import batch as batches

    with _batches(batch_id) as (pipeline, records):
        for record in records:
            remote = batches.fetch(pipeline.summarizer.client, record["id"])
            typer.echo(f"{record['id']}\t{terminal_text(batches.describe(remote))}\t{record['issue']}\t"
                       f"{len(record['entries'])} papers")
        if not records:
            _err("digest: no batches in this workspace (digest add --batch ID... starts one)")


@batch_app.command("collect")
def batch_collect(
    batch_id: Annotated[Optional[str], typer.Argument(metavar="BATCH", help="A batch id (default: every batch of this workspace).")] = None,
) -> None:
    """Add the items of finished batches to their issues; collecting twice is harmless.

    Example: digest batch collect
    """
    from . import batch as batches
    from .pipeline import AddReport

    failed = 0
    with _batches(batch_id) as (pipeline, records):
        for record in records:
            report = AddReport(record["issue"])
            remote = pipeline.collect(record, report)
            if remote.status != "completed":
                _err(f"digest: batch {record['id']} is {batches.describe(remote)}; collect it later")
                continue
            failed += report.count("failed")
            _err(f"digest: batch {record['id']}: {_summary_line(report)}")
    if failed:
        raise typer.Exit(EXIT_PARTIAL)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
