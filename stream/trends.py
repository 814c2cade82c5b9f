"""Spike detection on a topic's *share* of the volume, on event time.

Counts come per tumbling window of ``received_at`` (event time), per department and topic.
In a window ``n`` events arrived, ``k`` of them about one topic. The topic's baseline
share ``p0`` is its count over the total in the ``history`` windows before. The topic
spikes when

* ``k >= min_count`` and the window holds ``n >= 2 · min_count`` events (small numbers, or a
  window still being indexed, never alert),
* the history holds at least ``min_baseline_total`` events (no baseline, no judgement:
  a new deployment's first traffic raises nothing),
* its share rose at least ``min_lift`` times: ``k / n >= min_lift · max(p0, min_share)``,
* and ``P(X >= k) <= p_value`` for ``X ~ Binomial(n, max(p0, min_share))``.

A bulk import that brings every topic in its usual proportions leaves every share where
it was, so it raises nothing however large it is; a burst of one topic raises its share
and only its share. The alert names the department that received most of the topic's
events. (The share is taken of the whole volume, not within each department: with the
shipped routing most departments own exactly one topic, where a share within the
department is always 100 % and could never rise.) Only the current window and the one before it (wall clock) are ever
evaluated, so replaying or backfilling old events — whose ``received_at`` lies in older
windows — can never raise an alert.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ShareSpike", "ShareSpikeTest", "ShareVerdict", "WindowCounts", "binom_sf", "share_spikes", "window_start"]

# window start (epoch seconds) → department → topic → count
WindowCounts = Mapping[float, Mapping[str, Mapping[str, int]]]


def binom_sf(k: int, n: int, p: float) -> float:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)``.

    >>> round(binom_sf(2, 3, 0.5), 4)
    0.5
    """
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    lg = math.lgamma
    total = 0.0
    for i in range(k, n + 1):
        total += math.exp(lg(n + 1) - lg(i + 1) - lg(n - i + 1) + i * log_p + (n - i) * log_q)
    return min(1.0, total)


def window_start(timestamp: float, size: int) -> float:
    """The start of the tumbling window of ``size`` seconds that holds ``timestamp``.

    >>> window_start(1000.5, 300)
    900.0
    """
    return float(timestamp - (timestamp % size))


@dataclass(frozen=True)
class ShareVerdict:
    spike: bool
    share: float
    baseline_share: float
    p_value: float


@dataclass(frozen=True)
class ShareSpikeTest:
    """The documented test; thresholds come from settings (``stream.alert_*``)."""

    min_count: int = 10
    p_value: float = 0.001
    min_lift: float = 1.5
    min_share: float = 0.02
    min_baseline_total: int = 20

    def check(self, count: int, total: int, *, base_count: int, base_total: int) -> ShareVerdict:
        """Is a topic's ``count`` out of ``total`` a rise of its share over the baseline?

        >>> t = ShareSpikeTest(min_count=5)
        >>> t.check(30, 40, base_count=10, base_total=100).spike   # 10 % → 75 %
        True
        >>> t.check(20, 200, base_count=10, base_total=100).spike  # 10 % → 10 %, more volume
        False
        """
        share = count / total if total else 0.0
        # A window that holds only a handful of events (or is still being indexed) cannot
        # establish a share: it must hold at least twice min_count events.
        if base_total < self.min_baseline_total or total < 2 * self.min_count:
            return ShareVerdict(spike=False, share=share, baseline_share=0.0, p_value=1.0)
        p0 = max(base_count / base_total, self.min_share)
        p = binom_sf(count, total, p0)
        spike = count >= self.min_count and share >= self.min_lift * p0 and p <= self.p_value
        return ShareVerdict(spike=spike, share=share, baseline_share=p0, p_value=p)


@dataclass(frozen=True)
class ShareSpike:
    department: str
    topic: str
    window_start: float
    window_seconds: int
    count: int
    total: int
    verdict: ShareVerdict


def _topic_totals(window: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for topics in window.values():
        for topic, n in topics.items():
            totals[topic] = totals.get(topic, 0) + n
    return totals


def share_spikes(counts: WindowCounts, *, now: float, size: int, history: int, test: ShareSpikeTest) -> list[ShareSpike]:
    """Spikes in the current window of ``size`` seconds and the one before (late events).

    ``counts`` maps window starts (multiples of ``size``) to department → topic → count;
    windows missing from it count as empty. Older windows only form baselines. A topic's
    share is taken of the whole volume; the spike names the department that received
    most of the topic's events in the window.

    >>> base = {float(w): {"ops": {"a": 2, "b": 18}} for w in range(0, 1200, 300)}
    >>> now = {1200.0: {"ops": {"a": 40, "b": 2}}}
    >>> [s.topic for s in share_spikes(base | now, now=1300, size=300, history=4, test=ShareSpikeTest())]
    ['a']
    """
    current = window_start(now, size)
    spikes: list[ShareSpike] = []
    for start in (current - size, current):
        window = counts.get(start, {})
        topics = _topic_totals(window)
        total = sum(topics.values())
        base_topics: dict[str, int] = {}
        for i in range(1, history + 1):
            for topic, n in _topic_totals(counts.get(start - i * size, {})).items():
                base_topics[topic] = base_topics.get(topic, 0) + n
        base_total = sum(base_topics.values())
        for topic, count in sorted(topics.items()):
            verdict = test.check(count, total, base_count=base_topics.get(topic, 0), base_total=base_total)
            if verdict.spike:
                dept = max(sorted(window), key=lambda d: window[d].get(topic, 0))
                spikes.append(ShareSpike(dept, topic, start, size, count, total, verdict))
    return spikes
