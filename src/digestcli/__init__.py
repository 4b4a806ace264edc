"""digest: arXiv papers in, newsletter Markdown out.

The Python API is the layer the CLI stands on:

    from digestcli import Session, add, build
    with Session.open(offline=True) as session:
        report = add(session, ["2305.17333"], "issue-1")
        print(build(session, "issue-1").text)

Names are imported on first use, so `import digestcli` (and the CLI's start) stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it
_API = {
    "Session": "commands.session",
    "add": "commands.add",
    "AddReport": "commands.outcomes",
    "ItemOptions": "commands.outcomes",
    "Outcome": "commands.outcomes",
    "Status": "commands.outcomes",
    "feed": "commands.feed",
    "check": "commands.check",
    "build": "commands.publish",
    "export": "commands.publish",
    "write_post": "commands.publish",
    "build_page": "commands.pages",
    "write_page": "commands.pages",
    "atom_feed": "commands.atom",
    "init": "commands.issues",
    "new": "commands.issues",
    "list_issues": "commands.issues",
    "list_items": "commands.issues",
    "show": "commands.issues",
    "remove": "commands.issues",
    "move": "commands.issues",
    "star": "commands.issues",
    "doctor": "commands.doctor",
    "diagnose": "commands.doctor",
    "Check": "commands.doctor",
    "DigestError": "errors",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_API[name]}"), name)
