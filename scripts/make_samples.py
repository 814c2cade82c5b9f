"""Regenerate ``samples/`` from the real texts in ``../shared/datasets`` (deterministic).

Each channel gets a few hundred items in its real formats (mbox, .eml, Maildir; chat
transcripts and Intercom JSON; a UTF-16 Play Console CSV and App Store Connect JSON; X
API v2, Mastodon and plain JSONL), English and Persian, plus hostile items: HTML-only
mail, windows-1256 Persian mail, reply chains, a wrong charset, an empty review, an
emoji-only post and broken JSON lines. ``samples/MANIFEST.json`` records, per file, how
many records the generator meant to be valid and how many to be rejected.

Usage::

    python scripts/make_samples.py [--datasets ../shared/datasets] [--out samples]
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import quopri
import random
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import format_datetime
from html import escape
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
START = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
PLAY_COLUMNS = [
    "Package Name", "App Version Code", "App Version Name", "Reviewer Language", "Device",
    "Review Submit Date and Time", "Review Submit Millis Since Epoch", "Review Last Update Date and Time",
    "Review Last Update Millis Since Epoch", "Star Rating", "Review Title", "Review Text",
    "Developer Reply Date and Time", "Developer Reply Millis Since Epoch", "Developer Reply Text", "Review Link",
]
MARYAM = f"{Header('مریم', 'utf-8').encode()} <maryam@example.ir>"
DEVICES = ["a52q", "OnePlus8T", "redfin", "SM-G991B", "cheetah", "X00TD", "HWCOR", "starqlte"]


@dataclass
class Manifest:
    files: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, path: Path, out: Path, *, valid: int, rejected: int) -> None:
        self.files[path.relative_to(out).as_posix()] = {"valid": valid, "rejected": rejected}


def rows(datasets: Path, name: str, count: int, *, rng: random.Random, max_chars: int = 4000) -> list[dict[str, str]]:
    with (datasets / name / "dev.csv").open(encoding="utf-8", newline="") as handle:
        data = [r for r in csv.DictReader(handle) if r["text"].strip() and len(r["text"]) <= max_chars]
    rng.shuffle(data)
    return data[:count]


def when(rng: random.Random) -> datetime:
    return START + timedelta(minutes=rng.randrange(0, 60 * 24 * 50))


def qp(text: str, charset: str = "utf-8") -> bytes:
    return quopri.encodestring(text.encode(charset)).replace(b"\n", b"\r\n")


def b64(text: str, charset: str = "utf-8") -> bytes:
    return base64.encodebytes(text.encode(charset)).replace(b"\n", b"\r\n")


def mail(
    *, n: int, sender: str, subject: str, date: datetime, parts: list[tuple[str, str, str, bytes]],
    extra: list[tuple[str, str]] | None = None,
) -> bytes:
    """A raw message; parts are (content type, charset, transfer encoding, encoded body)."""
    headers = [
        ("Message-ID", f"<sample-{n}@mail.example.com>"),
        ("Date", format_datetime(date)),
        ("From", sender),
        ("To", "support@acme.example"),
        ("Subject", Header(subject, "utf-8").encode()),
        ("MIME-Version", "1.0"),
        *(extra or []),
    ]
    head = b"".join(f"{k}: {v}\r\n".encode() for k, v in headers)
    if len(parts) == 1:
        ctype, charset, cte, body = parts[0]
        return head + f"Content-Type: {ctype}; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n".encode() + body
    boundary = f"==sample-boundary-{n}=="
    out = head + f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode()
    for ctype, charset, cte, body in parts:
        out += f"--{boundary}\r\nContent-Type: {ctype}; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n".encode()
        out += body + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def to_mbox(messages: list[bytes], dates: list[datetime]) -> bytes:
    out = b""
    for raw, date in zip(messages, dates):
        body = raw.replace(b"\r\n", b"\n")
        # mboxrd quoting of body lines that start with "From ".
        body = b"\n".join(b">" + line if line.startswith(b"From ") else line for line in body.split(b"\n"))
        out += f"From MAILER-DAEMON {date.strftime('%a %b %d %H:%M:%S %Y')}\n".encode() + body.rstrip(b"\n") + b"\n\n"
    return out

HTML_ONLY = (
    "<html><head><style>p{color:red}</style></head><body><div>Hi team,</div>"
    "<p>The app logs me out <b>every</b> time I switch accounts &amp; I lose my cart.</p>"
    '<div class="gmail_quote">On Mon, Support wrote:<blockquote>Please reinstall.</blockquote></div></body></html>'
)
REPLY_EN = (
    "It is now three weeks and the refund has still not arrived.\r\nPlease escalate this.\r\n\r\n"
    "Thanks,\r\nSam\r\n\r\n"
    "On Tue, Nov 3, 2026 at 10:12 AM ACME Support <support@acme.example> wrote:\r\n"
    "> Your refund was issued and should arrive within 5 business days.\r\n>\r\n"
    "> On Mon, Nov 2, 2026 at 9:00 AM Sam <sam@example.com> wrote:\r\n>> {quoted}\r\n"
)
# A Gmail reply in Persian: the new text, a closing, then the quoted history.
REPLY_FA = (
    "هنوز سفارش من نرسیده است و کسی جواب نمی\u200cدهد.\n\n"
    "با احترام\nعلی\n\n"
    "در تاریخ دوشنبه ۲ نوامبر ۲۰۲۶ ساعت ۱۰:۰۰ پشتیبانی <support@acme.example> نوشت:\n"
    "> سلام، سفارش شما در حال پردازش است.\n"
)
REPLY_OUTLOOK = (
    "My card was declined again today at checkout.\n- first on Monday\n- again today\n\n"
    "-----Original Message-----\nFrom: ACME Support\nSent: Monday, November 2, 2026 9:00 AM\n"
    "To: Lee\nSubject: Card declined\n\nPlease try another card."
)


def hostile_mail(en_text: str, fa_text: str, rng: random.Random) -> dict[str, tuple[bytes, bool]]:
    """The hostile .eml fixtures: name -> (raw bytes, whether it should become an event)."""
    # windows-1256 mail is usually written with the Arabic letter forms (ي, ك).
    arabic_forms = fa_text.replace("ی", "ي").replace("ک", "ك")
    return {
        "html_only.eml": (mail(n=1001, sender="Dana <dana@example.com>", subject="App keeps logging me out",
                               date=when(rng), parts=[("text/html", "utf-8", "quoted-printable", qp(HTML_ONLY))]),
                          True),
        "persian_windows1256.eml": (mail(n=1002, sender=MARYAM, subject="شکایت از ارسال", date=when(rng), parts=[
            ("text/plain", "windows-1256", "quoted-printable", qp(arabic_forms, "windows-1256"))]), True),
        "reply_chain_en.eml": (mail(n=1003, sender="sam@example.com", subject="Re: Refund for order 5521",
                                    date=when(rng), parts=[("text/plain", "utf-8", "8bit", REPLY_EN.format(
                                        quoted=en_text[:300].replace("\n", " ")).encode())],
                                    extra=[("In-Reply-To", "<reply-1@acme.example>"),
                                           ("References", "<thread-root-5521@mail.example.com> <reply-1@acme.example>")]),
                               True),
        "reply_chain_fa.eml": (mail(n=1004, sender="ali@example.ir", subject="Re: سفارش ۴۲۱۷", date=when(rng),
                                    parts=[("text/plain", "utf-8", "base64", b64(REPLY_FA))],
                                    extra=[("In-Reply-To", "<fa-reply-1@acme.example>"),
                                           ("References", "<fa-root-4217@mail.example.ir>")]), True),
        "outlook_reply.eml": (mail(n=1005, sender="lee@example.com", subject="RE: Card declined", date=when(rng),
                                   parts=[("text/plain", "utf-8", "quoted-printable", qp(REPLY_OUTLOOK))],
                                   extra=[("In-Reply-To", "<o-1@acme.example>")]), True),
        # Declares utf-8 but carries windows-1256 bytes: a "bad encoding" reject.
        "wrong_charset.eml": (mail(n=1006, sender="x@example.ir", subject="bad bytes", date=when(rng),
                                   parts=[("text/plain", "utf-8", "8bit", fa_text.encode("windows-1256", "replace"))]),
                              False),
        "empty_body.eml": (mail(n=1007, sender="blank@example.com", subject="(no text)", date=when(rng),
                                parts=[("text/plain", "utf-8", "7bit", b"\r\n   \r\n")]), False),
    }


def make_email(datasets: Path, out: Path, manifest: Manifest, rng: random.Random) -> None:
    folder = out / "email"
    en = rows(datasets, "cfpb-complaints", 160, rng=rng)
    fa = rows(datasets, "digikala-recommend-fa", 100, rng=rng)
    messages: list[bytes] = []
    dates: list[datetime] = []
    for i, row in enumerate(en + fa):
        date = when(rng)
        persian = row in fa
        subject = (row.get("title") or "نظر درباره سفارش") if persian else (row.get("issue") or "Complaint")
        sender = f"customer{i}@example.{'ir' if persian else 'com'}"
        text = row["text"]
        if i % 3 == 0:
            parts = [("text/plain", "utf-8", "quoted-printable", qp(text)),
                     ("text/html", "utf-8", "base64", b64(f"<html><body><p>{escape(text)}</p></body></html>"))]
        elif i % 3 == 1:
            parts = [("text/plain", "utf-8", "base64", b64(text))]
        else:
            parts = [("text/plain", "utf-8", "quoted-printable", qp(text))]
        messages.append(mail(n=i, sender=sender, subject=subject, date=date, parts=parts))
        dates.append(date)
    path = folder / "support.mbox"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_mbox(messages, dates))
    manifest.add(path, out, valid=len(messages), rejected=0)

    hostile = folder / "hostile"
    hostile.mkdir(parents=True, exist_ok=True)
    for name, (raw, valid) in hostile_mail(en[0]["text"], fa[0]["text"], rng).items():
        (hostile / name).write_bytes(raw)
        manifest.add(hostile / name, out, valid=int(valid), rejected=int(not valid))

    maildir = folder / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    (maildir / "tmp" / ".keep").write_bytes(b"")
    for i, row in enumerate(rows(datasets, "snappfood-fa", 3, rng=rng) + rows(datasets, "cfpb-complaints", 2, rng=rng)):
        raw = mail(n=2000 + i, sender=f"md{i}@example.com", subject="feedback", date=when(rng),
                   parts=[("text/plain", "utf-8", "base64", b64(row["text"]))])
        (maildir / ("cur" if i % 2 else "new") / f"17630{i:05d}.M{i}P1.mail.example{':2,S' if i % 2 else ''}").write_bytes(raw)
    manifest.add(maildir, out, valid=5, rejected=0)


def make_chat(datasets: Path, out: Path, manifest: Manifest, rng: random.Random) -> None:
    folder = out / "chat"
    folder.mkdir(parents=True, exist_ok=True)
    en = rows(datasets, "bitext-support", 320, rng=rng)
    fa = rows(datasets, "snappfood-fa", 160, rng=rng)
    lines: list[str] = []
    pairs = [(en[i], en[i + 1], "en") for i in range(0, len(en), 2)] + [(fa[i], fa[i + 1], "fa") for i in range(0, len(fa), 2)]
    for n, (first, second, lang) in enumerate(pairs):
        t = when(rng)
        hello = "سلام، چطور می‌توانم کمک کنم؟" if lang == "fa" else "Hi! How can I help you today?"
        ack = "در حال بررسی هستم." if lang == "fa" else "Thanks, let me check that for you."
        messages = [
            {"role": "bot", "text": hello, "timestamp": t.isoformat()},
            {"role": "customer", "text": first["text"], "timestamp": (t + timedelta(seconds=20)).isoformat()},
            {"role": "agent", "text": ack, "timestamp": (t + timedelta(seconds=80)).isoformat()},
            {"role": "customer", "text": second["text"], "timestamp": (t + timedelta(seconds=140)).isoformat()},
        ]
        lines.append(json.dumps({"conversation_id": f"web-{n:05d}", "source": "web-widget", "customer_id": f"visitor-{n}",
                                 "messages": messages}, ensure_ascii=False))
    valid = len(lines)
    lines.insert(17, '{"conversation_id": "web-broken", "messages": [{"role": "customer", "text": "cut off')
    lines.append(json.dumps({"conversation_id": "web-agent-only", "messages": [
        {"role": "agent", "text": "Are you still there?", "timestamp": START.isoformat()}]}))
    path = folder / "transcripts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest.add(path, out, valid=valid, rejected=2)

    conversations = []
    for n, row in enumerate(rows(datasets, "bitext-support", 25, rng=rng) + rows(datasets, "digikala-recommend-fa", 15, rng=rng)):
        t = int(when(rng).timestamp())
        user = {"type": "user", "id": f"6{n:05d}", "name": f"User {n}", "email": f"user{n}@example.com"}
        conversations.append({
            "type": "conversation", "id": str(900000 + n), "created_at": t, "updated_at": t + 600,
            "source": {"type": "conversation", "id": str(800000 + n), "delivered_as": "customer_initiated",
                       "subject": "", "body": f"<p>{escape(row['text'])}</p>", "author": user},
            "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": user["id"]}]},
            "conversation_parts": {"type": "conversation_part.list", "total_count": 2, "conversation_parts": [
                {"type": "conversation_part", "id": str(700000 + 2 * n), "part_type": "comment",
                 "body": "<p>Thanks for reaching out, we are on it.</p>", "created_at": t + 120,
                 "author": {"type": "admin", "id": "4242", "name": "Support", "email": "support@acme.example"}},
                {"type": "conversation_part", "id": str(700001 + 2 * n), "part_type": "comment",
                 "body": "<p>Any update? <br>It is still not working.</p>", "created_at": t + 360, "author": user},
            ]},
        })
    path = folder / "intercom_conversations.json"
    path.write_text(json.dumps({"type": "conversation.list", "conversations": conversations}, ensure_ascii=False, indent=1),
                    encoding="utf-8")
    manifest.add(path, out, valid=len(conversations), rejected=0)


def make_app_review(datasets: Path, out: Path, manifest: Manifest, rng: random.Random) -> None:
    folder = out / "app_review"
    folder.mkdir(parents=True, exist_ok=True)
    en = rows(datasets, "maalej-app-reviews", 120, rng=rng)
    fa = rows(datasets, "deepsentipers-fa", 60, rng=rng) + rows(datasets, "digikala-recommend-fa", 40, rng=rng)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PLAY_COLUMNS)
    fa_ids = {id(r) for r in fa}
    for n, row in enumerate(en + fa):
        t = when(rng)
        persian = id(row) in fa_ids
        rating = int(row["rating"]) if row.get("rating", "").isdigit() else {"positive": 5, "neutral": 3}.get(row.get("sentiment", ""), 1)
        version = f"4.{n % 7}.{n % 3}"
        stamp = t.strftime("%Y-%m-%dT%H:%M:%SZ")
        reply = "Thanks for the feedback!" if n % 9 == 0 else ""
        writer.writerow(["com.acme.shop", str(400 + n % 7), version, "fa" if persian else "en", DEVICES[n % len(DEVICES)],
                         stamp, str(int(t.timestamp() * 1000)), stamp, str(int(t.timestamp() * 1000)), str(rating),
                         row.get("title", "") or "", row["text"], stamp if reply else "", "", reply,
                         f"http://play.google.com/console/developers/1234/app/4321/user-feedback/review-details?reviewId=gp:AOqpTO{n:06d}"])
    writer.writerow(["com.acme.shop", "406", "4.6.0", "en", "redfin", "2026-11-05T10:00:00Z", "1793872800000",
                     "2026-11-05T10:00:00Z", "1793872800000", "1", "", "", "", "", "",
                     "http://play.google.com/console/developers/1234/app/4321/user-feedback/review-details?reviewId=gp:EMPTY"])
    path = folder / "reviews_com.acme.shop_202611.csv"
    path.write_bytes(buffer.getvalue().encode("utf-16"))  # Play Console: UTF-16 with BOM
    manifest.add(path, out, valid=len(en) + len(fa), rejected=1)

    data = []
    for n, row in enumerate(rows(datasets, "maalej-app-reviews", 60, rng=rng) + rows(datasets, "parsinlu-food-fa", 60, rng=rng)):
        rating = int(row["rating"]) if row.get("rating", "").isdigit() else {"positive": 5, "negative": 1}.get(row["sentiment"], 3)
        data.append({"type": "customerReviews", "id": f"00000{n:03d}-7e3c-4b1f-9a1d-{n:012d}",
                     "attributes": {"rating": rating, "title": row.get("title") or "", "body": row["text"],
                                    "reviewerNickname": f"nick{n}", "createdDate": when(rng).isoformat(),
                                    "territory": "IRN" if "parsinlu" in row["id"] else "USA"},
                     "relationships": {"response": {"links": {"related": f"https://api.appstoreconnect.apple.com/v1/customerReviews/{n}/response"}}},
                     "links": {"self": f"https://api.appstoreconnect.apple.com/v1/customerReviews/{n}"}})
    data.append({"type": "customerReviews", "id": "bad-rating", "attributes": {"rating": 9, "body": "great", "createdDate": START.isoformat()}})
    doc = {"data": data, "links": {"self": "https://api.appstoreconnect.apple.com/v1/apps/1459842001/customerReviews"},
           "meta": {"paging": {"total": len(data), "limit": 200}}}
    path = folder / "app_store_customer_reviews.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    manifest.add(path, out, valid=len(data) - 1, rejected=1)


def make_social(datasets: Path, out: Path, manifest: Manifest, rng: random.Random) -> None:
    folder = out / "social"
    folder.mkdir(parents=True, exist_ok=True)
    tweets = rows(datasets, "airline-tweets", 200, rng=rng)
    lines = []
    for page in range(0, len(tweets), 20):
        data, users = [], []
        for n, row in enumerate(tweets[page:page + 20], start=page):
            handle = f"flyer{n}"
            text = row["text"].replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
            tags = [{"start": 0, "end": 0, "tag": w[1:].strip(".,!?:")} for w in text.split() if w.startswith("#") and len(w) > 1]
            mentions = [{"start": 0, "end": 0, "username": w[1:].strip(".,!?:")} for w in text.split() if w.startswith("@") and len(w) > 1]
            data.append({"id": row["id"], "text": text, "author_id": str(10_000 + n), "conversation_id": row["id"],
                         "created_at": when(rng).strftime("%Y-%m-%dT%H:%M:%S.000Z"), "lang": "en",
                         "entities": {"hashtags": tags, "mentions": mentions}})
            users.append({"id": str(10_000 + n), "username": handle, "name": f"Flyer {n}"})
        lines.append(json.dumps({"data": data, "includes": {"users": users}, "meta": {"result_count": len(data)}}, ensure_ascii=False))
    path = folder / "x_recent_search.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest.add(path, out, valid=len(tweets), rejected=0)

    statuses = []
    for n, row in enumerate(rows(datasets, "snappfood-fa", 70, rng=rng) + rows(datasets, "airline-tweets", 10, rng=rng)):
        persian = row["lang"] == "fa"
        tag = "اسنپ‌فود" if persian else "travel"
        statuses.append({"id": str(111_000_000 + n), "created_at": when(rng).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                         "in_reply_to_id": None, "language": "fa" if persian else "en", "visibility": "public",
                         "url": f"https://mastodon.example/@user{n}/{111_000_000 + n}",
                         "content": f"<p>{escape(row['text'])}</p><p><a href=\"https://mastodon.example/tags/{tag}\" class=\"mention hashtag\" rel=\"tag\">#<span>{tag}</span></a></p>",
                         "account": {"id": str(n), "username": f"user{n}", "acct": f"user{n}", "url": f"https://mastodon.example/@user{n}"},
                         "tags": [{"name": tag, "url": f"https://mastodon.example/tags/{tag}"}], "mentions": []})
    path = folder / "mastodon_statuses.json"
    path.write_text(json.dumps(statuses, ensure_ascii=False, indent=1), encoding="utf-8")
    manifest.add(path, out, valid=len(statuses), rejected=0)

    plain = []
    for n, row in enumerate(rows(datasets, "snappfood-fa", 40, rng=rng) + rows(datasets, "airline-tweets", 40, rng=rng)):
        plain.append(json.dumps({"id": f"p{n}", "author": f"@poster{n}", "text": row["text"],
                                 "created_at": when(rng).isoformat(), "url": f"https://social.example/p/{n}"}, ensure_ascii=False))
    plain.append(json.dumps({"id": "p-emoji", "author": "@emoji", "text": "😡😡😡👎", "created_at": START.isoformat(),
                             "url": "https://social.example/p/emoji"}, ensure_ascii=False))
    valid = len(plain)
    plain.insert(5, '{"id": "p-broken", "text": "missing the end')
    plain.append(json.dumps({"id": "p-empty", "author": "@blank", "text": "\u200c \u200b ", "created_at": START.isoformat()}))
    path = folder / "posts.jsonl"
    path.write_text("\n".join(plain) + "\n", encoding="utf-8")
    manifest.add(path, out, valid=valid, rejected=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=REPO.parent / "shared" / "datasets")
    parser.add_argument("--out", type=Path, default=REPO / "samples")
    args = parser.parse_args()
    if not (args.datasets / "cfpb-complaints" / "dev.csv").is_file():
        raise SystemExit(f"datasets not found under {args.datasets}; pass --datasets PATH")
    for channel in ("email", "chat", "app_review", "social"):
        shutil.rmtree(args.out / channel, ignore_errors=True)
    manifest = Manifest()
    for make in (make_email, make_chat, make_app_review, make_social):
        make(args.datasets, args.out, manifest, random.Random(f"feedback-samples-{make.__name__}"))
    (args.out / "MANIFEST.json").write_text(json.dumps(manifest.files, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    total = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"wrote {len(manifest.files)} sample files, {total / 1e6:.2f} MB, to {args.out}")


if __name__ == "__main__":
    main()
