"""Worker processes that read PDFs: each paper bounded in time and memory, no worker outliving digest.

A worker (``python -c ... digestcli.pdfworkers``) caps its own address space
(RLIMIT_AS: pdfium has no decompression limits of its own), dies with the
process that started it (PR_SET_PDEATHSIG on Linux, a watchdog elsewhere) and
holds none of digest's stdin, stdout or stderr, so `digest add ... | tee log`
ends when digest does, even after `kill -9`. A paper that runs past its
deadline has its worker killed; one that needs more memory than the cap ends
its worker. Only that paper fails, with a PdfError that says why, and the next
paper gets a fresh worker. No multiprocessing: no resource tracker to orphan.
This module never reads a PDF in digest's own process.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from .errors import Interrupted, PdfError

STARTUP_SECONDS = 60.0  # a worker that is not ready by then (a machine on its knees) is given up
_HEADER = struct.Struct(">Q")  # every message: its length, then its pickle
_BOOTSTRAP = "import sys; sys.path.append(sys.argv[1]); from digestcli.pdfworkers import main; main(sys.argv[2:])"
_PR_SET_PDEATHSIG = 1


class WorkerPool:
    """Up to ``size`` worker processes, started on first need and reused from paper to paper.

    ``timeout`` (seconds) and ``memory_mb`` bound each paper; 0 means no bound.
    """

    def __init__(self, size: int, *, timeout: float = 0.0, memory_mb: int = 0) -> None:
        self.size = max(1, size)
        self.timeout = timeout
        self.memory_mb = memory_mb
        self._slots = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self.closed = False
        # Every worker is started from this one long-lived thread: Linux sends the parent-death signal
        # when the *thread* that started a child ends, and the pipeline's threads end with their paper.
        self._launcher = ThreadPoolExecutor(1, thread_name_prefix="digest-pdf-launcher")

    def warm(self) -> None:
        """Start one worker now, so its start-up overlaps the downloads."""
        with self._lock:
            if not self.closed and not self._idle and not self._busy:
                self._idle.append(_Worker(self._launcher, self.memory_mb))

    def extract(self, pdf: bytes, engine: str, figure: int | None = None, figures: bool = True) -> Any:
        """What extract_pdf makes of ``pdf``, read by a worker. Raises PdfError (Interrupted once closed)."""
        with self._slots:
            for _ in range(2):  # a worker found dead before it took the paper is replaced once
                worker = self._take()
                try:
                    return worker.extract((pdf, engine, figure, figures), self.timeout, self.memory_mb)
                except _WorkerLost:
                    continue
                except PdfError:
                    if self.closed:
                        raise Interrupted("not read: digest is stopping") from None
                    raise
                finally:
                    self._give_back(worker)
        if self.closed:
            raise Interrupted("not read: digest is stopping")
        raise PdfError("could not start a process to read the PDF")

    def _take(self) -> _Worker:
        with self._lock:
            if self.closed:
                raise Interrupted("not read: digest is stopping")
            worker = self._idle.pop() if self._idle else _Worker(self._launcher, self.memory_mb)
            self._busy.add(worker)
            return worker

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            keep = not worker.dead and not self.closed
            if keep:
                self._idle.append(worker)
        if not keep:
            worker.stop()

    def close(self) -> None:
        """Kill every worker (a paper still being read ends with Interrupted) and wait for them."""
        with self._lock:
            self.closed = True
            workers = [*self._idle, *self._busy]
            self._idle.clear()
        for worker in workers:
            worker.stop()
        self._launcher.shutdown(wait=True)


class _WorkerLost(Exception):
    """The worker was gone before it took the paper (it never started, or died idle)."""


_LOST = object()  # the job could not even be sent


class _Worker:
    """One worker process and its two pipes; used by one thread at a time."""

    def __init__(self, launcher: ThreadPoolExecutor, memory_mb: int) -> None:
        self._started: Future[subprocess.Popen[bytes]] = launcher.submit(_start, memory_mb)
        self._ready = False
        self.dead = False

    def extract(self, job: tuple[Any, ...], timeout: float, memory_mb: int) -> Any:
        """``job``: extract_pdf's arguments."""
        process = self._process()

        def talk() -> Any:
            try:
                _send(process.stdin, job)
            except OSError:
                return _LOST
            return _receive(process.stdout)

        self.dead = True  # until a whole reply is in: a worker left mid-paper (Ctrl-C) is never reused
        reply, expired = _within(timeout, process, talk)
        if reply is _LOST and not expired:
            raise _WorkerLost()
        if reply is None or reply is _LOST:
            raise _failure(process, expired, timeout, memory_mb)
        kind, value = reply
        self.dead = expired or kind == "memory"  # killed just as it answered; or it quits by itself
        if kind == "ok":
            return value
        raise PdfError(_memory_message(memory_mb) if kind == "memory" else value)

    def _process(self) -> subprocess.Popen[bytes]:
        """The started worker, once it has said it is ready. Raises _WorkerLost."""
        try:
            process = self._started.result()
        except OSError:
            self.dead = True
            raise _WorkerLost() from None
        if not self._ready:
            self.dead = True
            hello, _ = _within(STARTUP_SECONDS, process, lambda: _receive(process.stdout))
            if hello != ("ready", None):
                raise _WorkerLost()
            self._ready, self.dead = True, False
        return process

    def stop(self) -> None:
        """Kill the worker (if it started) and reap it."""
        self.dead = True
        try:
            process = self._started.result()
        except OSError:
            return
        _kill(process)
        process.wait()
        for pipe in (process.stdin, process.stdout):
            try:
                pipe.close()
            except OSError:
                pass  # a pipe to a dead process may fail to flush


