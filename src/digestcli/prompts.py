"""The LLM prompts: packaged templates, each overridable by <workspace>/prompts/<name>, and the
chat messages they make for one paper: the per-paper template's fields with their instructions, in
the language the summaries are written in.

The one home of prompt text; never calls a model, never reads a PDF.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .files import sha256_hex
from .template import DEFAULT_LANGUAGE, DEFAULT_TEMPLATE, Template, is_default_language

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
    """The prompt templates, and what they ask for: the template's fields, in ``language``."""

    sources: dict[str, str]
    template: Template = field(default=DEFAULT_TEMPLATE)
    language: str = DEFAULT_LANGUAGE

    @property
    def hash(self) -> str:
        """Changes with anything that changes what is asked: the prompt templates, the fields (their
        limits too, which the schema sends) and the language (recorded in items, part of the cache key)."""
        parts = [*(self.sources[name] for name in PROMPT_NAMES), self.template.fingerprint, self.language]
        return sha256_hex("\0".join(parts))[:16]

    def render(self, name: str, **values: Any) -> str:
        from jinja2 import Environment, StrictUndefined, TemplateError

        environment = Environment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
        try:
            return environment.from_string(self.sources[name]).render(**values).strip()
        except TemplateError as error:
            raise ConfigError(f"prompt template {name} failed: {error}") from None


def load_prompts(workspace: Path | None, template: Template = DEFAULT_TEMPLATE,
                 language: str = DEFAULT_LANGUAGE) -> Prompts:
    """Packaged prompts, each overridden by the same file in <workspace>/prompts/, asking for the
    fields of ``template`` written in ``language``."""
    sources: dict[str, str] = {}
    for name in PROMPT_NAMES:
        override = workspace / "prompts" / name if workspace else None
        path = override if override and override.is_file() else packaged_prompts_dir() / name
        try:
            sources[name] = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"cannot read prompt template {path}: {error.strerror}") from None
    return Prompts(sources, template, language)


def build_messages(prompts: Prompts, paper: Paper, text: PaperText, context_text: str) -> list[dict[str, str]]:
    template = prompts.template
    factual = [f.name for f in template.fields if not f.editorial]
    backed = [name for name in ("results", "key_insights") if name in factual] or factual  # where figures are
    values = {"paper": paper, "code_links": list(text.code_links), "context": context_text,
              "summary_fields": template.fields, "evidence_fields": backed,
              "language": "" if is_default_language(prompts.language) else prompts.language}
    return [
        {"role": "system", "content": prompts.render("system.md.j2", **values)},
        {"role": "user", "content": prompts.render("user.md.j2", **values)},
    ]
