"""Social posts: X API v2, Mastodon statuses and plain JSONL."""

from __future__ import annotations

import json

from producers import ParseOptions, parse_bytes, parse_path
from tests.producers.helpers import SAMPLES

OPTIONS = ParseOptions(author_secret=b"test-secret")


def test_x_payload_uses_includes_users_for_url_and_entities_for_metadata() -> None:
    payload = {
        "data": [{"id": "1850000000000000001", "text": "@AcmeAir lost my bag again #fail",
                  "author_id": "42", "conversation_id": "1850000000000000000",
                  "created_at": "2026-11-02T09:00:00.000Z", "lang": "en",
                  "entities": {"hashtags": [{"start": 27, "end": 32, "tag": "fail"}],
                               "mentions": [{"start": 0, "end": 8, "username": "AcmeAir"}]}}],
        "includes": {"users": [{"id": "42", "username": "traveller", "name": "T"}]},
    }
    event = parse_bytes("social", json.dumps(payload).encode(), options=OPTIONS, location="b").events[0]
    assert event.metadata["url"] == "https://x.com/traveller/status/1850000000000000001"
    assert event.metadata["hashtags"] == ["fail"] and event.metadata["mentions"] == ["AcmeAir"]
    assert event.thread_id == "1850000000000000000"
    assert event.source == "x" and event.external_id == "1850000000000000001"


def test_x_sample_jsonl_pages() -> None:
    result = parse_path("social", SAMPLES / "social" / "x_recent_search.jsonl", options=OPTIONS)
    assert len(result.events) == 200 and result.rejects == []
    assert all(e.metadata["url"].startswith("https://x.com/flyer") for e in result.events)


def test_mastodon_html_content_becomes_text_and_tags_go_to_metadata() -> None:
    result = parse_path("social", SAMPLES / "social" / "mastodon_statuses.json", options=OPTIONS)
    assert len(result.events) == 80
    event = result.events[0]
    assert "<p>" not in event.text and event.text.endswith("#اسنپ\u200cفود")
    assert event.metadata["hashtags"] == ["اسنپ‌فود"]
    assert event.source == "mastodon:mastodon.example"
    assert event.metadata["url"] == "https://mastodon.example/@user0/111000000"


def test_plain_jsonl_keeps_emoji_only_post_and_rejects_broken_and_empty_lines() -> None:
    result = parse_path("social", SAMPLES / "social" / "posts.jsonl", options=OPTIONS)
    assert len(result.events) == 81
    emoji = next(e for e in result.events if e.external_id == "p-emoji")
    assert emoji.text == "😡😡😡👎"
    assert [(r.location.rsplit(":", 1)[1], r.field) for r in result.rejects] == [("6", "$"), ("83", "text")]


def test_mentions_and_hashtags_from_plain_text() -> None:
    line = {"id": 5, "author": "@a", "text": "@Acme why is #checkout broken", "created_at": "2026-11-02T09:00:00Z"}
    event = parse_bytes("social", json.dumps(line).encode(), options=OPTIONS, location="b").events[0]
    assert event.metadata["mentions"] == ["Acme"] and event.metadata["hashtags"] == ["checkout"]
    assert event.external_id == "5"


def test_non_utf8_file_is_one_reject_with_base64_payload() -> None:
    data = '{"id": 1, "text": "سلام"}'.encode("windows-1256")
    result = parse_bytes("social", data, options=OPTIONS, location="f.jsonl")
    assert result.events == [] and result.rejects[0].field == "encoding"
    assert result.rejects[0].to_dead_letter().payload_encoding == "base64"