def _failure(process: subprocess.Popen[bytes], expired: bool, timeout: float, memory_mb: int) -> PdfError:
    """Why a worker died reading a paper: killed at the deadline, out of memory, or a crash."""
    peak_mb = _reap(process)
    if expired:
        return PdfError(f"the PDF took more than {timeout:g} s to read")
    # pdfium aborts the process when an allocation fails: a worker that died big died of the cap
    if memory_mb and peak_mb is not None and peak_mb >= memory_mb / 2:
        return PdfError(_memory_message(memory_mb))
    return PdfError("the PDF engine crashed reading this PDF")


def _memory_message(memory_mb: int) -> str:
    return f"the PDF needed more than {memory_mb} MB of memory to read"


def _start(memory_mb: int) -> subprocess.Popen[bytes]:
    """A worker process, on pipes of its own; runs in the pool's launcher thread."""
    package_home = str(Path(__file__).resolve().parent.parent)
    return subprocess.Popen(
        # -P: nothing from the working directory shadows digest's modules
        [sys.executable, "-P", "-c", _BOOTSTRAP, package_home, str(os.getpid()), str(memory_mb)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C on the terminal is the parent's to handle, not the workers'
    )


def _within(seconds: float, process: subprocess.Popen[bytes], talk: Any) -> tuple[Any, bool]:
    """Run ``talk`` (pipe traffic with the worker), killing the worker if it takes more than ``seconds``
    (0: no limit). Returns what talk returned (None if the worker died) and whether time ran out."""
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        _kill(process)

    timer = threading.Timer(seconds, expire) if seconds > 0 else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        result = talk()
    except (OSError, EOFError, pickle.UnpicklingError):
        result = None  # a broken pipe: the worker died
    finally:
        if timer is not None:
            timer.cancel()
    return result, expired.is_set()


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        process.kill()
    except OSError:
        pass  # already gone


def _reap(process: subprocess.Popen[bytes]) -> float | None:
    """Wait for a dead worker. Returns its peak resident memory in MB where the system tells it."""
    wait4 = getattr(os, "wait4", None)
    if wait4 is None or process.returncode is not None:
        process.wait()
        return None
    try:
        _, status, usage = wait4(process.pid, 0)
    except ChildProcessError:  # reaped already
        process.wait()
        return None
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / (1 << 20 if sys.platform == "darwin" else 1 << 10)  # bytes on macOS, KB elsewhere


def _send(stream: IO[bytes] | None, message: Any) -> None:
    assert stream is not None
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes] | None) -> Any:
    """The next message, or None when the other side has gone."""
    assert stream is not None
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    size = _HEADER.unpack(header)[0]
    data = stream.read(size)
    return pickle.loads(data) if len(data) == size else None


# -- the worker's side ------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    """A worker: read extract_pdf's (pdf, engine, figure, figures) jobs from stdin and answer each on stdout until
    stdin closes."""
    parent, memory_mb = int(argv[0]), int(argv[1])
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    jobs, replies = _private_pipes()
    from .pdftext import extract_pdf  # before the memory cap: imports are the same for every paper

    try:
        import pypdfium2  # noqa: F401  (the default engine, loaded while the worker waits for its first paper)

        from . import pdfium_reader  # noqa: F401  (its reader, so the cap meets no import either)
        import PIL.Image  # noqa: F401  (the figure's encoder)
    except ImportError:
        pass

    _cap_memory(memory_mb)
    _send(replies, ("ready", None))
    while (job := _receive(jobs)) is not None:
        try:
            reply: tuple[str, Any] = ("ok", extract_pdf(*job))
        except PdfError as error:
            reply = ("error", str(error))
        except MemoryError:
            reply = ("memory", None)
        except Exception as error:  # extract_pdf promises PdfError; a bug must still not look like a crash
            reply = ("error", f"the PDF could not be read ({type(error).__name__})")
        del job
        _send(replies, reply)
        if reply[0] == "memory":
            return  # memory may be fragmented or half-freed; the next paper gets a fresh worker


def _die_with(parent: int) -> None:
    """Exit when the process that started us ends, however it ends (kill -9 included)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still catches it, within a second
    if os.getppid() != parent:
        os._exit(0)  # the parent died before the death signal was set up

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _private_pipes() -> tuple[IO[bytes], IO[bytes]]:
    """The job and reply pipes on descriptors of their own. Descriptors 0 and 1 then point at the null
    device, so nothing an engine prints can corrupt a reply (stderr is the null device already)."""
    jobs = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    return jobs, replies


def _cap_memory(memory_mb: int) -> None:
    """Cap the address space at ``memory_mb`` (0: no cap), and write no core file when pdfium aborts."""
    try:
        import resource
    except ImportError:  # Windows: no caps
        return
    _lower(resource, resource.RLIMIT_CORE, 0)
    if memory_mb:
        _lower(resource, resource.RLIMIT_AS, memory_mb << 20)


def _lower(resource: Any, limit: int, value: int) -> None:
    try:
        _, hard = resource.getrlimit(limit)
        resource.setrlimit(limit, (value if hard == resource.RLIM_INFINITY else min(value, hard), hard))
    except (ValueError, OSError):
        pass  # a platform that does not enforce it (macOS and RLIMIT_AS)
