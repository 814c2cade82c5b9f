"""Background processes that `feedback up` starts: PID files, ports, graceful stop."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from pathlib import Path

from feedback.errors import ServiceError

__all__ = ["free_port", "pid_alive", "port_in_use", "read_pid", "stop_pid", "wait_until"]

log = logging.getLogger(__name__)


def read_pid(pid_file: Path) -> int | None:
    """The PID in ``pid_file`` if it names a live process, else None."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def pid_alive(pid: int) -> bool:
    """True when ``pid`` is a running (not zombie) process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def cmdline(pid: int) -> str:
    """The command line of ``pid`` as one string ('' when unreadable)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (a worker's metrics, a test server)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_until(check: object, *, timeout: float, interval: float = 0.5) -> bool:
    """Call ``check()`` until it returns truthy or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():  # type: ignore[operator]
                return True
        except Exception as e:  # readiness probes fail in many ways while a service starts
            log.debug("not ready yet: %s", e)
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def stop_pid(pid_file: Path, *, marker: str, timeout: float, name: str) -> bool:
    """Stop the process in ``pid_file`` if its command line contains ``marker``.

    SIGTERM first, SIGKILL after ``timeout`` seconds. Returns True when something was
    stopped. A PID that now belongs to another program is never signalled.
    """
    pid = read_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    if marker not in cmdline(pid):
        pid_file.unlink(missing_ok=True)
        log.warning("pid file %s names pid=%d, which is not our %s; left it alone", pid_file, pid, name)
        return False
    os.kill(pid, signal.SIGTERM)
    if not wait_until(lambda: not pid_alive(pid), timeout=timeout, interval=0.2):
        log.warning("%s pid=%d did not stop within %.0fs; sending SIGKILL", name, pid, timeout)
        os.kill(pid, signal.SIGKILL)
        if not wait_until(lambda: not pid_alive(pid), timeout=10, interval=0.2):
            raise ServiceError(f"{name} (pid {pid}) survived SIGKILL; stop it by hand")
    pid_file.unlink(missing_ok=True)
    return True
