"""The one exception family of digest.

Every stage raises a DigestError subclass whose message is a complete,
user-facing sentence; only the CLI prints them. Never put secrets in a message.
"""


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


class Interrupted(DigestError):
    """The user pressed Ctrl-C before this paper's turn came."""
