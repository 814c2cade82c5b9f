"""The spike test: Poisson tail against the recent windows' mean."""

from __future__ import annotations

import math

import pytest

from stream.trends import SpikeTest, poisson_sf, window_start


@pytest.mark.parametrize(("k", "lam"), [(0, 2.0), (1, 2.0), (3, 1.0), (10, 4.5), (25, 10.0)])
def test_poisson_tail_matches_the_closed_form(k: int, lam: float) -> None:
    expected = 1.0 - sum(math.exp(-lam) * lam**i / math.factorial(i) for i in range(k))
    assert poisson_sf(k, lam) == pytest.approx(expected, abs=1e-12)


def test_zero_baseline_makes_any_count_impossible() -> None:
    assert poisson_sf(1, 0.0) == 0.0
    assert poisson_sf(0, 0.0) == 1.0


def test_a_burst_far_above_a_steady_baseline_is_a_spike() -> None:
    verdict = SpikeTest(min_count=10, p_value=0.001).check(30, [4, 5, 6, 5, 4, 6])
    assert verdict.spike
    assert verdict.baseline == pytest.approx(5.0)
    assert verdict.p_value < 1e-6


def test_normal_variation_is_not_a_spike() -> None:
    assert not SpikeTest(min_count=10, p_value=0.001).check(12, [9, 11, 10, 12, 8, 10]).spike


def test_small_counts_never_alert_even_from_nothing() -> None:
    test = SpikeTest(min_count=10, p_value=0.001)
    assert not test.check(9, [0, 0, 0]).spike
    assert test.check(10, [0, 0, 0]).spike  # from a floor of 0.5 per window, 10 is extreme


def test_window_start_is_aligned_to_the_size() -> None:
    assert window_start(3599.9, 3600) == 0.0
    assert window_start(3600.0, 3600) == 3600.0
    assert window_start(1_700_000_123.4, 300) == 1_700_000_100.0
