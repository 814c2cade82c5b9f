"""The webhook `POST /ingest/{channel}` against the real Kafka: signed payloads arrive; unsigned,
wrongly signed, unknown-source, stale, replayed, oversized and rate-limited ones are refused
and nothing of them reaches the raw topic."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feedback.api import create_app
from feedback.schema import FeedbackEvent
from feedback.settings import Settings
from feedback.signing import signed_headers
from tests.feedback.api_keys import SECRET, SOURCE, signed, with_api
from tests.producers.helpers import SAMPLES, kafka_topics, read_topic

pytestmark = pytest.mark.integration


@pytest.fixture
def api_settings(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    with kafka_topics(settings, rejects_dir=tmp_path / "rejects") as isolated:
        yield with_api(isolated, tmp_path / "keys.json", max_body_bytes=200_000, webhook_rate=0.2, webhook_burst=3)


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings)) as test_client:
        yield test_client


def _post(client: TestClient, channel: str, body: bytes, content_type: str = "application/json", **headers: str):  # type: ignore[no-untyped-def]
    return client.post(f"/ingest/{channel}", content=body,
                       headers={**signed(body), "content-type": content_type, **headers})


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def test_valid_chat_transcript_answers_202_and_the_event_is_on_the_topic(
    client: TestClient, api_settings: Settings
) -> None:
    transcript = {"conversation_id": "hook-1", "customer_id": "u-1", "messages": [
        {"role": "customer", "text": "پرداخت انجام شد ولی سفارش ثبت نشد", "timestamp": "2026-11-02T09:00:00Z"},
        {"role": "agent", "text": "بررسی می‌کنم", "timestamp": "2026-11-02T09:01:00Z"}]}
    response = _post(client, "chat", _json(transcript))
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
    response = _post(client, "email", mail, "message/rfc822")
    assert response.status_code == 202, response.text
    mastodon = json.loads((SAMPLES / "social" / "mastodon_statuses.json").read_text())[:5]
    response = _post(client, "social", _json(mastodon))
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
    response = _post(client, "social", body, "application/x-ndjson")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "created_at" and error["location"] == "request:2"
    assert read_topic(api_settings, api_settings.kafka.raw_topic("social")) == []


def test_empty_review_text_is_400_with_field_text(client: TestClient) -> None:
    review = {"data": [{"type": "customerReviews", "id": "r1",
                        "attributes": {"rating": 2, "body": "  ", "createdDate": "2026-11-02T09:00:00Z"}}]}
    response = _post(client, "app_review", _json(review))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "text"


def test_unknown_channel_is_400_with_the_choices(client: TestClient) -> None:
    response = _post(client, "fax", b"{}")
    assert response.status_code == 400
    assert "email, chat, app_review, social" in response.json()["detail"]


SOCIAL = [{"id": "s-1", "text": "the courier never came", "created_at": "2026-11-02T09:00:00Z"}]


def _refusals(client: TestClient) -> list[tuple[str, int, str, object]]:
    """Each refused case: (name, status, fragment of the detail, response)."""
    body = _json(SOCIAL)
    now = int(time.time())
    cases = []
    cases.append(("unsigned", 401, "unsigned request", client.post("/ingest/social", content=body)))
    cases.append(("unknown source", 401, "unknown webhook source 'zendesk'", client.post(
        "/ingest/social", content=body, headers=signed_headers("zendesk", SECRET, body))))
    cases.append(("wrong secret", 401, "bad signature", client.post(
        "/ingest/social", content=body, headers=signed(body, secret="not-the-secret-0123456789"))))
    cases.append(("body changed after signing", 401, "bad signature", client.post(
        "/ingest/social", content=body.replace(b"never", b"always"), headers=signed(body))))
    cases.append(("stale", 401, "stale or replayed", client.post(
        "/ingest/social", content=body, headers=signed(body, timestamp=now - 301))))
    cases.append(("from the future", 401, "in the future", client.post(
        "/ingest/social", content=body, headers=signed(body, timestamp=now + 301))))
    big = b"x" * 200_001
    cases.append(("oversized", 413, "200000", client.post("/ingest/social", content=big, headers=signed(big))))
    return cases


def test_refused_requests_are_clear_4xx_and_nothing_reaches_kafka(client: TestClient, api_settings: Settings) -> None:
    for name, status, fragment, response in _refusals(client):
        assert response.status_code == status, (name, response.status_code, response.text)  # type: ignore[attr-defined]
        assert fragment in response.json()["detail"], (name, response.text)  # type: ignore[attr-defined]
    assert read_topic(api_settings, api_settings.kafka.raw_topic("social")) == []


def test_a_replayed_delivery_is_409_and_arrives_once(client: TestClient, api_settings: Settings) -> None:
    body = _json(SOCIAL)
    headers = {**signed(body), "content-type": "application/json"}
    first = client.post("/ingest/social", content=body, headers=headers)
    assert first.status_code == 202, first.text
    again = client.post("/ingest/social", content=body, headers=headers)
    assert again.status_code == 409 and "replayed request" in again.json()["detail"]
    [record] = read_topic(api_settings, api_settings.kafka.raw_topic("social"))
    assert record.key.decode() == first.json()["event_ids"][0]


def test_over_the_rate_is_429_with_retry_after_and_not_produced(client: TestClient, api_settings: Settings) -> None:
    answers = []
    for i in range(5):  # burst 3, refill one per 5 s
        body = _json([{**SOCIAL[0], "id": f"rate-{i}"}])
        answers.append(_post(client, "social", body))
    assert [a.status_code for a in answers] == [202, 202, 202, 429, 429], [a.text for a in answers]
    limited = answers[3]
    assert 1 <= int(limited.headers["retry-after"]) <= 5 and "rate limit of source" in limited.json()["detail"]
    produced = read_topic(api_settings, api_settings.kafka.raw_topic("social"))
    assert sorted(json.loads(r.value)["external_id"] for r in produced) == ["rate-0", "rate-1", "rate-2"]
