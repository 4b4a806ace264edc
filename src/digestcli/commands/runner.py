"""Runs one step per input on worker threads: at most ``workers`` at once, Ctrl-C stops new steps,
waits for running ones (a second Ctrl-C stops waiting) and is raised again.

Knows nothing of papers or of what a step does; a step reports its own outcome.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
POLL = 0.2  # seconds between checks, so Ctrl-C is delivered while waiting


def _wait_all(done: list[threading.Event]) -> None:
    """Wait until every worker has set its event, in short steps so Ctrl-C is delivered.

    Events, not Thread.join: a join interrupted by Ctrl-C can leave CPython believing
    a running thread has ended (is_alive() False), and we would stop waiting for it.
    """
    for event in done:
        while not event.wait(POLL):
            pass


class Runner:
    """``stopped`` is set once Ctrl-C arrived: a step that checks it starts no new paid work."""

    def __init__(self, workers: int, on_stop: Callable[[], None] = lambda: None) -> None:
        self.workers = max(1, workers)
        self.on_stop = on_stop  # called when Ctrl-C arrives while steps are still running
        self.stopped = threading.Event()

    def run(self, inputs: Sequence[T], step: Callable[[int, T], None], name: Callable[[T], str] = str) -> None:
        """``step(index, input)`` for each input, each in its own thread; returns when all have ended."""
        if not inputs:
            return
        slots = threading.Semaphore(min(len(inputs), self.workers))
        done: list[threading.Event] = []
        try:
            for index, value in enumerate(inputs):
                while not slots.acquire(timeout=POLL):
                    pass  # stays interruptible by Ctrl-C
                if self.stopped.is_set():
                    slots.release()
                    break
                finished = threading.Event()

                def work(index: int = index, value: T = value, finished: threading.Event = finished) -> None:
                    try:
                        if not self.stopped.is_set():
                            step(index, value)
                    finally:
                        slots.release()
                        finished.set()

                done.append(finished)  # before start(): an interrupted start() must still be waited for
                threading.Thread(target=work, name=f"digest-{name(value)}", daemon=True).start()
            _wait_all(done)
        except KeyboardInterrupt:
            self.stopped.set()
            if not all(event.is_set() for event in done):
                self.on_stop()
                try:
                    _wait_all(done)
                except KeyboardInterrupt:
                    pass
            raise
