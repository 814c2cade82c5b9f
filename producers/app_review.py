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
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from feedback.schema import FeedbackEvent
from producers.dates import ImpossibleDate, from_unix
from producers.decoding import decode_bytes
from producers.jsonfile import iter_json_records
from producers.records import (
    ParseOptions,
    ParseResult,
    RecordRejected,
    build_event,
    content_id,
    display,
    read_record,
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
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")
_RATING = re.compile(r"[1-5]")
_PACKAGE = re.compile(r"[A-Za-z][\w]*(?:\.[\w]+)+")


def _play_time(row: dict[str, str]) -> datetime | ImpossibleDate:
    millis = (row.get("Review Submit Millis Since Epoch") or "").strip()
    if millis:
        if not _ASCII_DIGITS.fullmatch(millis):
            raise RecordRejected(f"expected milliseconds since 1970 (up to 19 ASCII digits), found {millis!r:.40}",
                                 field="Review Submit Millis Since Epoch")
        return from_unix(int(millis), field="Review Submit Millis Since Epoch", millis=True)
    value = (row.get("Review Submit Date and Time") or "").strip()
    try:
        return datetime.fromisoformat(value)
    except ValueError as e:
        raise RecordRejected(f"expected an ISO date such as 2026-11-02T09:14:00Z, found {value!r:.60}",
                             field="Review Submit Date and Time") from e


def _play_event(row: dict[str, str], *, options: ParseOptions, raw: bytes) -> FeedbackEvent:
    rating_text = (row.get("Star Rating") or "").strip()
    if not _RATING.fullmatch(rating_text):
        raise RecordRejected(f"expected a star rating 1-5, found {rating_text!r:.20}", field="Star Rating")
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


def _complete(chunk: str) -> bool:
    # RFC 4180: a record ends where the quotes are balanced (an escaped "" counts twice).
    return chunk.count('"') % 2 == 0


def _row(chunk: str) -> list[str]:
    return next(csv.reader([chunk.rstrip("\r\n")]), [])


def _row_start(line: str, width: int, package_first: bool) -> bool:
    """Whether ``line`` is a whole row of its own, so it cannot continue a quoted field."""
    if not _complete(line):
        return False
    try:
        fields = _row(line)
    except csv.Error:
        return False
    return len(fields) == width and (not package_first or bool(_PACKAGE.fullmatch(fields[0].strip())))


def _csv_records(text: str, width: int, package_first: bool) -> Iterator[tuple[int, str, bool]]:
    """``(first line number, record text, complete)`` per record, split at physical lines.

    A quoted field may span lines (a review with line breaks); an unbalanced quote would
    swallow every row after it, so a record stops where a line that is a whole row of its
    own begins, and is reported incomplete.
    """
    lines = text.split("\n")
    index = 1
    while index < len(lines):
        start = index
        chunk = lines[index]
        index += 1
        while not _complete(chunk) and index < len(lines) and not _row_start(lines[index], width, package_first):
            chunk += "\n" + lines[index]
            index += 1
        if chunk.strip():
            yield start + 1, chunk, _complete(chunk)


def parse_play_csv_bytes(data: bytes, *, options: ParseOptions, location: str) -> ParseResult:
    """A Google Play Console reviews CSV (UTF-16 or UTF-8) to events and rejects.

    Rows are read one by one, so a broken row (an unbalanced quote, a field over the
    limit) is one reject and the rows after it still count.
    """
    result = ParseResult()
    try:
        decoded = decode_bytes(data, what="the Play Console export")
    except RecordRejected as e:
        result.reject(location, f"{e.message} (Play Console exports are UTF-16 with a BOM; UTF-8 is accepted too)",
                      data, field="encoding")
        return result
    if decoded.guess:
        result.warnings.append(f"{display(location)}: {decoded.guess}")
    text = decoded.text
    header_line = text.split("\n", 1)[0]
    try:
        header = [name.strip() for name in _row(header_line)]
    except csv.Error as e:
        header = []
        result.warnings.append(f"{display(location)}: unreadable header: {e}")
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        result.reject(location, f"not a Google Play reviews export: columns {missing} missing; found "
                      f"{display(str(header))[:300]}", data, field=missing[0])
        return result
    # The csv module refuses fields over its own limit (131 072 characters) with an error;
    # our record limit is checked first, so raise the module's to it.
    if csv.field_size_limit() < options.max_record_bytes:
        csv.field_size_limit(options.max_record_bytes)
    count = 0
    for number, chunk, complete in _csv_records(text, len(header), header[0] == "Package Name"):
        where = f"{location}:{number}"
        raw = chunk.encode("utf-8", "surrogatepass")
        if count >= options.max_records_per_file:
            result.reject(where, f"too many rows: the file holds more than {options.max_records_per_file} "
                          "(FEEDBACK_INGEST_MAX_RECORDS_PER_FILE); this row and the rows after it were not read; "
                          "split the file", raw, field="$")
            break
        count += 1
        if not complete:
            result.reject(where, "unbalanced quote: a quoted field opens here and never closes before the next row; "
                          'close the quote or double it ("") inside the field', raw, field="$")
            continue
        if len(raw) > options.max_record_bytes:
            result.reject(where, f"row too large: {len(raw)} bytes, over the limit of {options.max_record_bytes} "
                          "(FEEDBACK_INGEST_MAX_RECORD_BYTES); shorten the review", raw, field="$")
            continue
        read_record(result, where, raw, lambda chunk=chunk: _play_row(chunk, header, options=options, raw=raw))
    return result


def _play_row(chunk: str, header: list[str], *, options: ParseOptions, raw: bytes) -> FeedbackEvent:
    try:
        fields = _row(chunk)
    except csv.Error as e:
        raise RecordRejected(f"unreadable CSV row: {e}; check its quotes", field="$") from e
    if len(fields) != len(header):
        raise RecordRejected(f"expected {len(header)} columns as in the header, found {len(fields)}; check the "
                             "commas and quotes of this row", field="$")
    for name, value in zip(header, fields, strict=True):
        if len(value) > options.max_field_chars:
            raise RecordRejected(f"field too large: {len(value)} characters, over the limit of "
                                 f"{options.max_field_chars} (FEEDBACK_INGEST_MAX_FIELD_CHARS); shorten it",
                                 field=name)
    return _play_event(dict(zip(header, fields, strict=True)), options=options, raw=raw)


class _StoreAttributes(BaseModel):
    model_config = ConfigDict(extra="allow")

    rating: StrictInt = Field(ge=1, le=5)
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
        links = document.get("links")
        # ``links`` of the wrong shape only loses the app id; the reviews are fine.
        app = _APP_ID.search(str(links.get("self", ""))) if isinstance(links, dict) else None
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
    for where, payload, record in iter_json_records(data, location=location, unwrap=_store_records, result=result,
                                                    options=options):
        read_record(result, where, payload, lambda record=record: _store_event(record, options=options))
    return result


def parse_app_review_bytes(data: bytes, *, options: ParseOptions, location: str) -> ParseResult:
    """Either format, told apart by content: JSON starts with ``{`` or ``[``, else CSV.

    >>> csv_bytes = ("Package Name,Review Submit Date and Time,Star Rating,Review Text,Device\\n"
    ...              "com.acme,2026-11-02T09:14:00Z,2,Crashes on start,Pixel 8\\n").encode("utf-16")
    >>> e = parse_app_review_bytes(csv_bytes, options=ParseOptions(author_secret=b"k"), location="r.csv").events[0]
    >>> (e.rating, e.metadata["device"], e.text)
    (2, 'Pixel 8', 'Crashes on start')
    """
    try:
        head = decode_bytes(data[:4096] if len(data) > 4096 else data).text
    except RecordRejected:
        head = data[:4096].decode("utf-8", "ignore")  # a cut multi-byte sequence; only the start matters
    if head.lstrip().startswith(("{", "[")):
        return parse_app_store_bytes(data, options=options, location=location)
    return parse_play_csv_bytes(data, options=options, location=location)
