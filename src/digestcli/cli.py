"""Command-line interface: parse the flags, call one command of the use-case layer, print its
result and map it to an exit code.

No logic lives here (see commands/). Data goes to stdout; progress, notices and errors go to
stderr. Every DigestError becomes one line and a non-zero exit; --debug shows the traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .cli_base import EXIT_ERROR, EXIT_PARTIAL, app, batch_app, exit_for, open_session, out
from .progress import echo_err, shown


def _write_or_print(post: Any, out: Optional[Path]) -> None:
    from .commands.publish import write_post

    if out is None:
        sys.stdout.write(post.text)
        sys.stdout.flush()
        return
    echo_err(f"digest: wrote {write_post(post, out)}")


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Folder for the workspace (created if missing).")] = Path("."),
    title: Annotated[str, typer.Option(metavar="TITLE", help="Newsletter title.")] = "Research Digest",
) -> None:
    """Create a workspace: digest.toml and an issues/ folder.

    Example: digest init my-newsletter --title "Papers of the Week"
    """
    from .commands.issues import FIRST_ISSUE, init as init_workspace

    workspace = init_workspace(directory, title)
    echo_err(f"digest: created workspace {workspace.root} with issue {FIRST_ISSUE}")


@app.command()
def doctor(
    model: Annotated[Optional[str], typer.Option("--model", "-m", metavar="MODEL", help="LLM model name (default: DIGEST_MODEL or digest.toml).")] = None,
    budget: Annotated[Optional[int], typer.Option("--budget", metavar="TOKENS", help="Input token budget per paper to check (default 8000).")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Check the set-up of the offline summarizer (no server is asked).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON to stdout.")] = False,
) -> None:
    """Check the set-up before a large run: key, server, model, context window, cost, speed.

    One line per check (✓ fine, ! warning, ✗ failed, - skipped): settings, API
    key (never shown), server, model, response format, the context window the
    server really reads, tokenizer, cost per paper, and whether a paper fits the
    timeouts at the server's speed. Sends a few tiny requests and one prompt of
    --budget tokens (on a paid server, about one paper's input). Exit 1 when a
    check failed.

    Example: digest doctor --budget 3000
    """
    from .commands.doctor import FAIL, WARN, diagnose

    checks = diagnose(model=model, input_budget=budget, offline=offline or None)
    if as_json:
        out(json.dumps([{**check.to_dict(), "message": shown(check.message)} for check in checks], indent=2,
                       ensure_ascii=False))
    else:
        for check in checks:
            out(f"{_MARKS[check.status]} {check.name:<10} {shown(check.message)}")
    failed, warned = (sum(check.status == status for check in checks) for status in (FAIL, WARN))
    echo_err(f"digest: doctor: {failed} failed, {warned} warnings" if failed or warned else
             "digest: doctor: every check passed")
    if failed:
        raise typer.Exit(EXIT_ERROR)


_MARKS = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "-"}


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
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, max=64, metavar="N", help="Summaries requested at once (default 4; 1 for a server on this machine).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the input tokens each paper would send and what it would cost at most (output taken as max_output_tokens), and the totals; call no LLM, write nothing.")] = False,
    max_cost: Annotated[Optional[float], typer.Option("--max-cost", min=0, metavar="DOLLARS", help="Start no summary whose estimated cost would take the run past DOLLARS; those papers are skipped (default: [llm] max_cost, else no cap).")] = None,
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
    from .commands.add import add as add_inputs, check_request, read_inputs, summarizer_notice
    from .commands.outcomes import AddReport, ItemOptions
    from .progress import make_reporter

    inputs = read_inputs(ids or [], sys.stdin, from_file)
    session = open_session(create=True, dry_run=dry_run, model=model, input_budget=budget, offline=offline or None,
                            jobs=jobs, max_cost=max_cost)
    report = AddReport(issue or session.settings.current_issue)
    check_request(session, report.issue, force=force, refresh=refresh, dry_run=dry_run, batch=batch)
    session.reporter = make_reporter(session.settings.model)  # after the checks
    if notice := summarizer_notice(session):
        session.reporter.notice(notice)
    try:
        options = ItemOptions(**{k: v for k, v in dict(section=section, title=title, note=note, quote=quote).items() if v})
        add_inputs(session, inputs, report.issue, force=force, refresh=refresh, dry_run=dry_run, batch=batch,
                   options=options, report=report)
    except KeyboardInterrupt:
        _say_spent(session, report)
        echo_err(f"digest: interrupted: {report.summary()}; rerun the same command to finish (nothing is paid twice)")
        raise typer.Exit(130) from None
    finally:
        session.close()
    _report_added(report, session, dry_run, batch)


def _say_spent(session: Any, report: Any) -> None:
    from .commands.add import spending

    if line := spending(session, report):
        echo_err(f"digest: {line}")


def _report_added(report: Any, session: Any, dry_run: bool, batch: bool) -> None:
    """The plan (--dry-run), the batch id (--batch), the money and the summary line; then the exit code."""
    from .commands.outcomes import Status

    if dry_run:
        _print_plan(report, session, batch)
    _say_spent(session, report)
    if report.batch_id:
        out(report.batch_id)
        echo_err(f"digest: batch {report.batch_id} submitted with {report.count(Status.QUEUED)} requests; "
             f"`digest batch status` follows it, `digest batch collect` adds the items when it is done")
    echo_err(f"digest: {report.summary()}")
    exit_for(report)


def _print_plan(report: Any, session: Any, batch: bool) -> None:
    """--dry-run: one tab-separated line per paper on stdout, then the total; how they were estimated."""
    from .commands.add import dry_run_plan

    lines, message = dry_run_plan(session, report, batch)
    for line in lines:
        out(line)
    echo_err(f"digest: dry run: {message}; nothing was written")


def _build(issue: Optional[str], *, style: Optional[str], strict: bool, figures: Optional[bool],
           site: Optional[str], fmt: str) -> Any:
    from .commands.atom import atom_feed
    from .commands.publish import build as build_post
    from .errors import UsageError

    if fmt == "atom" and issue is not None:
        raise UsageError("the feed holds every issue: give no ISSUE with --format atom", "ISSUE")
    if fmt == "atom":
        return atom_feed(open_session(), style=style, site=site)
    return build_post(open_session(), issue, style=style, strict=strict, figures=figures, site=site)


@app.command()
def build(
    issue: Annotated[Optional[str], typer.Argument(metavar="ISSUE", help="Issue to render (default: the current issue).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", metavar="DIR", help="Write into DIR instead of stdout: DIR/YYYY-MM-DD-<slug>.md for Jekyll (figures under the blog's root); where --site and --format put files, see README.")] = None,
    style: Annotated[Optional[str], typer.Option(metavar="STYLE", help="newsletter, highlights, digest or bookmarks (all issues), or your own templates/<style>.md.j2 (default: [newsletter] style in digest.toml).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse to build when an item states a number or name its paper does not contain.")] = False,
    figures: Annotated[Optional[bool], typer.Option("--figures/--no-figures", help="Show each paper's figure (default: in the styles of [newsletter] figure_styles, the newsletter style alone unless set; html and email: always).")] = None,
    site: Annotated[Optional[str], typer.Option(metavar="SITE", help="jekyll, hugo, mkdocs or quarto: that generator's file layout under --out DIR (its site root), front matter and escaping (default: [newsletter] site, else jekyll).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="markdown (default: the issue's post), html (a standalone page; --out DIR copies its figures beside it), email (HTML with inline styles; --out DIR writes .html, .txt and .eml) or atom (a feed of every issue; --out DIR writes the site's atom.xml).")] = "markdown",
) -> None:
    """Render an issue as one newsletter post with the front matter of your site generator (Jekyll
    unless --site or [newsletter] site says otherwise), a web page or an email; or every issue as an
    Atom feed.

    Example: digest build issue-3 > _posts/2026-11-23-issue-3.md
    """
    from .commands.pages import check_format
    from .errors import WorkspaceError

    check_format(fmt, style, site=site, strict=strict, figures=figures)
    if fmt in ("html", "email"):
        return _build_page(issue, out, fmt, strict, figures)
    post = _build(issue, style=style, strict=strict, figures=figures, site=site, fmt=fmt)
    if post.warning:
        echo_err(f"digest: warning: {post.warning}")
    for key, listed in post.unverified.items():
        echo_err(f"digest: {'error' if strict else 'warning'}: {key}: claims not found in the paper: {'; '.join(listed)}")
    if post.refused:
        raise WorkspaceError(post.refused)
    _write_or_print(post, out)


def _build_page(issue: Optional[str], out: Optional[Path], fmt: str, strict: bool, figures: Optional[bool]) -> None:
    """build --format html|email: the page on stdout, or its files in --out DIR."""
    from .commands.pages import build_page, write_page
    from .errors import WorkspaceError

    page = build_page(open_session(), issue, fmt=fmt, strict=strict, figures=figures, to_folder=out is not None)
    for key, listed in page.unverified.items():
        echo_err(f"digest: {'error' if strict else 'warning'}: {key}: claims not found in the paper: {'; '.join(listed)}")
    if page.refused:
        raise WorkspaceError(page.refused)
    for notice in page.notices:
        echo_err(f"digest: warning: {notice}")
    if out is None:
        sys.stdout.write(page.text)
        sys.stdout.flush()
        return
    for path in write_page(page, out):
        echo_err(f"digest: wrote {path}")


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
    from .commands.check import check as check_issue
    from .progress import LineReporter

    with open_session(reporter=LineReporter()) as session:
        result = check_issue(session, issue)
    for key in result.unchecked:
        echo_err(f"digest: warning: {key}: the paper's text is not available; not checked")
    rows = [checked.to_dict() for checked in result.checked]
    if as_json:
        out(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        for row in rows:
            out(f"{row['item']}  {shown(row['title'])}: {row['claims']} claims, {row['found']} found")
            for finding in row["findings"]:
                out(f"  {finding['field']:<13} {shown(finding['claim']):<24} {_page(finding['page'])}")
    echo_err(f"digest: {len(rows)} items checked, {result.failing} with claims not found in their paper")
    if result.failing:
        raise typer.Exit(EXIT_ERROR)


def _page(page: Optional[int]) -> str:
    return "NOT FOUND" if page is None else "abstract/comment" if page == 0 else f"page {page}"


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
    from .commands.add import add as add_inputs
    from .commands.feed import check_query, feed as find_new, since_time
    from .commands.outcomes import AddReport
    from .progress import LineReporter

    check_query(categories, match)  # before a workspace is looked for (or made, with --add)
    start = since_time(since)
    session = open_session(create=add, reporter=LineReporter())
    session = session if add or rank else session.offline()
    try:
        entries = find_new(session, categories, start, match=match, rank=rank)
        for entry in entries:
            out("\t".join(shown(v) for v in (entry.paper.id.versioned, entry.paper.title, entry.authors,
                                               entry.first_sentence)))
        echo_err(f"digest: {len(entries)} new papers in {', '.join(categories)} since {start:%Y-%m-%d %H:%M} UTC")
        if add and entries:
            report = AddReport(issue or session.settings.current_issue)
            add_inputs(session, [e.paper.id.versioned for e in entries], report.issue, report=report)
            echo_err(f"digest: {report.summary()}")
    finally:
        session.close()


@app.command()
def export(
    issue: Annotated[Optional[str], typer.Argument(metavar="ISSUE", help="Issue to export (default: the current issue).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="json, bibtex or csv.")] = "json",
) -> None:
    """Print an issue's items as JSON, BibTeX or CSV on stdout.

    Example: digest export issue-3 --format bibtex > issue-3.bib
    """
    from .commands.publish import check_format, export as export_issue

    check_format(fmt)  # a usage error before any workspace is looked for
    sys.stdout.write(export_issue(open_session(), issue, fmt))


def _batch_session() -> Any:
    from .commands.batch import check_ready
    from .progress import make_reporter

    session = open_session()
    check_ready(session)  # before a live table is drawn
    session.reporter = make_reporter(session.settings.model)
    return session


@batch_app.command("status")
def batch_status(
    batch_id: Annotated[Optional[str], typer.Argument(metavar="BATCH", help="A batch id (default: every batch of this workspace).")] = None,
) -> None:
    """Print each batch: id, status, requests done, issue.

    Example: digest batch status
    """
    from .commands.batch import status

    shown_any = False
    with _batch_session() as session:
        for state in status(session, batch_id):
            out(f"{state.id}\t{shown(state.state)}\t{state.issue}\t{state.papers} papers")
            shown_any = True
    if not shown_any:
        echo_err("digest: no batches in this workspace (digest add --batch ID... starts one)")


@batch_app.command("collect")
def batch_collect(
    batch_id: Annotated[Optional[str], typer.Argument(metavar="BATCH", help="A batch id (default: every batch of this workspace).")] = None,
) -> None:
    """Add the items of finished batches to their issues; collecting twice is harmless.

    Example: digest batch collect
    """
    from .commands.batch import collect
    from .commands.outcomes import Status

    failed = 0
    with _batch_session() as session:
        for batch in collect(session, batch_id):
            failed += batch.report.count(Status.FAILED)
            if batch.done:
                echo_err(f"digest: batch {batch.id}: {batch.report.summary()}")
            else:
                echo_err(f"digest: batch {batch.id} is {batch.state}; collect it later")
    if failed:
        raise typer.Exit(EXIT_PARTIAL)


# The workspace commands (list, show, rm, mv, star, figure, new) register on the same app, after the
# commands above: --help lists them in this order.
from . import cli_workspace  # noqa: E402,F401


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
