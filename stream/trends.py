"""Spike detection for topic volumes: a Poisson tail test against recent windows.

A topic's count ``k`` in the current tumbling window is a spike when

* ``k >= min_count`` (small numbers never alert), and
* ``P(X >= k) <= p_value`` for ``X ~ Poisson(λ)``, where ``λ`` is the mean count of the
  same topic over the previous ``history`` windows, floored at ``min_baseline`` so that a
  topic with no history needs ``min_count`` items and a very small tail probability.

The Faust worker evaluates this on every counted event and raises one alert per topic
and window (the table of raised alerts makes it idempotent).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SpikeTest", "SpikeVerdict", "poisson_sf", "window_start"]


def poisson_sf(k: int, lam: float) -> float:
    """``P(X >= k)`` for ``X ~ Poisson(lam)``.

    >>> round(poisson_sf(3, 1.0), 4)
    0.0803
    """
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    # 1 - CDF(k - 1), the terms built iteratively (no factorials).
    term = math.exp(-lam)
    cdf = term
    for i in range(1, k):
        term *= lam / i
        cdf += term
    return max(0.0, 1.0 - cdf)


def window_start(timestamp: float, size: int) -> float:
    """The start of the tumbling window of ``size`` seconds that holds ``timestamp``.

    >>> window_start(1000.5, 300)
    900.0
    """
    return float(timestamp - (timestamp % size))


@dataclass(frozen=True)
class SpikeVerdict:
    spike: bool
    count: int
    baseline: float
    p_value: float


@dataclass(frozen=True)
class SpikeTest:
    """The documented test; thresholds come from settings."""

    min_count: int = 10
    p_value: float = 0.001
    min_baseline: float = 0.5

    def check(self, count: int, history: Sequence[int]) -> SpikeVerdict:
        """Is ``count`` a spike given the counts of the previous windows?

        >>> SpikeTest(min_count=5).check(20, [1, 0, 2]).spike
        True
        >>> SpikeTest(min_count=5).check(4, [0, 0]).spike
        False
        """
        baseline = max(sum(history) / len(history), self.min_baseline) if history else self.min_baseline
        p = poisson_sf(count, baseline)
        return SpikeVerdict(spike=count >= self.min_count and p <= self.p_value, count=count, baseline=baseline, p_value=p)
