"""Parsing the times people type: ISO 8601 dates and times, or durations back from now."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from feedback.errors import InvalidInput

__all__ = ["parse_duration", "parse_time"]

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``7d``, ``1w`` → a timedelta.

    >>> parse_duration("2h")
    datetime.timedelta(seconds=7200)
    """
    m = _DURATION.match(value.strip().lower())
    if not m:
        raise InvalidInput(f"expected a duration like 15m, 2h or 7d, got {value!r}")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def parse_time(value: str, *, now: datetime | None = None) -> datetime:
    """An aware datetime from ISO 8601 (naive means UTC), ``now``, or a duration ago (``2h``).

    >>> parse_time("2026-11-24T10:00:00Z").isoformat()
    '2026-11-24T10:00:00+00:00'
    >>> parse_time("1d", now=datetime(2026, 1, 2, tzinfo=timezone.utc)).isoformat()
    '2026-01-01T00:00:00+00:00'
    """
    now = now or datetime.now(timezone.utc)
    text = value.strip()
    if text.lower() == "now":
        return now
    if _DURATION.match(text.lower()):
        return now - parse_duration(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise InvalidInput(f"expected an ISO 8601 time (2026-11-24T10:00Z), 'now' or a duration ago (2h, 7d), got {value!r}") from e
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
