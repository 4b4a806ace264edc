"""The typer plumbing under cli.py: every error becomes one line on stderr and an exit code, every
option value must be text, and a command's UsageError is shown as typer shows a bad flag.

Part of the CLI layer: imports only commands/, progress and errors, like cli.py; holds the app, its
global options (--debug, --version), what every command does around its call (open a session, print
rows, map a report to an exit code), and no command.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from . import __version__
from .errors import DigestError, UsageError, quoted
from .progress import echo_err, echo_traceback

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
state = {"debug": False}  # set by the --debug option


def _err(message: str) -> None:
    echo_err(message)  # no key, no escape sequences from outside


def _debug_traceback(ctx: typer.Context, error: BaseException) -> None:
    echo_traceback(error)
    ctx.exit(EXIT_ERROR)


class DigestGroup(TyperGroup):
    """Turns DigestError (and surprises) into one line on stderr."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _err("digest: interrupted; finished items are saved, rerun the same command to resume")
            ctx.exit(130)
        except Exception as error:
            if _is_cli_control_flow(error):
                raise
            if state["debug"]:
                _debug_traceback(ctx, error)
            _err(_error_line(error))
            ctx.exit(EXIT_ERROR)


def _error_line(error: Exception) -> str:
    """The one line for an error: a DigestError's own message, an OSError's reason, or a bug's name."""
    if isinstance(error, DigestError):
        return f"digest: error: {error}"
    if isinstance(error, OSError):  # a read-only folder, a full disk, a vanished file
        from .errors import os_reason

        where = f" {error.filename}" if error.filename else ""
        return f"digest: error: cannot access{where}: {os_reason(error)}"
    # A bug: still one line unless --debug.
    return f"digest: internal error: {type(error).__name__}: {error} (rerun with --debug for details)"


def _is_cli_control_flow(error: Exception) -> bool:
    """Exit, Abort and usage errors belong to typer, which prints them itself."""
    if isinstance(error, (typer.Exit, typer.Abort)):
        return True
    return type(error).__module__.split(".")[0] in ("typer", "click")


class DigestCommand(TyperCommand):
    """Refuses, in one line, a text option whose value is not text: bytes that are not UTF-8 reach
    Python's argv as lone surrogates, which no file, YAML or terminal can take later."""

    def invoke(self, ctx: Any) -> Any:
        for param in self.params:
            bad = _not_text(param, ctx.params.get(param.name or ""))
            if bad is not None:
                _err(f"digest: error: {max(param.opts, key=len)} {quoted(bad)}: not valid UTF-8 text; pass it in UTF-8")
                ctx.exit(EXIT_USAGE)
        try:
            return super().invoke(ctx)
        except UsageError as error:  # a value the command cannot take: shown as typer shows a bad flag
            raise typer.BadParameter(str(error), ctx=ctx, param_hint=error.param) from None


def _not_text(param: Any, value: Any) -> Any:
    """The value of an option that is not text (None when every value is)."""
    values = value if isinstance(value, (list, tuple)) else [value]
    if param.param_type_name != "option":
        return None
    return next((v for v in values if not _is_text(v)), None)


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


# -- what every command does around its call ---------------------------------------------------


def open_session(create: bool = False, dry_run: bool = False, reporter: Any = None, **flags: Any) -> Any:
    from .commands.session import Session

    session = Session.open(create=create, dry_run=dry_run, reporter=reporter, **flags)
    if session.created:
        echo_err(f"digest: created a new workspace in {session.workspace.root} (edit digest.toml to set the "
                 "newsletter title)")
    return session


def out(line: str = "") -> None:
    """One line of data on stdout (outside text in it already made inert)."""
    typer.echo(line)


def exit_for(report: Any) -> None:
    """0 when every input landed or was there already; 1 when none did; 3 (partial) otherwise. A paper
    the cost cap did not start has not landed."""
    from .commands.outcomes import Status

    landed = sum(report.count(s) for s in (Status.ADDED, Status.REFRESHED, Status.PLANNED, Status.QUEUED))
    failed = report.count(Status.FAILED) + report.count(Status.NOT_STARTED)
    if failed and not (landed or report.count(Status.SKIPPED)):
        raise typer.Exit(EXIT_ERROR)
    if failed:
        raise typer.Exit(EXIT_PARTIAL)


def print_rows(rows: list[dict[str, Any]], as_json: bool, line: Any) -> None:
    """JSON (an "error" field only on a broken entry), or one line per row."""
    if as_json:
        out(json.dumps([{k: v for k, v in row.items() if k != "error" or v} for row in rows],
                       indent=2, ensure_ascii=False))
        return
    for row in rows:
        out(line(row))


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
    state["debug"] = debug


batch_app = DigestTyper(cls=DigestGroup, help="Follow and collect `digest add --batch` jobs.\n\n"
                        "Example: digest batch status && digest batch collect", no_args_is_help=True,
                        rich_markup_mode=None)
app.add_typer(batch_app, name="batch")
