"""Chat parsing: our transcript format (JSON/JSONL) and Intercom conversation JSON."""

from __future__ import annotations

import json

from producers import ParseOptions, parse_bytes, parse_path
from tests.producers.helpers import SAMPLES

OPTIONS = ParseOptions(author_secret=b"test-secret")


def test_transcript_customer_turns_in_order_and_agent_turns_in_metadata() -> None:
    transcript = {
        "conversation_id": "c-1",
        "customer_id": "u-9",
        "messages": [
            {"role": "bot", "text": "سلام، چطور کمک کنم؟", "timestamp": "2026-11-02T09:00:00Z"},
            {"role": "customer", "text": "سفارشم دير رسيد", "timestamp": "2026-11-02T09:01:00Z"},
            {"role": "agent", "text": "بررسی می‌کنم", "timestamp": "2026-11-02T09:02:00Z"},
            {"role": "customer", "text": "غذا سرد بود", "timestamp": "2026-11-02T09:03:00Z"},
        ],
    }
    result = parse_bytes("chat", json.dumps(transcript).encode(), options=OPTIONS, location="body")
    event = result.events[0]
    assert event.text == "سفارشم دیر رسید\n\nغذا سرد بود"  # ي folded to ی
    assert [t["role"] for t in event.metadata["agent_turns"]] == ["bot", "agent"]
    assert event.metadata["agent_turns"][1]["text"] == "بررسی می‌کنم"
    assert event.thread_id == "c-1" and event.external_id == "c-1"
    assert event.received_at.isoformat() == "2026-11-02T09:01:00+00:00"
    assert event.author is not None and "u-9" not in event.author


def test_sample_transcripts_keep_broken_line_and_agent_only_conversation_as_rejects() -> None:
    result = parse_path("chat", SAMPLES / "chat" / "transcripts.jsonl", options=OPTIONS)
    assert len(result.events) == 240
    reasons = {r.location.rsplit(":", 1)[1]: (r.field, r.reason) for r in result.rejects}
    assert reasons["18"][0] == "$" and reasons["18"][1].startswith("invalid JSON")
    assert reasons["242"][0] == "messages"
    assert result.rejects[0].payload.startswith(b'{"conversation_id": "web-broken"')


def test_missing_field_names_the_field() -> None:
    bad = {"conversation_id": "c-2", "messages": [{"role": "customer", "timestamp": "2026-11-02T09:01:00Z"}]}
    result = parse_bytes("chat", json.dumps(bad).encode(), options=OPTIONS, location="body")
    assert result.events == []
    assert result.rejects[0].field == "messages.0.text"


def test_unknown_role_is_rejected_with_field() -> None:
    bad = {"conversation_id": "c-3", "messages": [{"role": "pirate", "text": "arr", "timestamp": "2026-11-02T09:01:00Z"}]}
    result = parse_bytes("chat", json.dumps(bad).encode(), options=OPTIONS, location="body")
    assert result.rejects[0].field == "messages.0.role"


def test_intercom_conversation_list_html_bodies_and_admin_parts() -> None:
    result = parse_path("chat", SAMPLES / "chat" / "intercom_conversations.json", options=OPTIONS)
    assert len(result.events) == 40 and result.rejects == []
    event = result.events[0]
    assert event.source == "intercom" and event.external_id == "900000"
    assert event.text.endswith("Any update?\nIt is still not working.")
    assert "<p>" not in event.text
    assert event.metadata["agent_turns"] == [
        {"role": "agent", "text": "Thanks for reaching out, we are on it.",
         "timestamp": event.metadata["agent_turns"][0]["timestamp"]}
    ]
    assert event.metadata["customer_turns"] == 2
