"""The webhook checks as logic (a fixed clock): signature, stale/future timestamps, replay, rate."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import SecretStr

from feedback.api.webhook_guard import TokenBucket, WebhookGuard, WebhookRefused
from feedback.errors import ConfigError
from feedback.settings import ApiSettings, get_settings
from feedback.signing import signature

SECRET = "0123456789abcdef-secret"
NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def _guard(clock: Clock, **api: object) -> WebhookGuard:
    settings = ApiSettings(webhook_secrets={"app": SecretStr(SECRET)}, **api)  # type: ignore[arg-type]
    return WebhookGuard(settings, clock=clock)


def _admit(guard: WebhookGuard, body: bytes, *, ts: int, sent: str | None = None) -> None:
    source, secret = guard.source_secret("app", str(ts))
    guard.admit(source=source, secret=secret, timestamp=str(ts), sent=sent or signature(SECRET, ts, body), body=body)


def _refused(call, *args, **kwargs) -> WebhookRefused:  # type: ignore[no-untyped-def]
    with pytest.raises(WebhookRefused) as info:
        call(*args, **kwargs)
    return info.value


def test_a_signed_request_passes_once_then_is_a_replay() -> None:
    guard = _guard(Clock())
    _admit(guard, b"{}", ts=int(NOW))
    again = _refused(_admit, guard, b"{}", ts=int(NOW))
    assert again.status == 409 and "replayed" in again.detail


@pytest.mark.parametrize(
    ("source", "ts", "status", "fragment"),
    [
        (None, str(int(NOW)), 401, "unsigned request"),
        ("other", str(int(NOW)), 401, "unknown webhook source 'other'"),
        ("app", None, 401, "Unix seconds"),
        ("app", "2026-01-01", 401, "Unix seconds"),
        ("app", str(int(NOW) - 301), 401, "301 s old"),
        ("app", str(int(NOW) + 301), 401, "301 s in the future"),
    ],
)
def test_source_and_timestamp_are_checked_first(source: str | None, ts: str | None, status: int, fragment: str) -> None:
    refused = _refused(_guard(Clock()).source_secret, source, ts)
    assert refused.status == status and fragment in refused.detail


def test_within_the_tolerance_is_fresh() -> None:
    guard = _guard(Clock())
    _admit(guard, b"a", ts=int(NOW) - 299)
    _admit(guard, b"b", ts=int(NOW) + 299)


@pytest.mark.parametrize("tamper", ["body", "timestamp", "secret", "missing", "prefix"])
def test_a_wrong_signature_is_401(tamper: str) -> None:
    guard = _guard(Clock())
    ts = int(NOW)
    good = signature(SECRET, ts, b"{}")
    sent = {"body": signature(SECRET, ts, b"{} "), "timestamp": signature(SECRET, ts - 1, b"{}"),
            "secret": signature("another-secret-0123456789", ts, b"{}"), "missing": "",
            "prefix": good.removeprefix("sha256=")}[tamper]
    refused = _refused(guard.admit, source="app", secret=SECRET, timestamp=str(ts), sent=sent or None, body=b"{}")
    assert refused.status == 401 and "bad signature" in refused.detail


def test_rate_limit_per_source_answers_retry_after_and_refills() -> None:
    clock = Clock()
    guard = _guard(clock, webhook_rate=0.5, webhook_burst=2)
    _admit(guard, b"1", ts=int(NOW))
    _admit(guard, b"2", ts=int(NOW))
    limited = _refused(_admit, guard, b"3", ts=int(NOW))
    assert limited.status == 429 and limited.headers == {"Retry-After": "2"}
    clock.now += 2
    _admit(guard, b"3", ts=int(NOW))  # the refused one was not remembered as seen: its retry passes


def test_token_bucket_refills_at_its_rate_up_to_the_burst() -> None:
    bucket = TokenBucket(rate=2.0, burst=3, tokens=0.0, updated=0.0)
    assert bucket.take(now=0.0) == 0.5
    assert bucket.take(now=100.0) == 0.0 and bucket.tokens == 2.0  # capped at 3, one taken


def test_replay_memory_is_pruned_after_the_window() -> None:
    clock = Clock()
    guard = _guard(clock, webhook_burst=100)
    for i in range(50):
        _admit(guard, str(i).encode(), ts=int(NOW))
    clock.now += 601
    _admit(guard, b"late", ts=int(clock.now))
    assert len(guard._seen) == 1


def test_secrets_from_the_environment_as_json_and_never_shown(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_")}
    env["FEEDBACK_API_WEBHOOK_SECRETS"] = '{"intercom": "intercom-secret-1234567890", "appstore": "appstore-secret-123456"}'
    done = subprocess.run([sys.executable, "-m", "feedback", "config", "show", "--json"], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "intercom-secret" not in done.stdout and "appstore-secret" not in done.stdout
    assert '"intercom"' in done.stdout and '"appstore"' in done.stdout


def test_short_secrets_and_odd_source_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="shorter than 16"):
        get_settings(api={"webhook_secrets": {"app": "short"}})
    with pytest.raises(ConfigError, match="webhook source name"):
        get_settings(api={"webhook_secrets": {"a b": "0123456789abcdef0"}})
