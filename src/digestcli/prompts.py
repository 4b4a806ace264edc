"""The LLM prompts: packaged templates, each overridable by <workspace>/prompts/<name>, and the
chat messages they make for one paper.

The one home of prompt text; never calls a model, never reads a PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .files import sha256_hex

if TYPE_CHECKING:
    from .models import Paper, PaperText

PROMPT_NAMES = ("system.md.j2", "user.md.j2", "repair.md.j2")


def packaged_prompts_dir() -> Path:
    """prompts/ inside the wheel, or at the top of a source checkout."""
    packaged = Path(str(resources.files("digestcli"))) / "prompts"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "prompts"


@dataclass(frozen=True)
class Prompts:
    sources: dict[str, str]

    @property
    def hash(self) -> str:
        return sha256_hex("\0".join(self.sources[name] for name in PROMPT_NAMES))[:16]

    def render(self, name: str, **values: Any) -> str:
        from jinja2 import Environment, StrictUndefined, TemplateError

        environment = Environment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
        try:
            return environment.from_string(self.sources[name]).render(**values).strip()
        except TemplateError as error:
            raise ConfigError(f"prompt template {name} failed: {error}") from None


def load_prompts(workspace: Path | None) -> Prompts:
    """Packaged prompts, each overridden by the same file in <workspace>/prompts/."""
    sources: dict[str, str] = {}
    for name in PROMPT_NAMES:
        override = workspace / "prompts" / name if workspace else None
        path = override if override and override.is_file() else packaged_prompts_dir() / name
        try:
            sources[name] = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"cannot read prompt template {path}: {error.strerror}") from None
    return Prompts(sources)


def build_messages(prompts: Prompts, paper: Paper, text: PaperText, context_text: str) -> list[dict[str, str]]:
    values = {"paper": paper, "code_links": list(text.code_links), "context": context_text}
    return [
        {"role": "system", "content": prompts.render("system.md.j2", **values)},
        {"role": "user", "content": prompts.render("user.md.j2", **values)},
    ]
