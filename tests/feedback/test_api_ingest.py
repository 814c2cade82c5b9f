"""The webhook `POST /ingest/{channel}` against the real Kafka."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feedback.api import create_app
from feedback.schema import FeedbackEvent
from feedback.settings import Settings
from tests.producers.helpers import SAMPLES, kafka_topics, read_topic

pytestmark = pytest.mark.integration


@pytest.fixture
def api_settings(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with kafka_topics(settings, rejects_dir=tmp_path / "rejects") as isolated:
        yield isolated.model_copy(update={"api": isolated.api.model_copy(update={"max_body_bytes": 200_000})})


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings)) as test_client:
        yield test_client


def test_valid_chat_transcript_answers_202_and_the_event_is_on_the_topic(
    client: TestClient, api_settings: Settings
) -> None:
    transcript = {"conversation_id": "hook-1", "customer_id": "u-1", "messages": [
        {"role": "customer", "text": "پرداخت انجام شد ولی سفارش ثبت نشد", "timestamp": "2026-11-02T09:00:00Z"},
        {"role": "agent", "text": "بررسی می‌کنم", "timestamp": "2026-11-02T09:01:00Z"}]}
    response = client.post("/ingest/chat", json=transcript)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["count"] == 1 and body["topic"] == api_settings.kafka.raw_topic("chat")
    [record] = read_topic(api_settings, api_settings.kafka.raw_topic("chat"))
    event = FeedbackEvent.model_validate_json(record.value)
    assert record.key.decode() == event.id == body["event_ids"][0]
    assert event.text == "پرداخت انجام شد ولی سفارش ثبت نشد"
    assert event.metadata["agent_turns"][0]["text"] == "بررسی می‌کنم"


def test_same_payload_formats_as_files_email_and_play_csv(client: TestClient, api_settings: Settings) -> None:
    mail = (SAMPLES / "email" / "hostile" / "reply_chain_en.eml").read_bytes()
    response = client.post("/ingest/email", content=mail, headers={"content-type": "message/rfc822"})
    assert response.status_code == 202, response.text
    mastodon = json.loads((SAMPLES / "social" / "mastodon_statuses.json").read_text())[:5]
    response = client.post("/ingest/social", json=mastodon)
    assert response.status_code == 202 and response.json()["count"] == 5
    [email_record] = read_topic(api_settings, api_settings.kafka.raw_topic("email"))
    assert FeedbackEvent.model_validate_json(email_record.value).thread_id == "<thread-root-5521@mail.example.com>"
    assert len(read_topic(api_settings, api_settings.kafka.raw_topic("social"))) == 5


def test_invalid_payload_answers_400_naming_the_field_and_produces_nothing(
    client: TestClient, api_settings: Settings
) -> None:
    good = {"id": "1", "text": "fine", "created_at": "2026-11-02T09:00:00Z"}
    bad = {"id": "2", "text": "no date"}
    body = (json.dumps(good) + "\n" + json.dumps(bad) + "\n").encode()
    response = client.post("/ingest/social", content=body, headers={"content-type": "application/x-ndjson"})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "created_at" and error["location"] == "request:2"
    assert read_topic(api_settings, api_settings.kafka.raw_topic("social")) == []


def test_empty_review_text_is_400_with_field_text(client: TestClient) -> None:
    review = {"data": [{"type": "customerReviews", "id": "r1",
                        "attributes": {"rating": 2, "body": "  ", "createdDate": "2026-11-02T09:00:00Z"}}]}
    response = client.post("/ingest/app_review", json=review)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "text"


def test_body_over_the_limit_is_413(client: TestClient) -> None:
    response = client.post("/ingest/social", content=b"x" * 200_001)
    assert response.status_code == 413
    assert "200000" in response.json()["detail"]


def test_unknown_channel_is_400_with_the_choices(client: TestClient) -> None:
    response = client.post("/ingest/fax", content=b"{}")
    assert response.status_code == 400
    assert "email, chat, app_review, social" in response.json()["detail"]
