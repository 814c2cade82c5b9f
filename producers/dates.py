"""Dates from the outside world: safe conversions, and the check for impossible dates.

An item dated far in the future (2099, year 10000) would sit on top of every
newest-first view for good; one dated before its channel existed is as wrong. Both are
clamped to the time received (the original is kept in metadata, with a warning) or
rejected, as ``FEEDBACK_INGEST_IMPOSSIBLE_DATES`` says.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["CHANNEL_EPOCH", "ImpossibleDate", "check_date", "from_unix"]

log = logging.getLogger(__name__)

# The earliest date an item of each channel can carry: the first e-mail over the ARPANET,
# early web chat, Google Play's predecessor / the App Store, Twitter.
CHANNEL_EPOCH: dict[str, datetime] = {
    "email": datetime(1971, 1, 1, tzinfo=UTC),
    "chat": datetime(1990, 1, 1, tzinfo=UTC),
    "app_review": datetime(2008, 7, 1, tzinfo=UTC),
    "social": datetime(2006, 3, 1, tzinfo=UTC),
}


@dataclass(frozen=True, slots=True)
class ImpossibleDate:
    """A date that a ``datetime`` cannot hold (past year 9999, or millis beyond 64 bits)."""

    raw: str
    why: str


def from_unix(value: Any, *, field: str, millis: bool = False) -> datetime | ImpossibleDate:
    """A Unix timestamp (seconds, or milliseconds) as an aware datetime.

    Raises ``ValueError`` with a one-line reason for a value that is not a finite number;
    a number beyond what a datetime can hold is an :class:`ImpossibleDate`.

    >>> from_unix(0, field="t").isoformat()
    '1970-01-01T00:00:00+00:00'
    >>> from_unix(1e20, field="t").why
    'beyond year 9999'
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{field}: expected a Unix timestamp (a number), found {value!r:.80}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{field}: expected a finite Unix timestamp, found {value!r}")
    seconds = value / 1000 if millis else value
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return ImpossibleDate(raw=str(value), why="beyond year 9999" if seconds > 0 else "before year 1")


def check_date(
    channel: str,
    moment: datetime | ImpossibleDate,
    *,
    now: datetime,
    tolerance_s: int,
) -> str | None:
    """Why ``moment`` is impossible for ``channel`` (None when it is fine).

    >>> check_date("social", datetime(2099, 1, 1, tzinfo=UTC), now=datetime(2026, 1, 1, tzinfo=UTC), tolerance_s=0)
    'dated 2099-01-01T00:00:00+00:00, after now + 0 s (FEEDBACK_INGEST_FUTURE_TOLERANCE_S)'
    """
    if isinstance(moment, ImpossibleDate):
        return f"dated {moment.raw}, {moment.why}"
    if moment > now + timedelta(seconds=tolerance_s):
        return f"dated {moment.isoformat()}, after now + {tolerance_s} s (FEEDBACK_INGEST_FUTURE_TOLERANCE_S)"
    epoch = CHANNEL_EPOCH.get(channel)
    if epoch is not None and moment < epoch:
        return f"dated {moment.isoformat()}, before {channel} items can exist ({epoch.date().isoformat()})"
    return None
