"""What `feedback bench` measures besides wall time: process CPU, memory, worker steps."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from feedback.cli.bench_probe import CpuMeter, peak_rss_mb, rss_mb, scrape_worker
from feedback.services.process import free_port
from stream.metrics import WorkerMetrics


def test_worker_steps_and_batches_are_read_from_the_metrics_endpoint() -> None:
    metrics = WorkerMetrics()
    port = free_port()
    assert metrics.serve(host="127.0.0.1", port=port)
    metrics.step_done("classify.model", seconds=1.5)
    metrics.step_done("classify.model", seconds=0.25)
    metrics.step_done("index.write", seconds=0.5)
    metrics.batch_done("classify", seconds=2.0)
    metrics.batch_done("classify", seconds=1.0)
    metrics.batch_done("index", seconds=0.6)
    got = scrape_worker(f"http://127.0.0.1:{port}/metrics")
    assert got["steps"] == {"classify.model": 1.75, "index.write": 0.5}
    assert got["batches"] == {"classify": 2, "index": 1}


BURN = "import time\nend = time.process_time() + {s}\nwhile time.process_time() < end: pass\ntime.sleep(30)"


def test_cpu_is_charged_to_the_process_that_used_it_and_a_named_child_only_under_its_name() -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    burner = subprocess.Popen([sys.executable, "-c", BURN.format(s=5.0)])  # a child of this process, named
    try:
        time.sleep(0.5)  # the interpreters' own start-up is not part of the window
        meter = CpuMeter({"busy": os.getpid(), "sleeping": sleeper.pid, "burner": burner.pid, "gone": None})
        meter.start()
        deadline = time.process_time() + 0.5
        while time.process_time() < deadline:
            pass
        time.sleep(1.0)
        result = meter.stop()
    finally:
        for p in (sleeper, burner):
            p.kill()
            p.wait()
    procs = result["processes"]
    assert set(procs) == {"busy", "sleeping", "burner"}  # a process without a pid is left out
    assert procs["burner"]["cpu_s"] >= 0.4
    # this process burned 0.5 s itself; its children's CPU counts under their own names only
    assert 0.4 <= procs["busy"]["cpu_s"] < 0.8 and procs["busy"]["cores"] > 0.2
    assert procs["sleeping"]["cpu_s"] < 0.1
    assert result["other_cpu_s"] >= 0 and 0 < result["machine_busy_share"] <= 1


def test_memory_of_this_process_now_and_at_its_peak() -> None:
    now, peak = rss_mb(os.getpid()), peak_rss_mb(os.getpid())
    assert now is not None and now > 10
    assert peak is not None and peak >= now
