"""Alerts leaving the pipeline: delivery to a webhook, and reading the open ones back.

:func:`deliver_alert` posts one :class:`~feedback.schema.Alert` as JSON to
``settings.stream.alert_webhook`` with retries; it never raises into the Faust worker
that calls it (a failed delivery is logged and reported by the return value).
:func:`read_alerts` reads the alerts topic with kafka-python, from a point in time to the
current end, for ``feedback trends``, ``GET /alerts`` and the web page.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

import httpx
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from pydantic import ValidationError

from feedback.errors import ServiceError
from feedback.schema import Alert
from feedback.settings import Settings

__all__ = ["deliver_alert", "open_alerts", "read_alerts"]

log = logging.getLogger(__name__)

_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


async def deliver_alert(
    alert: Alert,
    *,
    url: str,
    attempts: int = 3,
    backoff_s: float = 0.5,
    timeout_s: float = 5.0,
    client: httpx.AsyncClient | None = None,
) -> bool:
    """POST ``alert`` as JSON to ``url``; retry timeouts, connection errors, 429 and 5xx.

    Returns True once the receiver answered 2xx, False when every attempt failed or the
    receiver refused it (4xx other than 408/425/429). Never raises, except on cancellation.

    >>> await deliver_alert(alert, url="http://127.0.0.1:9000/hooks/feedback")  # doctest: +SKIP
    True
    """
    body = alert.model_dump_json().encode("utf-8")
    headers = {"content-type": "application/json", "user-agent": "feedback-pipeline/alerts"}
    own = client is None
    http = client or httpx.AsyncClient(timeout=timeout_s)
    try:
        for attempt in range(1, attempts + 1):
            try:
                response = await http.post(url, content=body, headers=headers)
            except httpx.HTTPError as e:
                log.warning("alert delivery failed url=%s topic=%s attempt=%d/%d error=%s: %s",
                            url, alert.topic, attempt, attempts, type(e).__name__, e)
            else:
                if response.is_success:
                    log.info("alert delivered url=%s topic=%s status=%d attempt=%d",
                             url, alert.topic, response.status_code, attempt)
                    return True
                if response.status_code not in _RETRY_STATUSES:
                    log.error("alert refused url=%s topic=%s status=%d; not retried (fix the receiver or the URL)",
                              url, alert.topic, response.status_code)
                    return False
                log.warning("alert delivery failed url=%s topic=%s attempt=%d/%d status=%d",
                            url, alert.topic, attempt, attempts, response.status_code)
            if attempt < attempts:
                await asyncio.sleep(backoff_s * 2 ** (attempt - 1))
        log.error("alert not delivered url=%s topic=%s after %d attempts", url, alert.topic, attempts)
        return False
    except Exception:
        log.exception("alert delivery crashed url=%s topic=%s", url, alert.topic)
        return False
    finally:
        if own:
            await http.aclose()


def read_alerts(settings: Settings, *, since: datetime, timeout_s: float = 5.0) -> list[Alert]:
    """Every alert on the alerts topic written at or after ``since``, oldest first.

    Reads without a consumer group (nothing is committed) from the offsets of ``since`` to
    the end offsets found at the start. A record that is not an Alert is logged and skipped.

    >>> read_alerts(settings, since=datetime.now(timezone.utc) - timedelta(hours=1))  # doctest: +SKIP
    [Alert(topic='billing_payment', ...)]
    """
    topic = settings.kafka.alerts_topic
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            client_id=f"{settings.kafka.client_id}-alerts-reader",
            enable_auto_commit=False,
            request_timeout_ms=int(max(timeout_s, 1.0) * 1000) + 1000,
            consumer_timeout_ms=int(timeout_s * 1000),
        )
    except KafkaError as e:
        raise ServiceError(
            f"cannot reach Kafka at {settings.kafka_bootstrap} to read {topic} ({e}); start it with "
            "`feedback up` or set FEEDBACK_KAFKA_BOOTSTRAP"
        ) from e
    try:
        return _read(consumer, topic, since=since, timeout_s=timeout_s)
    except KafkaError as e:
        raise ServiceError(f"reading alerts from {topic} failed ({e}); check Kafka (`feedback status`)") from e
    finally:
        consumer.close()


def _read(consumer: KafkaConsumer, topic: str, *, since: datetime, timeout_s: float) -> list[Alert]:
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        log.info("alerts topic=%s does not exist yet; no alerts", topic)
        return []
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    end = consumer.end_offsets(tps)
    starts = consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in tps})
    pending = {}
    for tp in tps:
        found = starts.get(tp)
        if found is None or found.offset >= end[tp]:
            continue
        consumer.seek(tp, found.offset)
        pending[tp] = end[tp]
    alerts: list[Alert] = []
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        for tp, batch in consumer.poll(timeout_ms=200).items():
            for record in batch:
                if record.offset >= pending.get(tp, -1):
                    continue
                try:
                    alerts.append(Alert.model_validate_json(record.value))
                except ValidationError as e:
                    log.warning("skipped a record that is not an Alert topic=%s partition=%d offset=%d: %s",
                                tp.topic, tp.partition, record.offset, e.errors()[0]["msg"])
            if consumer.position(tp) >= pending.get(tp, 0):
                pending.pop(tp, None)
    if pending:
        log.warning("alerts read stopped at the timeout with partitions=%s unread", sorted(p.partition for p in pending))
    return sorted(alerts, key=lambda a: a.raised_at)


def open_alerts(alerts: list[Alert], *, now: datetime | None = None, keep: timedelta = timedelta(hours=24)) -> list[Alert]:
    """The latest alert per (department, topic) raised within ``keep`` of ``now``, newest first.

    >>> open_alerts([])
    []
    """
    now = now or datetime.now(UTC)
    latest: dict[tuple[str | None, str], Alert] = {}
    for alert in alerts:
        if alert.raised_at < now - keep:
            continue
        key = (alert.department, alert.topic)
        if key not in latest or alert.raised_at >= latest[key].raised_at:
            latest[key] = alert
    return sorted(latest.values(), key=lambda a: a.raised_at, reverse=True)
