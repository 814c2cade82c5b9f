"""`feedback worker --supervise`: run the worker as a child and start it again when it dies.

A worker exits 0 when a stop condition held or it was told to stop; anything else (the
liveness watchdog's code 3, a crash, SIGKILL) is restarted after a capped exponential
backoff. The backoff starts again from its first step once a child has run for
``healthy_after`` seconds. SIGTERM and SIGINT are passed on to the child, which finishes
its batch in hand, and then the supervisor exits with the child's code.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import FrameType

__all__ = ["RestartPolicy", "supervise"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestartPolicy:
    """Capped exponential backoff between restarts.

    >>> [RestartPolicy(initial=1, cap=10).delay(n) for n in range(6)]
    [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    """

    initial: float = 1.0
    cap: float = 60.0
    healthy_after: float = 120.0
    max_restarts: int | None = None

    def delay(self, failures_in_a_row: int) -> float:
        return float(min(self.cap, self.initial * 2 ** failures_in_a_row))


def supervise(cmd: Sequence[str], *, policy: RestartPolicy, env: Mapping[str, str] | None = None) -> int:
    """Run ``cmd`` until it exits 0 or a signal asks us to stop; returns the last exit code."""
    stopping = False
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    restarts = failures = 0
    try:
        while True:
            started = time.monotonic()
            child = subprocess.Popen(list(cmd), env=dict(env) if env is not None else None)
            code = child.wait()
            ran = time.monotonic() - started
            if code == 0 or stopping:
                log.warning("worker exited code=%d after %.0fs; supervisor stops (restarts=%d)", code, ran, restarts)
                return code
            if policy.max_restarts is not None and restarts >= policy.max_restarts:
                log.error("worker exited code=%d; %d restarts used up, supervisor gives up", code, restarts)
                return code
            failures = 0 if ran >= policy.healthy_after else failures
            delay = policy.delay(failures)
            failures += 1
            restarts += 1
            log.warning("worker exited code=%d after %.0fs; restart %d in %.1fs", code, ran, restarts, delay)
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline and not stopping:
                time.sleep(0.1)
            if stopping:
                log.warning("supervisor stopped during the backoff; worker not restarted (restarts=%d)", restarts)
                return code
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
