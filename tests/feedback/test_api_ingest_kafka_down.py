"""`POST /ingest/{channel}` when Kafka cannot be reached: 503 with one line that says what to do."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from fastapi.testclient import TestClient

from feedback.api import create_app
from feedback.settings import Settings
from tests.feedback.api_keys import signed, with_api


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_ingest_answers_503_with_one_line_when_kafka_is_unreachable(tmp_path: Path) -> None:
    settings = Settings(kafka={"bootstrap": f"127.0.0.1:{_closed_port()}"},
                        ingest={"rejects_dir": tmp_path / "rejects", "author_secret": "test-secret"})
    settings = with_api(settings, tmp_path / "keys.json")
    transcript = {"conversation_id": "down-1", "customer_id": "u-1", "messages": [
        {"role": "customer", "text": "my refund never arrived", "timestamp": "2026-11-02T09:00:00Z"}]}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        body = json.dumps(transcript).encode()
        headers = signed(body, **{"content-type": "application/json"})
        response = client.post("/ingest/chat", content=body, headers=headers)
        retried = client.post("/ingest/chat", content=body, headers=headers)
    assert retried.status_code == 503, "a delivery that failed on our side must not count as seen (409)"
    assert response.status_code == 503, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"cannot connect to Kafka at {settings.kafka_bootstrap}") and "\n" not in detail
    assert "FEEDBACK_KAFKA_BOOTSTRAP" in detail
