"""The workspace commands of the CLI: list, show, rm, mv, star, figure and new, what a writer does to
issues and items by hand.

Part of the CLI layer, like cli.py (which imports this module to register them on the same app, after
its own commands, so --help lists them in this order): parse, call one command, print. No logic here.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, Optional

import typer

from .cli_base import app, open_session, print_rows
from .progress import echo_err, shown


@app.command(name="list")
def list_(
    issue: Annotated[Optional[str], typer.Argument(metavar="ISSUE", help="Issue to list items of (default: list issues).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON to stdout.")] = False,
) -> None:
    """List issues with what each cost, or the items of one issue with what each cost.

    Example: digest list issue-1 --json
    """
    session = open_session()
    if issue is None:
        _list_issues(session, as_json)
    else:
        _list_items(session, issue, as_json)


def _list_issues(session: Any, as_json: bool) -> None:
    from dataclasses import asdict

    from .commands.issues import list_issues

    issues = list_issues(session)
    for row in issues:
        if row.error:  # flagged, not fatal: list is how you find what is broken
            echo_err(f"digest: warning: {row.error}")
    rows = [{**asdict(row), "cost": row.cost, "title": shown(row.title), "error": ""} for row in issues]
    print_rows(rows, as_json, lambda row: f"{'*' if row['current'] else ' '} {row['name']:<16} {row['items']:>3} "
                f"{'item' if row['items'] == 1 else 'items':<5}  {row['date']:<10}  {row['cost']:>9}  {row['title']}")


def _list_items(session: Any, issue: str, as_json: bool) -> None:
    from dataclasses import asdict

    from .commands.issues import list_items, total_cost

    items = list_items(session, issue)
    for row in items:
        if row.error:  # listed and flagged (build, export and check stop at it), named on stderr
            echo_err(f"digest: warning: {row.error}")
    rows = [{**asdict(row), **{k: shown(getattr(row, k)) for k in ("short_name", "title", "section")}, "cost": row.cost}
            for row in items]
    print_rows(rows, as_json, lambda row: f"{row['key']:<18} {row['section']:<10} {row['backend']:<8} "
                                          f"{row['cost']:>9} {row['title']}")
    if not as_json:
        echo_err(f"digest: {issue}: {len(items)} items, {total_cost(items)} for their summaries")


@app.command()
def show(
    issue: Annotated[str, typer.Argument(metavar="ISSUE", help="Issue name, e.g. issue-1.")],
    item: Annotated[str, typer.Argument(metavar="ID", help="Item id, e.g. 2305.17333.")],
) -> None:
    """Print one item file (front matter and summary).

    Example: digest show issue-1 2305.17333
    """
    from .commands.issues import show as show_item

    sys.stdout.write(show_item(open_session(), issue, item))


@app.command()
def rm(
    issue: Annotated[str, typer.Argument(metavar="ISSUE", help="Issue name, e.g. issue-1.")],
    item: Annotated[str, typer.Argument(metavar="ID", help="Item id, e.g. 2305.17333.")],
) -> None:
    """Remove an item from an issue.

    Example: digest rm issue-1 2305.17333
    """
    from .commands.issues import remove

    session = open_session()
    echo_err(f"digest: removed {remove(session, issue, item).relative_to(session.workspace.root)}")


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
    from .commands.issues import move

    session = open_session()
    path = move(session, issue, item, to=to, section=section, position=position)
    echo_err(f"digest: {path.relative_to(session.workspace.root)}" + (f" in {section}" if section else "")
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
    from .commands.issues import star as star_item

    session = open_session()
    path = star_item(session, issue, item, on=not off)
    echo_err(f"digest: {'unstarred' if off else 'starred'} {path.relative_to(session.workspace.root)}")


@app.command()
def figure(
    issue: Annotated[str, typer.Argument(metavar="ISSUE", help="Issue the item is in.")],
    item: Annotated[str, typer.Argument(metavar="ID", help="Item id, e.g. 2305.17333.")],
    number: Annotated[Optional[int], typer.Option("--number", "-n", min=1, metavar="N", help="Show the paper's Figure N.")] = None,
    none: Annotated[bool, typer.Option("--none", help="Show no figure.")] = False,
    image: Annotated[Optional[str], typer.Option("--image", metavar="FILE|URL", help="Show your own image: a PNG, JPEG, GIF or WebP file (copied beside the item) or an http(s) URL.")] = None,
) -> None:
    """Choose the figure an item shows; `add --force` keeps your choice.

    Example: digest figure issue-3 2305.17333 --number 3
    """
    from .commands.figures import choose
    from .progress import LineReporter

    with open_session(reporter=LineReporter()) as session:
        chosen = choose(session, issue, item, number=number, none=none, image=image)
    echo_err(f"digest: {item}: " + (f"shows {chosen.file}" if chosen and chosen.file else "shows no figure"))


@app.command()
def new(
    name: Annotated[Optional[str], typer.Argument(metavar="NAME", help="Issue name (default: the next issue-N).")] = None,
    title: Annotated[Optional[str], typer.Option(metavar="TITLE", help="Issue title (default: 'Issue #N').")] = None,
) -> None:
    """Start a new issue and make it the current one.

    Example: digest new issue-4 --title "Issue #4: Long context"
    """
    from .commands.issues import new as new_issue

    echo_err(f"digest: created {new_issue(open_session(), name, title)}; it is now the current issue")
