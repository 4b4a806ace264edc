"""OpenAI Batch API: summary requests sent as one JSONL batch, collected later.

`digest add --batch` prepares each paper up to its LLM request, uploads the
requests as one file, creates the batch and records it in
`.digest/batches/<batch id>.json` (everything needed to write the items later,
so collecting needs no arXiv request). `digest batch collect` downloads the
answers, validates and caches each like a direct answer, and writes the items;
collecting again skips what is already in the issue. Whatever the server
sends back is data to check (llm.read_completion reads each answer), and
every text of it is redacted before it can be printed or written.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import LLMError, WorkspaceError
from .files import write_atomic
from .models import ArxivId, Paper, PaperText
from .redaction import redact

ENDPOINT = "/v1/chat/completions"
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


@dataclass
class BatchEntry:
    """One paper's request, with what is needed to write its item when the answer comes."""

    custom_id: str
    given: str
    queued: str
    paper: dict[str, Any]
    messages: list[dict[str, str]]
    text: dict[str, Any]  # source, text_hash, code_links, pages
    context_tokens: int


def paper_to_dict(paper: Paper) -> dict[str, Any]:
    return asdict(paper)


def paper_from_dict(data: dict[str, Any]) -> Paper:
    return Paper(**{**data, "id": ArxivId(**data["id"]), "authors": tuple(data["authors"]),
                    "categories": tuple(data["categories"]), "affiliations": tuple(data.get("affiliations", ()))})


def text_to_dict(text: PaperText) -> dict[str, Any]:
    return {"source": text.source, "text_hash": text.text_hash, "code_links": list(text.code_links),
            "pages": text.pages}


def text_from_dict(data: dict[str, Any]) -> PaperText:
    """The parts of the paper's text an item records (the sections themselves are in the request)."""
    return PaperText((), data["pages"], data["source"], tuple(data["code_links"]), "", data["text_hash"])


def _api(what: str, call: Any, server: str = "the LLM server", model: str = "") -> Any:
    import openai

    from .llm import api_error

    try:
        return call()
    except openai.APIError as error:
        if isinstance(error, openai.NotFoundError):
            raise LLMError(f"{what}: not found on {server} (HTTP 404); does it offer the Batch API?") from None
        raise LLMError(f"{what}: {api_error(error, server, model)}") from None


class BatchStore:
    """Batch records in <workspace>/.digest/batches/."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, batch_id: str) -> Path:
        if not _BATCH_ID.fullmatch(batch_id):
            raise WorkspaceError(f"invalid batch id {batch_id!r}")
        return self.folder / f"{batch_id}.json"

    def save(self, record: dict[str, Any]) -> Path:
        path = self.path(record["id"])
        write_atomic(path, json.dumps(record, ensure_ascii=False, indent=1))
        return path

    def load(self, batch_id: str) -> dict[str, Any]:
        path = self.path(batch_id)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            known = ", ".join(r["id"] for r in self.all()) or "none"
            raise WorkspaceError(f"no batch {batch_id!r} in this workspace (batches: {known})") from None
        except (OSError, ValueError) as error:
            raise WorkspaceError(f"{path}: unreadable batch record ({error})") from None

    def all(self) -> list[dict[str, Any]]:
        records = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                records.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
        return sorted(records, key=lambda r: r.get("created", ""))


def submit(client: Any, entries: list[BatchEntry], request: Any, *, issue: str, model: str) -> dict[str, Any]:
    """Upload the requests and create the batch; returns the record to keep."""
    lines = [json.dumps({"custom_id": e.custom_id, "method": "POST", "url": ENDPOINT, "body": request(e.messages)},
                        ensure_ascii=False) for e in entries]
    payload = ("\n".join(lines) + "\n").encode("utf-8")
    upload = _api("uploading the batch file", lambda: client.files.create(
        file=("digest-batch.jsonl", payload, "application/jsonl"), purpose="batch"))
    batch = _api("creating the batch", lambda: client.batches.create(
        input_file_id=upload.id, endpoint=ENDPOINT, completion_window="24h", metadata={"digest_issue": issue}))
    return {
        "id": redact(str(batch.id)), "issue": issue, "model": model, "input_file_id": redact(str(upload.id)),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "entries": [asdict(e) for e in entries],
    }


def fetch(client: Any, batch_id: str) -> Any:
    return _api(f"batch {batch_id}", lambda: client.batches.retrieve(batch_id))


def answers(client: Any, batch: Any) -> dict[str, dict[str, Any] | str]:
    """custom_id -> the chat completion body (checked later by llm.read_completion), or the reason
    there is none. A line that is not a JSON object with a custom_id answers nothing."""
    found: dict[str, dict[str, Any] | str] = {}
    for file_id in (getattr(batch, "error_file_id", None), getattr(batch, "output_file_id", None)):
        if not file_id or not isinstance(file_id, str):
            continue
        content = _api(f"downloading {redact(file_id)}", lambda: client.files.content(file_id))
        for line in content.text.splitlines():
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(row, dict) and isinstance(row.get("custom_id"), str):
                found[row["custom_id"]] = _answer(row)
    return found


def _answer(row: dict[str, Any]) -> dict[str, Any] | str:
    response = row.get("response") if isinstance(row.get("response"), dict) else {}
    body = response.get("body")
    if response.get("status_code") == 200 and isinstance(body, dict):
        return body
    if response.get("status_code") == 200:
        return f"the batch's answer is malformed (its body is {type(body).__name__}, not an object)"
    error = row.get("error") or (body.get("error") if isinstance(body, dict) else None) or {}
    message = error.get("message") if isinstance(error, dict) else error
    status = response.get("status_code")
    reason = message if isinstance(message, str) and message.strip() else f"HTTP {status if isinstance(status, int) else '?'}"
    return f"the batch request failed: {redact(' '.join(reason.split()))[:200]}"


def describe(batch: Any) -> str:
    counts = getattr(batch, "request_counts", None)
    done = f"{counts.completed}/{counts.total} done, {counts.failed} failed" if counts else "no counts yet"
    return redact(f"{batch.status} ({done})")
