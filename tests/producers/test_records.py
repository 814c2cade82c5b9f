"""The shared event builder: normalisation, truncation, pseudonyms, rejects, dead letters."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from pathlib import Path

import pytest

from feedback.errors import InvalidInput
from feedback.schema import make_event_id
from producers import ParseOptions, RecordRejected, Reject, expand_paths, pseudonymise
from producers.records import build_event

OPTIONS = ParseOptions(author_secret=b"secret-a", max_text_chars=30)
WHEN = datetime(2026, 11, 2, 9, 0)


def test_text_is_normalised_and_original_kept() -> None:
    event = build_event("chat", source="s", external_id="1", text="  كتاب  ي\u200b ۳  ", received_at=WHEN,
                        options=OPTIONS)
    assert event.text == "کتاب ی 3"
    assert event.original_text == "  كتاب  ي\u200b ۳  "
    assert event.received_at.tzinfo == timezone.utc
    assert event.id == make_event_id("chat", "s", "1")


def test_overlong_text_is_cut_at_the_limit_and_flagged() -> None:
    event = build_event("chat", source="s", external_id="1", text="a" * 100, received_at=WHEN, options=OPTIONS)
    assert event.truncated and len(event.text) == 30 and len(event.original_text or "") == 30


def test_empty_text_after_normalisation_is_rejected_naming_text() -> None:
    with pytest.raises(RecordRejected) as info:
        build_event("chat", source="s", external_id="1", text="\u200c\u200b \n", received_at=WHEN, options=OPTIONS)
    assert info.value.field == "text" and isinstance(info.value, InvalidInput)


def test_rating_out_of_range_names_the_field() -> None:
    with pytest.raises(RecordRejected) as info:
        build_event("app_review", source="s", external_id="1", text="ok", received_at=WHEN, options=OPTIONS, rating=7)
    assert info.value.field == "rating"


def test_author_is_a_keyed_hash_that_depends_on_the_secret() -> None:
    event = build_event("social", source="s", external_id="1", text="hi", received_at=WHEN, options=OPTIONS,
                        author="Ana@Example.com")
    assert event.author == pseudonymise("ana@example.com", secret=b"secret-a")
    assert event.author != pseudonymise("ana@example.com", secret=b"secret-b")
    assert "ana" not in (event.author or "").lower().replace("author:", "")


def test_reject_becomes_a_dead_letter_with_text_or_base64_payload() -> None:
    text = Reject(location="f.jsonl:3", reason="invalid JSON", payload=b'{"a": ', field="$").to_dead_letter()
    assert (text.stage, text.payload, text.payload_encoding, text.source) == ("ingest", '{"a": ', "utf-8", "f.jsonl:3")
    assert text.reason == "invalid JSON (field: $)"
    binary = Reject(location="m.eml", reason="bad encoding", payload=b"\xe1\xff").to_dead_letter()
    assert binary.payload_encoding == "base64" and base64.b64decode(binary.payload) == b"\xe1\xff"


def test_missing_path_and_unknown_channel_fail_before_reading(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file"):
        list(expand_paths("chat", [tmp_path / "missing.jsonl"]))
    with pytest.raises(InvalidInput, match="expected one of email, chat, app_review, social"):
        list(expand_paths("fax", [tmp_path]))
