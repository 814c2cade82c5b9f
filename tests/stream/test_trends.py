"""Spike detection on a topic's share of its department's volume, per event-time window."""

from __future__ import annotations

import math

import pytest

from stream.trends import ShareSpikeTest, binom_sf, share_spikes, window_start

TOPICS = ["delivery", "billing", "app_bug", "quality", "refund", "account", "praise"]
SIZE = 300
NOW = 1_700_000_000.0 + 120  # two minutes into a window
CURRENT = window_start(NOW, SIZE)


def _baseline(per_topic: int = 3, history: int = 12, dept: str = "ops") -> dict[float, dict[str, dict[str, int]]]:
    return {CURRENT - i * SIZE: {dept: {t: per_topic for t in TOPICS}} for i in range(1, history + 1)}


@pytest.mark.parametrize(("k", "n", "p"), [(0, 10, 0.3), (1, 10, 0.3), (4, 10, 0.3), (10, 10, 0.3), (7, 40, 0.05)])
def test_binomial_tail_matches_the_closed_form(k: int, n: int, p: float) -> None:
    expected = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))
    assert binom_sf(k, n, p) == pytest.approx(expected, abs=1e-12)


def test_a_uniform_burst_over_all_topics_raises_nothing() -> None:
    # The case seen in production: ~150 messages of every topic arriving together.
    counts = _baseline() | {CURRENT: {"ops": {t: 22 for t in TOPICS}}}
    assert share_spikes(counts, now=NOW, size=SIZE, history=12, test=ShareSpikeTest()) == []


def test_a_burst_of_one_topic_raises_exactly_one_alert() -> None:
    burst = {t: 3 for t in TOPICS} | {"delivery": 40}
    counts = _baseline() | {CURRENT: {"ops": burst}}
    spikes = share_spikes(counts, now=NOW, size=SIZE, history=12, test=ShareSpikeTest())
    assert [(s.department, s.topic, s.window_start) for s in spikes] == [("ops", "delivery", CURRENT)]
    assert spikes[0].verdict.share > 2 * spikes[0].verdict.baseline_share


def test_a_burst_of_one_topic_inside_a_uniform_burst_raises_only_that_topic() -> None:
    burst = {t: 20 for t in TOPICS} | {"billing": 90}
    spikes = share_spikes(_baseline() | {CURRENT: {"ops": burst}}, now=NOW, size=SIZE, history=12, test=ShareSpikeTest())
    assert [s.topic for s in spikes] == ["billing"]


def test_the_alert_names_the_department_that_received_the_topic() -> None:
    # Shipped routing: most departments own one topic, so the share is of the whole volume.
    base = {w: {"support": {"account": 6}, "billing": {"billing_payment": 6}, "logistics": {"delivery": 6}}
            for w in (CURRENT - i * SIZE for i in range(1, 13))}
    base[CURRENT] = {"support": {"account": 6}, "billing": {"billing_payment": 40}, "logistics": {"delivery": 6}}
    spikes = share_spikes(base, now=NOW, size=SIZE, history=12, test=ShareSpikeTest())
    assert [(s.department, s.topic) for s in spikes] == [("billing", "billing_payment")]


def test_a_uniform_burst_over_departments_that_own_one_topic_each_raises_nothing() -> None:
    base = {w: {"support": {"account": 6}, "billing": {"billing_payment": 4}, "logistics": {"delivery": 8}}
            for w in (CURRENT - i * SIZE for i in range(1, 13))}
    base[CURRENT] = {"support": {"account": 60}, "billing": {"billing_payment": 40}, "logistics": {"delivery": 80}}
    assert share_spikes(base, now=NOW, size=SIZE, history=12, test=ShareSpikeTest()) == []


def test_old_events_never_alert_replay_or_backfill() -> None:
    # A backfill of old events: a one-topic burst whose received_at lies an hour back.
    old = CURRENT - 12 * SIZE
    counts = {w: v for w, v in _baseline(history=30).items()}
    counts[old] = {"ops": {t: 3 for t in TOPICS} | {"delivery": 200}}
    assert share_spikes(counts, now=NOW, size=SIZE, history=12, test=ShareSpikeTest()) == []


def test_the_previous_window_is_still_judged_for_late_events() -> None:
    counts = _baseline(history=13)
    counts[CURRENT - SIZE] = {"ops": {t: 3 for t in TOPICS} | {"app_bug": 50}}
    spikes = share_spikes(counts, now=NOW, size=SIZE, history=12, test=ShareSpikeTest())
    assert [(s.topic, s.window_start) for s in spikes] == [("app_bug", CURRENT - SIZE)]


def test_without_a_baseline_nothing_is_judged() -> None:
    counts = {CURRENT: {"ops": {"delivery": 100, "billing": 1}}}
    assert share_spikes(counts, now=NOW, size=SIZE, history=12, test=ShareSpikeTest()) == []


def test_small_counts_never_alert() -> None:
    test = ShareSpikeTest(min_count=10)
    assert not test.check(9, 20, base_count=1, base_total=100).spike  # too few of the topic
    # a window still filling (the first events of a bulk import, all of one topic) is not a share yet
    assert not test.check(19, 19, base_count=1, base_total=100).spike
    assert test.check(10, 20, base_count=1, base_total=100).spike


def test_window_start_is_aligned_to_the_size() -> None:
    assert window_start(3599.9, 3600) == 0.0
    assert window_start(3600.0, 3600) == 3600.0
    assert window_start(1_700_000_123.4, 300) == 1_700_000_100.0
