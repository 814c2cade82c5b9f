"""App reviews: Google Play Console CSV export (UTF-16) and App Store Connect JSON."""

from __future__ import annotations

import csv
import io
import json

import pytest

from producers import ParseOptions, parse_bytes, parse_path
from producers.app_review import PLAY_COLUMNS
from tests.producers.helpers import SAMPLES

OPTIONS = ParseOptions(author_secret=b"test-secret")


def test_play_export_is_utf16_with_bom_and_real_columns() -> None:
    raw = (SAMPLES / "app_review" / "reviews_com.acme.shop_202611.csv").read_bytes()
    assert raw.startswith(b"\xff\xfe")
    assert raw.decode("utf-16").splitlines()[0].split(",") == list(PLAY_COLUMNS)


def test_play_rows_carry_rating_version_device_and_review_id() -> None:
    result = parse_path("app_review", SAMPLES / "app_review" / "reviews_com.acme.shop_202611.csv", options=OPTIONS)
    assert len(result.events) == 220
    first = result.events[0]
    assert first.source == "com.acme.shop"
    assert first.external_id == "gp:AOqpTO000000"
    # The rating of every event is its row's "Star Rating" (the schema alone would accept any 1-5).
    rows = list(csv.DictReader(io.StringIO(
        (SAMPLES / "app_review" / "reviews_com.acme.shop_202611.csv").read_bytes().decode("utf-16"))))
    stars = {r["Review Link"].split("reviewId=", 1)[1]: int(r["Star Rating"]) for r in rows}
    assert [e.rating for e in result.events] == [stars[e.external_id] for e in result.events]
    assert len({e.rating for e in result.events}) >= 3
    assert first.metadata["app_version"] == "4.0.0"
    assert first.metadata["device"] == "a52q"
    assert first.metadata["developer_reply"] == "Thanks for the feedback!"
    persian = [e for e in result.events if e.metadata.get("reviewer_language") == "fa"]
    assert len(persian) == 100 and all(any("\u0600" <= c <= "\u06ff" for c in e.text) for e in persian)


def _play_row(link: str, text: str = "App crashes when I open the cart") -> bytes:
    header = "Package Name,Review Submit Date and Time,Star Rating,Review Text,Review Link"
    return f"{header}\ncom.acme.shop,2026-11-02T09:00:00Z,2,{text},{link}\n".encode("utf-16")


@pytest.mark.parametrize(
    "link",
    [
        # Real Play Console exports: the review-details place with a lowercase `reviewid`.
        "https://play.google.com/console/developers/1234/app/4321/user-feedback/"
        "#ReviewDetailsPlace:p=com.acme.shop&reviewid=gp:AOqpTOH4f00X",
        # Newer consoles: a review-details path with `reviewId` in the query.
        "https://play.google.com/console/u/0/developers/1234/app/4321/user-feedback/review-details"
        "?reviewId=gp:AOqpTOH4f00X&corpus=PUBLIC_REVIEWS",
    ],
)
def test_play_review_id_is_read_from_both_link_forms(link: str) -> None:
    result = parse_bytes("app_review", _play_row(link), options=OPTIONS, location="r.csv")
    [event] = result.events
    assert event.external_id == "gp:AOqpTOH4f00X"


def test_an_edited_play_review_keeps_its_event_id() -> None:
    link = ("https://play.google.com/console/developers/1234/app/4321/user-feedback/"
            "#ReviewDetailsPlace:p=com.acme.shop&reviewid=gp:AOqpTOH4f00X")
    first = parse_bytes("app_review", _play_row(link), options=OPTIONS, location="a.csv").events[0]
    edited = parse_bytes("app_review", _play_row(link, "Fixed after the update. Thanks"), options=OPTIONS,
                         location="b.csv").events[0]
    assert first.id == edited.id


def test_empty_play_review_is_a_reject_with_the_row() -> None:
    result = parse_path("app_review", SAMPLES / "app_review" / "reviews_com.acme.shop_202611.csv", options=OPTIONS)
    [reject] = result.rejects
    assert reject.field == "text" and reject.reason.startswith("empty text")
    assert b"gp:EMPTY" in reject.payload


def test_play_csv_in_utf8_with_bad_rating_names_the_column() -> None:
    csv_text = "Package Name,Review Submit Date and Time,Star Rating,Review Text\ncom.a,2026-11-02T09:00:00Z,five,ok\n"
    result = parse_bytes("app_review", csv_text.encode("utf-8"), options=OPTIONS, location="r.csv")
    assert result.rejects[0].field == "Star Rating"


def test_csv_without_play_columns_is_rejected_whole() -> None:
    result = parse_bytes("app_review", b"a,b\n1,2\n", options=OPTIONS, location="r.csv")
    assert result.events == [] and result.rejects[0].field == "Package Name"


def test_app_store_reviews_use_the_app_id_from_the_self_link() -> None:
    result = parse_path("app_review", SAMPLES / "app_review" / "app_store_customer_reviews.json", options=OPTIONS)
    assert len(result.events) == 120
    event = result.events[0]
    assert event.source == "appstore:1459842001"
    assert event.external_id.startswith("00000000-")
    assert event.metadata["territory"] == "USA"
    assert any(e.metadata["territory"] == "IRN" for e in result.events)
    [reject] = result.rejects
    assert reject.field == "attributes.rating"
    assert json.loads(reject.payload)["id"] == "bad-rating"
