"""The one way digest speaks HTTP: httpx clients whose every request has a wall-clock deadline.

httpx's timeouts count per socket operation, so a server that sends a byte every few seconds
never trips them. Here a request's deadline starts when it is sent; every connect, write and
read on its socket waits at most the time left, whether for the headers or the body, and the
body is decoded in small steps so no gzip or deflate bomb is inflated in one go. The arXiv
API, PDFs, linked pages and the LLM (through the openai SDK's ``http_client``) all go through
here. This module never retries, never reads settings on its own and never prints.
"""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

DECODE_STEP = 64 * 1024  # the most bytes one step of decoding may produce
ACCEPTED_ENCODINGS = "gzip, deflate"  # what we can inflate step by step; anything else is refused
_INFLATE_BITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}

# The monotonic time by which the request running in this thread must be done (None: no deadline).
_deadline: ContextVar[float | None] = ContextVar("digest_request_deadline", default=None)


class DeadlineExceeded(httpx.TimeoutException):
    """A request ran past its wall-clock deadline. str(error) is 'took longer than N s'."""

    def __init__(self, seconds: float, request: httpx.Request | None = None) -> None:
        super().__init__(f"took longer than {seconds:g} s", request=request)
        self.seconds = seconds


class BodyTooLarge(httpx.DecodingError):
    """An answer that decodes to more than the client's cap; the rest is never read."""

    def __init__(self, limit: int, request: httpx.Request | None = None) -> None:
        super().__init__(f"answer is larger than the {limit / 2**20:g} MB cap", request=request)
        self.limit = limit


class _PastDeadline(httpcore.TimeoutException):
    """Raised inside httpcore when a socket operation would outlive the request's deadline."""


