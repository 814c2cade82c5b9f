"""Prometheus metrics of one worker process (``prometheus-client``), on a local port.

Each worker has its own registry, so building two apps in one process (tests) never
registers a metric twice.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

__all__ = ["STEPS", "WorkerMetrics"]

log = logging.getLogger(__name__)

# The steps of a batch whose wall time `feedback_step_seconds` adds up, per agent: decoding
# the records, the classifier (in its thread), waiting for Kafka's acks of what the batch sends
# on, the Elasticsearch bulk request.
STEPS = ("classify.parse", "classify.model", "classify.send", "index.parse", "index.write", "index.send")
_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class WorkerMetrics:
    """The worker's counters, batch latency, consumer lag and last progress time.

    >>> m = WorkerMetrics()
    >>> m.count("classify", classified=3); m.batch_done("classify", seconds=0.4)
    >>> m.registry.get_sample_value("feedback_events_classified_total")
    3.0
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.classified = Counter("feedback_events_classified", "Events classified and sent on.", registry=r)
        self.indexed = Counter("feedback_events_indexed", "Documents Elasticsearch accepted.", registry=r)
        self.dead_lettered = Counter("feedback_events_dead_lettered", "Records sent to the DLQ.", ["stage"], registry=r)
        self.alerts = Counter("feedback_alerts_raised", "Spike alerts raised by this worker.", registry=r)
        self.batch = Histogram("feedback_batch_seconds", "Time from a batch's arrival to its ack.", ["agent"],
                               buckets=_BUCKETS, registry=r)
        self.steps = Counter("feedback_step_seconds", "Wall seconds each step of a batch took (see STEPS).", ["step"],
                             registry=r)
        self.lag = Gauge("feedback_consumer_lag", "End offset minus committed offset.", ["topic", "partition"],
                         registry=r)
        self.last_progress = Gauge("feedback_last_progress_timestamp_seconds",
                                   "Unix time the agent last finished a batch.", ["agent"], registry=r)
        self.started = Gauge("feedback_worker_start_timestamp_seconds", "Unix time this worker started.", registry=r)
        self.started.set(time.time())

    def batch_done(self, agent: str, *, seconds: float) -> None:
        """A batch of ``agent`` was acked ``seconds`` after it arrived."""
        self.batch.labels(agent).observe(seconds)
        self.last_progress.labels(agent).set(time.time())

    def step_done(self, step: str, *, seconds: float) -> None:
        """One batch spent ``seconds`` in ``step`` (one of :data:`STEPS`)."""
        self.steps.labels(step).inc(seconds)

    def count(self, agent: str, *, classified: int = 0, indexed: int = 0, dead_lettered: int = 0) -> None:
        """What one batch of ``agent`` did (called by that batch itself, so agents running at
        the same time never count each other's events)."""
        if classified:
            self.classified.inc(classified)
        if indexed:
            self.indexed.inc(indexed)
        if dead_lettered:
            self.dead_lettered.labels("classify" if agent == "classify" else "index").inc(dead_lettered)

    def set_lag(self, topic: str, partition: int, lag: int) -> None:
        self.lag.labels(topic, str(partition)).set(lag)

    def serve(self, *, host: str, port: int) -> bool:
        """Serve ``/metrics`` on ``host:port`` (0: off); a taken port is logged, never fatal."""
        if port == 0:
            return False
        try:
            start_http_server(port, addr=host, registry=self.registry)
        except OSError as e:
            log.warning("metrics not served: port %s:%d unavailable (%s); set FEEDBACK_STREAM_METRICS_PORT", host, port, e)
            return False
        log.info("metrics on http://%s:%d/metrics", host, port)
        return True
