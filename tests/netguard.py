"""The tests' network guard: no test may leave this machine.

``install()`` wraps socket connects and name lookups so that any address but 127.0.0.0/8, ::1,
localhost or a Unix socket is refused with an OSError naming it, and appended to a log file.
conftest.py installs it in the test process and, through the sitecustomize written by
``write_sitecustomize``, in every Python child the tests start (`digest` as a subprocess, the
PDF extraction pool); after each test phase it reads the log with ``take()`` and fails the test
that tried, naming the address. It never imports pytest (children load it at start-up), and
product code knows nothing of it.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from pathlib import Path
from typing import Any

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", ""}
WILDCARDS = {"0.0.0.0", "::"}  # what servers bind to: a lookup of them goes nowhere

SITECUSTOMIZE = """\
# Written by tests/netguard.py: tests and the processes they start stay on this machine.
import importlib.util as _util
import sys as _sys

_spec = _util.spec_from_file_location("netguard", {module!r})
_guard = _util.module_from_spec(_spec)
_sys.modules.setdefault("netguard", _guard)
_spec.loader.exec_module(_guard)
_guard.install({log!r})
"""

_lock = threading.Lock()
_log: str | None = None
_read = 0  # how much of the log take() has returned
_installed = False


class NetworkRefused(ConnectionRefusedError):
    """A test tried to leave 127.0.0.1."""


def is_local(host: Any) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    name = str(host).strip().lower().rstrip(".").strip("[]").split("%", 1)[0]
    if name in LOCAL_NAMES or name in WILDCARDS:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _refuse(where: str) -> None:
    with _lock:
        if _log:
            try:
                with open(_log, "a", encoding="utf-8") as log:
                    log.write(where + "\n")
            except OSError:
                pass
    raise NetworkRefused(f"test tried to reach {where}: tests must stay on 127.0.0.1 (tests/netguard.py)")


def _check_address(family: int, address: Any) -> None:
    if family == getattr(socket, "AF_UNIX", None) or not isinstance(address, tuple) or not address:
        return
    if not is_local(address[0]):
        _refuse(f"{address[0]}:{address[1]}" if len(address) > 1 else str(address[0]))


def install(log: str) -> None:
    """Guard this process (once); each refused address is appended to the file ``log``."""
    global _installed, _log, _read
    if log != _log:
        _log, _read = log, 0
    if _installed:
        return
    _installed = True
    connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        _check_address(self.family, address)
        return connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> Any:
        _check_address(self.family, address)
        return connect_ex(self, address)

    def guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_local(host):
            _refuse(f"{host}:{port}")
        return getaddrinfo(host, port, *args, **kwargs)

    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = guarded_getaddrinfo  # socket.create_connection resolves names through it


def take() -> list[str]:
    """The addresses refused (in this process or a child) since the last call."""
    global _read
    if _log is None:
        return []
    with _lock, open(_log, encoding="utf-8") as log:
        log.seek(_read)
        text = log.read()
        _read = log.tell()
    return [line for line in text.splitlines() if line]


def write_sitecustomize(folder: Path, log: str) -> None:
    """A sitecustomize.py in ``folder`` that guards any Python started with ``folder`` on PYTHONPATH."""
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE.format(module=__file__, log=log), encoding="utf-8")
