"""The papers' texts kept for later checks: written by `add`, read by `check`, `build` and items
collected from a Batch API batch, so no paper is downloaded twice to check a claim.

One JSON file per paper version under <cache>/text; never reads a PDF or the network itself.
"""

from __future__ import annotations

from pathlib import Path

from .files import JsonCache, stable_hash
from .grounding import PaperSource


def _key(versioned_id: str) -> str:
    """The key of a paper version's text, as the last `digest add` or `check` read it (with
    whichever PDF engine was set: both clean the same way, and a figure is a figure)."""
    from .pdftext import EXTRACTOR_VERSION

    return stable_hash({"paper": versioned_id, "extractor": EXTRACTOR_VERSION, "kind": "grounding-text"})


class TextCache:
    def __init__(self, cache_dir: Path) -> None:
        self._cache = JsonCache(cache_dir / "text")

    def get(self, versioned_id: str) -> PaperSource | None:
        """The paper's abstract, comment and pages, or None when no run has read them."""
        record = self._cache.get(_key(versioned_id)) if versioned_id else None
        if record is None:
            return None
        return PaperSource(record.get("abstract", ""), record.get("comment", ""), record.get("pages", []))

    def put(self, versioned_id: str, abstract: str, comment: str, pages: tuple[str, ...]) -> None:
        self._cache.put(_key(versioned_id), {"abstract": abstract, "comment": comment, "pages": list(pages)})
