"""The typer plumbing under cli.py: every error becomes one line on stderr and an exit code, every
option value must be text, and a command's UsageError is shown as typer shows a bad flag.

Part of the CLI layer: imports only progress and errors, like cli.py; holds the app and its global
options (--debug, --version), and no command.
"""

from __future__ import annotations

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
