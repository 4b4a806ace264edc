"""The network guard of the test set-up (tests/netguard.py, installed by conftest.py).

A test that tries to connect anywhere but this machine fails, naming the address, even when
the code under test swallows the connection error, and even when the attempt is made by a
Python process the test starts.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

import netguard

TESTS = Path(__file__).parent
OUTSIDE = ("192.0.2.1", 80)  # TEST-NET-1: never routed; the guard refuses it before any packet


def test_the_guard_refuses_an_outside_address_and_records_it() -> None:
    with pytest.raises(OSError, match=r"tried to reach 192\.0\.2\.1:80"):
        socket.create_connection(OUTSIDE, timeout=1)
    with pytest.raises(OSError, match=r"tried to reach arxiv\.org:443"):
        socket.create_connection(("arxiv.org", 443), timeout=1)
    assert netguard.take() == ["192.0.2.1:80", "arxiv.org:443"]  # taken here, so this test itself passes


def test_the_guard_reaches_python_processes_the_tests_start() -> None:
    code = "import socket; socket.create_connection(('example.com', 80), timeout=1)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "tried to reach example.com:80" in run.stderr
    assert netguard.take() == ["example.com:80"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.5.6.7", "::ffff:127.0.0.1"])
def test_the_guard_lets_this_machine_through(host: str) -> None:
    assert netguard.is_local(host)


@pytest.mark.parametrize("host", ["192.0.2.1", "10.0.0.1", "arxiv.org", "2001:db8::1", "::ffff:192.0.2.1"])
def test_the_guard_stops_everything_else(host: str) -> None:
    assert not netguard.is_local(host)


def test_a_test_that_leaves_localhost_fails_naming_the_address(pytester: pytest.Pytester,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_leaves="""
        import socket
        import subprocess
        import sys

        def test_swallows_the_connection_error():
            try:
                socket.create_connection(("192.0.2.1", 80), timeout=1)
            except OSError:
                pass

        def test_starts_a_process_that_tries():
            code = "import socket; socket.create_connection(('example.com', 443), timeout=1)"
            subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)

        def test_stays_home():
            socket.socket().close()
    """)
    monkeypatch.setenv("PYTHONPATH", str(TESTS))  # the inner session sets its own guard up, from conftest.py
    result = pytester.runpytest_subprocess("-p", "conftest", "-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([
        "*_ test_swallows_the_connection_error _*",
        "test tried to reach 192.0.2.1:80: tests must stay on 127.0.0.1 *",
        "*_ test_starts_a_process_that_tries _*",
        "test tried to reach example.com:443: tests must stay on 127.0.0.1 *",
    ], consecutive=True)
