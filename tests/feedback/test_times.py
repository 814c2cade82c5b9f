"""The times people type: relative durations back from now and ISO 8601 times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from feedback.errors import InvalidInput
from feedback.times import parse_duration, parse_time

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("1w", timedelta(weeks=1)),
        ("1.5h", timedelta(minutes=90)),
        (" 2H ", timedelta(hours=2)),
        ("30 m", timedelta(minutes=30)),
    ],
)
def test_durations_in_every_unit(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(("text", "ago"), [("7d", timedelta(days=7)), ("2h", timedelta(hours=2)),
                                           ("15m", timedelta(minutes=15)), ("1w", timedelta(days=7))])
def test_a_duration_is_that_long_before_now(text: str, ago: timedelta) -> None:
    assert parse_time(text, now=NOW) == NOW - ago


def test_now_and_iso_times() -> None:
    assert parse_time("now", now=NOW) == NOW
    assert parse_time("2026-11-24T08:00Z") == datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
    assert parse_time("2026-11-24T08:00:00+03:30") == datetime(2026, 11, 24, 4, 30, tzinfo=timezone.utc)
    naive = parse_time("2026-11-24 08:00")
    assert naive == datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)  # naive means UTC


def test_without_now_a_duration_is_measured_from_the_clock() -> None:
    before = datetime.now(timezone.utc)
    got = parse_time("2h")
    after = datetime.now(timezone.utc)
    assert before - timedelta(hours=2) <= got <= after - timedelta(hours=2)
    assert got.tzinfo is not None


@pytest.mark.parametrize("text", ["7", "d", "7x", "-2h", "2 hours", "yesterday", ""])
def test_anything_else_is_refused_with_what_was_expected(text: str) -> None:
    with pytest.raises(InvalidInput, match="expected"):
        parse_time(text, now=NOW)


def test_parse_duration_refuses_a_time() -> None:
    with pytest.raises(InvalidInput, match=r"expected a duration like 15m, 2h or 7d, got '2026-11-24'"):
        parse_duration("2026-11-24")
