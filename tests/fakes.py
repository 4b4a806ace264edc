"""Local stand-ins for arXiv and an OpenAI-compatible server, on 127.0.0.1.

They speak real HTTP so the tests drive the real arXiv client and the real
openai SDK. Each server records its requests and can inject faults.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

ATOM_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<feed xmlns="http://www.w3.org/2005/Atom">\n'
    '  <link href="http://arxiv.org/api/query?id_list={ids}" rel="self" type="application/atom+xml"/>\n'
    '  <title type="html">ArXiv Query: id_list={ids}</title>\n'
    "  <id>http://arxiv.org/api/fake</id>\n"
    "  <updated>2026-11-23T00:00:00-05:00</updated>\n"
    '  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{total}</opensearch:totalResults>\n'
    '  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">0</opensearch:startIndex>\n'
    '  <opensearch:itemsPerPage xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{per_page}</opensearch:itemsPerPage>\n'
)


@dataclass
class FakePaper:
    """One paper as the arXiv API describes it."""

    id: str  # base id
    version: int
    title: str
    abstract: str
    authors: list[str]
    published: str = "2023-05-27T00:04:41Z"
    updated: str = "2023-05-27T00:04:41Z"
    primary_category: str = "cs.LG"
    categories: list[str] = field(default_factory=lambda: ["cs.LG"])
    comment: str = ""
    journal_ref: str = ""
    doi: str = ""
    include_pdf_link: bool = True

    def entry_xml(self) -> str:
        ns = 'xmlns:arxiv="http://arxiv.org/schemas/atom"'
        versioned = f"{self.id}v{self.version}"
        lines = [
            "  <entry>",
            f"    <id>http://arxiv.org/abs/{versioned}</id>",
            f"    <updated>{self.updated}</updated>",
            f"    <published>{self.published}</published>",
            f"    <title>{escape(self.title)}</title>",
            f"    <summary>  {escape(self.abstract)}\n</summary>",
            *[f"    <author>\n      <name>{escape(a)}</name>\n    </author>" for a in self.authors],
        ]
        if self.doi:
            lines.append(f"    <arxiv:doi {ns}>{escape(self.doi)}</arxiv:doi>")
        if self.comment:
            lines.append(f"    <arxiv:comment {ns}>{escape(self.comment)}</arxiv:comment>")
        if self.journal_ref:
            lines.append(f"    <arxiv:journal_ref {ns}>{escape(self.journal_ref)}</arxiv:journal_ref>")
        lines.append(f'    <link href="http://arxiv.org/abs/{versioned}" rel="alternate" type="text/html"/>')
        if self.include_pdf_link:
            lines.append(f'    <link title="pdf" href="http://arxiv.org/pdf/{versioned}" rel="related" type="application/pdf"/>')
        lines.append(f'    <arxiv:primary_category {ns} term="{self.primary_category}" scheme="http://arxiv.org/schemas/atom"/>')
        lines += [f'    <category term="{c}" scheme="http://arxiv.org/schemas/atom"/>' for c in self.categories]
        lines.append("  </entry>")
        return "\n".join(lines) + "\n"


def _stamp(iso: str) -> str:
    """2023-05-27T00:04:41Z -> 202305270004 (the API's submittedDate form)."""
    return iso[:16].replace("-", "").replace("T", "").replace(":", "")


def atom_feed(papers: list[FakePaper], ids: str = "", extra_entries: str = "") -> bytes:
    head = ATOM_HEAD.format(ids=escape(ids), total=len(papers), per_page=len(papers))
    return (head + "".join(p.entry_xml() for p in papers) + extra_entries + "</feed>\n").encode()


def error_entry(bad_id: str) -> str:
    return (
        "  <entry>\n"
        f"    <id>http://arxiv.org/api/errors#incorrect_id_format_for_{bad_id}</id>\n"
        "    <title>Error</title>\n"
        f"    <summary>incorrect id format for {bad_id}</summary>\n"
        "    <updated>2026-11-23T00:00:00-05:00</updated>\n"
        f'    <link href="http://arxiv.org/api/errors#incorrect_id_format_for_{bad_id}" rel="alternate" type="text/html"/>\n'
        "    <author>\n      <name>arXiv api core</name>\n    </author>\n"
        "  </entry>\n"
    )


@dataclass
class Reply:
    """A canned HTTP answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drip: float = 0.0  # a slow-loris server: the body one byte every ``drip`` seconds
    drip_headers: bool = False  # with drip: the status line and headers too, byte by byte


class _Server:
    """A threaded HTTP server on an ephemeral 127.0.0.1 port."""

    def __init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                self._answer(b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self._answer(self.rfile.read(length))

            def _answer(self, body: bytes) -> None:
                with owner.lock:
                    owner.requests.append({"time": time.monotonic(), "method": self.command, "path": self.path,
                                           "headers": dict(self.headers), "body": body})
                reply = owner.handle(self.command, self.path, body, dict(self.headers))
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drip:
                    self._drip(reply)
                    return
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Length": str(len(reply.body)), **reply.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _drip(self, reply: Reply) -> None:
                """Send the answer a byte at a time until it is done or the client hangs up."""
                self.close_connection = True
                headers = {"Content-Length": str(len(reply.body)), **reply.headers}
                head = (f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('',))[0]}\r\n"
                        + "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n").encode()
                slow = head + reply.body if reply.drip_headers else reply.body
                try:
                    if not reply.drip_headers:
                        self.wfile.write(head)
                        self.wfile.flush()
                    for index in range(len(slow)):
                        if owner.stopped.is_set():
                            return
                        self.wfile.write(slow[index:index + 1])
                        self.wfile.flush()
                        time.sleep(reply.drip)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.requests: list[dict[str, Any]] = []
        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hangs up early (size caps, timeouts, kills) is expected here

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "_Server":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()  # ends any answer still dripping
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        raise NotImplementedError


class FakeArxiv(_Server):
    """Serves /api/query (Atom) and /pdf/<id>v<n> like arxiv.org, with fault injection."""

    def __init__(self) -> None:
        super().__init__()
        self.papers: dict[str, FakePaper] = {}
        self.pdfs: dict[str, bytes] = {}  # base id -> PDF bytes
        self.api_faults: list[Reply] = []  # served first, one per request
        self.pdf_faults: dict[str, list[Reply]] = {}
        self.api_override: Callable[[list[str]], Reply] | None = None
        self.pdf_delay = 0.0  # seconds before each PDF answer (a slow mirror)
        self.api_delay = 0.0  # seconds before each API answer

    def add(self, paper: FakePaper, pdf: bytes | None = None) -> None:
        self.papers[paper.id] = paper
        if pdf is not None:
            self.pdfs[paper.id] = pdf

    @property
    def api_url(self) -> str:
        return self.url + "/api/query"

    @property
    def pdf_url(self) -> str:
        return self.url + "/pdf"

    def api_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].startswith("/api/")]

    def pdf_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].startswith("/pdf/")]

    def _search(self, query: dict[str, list[str]]) -> Reply:
        """search_query=(cat:A OR cat:B) AND submittedDate:[FROM TO], newest first, paged by start/max_results."""
        import re as _re

        text = query["search_query"][0]
        cats = set(_re.findall(r"cat:([\w.-]+)", text))
        low, high = _re.search(r"submittedDate:\[(\d{12}) TO (\d{12})\]", text).groups()
        matches = sorted((p for p in self.papers.values()
                          if cats & set(p.categories) and low <= _stamp(p.published) <= high),
                         key=lambda p: p.published, reverse=True)
        start, size = int(query.get("start", ["0"])[0]), int(query.get("max_results", ["10"])[0])
        page = matches[start:start + size]
        return Reply(200, atom_feed(page), {"Content-Type": "application/atom+xml"}, delay=self.api_delay)

    def handle(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        parsed = urlparse(path)
        if parsed.path == "/api/query":
            with self.lock:
                if self.api_faults:
                    return self.api_faults.pop(0)
            query = parse_qs(parsed.query)
            if "search_query" in query:
                return self._search(query)
            ids = [i for i in ",".join(query.get("id_list", [""])).split(",") if i]
            if self.api_override is not None:
                return self.api_override(ids)
            limit = int(query.get("max_results", ["10"])[0])
            found = []
            for wanted in ids:
                base = wanted.split("v")[0] if "/" not in wanted else wanted.rsplit("v", 1)[0]
                base = wanted if wanted in self.papers else base
                if base in self.papers:
                    found.append(self.papers[base])
            found.reverse()  # arXiv does not promise the order of id_list
            return Reply(200, atom_feed(found[:limit], ",".join(ids)), {"Content-Type": "application/atom+xml"},
                         delay=self.api_delay)
        if parsed.path.startswith("/pdf/"):
            name = parsed.path[len("/pdf/"):]
            base = name.rsplit("v", 1)[0]
            with self.lock:
                faults = self.pdf_faults.get(base)
                if faults:
                    return faults.pop(0)
            if base in self.pdfs:
                return Reply(200, self.pdfs[base], {"Content-Type": "application/pdf"}, delay=self.pdf_delay)
            return Reply(404, b"not found", {"Content-Type": "text/plain"})
        return Reply(404, b"unknown path")


def chat_completion(content: str | None, *, finish_reason: str = "stop", prompt_tokens: int = 1000,
                    completion_tokens: int = 200, refusal: str | None = None, model: str = "fake-model") -> Reply:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if refusal is not None:
        message["refusal"] = refusal
    payload = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }
    return Reply(200, json.dumps(payload).encode(), {"Content-Type": "application/json"})


def prompt_tokens(request: dict[str, Any]) -> int:
    """The prompt of a chat request as a server's tokenizer might count it: a token per word or symbol."""
    import re

    return sum(len(re.findall(r"\w+|[^\w\s]", str(m.get("content") or ""))) + 4 for m in request["messages"])


def api_error(status: int, message: str, headers: dict[str, str] | None = None, code: str | None = None) -> Reply:
    body = json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": code}}).encode()
    return Reply(status, body, {"Content-Type": "application/json", **(headers or {})})


class OpenAIServer(_Server):
    """A local server the openai SDK talks to: its base URL, and the chat requests it was sent."""

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def chat_requests(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests if r["path"].endswith("/chat/completions")]


class FakeOpenAI(OpenAIServer):
    """An OpenAI-compatible /v1/chat/completions endpoint with a script of replies.

    Replies queued in ``script`` are served first; after that ``responder``
    builds the answer from the request JSON.
    """

    def __init__(self, responder: Callable[[dict[str, Any]], Reply] | None = None) -> None:
        super().__init__()
        self.script: list[Reply] = []
        self.responder = responder
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_polls_to_finish = 2  # a batch is in progress at its first status check
        self.models: list[str] | None = None  # what GET /v1/models lists (None: no such endpoint, HTTP 404)

    def handle(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        if "/files" in path or "/batches" in path:
            return self._batch_api(method, urlparse(path).path, body, headers)
        if method == "GET" and urlparse(path).path.endswith("/models") and self.models is not None:
            listed = [{"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in self.models]
            return Reply(200, json.dumps({"object": "list", "data": listed}).encode(), {"Content-Type": "application/json"})
        if not path.endswith("/chat/completions"):
            return api_error(404, f"unknown path {path}")
        with self.lock:
            if self.script:
                return self.script.pop(0)
        return self._answer(json.loads(body))

    def _answer(self, request: dict[str, Any]) -> Reply:
        if self.responder is None:
            return api_error(500, "no scripted reply left")
        return self.responder(request)

    # -- the Batch API: files and batches, answered by the same responder -----------------

    def _batch_api(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        def ok(payload: dict[str, Any]) -> Reply:
            return Reply(200, json.dumps(payload).encode(), {"Content-Type": "application/json"})

        parts = path.rstrip("/").split("/")  # ['', 'v1', 'files' | 'batches', id?, 'content'?]
        if method == "POST" and parts[-1] == "files":
            content = _multipart_file(body, headers)
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = content
            return ok({"id": file_id, "object": "file", "bytes": len(content), "created_at": 1,
                       "filename": "digest-batch.jsonl", "purpose": "batch", "status": "processed"})
        if method == "GET" and parts[-1] == "content" and parts[-2] in self.files:
            return Reply(200, self.files[parts[-2]], {"Content-Type": "application/octet-stream"})
        if method == "POST" and parts[-1] == "batches":
            request = json.loads(body)
            batch_id = f"batch_{len(self.batches) + 1}"
            self.batches[batch_id] = {"request": request, "polls": 0}
            return ok(self._batch_object(batch_id))
        if method == "GET" and len(parts) >= 4 and parts[-2] == "batches" and parts[-1] in self.batches:
            return ok(self._batch_object(parts[-1], poll=True))
        return api_error(404, f"unknown path {path}")

    def _batch_object(self, batch_id: str, poll: bool = False) -> dict[str, Any]:
        state = self.batches[batch_id]
        if poll:
            state["polls"] += 1
        lines = [json.loads(line) for line in self.files[state["request"]["input_file_id"]].splitlines() if line.strip()]
        done = state["polls"] >= self.batch_polls_to_finish
        if done and "output" not in state:
            output = []
            for line in lines:
                reply = self._answer(line["body"])
                output.append(json.dumps({"id": f"req-{line['custom_id']}", "custom_id": line["custom_id"],
                                          "response": {"status_code": reply.status, "request_id": "r",
                                                       "body": json.loads(reply.body)}, "error": None}))
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = ("\n".join(output) + "\n").encode()
            state["output"] = file_id
        return {
            "id": batch_id, "object": "batch", "endpoint": state["request"]["endpoint"], "errors": None,
            "input_file_id": state["request"]["input_file_id"], "completion_window": "24h",
            "status": "completed" if done else "in_progress", "output_file_id": state.get("output"),
            "error_file_id": None, "created_at": 1,
            "request_counts": {"total": len(lines), "completed": len(lines) if done else 0, "failed": 0},
            "metadata": state["request"].get("metadata"),
        }

    def batch_lines(self) -> list[dict[str, Any]]:
        """The requests uploaded in batch files."""
        return [json.loads(line) for state in self.batches.values()
                for line in self.files[state["request"]["input_file_id"]].splitlines() if line.strip()]


def _multipart_file(body: bytes, headers: dict[str, str]) -> bytes:
    from email.parser import BytesParser

    content_type = next(v for k, v in headers.items() if k.lower() == "content-type")
    message = BytesParser().parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    for part in message.get_payload():
        if part.get_filename():
            return part.get_payload(decode=True)
    raise ValueError("no file in the upload")


class FakeWeb(_Server):
    """Any web page: ``pages`` maps a path to (content type, body)."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, tuple[str, bytes]] = {}

    def handle(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        if path in self.pages:
            kind, content = self.pages[path]
            return Reply(200, content, {"Content-Type": kind})
        return Reply(404, b"<html><title>Not found</title></html>", {"Content-Type": "text/html"})


def child_env(cache: Path, arxiv: "FakeArxiv", llm: "FakeOpenAI | None" = None, *,
              key: str = "sk-test-not-a-real-key", **extra: str) -> dict[str, str]:
    """The environment of a real `digest` subprocess against the fakes: none of the caller's
    OPENAI_/DIGEST_ settings, a private cache, no waiting between requests."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "DIGEST_"))}
    env.update({
        "DIGEST_CACHE_DIR": str(cache), "DIGEST_TOKENIZER": "estimate",
        "DIGEST_ARXIV_API_URL": arxiv.api_url, "DIGEST_ARXIV_PDF_URL": arxiv.pdf_url,
        "DIGEST_ARXIV_API_INTERVAL": "0", "DIGEST_PDF_INTERVAL": "0",
    })
    if llm is not None:
        env.update({"OPENAI_API_KEY": key, "OPENAI_BASE_URL": llm.base_url, "DIGEST_LLM_RETRIES": "2"})
    env.update(extra)
    return env
