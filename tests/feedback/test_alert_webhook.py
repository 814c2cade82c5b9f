"""Alert delivery to a real HTTP receiver on 127.0.0.1: success, retries, refusals, outages."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from feedback.alerts import deliver_alert, open_alerts
from feedback.schema import Alert


class Receiver:
    """A local webhook receiver that answers with the statuses it is given, then 200."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.bodies.append(self.rfile.read(int(self.headers["content-length"])))
                receiver.headers.append(dict(self.headers))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                logging.getLogger("receiver").debug(format, *args)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/feedback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _spike() -> Alert:
    return Alert(topic="billing_payment", department="billing", window_start=datetime(2026, 3, 1, 9, tzinfo=UTC),
                 window_seconds=300, count=42, baseline=3.5, p_value=1e-9)


def test_the_receiver_gets_the_spike_as_json(receiver: Receiver) -> None:
    alert = _spike()
    assert asyncio.run(deliver_alert(alert, url=receiver.url)) is True
    assert len(receiver.bodies) == 1
    assert Alert.model_validate_json(receiver.bodies[0]) == alert
    assert json.loads(receiver.bodies[0])["count"] == 42
    assert receiver.headers[0]["content-type"] == "application/json"


def test_server_errors_are_retried_until_delivered(receiver: Receiver) -> None:
    receiver.statuses = [503, 500]
    assert asyncio.run(deliver_alert(_spike(), url=receiver.url, attempts=3, backoff_s=0.01)) is True
    assert len(receiver.bodies) == 3


def test_a_refusal_is_not_retried_and_not_raised(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    receiver.statuses = [400]
    with caplog.at_level(logging.ERROR, logger="feedback.alerts"):
        assert asyncio.run(deliver_alert(_spike(), url=receiver.url, backoff_s=0.01)) is False
    assert len(receiver.bodies) == 1
    assert "status=400" in caplog.text


def test_giving_up_after_every_attempt_failed(receiver: Receiver) -> None:
    receiver.statuses = [503, 503, 503]
    assert asyncio.run(deliver_alert(_spike(), url=receiver.url, attempts=3, backoff_s=0.01)) is False
    assert len(receiver.bodies) == 3


def test_an_unreachable_receiver_is_logged_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with caplog.at_level(logging.WARNING, logger="feedback.alerts"):
        ok = asyncio.run(deliver_alert(_spike(), url=f"http://127.0.0.1:{port}/x", attempts=2, backoff_s=0.01))
    assert ok is False
    assert caplog.text.count("alert delivery failed") == 2 and "not delivered" in caplog.text


def test_open_alerts_keep_the_latest_per_topic_within_the_window() -> None:
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    old = _spike().model_copy(update={"raised_at": datetime(2026, 3, 1, 9, tzinfo=UTC)})
    first = _spike().model_copy(update={"raised_at": datetime(2026, 3, 2, 10, tzinfo=UTC), "count": 20})
    latest = _spike().model_copy(update={"raised_at": datetime(2026, 3, 2, 11, tzinfo=UTC), "count": 30})
    other = latest.model_copy(update={"topic": "app_bug", "department": "engineering",
                                      "raised_at": datetime(2026, 3, 2, 11, 30, tzinfo=UTC)})
    assert open_alerts([old, latest, first, other], now=now) == [other, latest]
    assert [a.count for a in open_alerts([old, first, latest], now=now)] == [30]
