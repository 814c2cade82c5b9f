"""App reviews: Google Play Console review exports (CSV) and App Store Connect JSON.

Google Play's monthly export (``reviews_<package>_<yyyymm>.csv``) is UTF-16 with a BOM
and has these columns: ``Package Name, App Version Code, App Version Name, Reviewer
Language, Device, Review Submit Date and Time, Review Submit Millis Since Epoch, Review
Last Update Date and Time, Review Last Update Millis Since Epoch, Star Rating, Review
Title, Review Text, Developer Reply Date and Time, Developer Reply Millis Since Epoch,
Developer Reply Text, Review Link``. The review id is taken from the review link.

App Store Connect's ``GET /v1/apps/{id}/customerReviews`` answers ``{"data": [{"type":
"customerReviews", "id", "attributes": {"rating", "title", "body", "reviewerNickname",
"createdDate", "territory"}}], "links": {"self": ...}}``; the app id comes from the
``self`` link.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from feedback.schema import FeedbackEvent
from producers.jsonfile import iter_json_records
from producers.records import (
    ParseOptions,
    ParseResult,
    RecordRejected,
    build_event,
    content_id,
    reject_from_validation,
)

__all__ = ["PLAY_COLUMNS", "parse_app_review_bytes", "parse_app_store_bytes", "parse_play_csv_bytes"]

PLAY_COLUMNS: tuple[str, ...] = (
    "Package Name",
    "App Version Code",
    "App Version Name",
    "Reviewer Language",
    "Device",
    "Review Submit Date and Time",
    "Review Submit Millis Since Epoch",
    "Review Last Update Date and Time",
    "Review Last Update Millis Since Epoch",
    "Star Rating",
    "Review Title",
    "Review Text",
    "Developer Reply Date and Time",
    "Developer Reply Millis Since Epoch",
    "Developer Reply Text",
    "Review Link",
)
_REQUIRED = ("Package Name", "Review Submit Date and Time", "Star Rating", "Review Text")
# Play Console links: `.../user-feedback/#ReviewDetailsPlace:p=<package>&reviewid=gp:...` in
# real exports (lowercase), `.../review-details?reviewId=gp:...` in newer consoles.
_REVIEW_ID = re.compile(r"[?&#:;]reviewid=([^&\s]+)", re.IGNORECASE)
_APP_ID = re.compile(r"/apps/(\d+)/")


def _decode_csv(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def _play_time(row: dict[str, str]) -> datetime:
    millis = (row.get("Review Submit Millis Since Epoch") or "").strip()
    if millis.isdigit():
        return datetime.fromtimestamp(int(millis) / 1000, tz=UTC)
    value = (row.get("Review Submit Date and Time") or "").strip()
    try:
        return datetime.fromisoformat(value)
    except ValueError as e:
        raise RecordRejected(f"expected an ISO date such as 2026-11-02T09:14:00Z, found {value!r}",
                             field="Review Submit Date and Time") from e


def _play_event(row: dict[str, str], *, options: ParseOptions, raw: bytes) -> FeedbackEvent:
    rating_text = (row.get("Star Rating") or "").strip()
    if not rating_text.isdigit():
        raise RecordRejected(f"expected a star rating 1-5, found {rating_text!r}", field="Star Rating")
    link = (row.get("Review Link") or "").strip()
    match = _REVIEW_ID.search(link)
    package = (row.get("Package Name") or "").strip()
    metadata: dict[str, Any] = {"format": "google_play_csv", "store": "google_play"}
    for column, key in (
        ("App Version Name", "app_version"),
        ("App Version Code", "app_version_code"),
        ("Device", "device"),
        ("Reviewer Language", "reviewer_language"),
        ("Developer Reply Text", "developer_reply"),
        ("Review Link", "url"),
    ):
        if (row.get(column) or "").strip():
            metadata[key] = row[column].strip()
    title = (row.get("Review Title") or "").strip() or None
    return build_event(
        "app_review",
        source=package,
        external_id=match.group(1) if match else content_id(raw),
        text=row.get("Review Text") or "",
        received_at=_play_time(row),
        options=options,
        subject=title,
        rating=int(rating_text),
        metadata=metadata,
    )


def parse_play_csv_bytes(data: bytes, *, options: ParseOptions, location: str) -> ParseResult:
    """A Google Play Console reviews CSV (UTF-16 or UTF-8) to events and rejects."""
    result = ParseResult()
    try:
        text = _decode_csv(data)
    except UnicodeDecodeError as e:
        result.reject(location, f"bad encoding: expected UTF-16 (Play Console export) or UTF-8, {e.reason} at "
                      f"offset {e.start}", data, field="encoding")
        return result
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        result.reject(location, f"not a Google Play reviews export: columns {missing} missing; found "
                      f"{reader.fieldnames}", data, field=missing[0])
        return result
    for row in reader:
        where = f"{location}:{reader.line_num}"
        out = io.StringIO()
        csv.DictWriter(out, fieldnames=list(row.keys())).writerow(row)
        raw = out.getvalue().encode("utf-8")
        try:
            result.events.append(_play_event(row, options=options, raw=raw))
        except RecordRejected as e:
            result.reject_error(where, e, raw)
    return result


class _StoreAttributes(BaseModel):
    model_config = ConfigDict(extra="allow")

    rating: int = Field(ge=1, le=5)
    title: str | None = None
    body: str = ""
    reviewerNickname: str | None = None
    createdDate: datetime
    territory: str | None = None


class _StoreReview(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = "customerReviews"
    id: str = Field(min_length=1)
    attributes: _StoreAttributes


def _store_records(document: Any) -> list[Any]:
    if isinstance(document, dict) and isinstance(document.get("data"), list):
        app = _APP_ID.search(str((document.get("links") or {}).get("self", "")))
        return [{**item, "_app_id": app.group(1) if app else None} if isinstance(item, dict) else item
                for item in document["data"]]
    return document if isinstance(document, list) else [document]


def _store_event(record: Any, *, options: ParseOptions) -> FeedbackEvent:
    if not isinstance(record, dict):
        raise RecordRejected(f"expected a customerReviews object, found {type(record).__name__}", field="data")
    app_id = record.get("_app_id")
    try:
        review = _StoreReview.model_validate({k: v for k, v in record.items() if k != "_app_id"})
    except ValidationError as e:
        raise reject_from_validation(e) from e
    attrs = review.attributes
    metadata: dict[str, Any] = {"format": "app_store_json", "store": "app_store"}
    if attrs.territory:
        metadata["territory"] = attrs.territory
    return build_event(
        "app_review",
        source=f"appstore:{app_id}" if app_id else "appstore",
        external_id=review.id,
        text=attrs.body,
        received_at=attrs.createdDate,
        options=options,
        author=attrs.reviewerNickname,
        subject=attrs.title,
        rating=attrs.rating,
        metadata=metadata,
    )


def parse_app_store_bytes(data: bytes, *, options: ParseOptions, location: str) -> ParseResult:
    """An App Store Connect customerReviews response (JSON or JSONL of them)."""
    result = ParseResult()
    for where, payload, record in iter_json_records(data, location=location, unwrap=_store_records, result=result):
        try:
            result.events.append(_store_event(record, options=options))
        except RecordRejected as e:
            result.reject_error(where, e, payload)
    return result


def parse_app_review_bytes(data: bytes, *, options: ParseOptions, location: str) -> ParseResult:
    """Either format, told apart by content: JSON starts with ``{`` or ``[``, else CSV.

    >>> csv_bytes = ("Package Name,Review Submit Date and Time,Star Rating,Review Text,Device\\n"
    ...              "com.acme,2026-11-02T09:14:00Z,2,Crashes on start,Pixel 8\\n").encode("utf-16")
    >>> e = parse_app_review_bytes(csv_bytes, options=ParseOptions(author_secret=b"k"), location="r.csv").events[0]
    >>> (e.rating, e.metadata["device"], e.text)
    (2, 'Pixel 8', 'Crashes on start')
    """
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"{", b"[")):
        return parse_app_store_bytes(data, options=options, location=location)
    return parse_play_csv_bytes(data, options=options, location=location)
