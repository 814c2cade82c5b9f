"""Email parsing on real-format fixtures: mbox, .eml, Maildir, MIME and charsets."""

from __future__ import annotations

from pathlib import Path

from feedback.schema import make_event_id
from producers import ParseOptions, parse_bytes, parse_path, pseudonymise
from producers.mail import parse_message
from tests.producers.helpers import SAMPLES

OPTIONS = ParseOptions(author_secret=b"test-secret", max_text_chars=20_000)
HOSTILE = SAMPLES / "email" / "hostile"


def _one(name: str):  # type: ignore[no-untyped-def]
    result = parse_path("email", HOSTILE / name, options=OPTIONS)
    assert result.rejects == [], result.rejects
    assert len(result.events) == 1
    return result.events[0]


def test_html_only_mail_is_converted_to_text_without_style_or_quoted_history() -> None:
    event = _one("html_only.eml")
    assert event.text == "Hi team,\n\nThe app logs me out every time I switch accounts & I lose my cart."
    assert event.metadata["content_type"] == "text/html"
    assert event.subject == "App keeps logging me out"


def test_windows_1256_persian_mail_is_decoded_and_letters_normalised() -> None:
    event = _one("persian_windows1256.eml")
    assert event.text.startswith("محصول ضعیفیه")
    # The mail was written with Arabic yeh/kaf (all windows-1256 has); the event has Persian ones.
    assert "\u064a" not in event.text and "\u0643" not in event.text
    assert "ی" in event.text
    assert "\u064a" in (event.original_text or "")
    assert event.subject == "شکایت از ارسال"


def test_english_reply_chain_and_signature_are_removed_and_thread_is_the_root() -> None:
    event = _one("reply_chain_en.eml")
    assert event.text == "It is now three weeks and the refund has still not arrived.\nPlease escalate this."
    assert event.external_id == "<sample-1003@mail.example.com>"
    assert event.thread_id == "<thread-root-5521@mail.example.com>"
    assert event.metadata["in_reply_to"] == "<reply-1@acme.example>"
    assert event.metadata["quotes_removed"] is True


def test_persian_reply_header_and_closing_are_removed_and_zwnj_kept() -> None:
    event = _one("reply_chain_fa.eml")
    assert event.text == "هنوز سفارش من نرسیده است و کسی جواب نمی\u200cدهد."
    assert event.thread_id == "<fa-root-4217@mail.example.ir>"
    assert event.subject == "Re: سفارش 4217"  # Persian digits folded


def test_outlook_original_message_block_is_removed_but_dash_lists_stay() -> None:
    event = _one("outlook_reply.eml")
    assert event.text == "My card was declined again today at checkout.\n- first on Monday\n- again today"


def test_wrong_charset_and_empty_body_are_rejects_with_reasons_and_original_bytes() -> None:
    wrong = parse_path("email", HOSTILE / "wrong_charset.eml", options=OPTIONS)
    assert wrong.events == []
    assert wrong.rejects[0].field == "charset"
    assert "bad encoding" in wrong.rejects[0].reason
    assert wrong.rejects[0].payload == (HOSTILE / "wrong_charset.eml").read_bytes()
    assert wrong.rejects[0].to_dead_letter().payload_encoding == "base64"
    empty = parse_path("email", HOSTILE / "empty_body.eml", options=OPTIONS)
    assert empty.events == [] and empty.rejects[0].reason.startswith("empty text")


def test_mbox_yields_one_event_per_message_with_ids_authors_and_persian() -> None:
    result = parse_path("email", SAMPLES / "email" / "support.mbox", options=OPTIONS)
    assert len(result.events) == 260 and result.rejects == []
    first = result.events[0]
    assert first.external_id == "<sample-0@mail.example.com>"
    assert first.id == make_event_id("email", "support@acme.example", "<sample-0@mail.example.com>")
    assert first.author == pseudonymise("customer0@example.com", secret=b"test-secret")
    assert "customer0@example.com" not in first.model_dump_json()
    assert any("\u0600" <= ch <= "\u06ff" for ch in result.events[-1].text)
    assert len({e.id for e in result.events}) == 260


def test_maildir_folder_reads_new_and_cur() -> None:
    result = parse_path("email", SAMPLES / "email" / "Maildir", options=OPTIONS)
    assert len(result.events) == 5
    assert {e.metadata["format"] for e in result.events} == {"maildir"}


def test_multipart_prefers_plain_and_decodes_quoted_printable() -> None:
    raw = (
        b"Message-ID: <m1@x>\r\nFrom: Ana <ana@example.com>\r\nTo: help@acme.example\r\n"
        b"Subject: =?utf-8?b?2LPZgdin2LHYtA==?=\r\nDate: Mon, 02 Nov 2026 09:00:00 +0330\r\n"
        b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Caf=C3=A9 order late\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML version</p>\r\n--b--\r\n"
    )
    event = parse_message(raw, options=OPTIONS, mail_format="eml")
    assert event.text == "Café order late"
    assert event.subject == "سفارش"
    assert event.source == "help@acme.example"
    assert event.received_at.utcoffset().total_seconds() == 3.5 * 3600  # type: ignore[union-attr]


def test_overlong_text_is_cut_and_flagged() -> None:
    raw = b"Message-ID: <long@x>\nFrom: a@b.c\nTo: s@acme.example\n\n" + b"word " * 100
    result = parse_bytes("email", raw, options=ParseOptions(author_secret=b"k", max_text_chars=50), location="x")
    event = result.events[0]
    assert event.truncated is True and len(event.text) <= 50


def test_same_message_gets_same_id_from_any_path(tmp_path: Path) -> None:
    raw = (HOSTILE / "reply_chain_en.eml").read_bytes()
    copy = tmp_path / "copy.eml"
    copy.write_bytes(raw)
    assert parse_path("email", copy, options=OPTIONS).events[0].id == _one("reply_chain_en.eml").id
