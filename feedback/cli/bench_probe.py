"""Where the time goes in `feedback bench`: CPU and memory of the processes that share the
machine, and the worker's own per-step seconds.

The pipeline and its services run on the same cores as the classifier, so a pipeline that
trails its classifier is explained by who used the CPU during the run (the worker, Kafka,
Elasticsearch, the bench's own producer and polling, everything else) and by what the
worker's batches waited on (its ``feedback_step_seconds`` counters).
"""

from __future__ import annotations

import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["CpuMeter", "peak_rss_mb", "rss_mb", "scrape_worker"]


def _cpu_seconds(pid: int, *, stop_at: frozenset[int] = frozenset()) -> float | None:
    """User + system CPU seconds of ``pid`` and its descendants, except the subtrees rooted at
    ``stop_at`` (processes measured under their own name); None when ``pid`` is gone."""
    try:
        todo = [psutil.Process(pid)]
    except psutil.Error:
        return None
    total = 0.0
    while todo:
        p = todo.pop()
        try:
            t = p.cpu_times()
            children = p.children()
        except psutil.Error:
            continue
        total += t.user + t.system
        todo += [c for c in children if c.pid not in stop_at]
    return total


def _machine_busy() -> float:
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0) + getattr(t, "steal", 0.0)


@dataclass
class CpuMeter:
    """CPU seconds each named process (with its children) used between ``start`` and ``stop``.

    A child that is itself named (the bench's worker is the bench's child) counts only under
    its own name.

    >>> import os
    >>> m = CpuMeter({"me": os.getpid()}); m.start(); _ = sum(range(10**7)); r = m.stop()
    >>> sorted(r["processes"]) == ["me"] and r["processes"]["me"]["cpu_s"] > 0
    True
    """

    pids: dict[str, int | None]
    _start: dict[str, float] = field(default_factory=dict)
    _busy0: float = 0.0
    _t0: float = 0.0

    def _named(self) -> frozenset[int]:
        return frozenset(pid for pid in self.pids.values() if pid)

    def start(self) -> None:
        named = self._named()
        self._start = {n: s for n, pid in self.pids.items()
                       if pid and (s := _cpu_seconds(pid, stop_at=named)) is not None}
        self._busy0 = _machine_busy()
        self._t0 = time.perf_counter()

    def stop(self) -> dict[str, object]:
        """Per process: CPU seconds and cores used on average; the machine's busy and idle share."""
        wall = max(time.perf_counter() - self._t0, 1e-9)
        busy = _machine_busy() - self._busy0
        cores = psutil.cpu_count() or 1
        out: dict[str, dict[str, float]] = {}
        for name, before in self._start.items():
            pid = self.pids[name]
            now = _cpu_seconds(pid, stop_at=self._named()) if pid else None
            if now is not None:
                out[name] = {"cpu_s": round(now - before, 2), "cores": round((now - before) / wall, 2)}
        named = sum(v["cpu_s"] for v in out.values())
        return {
            "wall_s": round(wall, 2),
            "cores": cores,
            "processes": out,
            "other_cpu_s": round(max(0.0, busy - named), 2),
            "machine_busy_share": round(min(1.0, busy / (wall * cores)), 3),
        }


def rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` now, MiB."""
    try:
        return round(psutil.Process(pid).memory_info().rss / 2**20, 1)
    except psutil.Error:
        return None


def peak_rss_mb(pid: int) -> float | None:
    """The highest resident memory ``pid`` had so far (Linux ``VmHWM``), MiB; None elsewhere."""
    status = Path(f"/proc/{pid}/status")
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def scrape_worker(url: str, *, timeout: float = 5.0) -> dict[str, dict[str, float]]:
    """Step seconds (``feedback_step_seconds``) and batch counts of a worker's ``/metrics``.

    Returns ``{"steps": {step: seconds}, "batches": {agent: count}}``.
    """
    with urllib.request.urlopen(url, timeout=timeout) as response:
        text = response.read().decode()
    steps: dict[str, float] = {}
    batches: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "feedback_step_seconds_total":
                steps[sample.labels["step"]] = round(sample.value, 3)
            elif sample.name == "feedback_batch_seconds_count":
                batches[sample.labels["agent"]] = sample.value
    return {"steps": steps, "batches": batches}
