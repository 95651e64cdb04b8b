"""The unit's signals, caught in the main thread (only it can install handlers; tests that run
the unit in another thread get none).

- SIGTERM, SIGINT: an orderly stop (`stop` set); a second one is not caught, so Ctrl-C twice
  ends a stop that takes too long.
- SIGUSR1 (`anpr-edge outbox --retry-now`): `retry` set, nothing else; the publisher acts on it
  in its own thread (a handler must not take locks another thread may hold). SIGUSR2 (`anpr-edge
  camera live`): the live page's request flag set, the same way (edge.live.page). Both are
  installed before the status file names the pid, since their default action ends the process.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from contextlib import contextmanager

log = logging.getLogger(__name__)


def flag_on_signal(signum: signal.Signals, flag: threading.Event) -> Callable[[], object]:
    """Install a handler that sets `flag`; returns what restores the previous one."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signum, lambda _signum, _frame: flag.set())
    return lambda: signal.signal(signum, previous or signal.SIG_DFL)


@contextmanager
def signals_stop(stop: threading.Event):
    """SIGTERM and SIGINT set `stop` while the block runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handler(signum, _frame) -> None:
        log.info("%s received: stopping (again to stop at once)", signal.Signals(signum).name)
        stop.set()
        signal.signal(signum, previous[signum])

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
