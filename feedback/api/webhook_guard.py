"""What the webhook checks before it reads a record: who signed, when, whether it was seen, how often.

Order of the checks (each a clear JSON 4xx): source header names a configured source (401),
the timestamp is within ``api.webhook_tolerance_s`` of now (401, stale), the body is under the
limit (413, in the route), the HMAC matches (401), this signature was not already accepted
within the tolerance window (409, replay), and the source's token bucket has a token (429 with
``Retry-After``). Only correctly signed requests take a token, so unsigned floods naming a
source cannot lock that source out. Replay memory and buckets live in the process: several API
processes behind one balancer each keep their own (documented in docs/ingest.md).
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from feedback.settings import ApiSettings
from feedback.signing import SIGNATURE_HEADER, SOURCE_HEADER, TIMESTAMP_HEADER, signature

__all__ = ["TokenBucket", "WebhookGuard", "WebhookRefused"]


class WebhookRefused(Exception):
    """A request the webhook turns away: the status, one-line reason and extra headers."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


@dataclass
class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second; ``take`` answers the wait when empty.

    >>> b = TokenBucket(rate=1.0, burst=1, tokens=1.0, updated=0.0)
    >>> b.take(now=0.0), b.take(now=0.25)
    (0.0, 0.75)
    """

    rate: float
    burst: int
    tokens: float
    updated: float

    def take(self, *, now: float) -> float:
        """Take one token: 0.0 when there was one, else the seconds until there is."""
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


@dataclass
class WebhookGuard:
    """The checks of one API process; ``clock`` is injectable for tests of the logic."""

    settings: ApiSettings
    clock: Callable[[], float] = time.time
    _seen: dict[str, float] = field(default_factory=dict)
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def source_secret(self, source: str | None, timestamp: str | None) -> tuple[str, str]:
        """The source and its secret, once the source is known and the timestamp fresh."""
        secrets = self.settings.webhook_secrets
        if not source:
            raise WebhookRefused(401, f"unsigned request: the {SOURCE_HEADER}, {TIMESTAMP_HEADER} and "
                                      f"{SIGNATURE_HEADER} headers are required (see docs/ingest.md, 'Signing')")
        if source not in secrets:
            raise WebhookRefused(401, f"unknown webhook source {source!r} in {SOURCE_HEADER}; the server knows "
                                      f"{len(secrets)} source(s) from FEEDBACK_API_WEBHOOK_SECRETS")
        if not timestamp or not timestamp.isdigit():
            raise WebhookRefused(401, f"expected {TIMESTAMP_HEADER} to be Unix seconds, got {timestamp!r}")
        skew = self.clock() - int(timestamp)
        tolerance = self.settings.webhook_tolerance_s
        if abs(skew) > tolerance:
            when = f"{int(skew)} s old" if skew > 0 else f"{int(-skew)} s in the future"
            raise WebhookRefused(401, f"stale or replayed request: {TIMESTAMP_HEADER} is {when}, over the "
                                      f"{tolerance} s allowed; sign each request when it is sent and keep clocks in sync")
        return source, secrets[source].get_secret_value()

    def admit(self, *, source: str, secret: str, timestamp: str, sent: str | None, body: bytes) -> str:
        """Check the signature, refuse a replay, take a token; the signature, else :class:`WebhookRefused`."""
        expected = signature(secret, timestamp, body)
        if not sent or not hmac.compare_digest(sent.strip().encode(), expected.encode()):
            raise WebhookRefused(401, f"bad signature for source {source!r}: expected {SIGNATURE_HEADER}: "
                                      "sha256=<hex HMAC-SHA256(secret, '<timestamp>.' + raw body)>")
        now = self.clock()
        tolerance = self.settings.webhook_tolerance_s
        with self._lock:
            for old in [s for s, at in self._seen.items() if now - at > 2 * tolerance]:
                del self._seen[old]
            if expected in self._seen:
                raise WebhookRefused(409, f"replayed request: this signature from source {source!r} was already "
                                          "accepted; send each delivery once with a fresh timestamp")
            self._seen[expected] = now
            bucket = self._buckets.get(source)
            if bucket is None:
                bucket = TokenBucket(rate=self.settings.webhook_rate, burst=self.settings.webhook_burst,
                                     tokens=float(self.settings.webhook_burst), updated=now)
                self._buckets[source] = bucket
            wait = bucket.take(now=now)
            if wait > 0:
                # Not delivered, so the same signed request may be retried after the wait.
                del self._seen[expected]
                raise WebhookRefused(
                    429, f"rate limit of source {source!r}: at most {self.settings.webhook_rate:g} request(s)/s "
                         f"(bursts of {self.settings.webhook_burst}); retry after {math.ceil(wait)} s",
                    headers={"Retry-After": str(max(1, math.ceil(wait)))})
        return expected

    def forget(self, signature_: str) -> None:
        """Let a delivery that failed on our side (Kafka down: 503) be retried as it is."""
        with self._lock:
            self._seen.pop(signature_, None)
