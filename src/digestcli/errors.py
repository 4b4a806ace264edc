"""The one exception family of digest.

Every stage raises a DigestError subclass whose message is a complete,
user-facing sentence; only the CLI prints them. Never put secrets in a message.
"""

from __future__ import annotations

import errno


class DigestError(Exception):
    """A failure the user can act on; str(error) is the one line we print."""


class ConfigError(DigestError):
    """digest.toml, environment or flags are wrong."""


class WorkspaceError(DigestError):
    """No workspace, a bad issue name, or an unreadable item file."""


class IdentifierError(DigestError):
    """Input that is not an arXiv identifier we understand."""


class ArxivError(DigestError):
    """The arXiv API or PDF server failed, or a paper does not exist."""


class PdfError(DigestError):
    """A PDF that cannot be downloaded or read."""


class PdfNotFoundError(PdfError):
    """The PDF URL answered 404."""


class LLMError(DigestError):
    """The language model server failed or answered unusably."""


class LLMSetupError(LLMError):
    """The key, model or server is wrong: every paper would fail the same way, so stop asking."""


class ModelNotFoundError(LLMSetupError):
    """The server does not serve the model asked for (HTTP 404)."""


class Interrupted(DigestError):
    """The user pressed Ctrl-C before this paper's turn came."""


_QUOTED = 120  # characters of a bad input quoted back in its error line


def quoted(text: str) -> str:
    """``text`` quoted for an error line: repr (control characters and undecodable bytes escaped), cut short."""
    text = repr(text)
    return text if len(text) <= _QUOTED else text[:_QUOTED] + "…"


def os_reason(error: OSError) -> str:
    """A short reason a person understands: 'disk full', 'permission denied (read-only folder?)'."""
    if error.errno == errno.ENOSPC:
        return "disk full"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied (read-only folder?)"
    return error.strerror or str(error)


class UsageError(DigestError):
    """A value given to a command is not one it can take: the CLI shows it as a usage error (exit 2)
    on ``param`` ("--since", "CATEGORY"), the way it shows a bad flag."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param
