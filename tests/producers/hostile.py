"""The hostile corpus of issue #15: inputs a hostile user (or Excel, or a broken mail
server) sends, English and Persian, by kind. Each case says how many records it holds,
how many must be produced and rejected, and what the produced text must contain.

Built in code rather than as files so that every odd byte is visible in review.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

KINDS = ("crash", "vanish", "merge", "refused", "mangled", "date", "limit")
T = "2026-11-02T09:00:00Z"


@dataclass(frozen=True)
class Case:
    kind: str
    channel: str
    name: str
    data: bytes
    produced: int
    rejected: int
    text: str | None = None  # a substring the first event's text must hold
    reason: str | None = None  # a substring the first reject's reason must hold


def _j(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _chat(cid: str, text: str, when: str = T, **extra: object) -> str:
    return _j({"conversation_id": cid, "messages": [{"role": "customer", "text": text, "timestamp": when}], **extra})


def _post(pid: str, text: str, when: object = T) -> str:
    return _j({"id": pid, "author": "@a", "text": text, "created_at": when})


def _lines(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def _intercom(author: object = None, source: object = None, created: object = 1_790_000_000) -> dict[str, object]:
    src = source if source is not None else {"author": author if author is not None else {"type": "user", "id": "u1"},
                                             "body": "<p>My parcel is late / بسته‌ام دیر رسید</p>"}
    return {"type": "conversation", "id": "ic1", "created_at": created, "source": src,
            "conversation_parts": {"conversation_parts": []}}


_PLAY_HEADER = ("Package Name,App Version Code,App Version Name,Reviewer Language,Device,Review Submit Date and Time,"
                "Review Submit Millis Since Epoch,Review Last Update Date and Time,Review Last Update Millis Since Epoch,"
                "Star Rating,Review Title,Review Text,Developer Reply Date and Time,Developer Reply Millis Since Epoch,"
                "Developer Reply Text,Review Link")


def _play_row(n: int, text: str, *, rating: str = "2", millis: str = "1793610000000") -> str:
    return (f"com.acme.shop,1,1.0,fa,Pixel,{T},{millis},{T},{millis},{rating},t{n},{text},,,,"
            f"https://play.google.com/store/apps/details?id=com.acme.shop&reviewId=r{n}")


def _play(*rows: str, encoding: str = "utf-16") -> bytes:
    return ("\r\n".join((_PLAY_HEADER, *rows)) + "\r\n").encode(encoding)


def _store(*attrs: dict[str, object], links: object = None) -> bytes:
    return _j({"data": [{"type": "customerReviews", "id": f"s{i}", "attributes": a} for i, a in enumerate(attrs)],
               "links": links if links is not None else {"self": "https://api.appstoreconnect.apple.com/v1/apps/42/x"}}
              ).encode("utf-8")


def _review(body: str = "Crashes on start / برنامه باز نمی‌شود", rating: object = 2, when: str = T) -> dict[str, object]:
    return {"rating": rating, "title": "t", "body": body, "reviewerNickname": "n", "createdDate": when}


def _mail(body: bytes, *, headers: bytes = b"", ctype: bytes = b"text/plain; charset=utf-8", cte: bytes = b"8bit",
          mid: str = "m1") -> bytes:
    return (b"Message-ID: <" + mid.encode() + b"@x>\nFrom: a@example.com\nTo: support@acme.example\n"
            b"Date: Mon, 02 Nov 2026 09:00:00 +0000\n" + headers + b"Content-Type: " + ctype +
            b"\nContent-Transfer-Encoding: " + cte + b"\n\n" + body)


def _nested_mail(levels: int) -> bytes:
    head = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(levels))
    return b"Message-ID: <deep@x>\nFrom: a@b.c\n" + head + b"Content-Type: text/plain\n\nhello\n"


def _mbox(*messages: bytes) -> bytes:
    out = b""
    for i, message in enumerate(messages):
        out += b"From MAILER-DAEMON Mon Nov %02d 09:00:00 2026\n" % (i + 2) + message.rstrip(b"\n") + b"\n\n"
    return out


def _alternative(plain: bytes, html: bytes) -> bytes:
    return _mail(b'--b\nContent-Type: text/plain; charset=utf-8\n\n' + plain + b'\n--b\nContent-Type: text/html; '
                 b'charset=utf-8\n\n' + html + b'\n--b--\n', ctype=b'multipart/alternative; boundary="b"')


def corpus() -> list[Case]:
    good_fa = _chat("ok-fa", "سفارشم دیر رسید")
    good_en = _post("ok-en", "The app crashes at checkout")
    cases = [
        # --- crashes: one record must not take the file (or the server) down -------------------
        Case("crash", "chat", "lone surrogate (chat)", _lines(good_fa, _chat("s", "x").replace('"x"', '"hi \\ud83d"')),
             1, 1, "سفارشم", "surrogate"),
        Case("crash", "social", "lone surrogate (social)", _lines(good_en, _post("s", "x").replace('"x"', '"\\udc00"')),
             1, 1, "crashes", "surrogate"),
        Case("crash", "app_review", "lone surrogate (App Store)", _store(_review("ok \\ud83d")).replace(
             b"\\\\ud83d", b"\\ud83d"), 0, 1, None, "surrogate"),
        Case("crash", "social", "JSON nested 10 000 levels", b"[" * 10_000 + b"]" * 10_000, 0, 1, None, "nested"),
        Case("crash", "chat", "JSONL line nested 10 000 levels", _lines(good_fa, "[" * 10_000 + "]" * 10_000),
             1, 1, "سفارشم", "nested"),
        Case("crash", "email", "multipart nested 1 500 levels", _nested_mail(1_500), 0, 1, None, "nested"),
        Case("crash", "social", "X includes as a list",
             _j({"data": {"id": "1", "text": "lost my bag / چمدانم گم شد", "created_at": T, "author_id": "9"},
                 "includes": [{"id": "9"}]}).encode(), 1, 0, "چمدانم"),
        Case("crash", "chat", "Intercom author as a string", _j(_intercom(author="bob")).encode(), 0, 1, None,
             "source.author"),
        Case("crash", "chat", "Intercom source as a string", _j(_intercom(source="web")).encode(), 0, 1, None,
             "source"),
        Case("crash", "chat", "Intercom numeric author id", _j(_intercom(author={"type": "user", "id": 123})).encode(),
             1, 0, "بسته"),
        Case("crash", "chat", "conversation.list with conversations: 3",
             _j({"type": "conversation.list", "conversations": 3}).encode(), 0, 1, None, "conversations"),
        Case("crash", "app_review", "App Store links as a list", _store(_review(), links=["x"]), 1, 0, "Crashes"),
        Case("crash", "social", "Mastodon invalid URL",
             _j({"id": "m1", "created_at": T, "content": "<p>خیلی کند است</p>", "url": "http://[::1",
                 "account": {"acct": "u@m.example"}}).encode(), 1, 0, "کند"),
        Case("crash", "social", "created_at 1e20", _lines(good_en, _post("big", "x", 1e20)), 1, 1, "crashes"),
        Case("crash", "social", "created_at NaN", _lines(good_en, '{"id": "n", "text": "x", "created_at": NaN}'),
             1, 1, "crashes", "NaN"),
        Case("crash", "chat", "Intercom created_at 1e20", _j(_intercom(created=1e20)).encode(), 1, 0, "بسته"),
        Case("crash", "app_review", "star rating ²", _play(_play_row(1, "bad"), _play_row(2, "خوب نیست", rating="²")),
             1, 1, "bad", "star rating"),
        Case("crash", "app_review", "Play millis beyond 64 bits",
             _play(_play_row(1, "ok"), _play_row(2, "x", millis="9" * 25)), 1, 1, "ok", "Millis"),
        Case("crash", "app_review", "CSV field over 131 072 characters",
             _play(_play_row(1, "long " * 40_000), _play_row(2, "next row")), 2, 0, "long"),
        # --- vanished: every record is accounted for ------------------------------------------------
        Case("vanish", "chat", "conversation.list with conversations: null",
             _j({"type": "conversation.list", "conversations": None}).encode(), 0, 1, None, "conversations"),
        Case("vanish", "social", "empty file", b"", 0, 1, None, "empty file"),
        Case("vanish", "social", "whitespace-only file", b" \n\n\t\n", 0, 1, None, "empty file"),
        # --- merged: a broken record never folds its neighbours in ----------------------------------
        Case("merge", "app_review", "unbalanced quote in a CSV row",
             _play(_play_row(1, "first"), _play_row(2, '"it broke after the update'), _play_row(3, "سوم"),
                   _play_row(4, "fourth")), 3, 1, "first", "unbalanced quote"),
        Case("merge", "app_review", "quoted multi-line review stays one row",
             _play(_play_row(1, '"line one\nline two, with comma"'), _play_row(2, "دوم")), 2, 0, "line two"),
        Case("merge", "email", "mbox body posted as one payload",
             _mbox(_mail(b"first complaint", mid="a"), _mail("شکایت دوم".encode(), mid="b")), 2, 0, "first"),
        # --- valid records refused ------------------------------------------------------------------
        Case("refused", "social", "one bad byte in a JSONL file",
             _lines(good_en, _post("x", "y")) + b'{"id": "bad", "text": "\xff", "created_at": "2026-11-02T09:00:00Z"}\n'
             + _lines(_post("z", "خیلی خوب")), 3, 1, "crashes", "UTF-8"),
        Case("refused", "chat", "raw U+2028 and U+0085 inside a JSONL string",
             _lines(_chat("ls", "first\u2028second\u0085third"), good_fa), 2, 0, "third"),
        Case("refused", "email", "BOM before the headers", b"\xef\xbb\xbf" + _mail(b"body after a BOM",
             headers="Subject: سلام\n".encode()), 1, 0, "body after a BOM"),
        Case("refused", "app_review", "App Store JSON after leading whitespace", b" " * 200 + b"\n\t" + _store(_review()),
             1, 0, "Crashes"),
        Case("refused", "app_review", "App Store JSON in UTF-16 with BOM", _store(_review()).decode().encode("utf-16"),
             1, 0, "Crashes"),
        Case("refused", "email", "empty text/plain next to a full HTML part",
             _alternative(b"   ", "<p>The refund never came / پول برنگشت</p>".encode()), 1, 0, "refund never came"),
        Case("refused", "social", "UTF-16 JSONL without a BOM", _lines(good_en, _post("f", "سلام")).decode().encode(
             "utf-16-le"), 2, 0, "crashes"),
        Case("refused", "app_review", "Play CSV in UTF-8 with BOM", b"\xef\xbb\xbf" + _play(_play_row(1, "ok"),
             encoding="utf-8"), 1, 0, "ok"),
        # --- mangled: the text is what the customer wrote -------------------------------------------
        Case("mangled", "email", "Persian route lines are not a reply header",
             _mail("بلیت من این بود:\nاز: تهران\nبه: شیراز\nولی اتوبوس به اصفهان رفت.".encode()), 1, 0, "به: شیراز"),
        Case("mangled", "email", "English quoted From: lines are not a reply header",
             _mail(b'My invoice says\n"From: Acme Store"\nTo: nobody\nbut I never ordered it.'), 1, 0,
             "never ordered"),
        Case("mangled", "email", "a real Outlook header block is still stripped",
             _mail(b"Still broken.\n\nFrom: Support <s@acme.example>\nSent: Monday, 2 November 2026 10:00\n"
                   b"To: me@example.com\nSubject: Re: x\n\nTry again."), 1, 0, "Still broken."),
        Case("mangled", "email", "unescaped From line does not split an mbox message",
             _mbox(_mail(b"It worked.\n\nFrom now on it fails every day.", mid="u1"), _mail(b"second", mid="u2")),
             2, 0, "From now on it fails"),
        Case("mangled", "email", "escaped >From line is kept, unquoted",
             _mbox(_mail(b"Hello\n>From the start it was broken.", mid="e1")), 1, 0, "From the start it was broken"),
        Case("mangled", "email", "truncated base64 body", _mail(b"SGVsbG8gd29ybGQgdGhpc2lzIG5vdA", cte=b"base64"),
             0, 1, None, "base64"),
        Case("mangled", "email", "declared latin-1 but UTF-8 Persian body",
             _mail("کیفیت خیلی بد بود".encode(), ctype=b"text/plain; charset=iso-8859-1"), 1, 0, "کیفیت خیلی بد"),
        Case("mangled", "email", "raw UTF-8 Subject", _mail(b"body", headers="Subject: شکایت از ارسال\n".encode()),
             1, 0, "body"),
        Case("mangled", "social", "only invisible characters", _lines(_post("inv", "\u2060\u3164\u2800\ufe0f\u034f"),
             good_en), 1, 1, "crashes", "invisible"),
        Case("mangled", "app_review", "App Store rating true", _store(_review(rating=True)), 0, 1, None, "rating"),
        # --- impossible dates are clamped (the original kept in metadata) ---------------------------
        Case("date", "social", "dated 2099", _lines(_post("d1", "from the future", "2099-01-01T00:00:00Z")), 1, 0,
             "future"),
        Case("date", "chat", "dated 9999-12-31", _lines(_chat("d2", "آخر زمان", "9999-12-31T23:59:59Z")), 1, 0,
             "آخر"),
        Case("date", "social", "dated +010000", _lines(_post("d3", "x", "+010000-01-01T00:00:00Z")), 0, 1, None,
             "created_at"),
        Case("date", "app_review", "Play millis past year 9999", _play(_play_row(1, "far", millis="300000000000000")),
             1, 0, "far"),
        Case("date", "email", "Date year 0001", _mail(b"old mail").replace(b"2026 09:00", b"0001 09:00"), 1, 0,
             "old mail"),
        Case("date", "social", "dated before social media", _lines(_post("d4", "1990 post", "1990-01-01T00:00:00Z")),
             1, 0, "1990"),
    ]
    return cases


def limit_cases() -> list[tuple[Case, dict[str, int]]]:
    """Cases run with smaller limits than the defaults (the options to use beside each)."""
    return [
        (Case("limit", "social", "JSONL line over max_record_bytes", _lines(_post("big", "x" * 5_000), _post("s", "ok")),
              1, 1, "ok", "record too large"), {"max_record_bytes": 2_000}),
        (Case("limit", "chat", "JSON string over max_field_chars", _lines(_chat("f", "y" * 3_000), _chat("g", "ok")),
              1, 1, "ok", "field too large"), {"max_field_chars": 1_000}),
        (Case("limit", "app_review", "CSV field over max_field_chars", _play(_play_row(1, "z" * 3_000),
              _play_row(2, "ok")), 1, 1, "ok", "field too large"), {"max_field_chars": 1_000}),
        (Case("limit", "chat", "event over max_message_bytes",
              _j({"conversation_id": "mm", "messages": [{"role": "customer", "text": "hi", "timestamp": T}] + [
                  {"role": "agent", "text": "a" * 2_000, "timestamp": T}] * 3}).encode(), 0, 1, None,
              "message too large"), {"max_message_bytes": 4_096}),
        (Case("limit", "social", "rows per file", _lines(*(_post(str(i), f"post {i}") for i in range(5))), 3, 1,
              "post 0", "too many records"), {"max_records_per_file": 3}),
        (Case("limit", "social", "JSON depth", _lines("[" * 10 + "]" * 10, _post("ok", "fine")), 1, 1, "fine",
              "nested too deep"), {"max_depth": 8}),
    ]