def _time_left(timeout: float | None) -> tuple[float | None, bool]:
    """The timeout for one socket operation, and whether the deadline (not ``timeout``) set it."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout, False
    left = deadline - time.monotonic()
    if left <= 0:
        raise _PastDeadline("deadline passed")
    if timeout is None or left < timeout:
        return left, True
    return timeout, False


@contextlib.contextmanager
def _bounded(timeout: float | None) -> Iterator[float | None]:
    seconds, by_deadline = _time_left(timeout)
    try:
        yield seconds
    except httpcore.TimeoutException:
        if by_deadline:
            raise _PastDeadline("deadline passed") from None
        raise


class _DeadlineStream(httpcore.NetworkStream):
    """A socket whose every operation ends by the deadline of the request using it."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _bounded(timeout) as seconds:
            return self._stream.read(max_bytes, seconds)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _bounded(timeout) as seconds:
            self._stream.write(buffer, seconds)

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        with _bounded(timeout) as seconds:
            return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, seconds))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        with _bounded(timeout) as seconds:
            return _DeadlineStream(self._backend.connect_tcp(host, port, seconds, local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        with _bounded(timeout) as seconds:
            return _DeadlineStream(self._backend.connect_unix_socket(path, seconds, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


# httpcore's errors as the httpx errors every caller expects, most specific first.
_HTTPX_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _running(request: httpx.Request, deadline: float, seconds: float) -> Iterator[None]:
    """Run one step of ``request`` (sending it, reading a piece of its body) under its deadline."""
    token = _deadline.set(deadline)
    try:
        yield
    except _PastDeadline:
        raise DeadlineExceeded(seconds, request) from None
    except httpcore.TimeoutException as error:
        if time.monotonic() >= deadline:
            raise DeadlineExceeded(seconds, request) from None
        raise _as_httpx(error, request) from error
    except Exception as error:
        mapped = _as_httpx(error, request)
        if mapped is error:
            raise
        raise mapped from error
    finally:
        _deadline.reset(token)


def _as_httpx(error: Exception, request: httpx.Request) -> Exception:
    for core, mapped in _HTTPX_ERRORS:
        if isinstance(error, core):
            return mapped(str(error), request=request)
    return error


def _inflate(chunks: Iterable[bytes], encoding: str, request: httpx.Request) -> Iterator[bytes]:
    """``chunks`` decoded from one gzip or deflate layer, at most DECODE_STEP bytes at a time."""
    inflater = zlib.decompressobj(_INFLATE_BITS[encoding])
    first = True
    for chunk in chunks:
        data = chunk
        while data and not inflater.eof:
            try:
                out = inflater.decompress(data, DECODE_STEP)
            except zlib.error as error:
                if first and encoding == "deflate":  # servers that send raw deflate without its zlib header
                    inflater, first = zlib.decompressobj(-zlib.MAX_WBITS), False
                    continue
                raise httpx.DecodingError(f"answer is not valid {encoding} ({error})", request=request) from None
            first = False
            if out:
                yield out
            data = inflater.unconsumed_tail
    rest = inflater.flush()
    if rest:
        yield rest


class _Body(httpx.SyncByteStream):
    """A response body read under its request's deadline, decoded step by step, capped."""

    def __init__(self, stream: Iterable[bytes], request: httpx.Request, deadline: float, seconds: float,
                 encodings: list[str], limit: int | None) -> None:
        self._stream = stream
        self._request = request
        self._deadline = deadline
        self._seconds = seconds
        self._encodings = encodings
        self._limit = limit

    def _raw(self) -> Iterator[bytes]:
        pieces = iter(self._stream)
        while True:
            with _running(self._request, self._deadline, self._seconds):
                piece = next(pieces, None)
            if piece is None:
                return
            yield piece

    def __iter__(self) -> Iterator[bytes]:
        chunks: Iterable[bytes] = self._raw()
        for encoding in reversed(self._encodings):  # the last encoding applied is the first undone
            chunks = _inflate(chunks, encoding, self._request)
        size = 0
        for chunk in chunks:
            # The chunk that crosses the cap is still passed on, so a reader with the same cap of its
            # own (read_at_most) stops there and says so in its words; only a reader that asks for
            # more gets BodyTooLarge.
            if self._limit is not None and size > self._limit:
                raise BodyTooLarge(self._limit, self._request)
            size += len(chunk)
            yield chunk
        if self._limit is not None and size > self._limit:
            raise BodyTooLarge(self._limit, self._request)

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


def _encodings(response: httpcore.Response, request: httpx.Request) -> list[str]:
    """The content encodings to undo, in the order they were applied; refuses any we cannot bound."""
    names: list[str] = []
    for name, value in response.headers:
        if name.lower() == b"content-encoding":
            names += [part.strip().lower() for part in value.decode("latin-1").split(",") if part.strip()]
    names = [name for name in names if name != "identity"]
    unknown = [name for name in names if name not in _INFLATE_BITS]
    if unknown:
        raise httpx.DecodingError(f"answered with content encoding {unknown[0]!r}, which digest does not accept",
                                  request=request)
    return names


class DeadlineTransport(httpx.BaseTransport):
    """httpx transport over httpcore pools whose sockets end every request by its deadline.

    Proxies come from the environment (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY) as with
    httpx's own transport; each proxy gets its own pool.
    """

    def __init__(self, seconds: float, *, limits: httpx.Limits, max_body_bytes: int | None = None) -> None:
        self.seconds = seconds
        self.max_body_bytes = max_body_bytes
        self._limits = limits
        self._ssl_context = httpx.create_ssl_context()
        self._backend = _DeadlineBackend()
        self._pools: dict[str, httpcore.ConnectionPool] = {}
        self._pools_lock = threading.Lock()

    def _pool(self, url: httpx.URL) -> httpcore.ConnectionPool:
        proxy = _environment_proxy(url)
        with self._pools_lock:  # the first requests of several workers arrive at once: one pool each proxy
            return self._pools.get(proxy) or self._new_pool(proxy)

    def _new_pool(self, proxy: str) -> httpcore.ConnectionPool:
        pool = self._pools[proxy] = httpcore.ConnectionPool(
            ssl_context=self._ssl_context,
            proxy=_core_proxy(proxy) if proxy else None,
            max_connections=self._limits.max_connections,
            max_keepalive_connections=self._limits.max_keepalive_connections,
            keepalive_expiry=self._limits.keepalive_expiry,
            network_backend=self._backend,
        )
        return pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        # httpx hands a redirect the same extensions: one deadline for the whole chain of hops
        deadline = request.extensions.setdefault("digest_deadline", time.monotonic() + self.seconds)
        timeouts = {name: self.seconds if value is None else min(value, self.seconds)
                    for name, value in request.extensions.get("timeout", {}).items()}
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host, port=request.url.port,
                             target=request.url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions={**{k: v for k, v in request.extensions.items() if k != "digest_deadline"},
                        "timeout": timeouts},
        )
        with _running(request, deadline, self.seconds):
            response = self._pool(request.url).handle_request(core_request)
        try:
            encodings = _encodings(response, request)
        except httpx.DecodingError:
            response.close()
            raise
        headers = response.headers
        if encodings:  # decoded here, step by step: httpx must not decode it again
            headers = [(k, v) for k, v in headers if k.lower() not in (b"content-encoding", b"content-length")]
        assert isinstance(response.stream, Iterable)
        body = _Body(response.stream, request, deadline, self.seconds, encodings, self.max_body_bytes)
        return httpx.Response(status_code=response.status, headers=headers, stream=body,
                              extensions=response.extensions)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()


def _environment_proxy(url: httpx.URL) -> str:
    """The proxy the environment names for ``url`` ('' for none), honouring NO_PROXY."""
    proxies = urllib.request.getproxies()
    if not proxies or urllib.request.proxy_bypass(url.host):
        return ""
    return proxies.get(url.scheme) or proxies.get("all") or ""


def _core_proxy(url: str) -> httpcore.Proxy:
    proxy = httpx.Proxy(url)
    return httpcore.Proxy(url=httpcore.URL(scheme=proxy.url.raw_scheme, host=proxy.url.raw_host,
                                           port=proxy.url.port, target=proxy.url.raw_path),
                          auth=proxy.raw_auth, headers=proxy.headers.raw)


def make_client(*, timeout: float, deadline: float, max_body_bytes: int | None = None,
                user_agent: str | None = None, connections: int = 8) -> httpx.Client:
    """An httpx.Client whose requests each end within ``deadline`` seconds (``timeout``: per socket
    operation), whose answers decode in bounded steps and, with ``max_body_bytes``, are capped."""
    headers = {"Accept-Encoding": ACCEPTED_ENCODINGS}
    if user_agent:
        headers["User-Agent"] = user_agent
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=max(1, connections // 2))
    return httpx.Client(
        transport=DeadlineTransport(deadline, limits=limits, max_body_bytes=max_body_bytes),
        headers=headers,
        timeout=httpx.Timeout(timeout, connect=min(15.0, timeout)),
        max_redirects=10,
    )


def read_at_most(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """A streamed response's decoded body, up to ``limit`` bytes, and whether it had more
    (the rest is left unread)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        if size + len(chunk) > limit:
            chunks.append(chunk[: limit - size])
            return b"".join(chunks), True
        size += len(chunk)
        chunks.append(chunk)
    return b"".join(chunks), False
