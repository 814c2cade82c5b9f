"""The worker's spike check: a timer that judges topic shares from the indexed documents.

Every ``stream.alert_interval`` seconds it reads the counts of the current window, the
one before and their baselines from a :class:`~feedback.protocols.TopicVolumes` (the
wiring passes Elasticsearch aggregations), applies :func:`stream.trends.share_spikes`, and
for each spike claims its key; only the claim's winner publishes the alert. A topic that
alerted in the previous window is not raised again in the next one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import faust

from feedback.protocols import TopicVolumes
from feedback.schema import Alert
from feedback.settings import Settings
from stream.trends import ShareSpike, ShareSpikeTest, share_spikes, window_start

if TYPE_CHECKING:
    from stream.app import PipelineCounters

__all__ = ["alert_key", "install_spike_check", "spike_alert"]

log = logging.getLogger(__name__)


def alert_key(department: str, topic: str, start: float, size: int) -> str:
    """The id of an alert's claim.

    >>> alert_key("logistics", "delivery", 1200.0, 600)
    'logistics|delivery|600|1200'
    """
    return f"{department}|{topic}|{size}|{start:.0f}"


def spike_alert(s: ShareSpike) -> Alert:
    """The alert record of one spike."""
    v = s.verdict
    return Alert(topic=s.topic, department=s.department, window_start=datetime.fromtimestamp(s.window_start, tz=UTC),
                 window_seconds=s.window_seconds, count=s.count, baseline=round(v.baseline_share * s.total, 2),
                 p_value=v.p_value, total=s.total, share=round(v.share, 4), baseline_share=round(v.baseline_share, 4))


def install_spike_check(
    app: faust.App,
    settings: Settings,
    *,
    volumes: TopicVolumes | None,
    alerts_topic: faust.TopicT,
    send_all: Callable[[Sequence[tuple[faust.TopicT, bytes, bytes]]], Awaitable[None]],
    counters: PipelineCounters,
    on_alert: Callable[[Alert], Awaitable[None]] | None,
) -> None:
    """Add the timer to ``app`` (nothing when ``volumes`` is None)."""
    if volumes is None:
        return
    st = settings.stream
    size, history = st.alert_window, st.alert_history
    test = ShareSpikeTest(min_count=st.alert_min_count, p_value=st.alert_p_value, min_lift=st.alert_min_lift,
                          min_share=st.alert_min_share, min_baseline_total=st.alert_min_baseline)

    @app.timer(interval=st.alert_interval)
    async def spike_check() -> None:
        now = time.time()
        since = window_start(now, size) - (history + 1) * size
        try:
            counts = await volumes.counts(since=since, until=now + size, size=size)
            for s in share_spikes(counts, now=now, size=size, history=history, test=test):
                previous = alert_key(s.department, s.topic, s.window_start - size, size)
                if await volumes.raised(previous) or not await volumes.claim(
                        alert_key(s.department, s.topic, s.window_start, size)):
                    continue
                alert = spike_alert(s)
                await send_all([(alerts_topic, alert_key(s.department, s.topic, s.window_start, size).encode(),
                                 alert.model_dump_json().encode())])
                counters.alerts += 1
                if counters.metrics is not None:
                    counters.metrics.alerts.inc()
                log.warning("spike department=%s topic=%s window=%ss count=%d/%d share=%.3f baseline_share=%.3f p=%.2e",
                            s.department, s.topic, size, s.count, s.total, s.verdict.share, s.verdict.baseline_share,
                            s.verdict.p_value)
                if on_alert is not None:
                    await on_alert(alert)
        except Exception as e:  # the check must never stop the worker; the next round tries again
            log.warning("spike check skipped: %s: %s", type(e).__name__, e)
