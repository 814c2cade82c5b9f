"""The hostile corpus of issue #15: every record produced once (text as expected) or
rejected with a reason; no crash, no loss, no merge."""

from __future__ import annotations

import collections
import dataclasses

import pytest

from producers import ParseOptions, parse_bytes
from tests.producers.hostile import KINDS, Case, corpus, limit_cases

OPTIONS = ParseOptions(author_secret=b"test-secret")
CASES = corpus()
LIMITS = limit_cases()


def _check(case: Case, options: ParseOptions) -> None:
    result = parse_bytes(case.channel, case.data, options=options, location="hostile")
    got = (len(result.events), len(result.rejects))
    assert got == (case.produced, case.rejected), (got, [r.reason for r in result.rejects])
    if case.text is not None:
        assert case.text in result.events[0].text, result.events[0].text
    if case.reason is not None:
        reject = result.rejects[0]
        assert case.reason.lower() in f"{reject.reason} {reject.field}".lower(), reject
    for reject in result.rejects:
        assert reject.reason and reject.location.startswith("hostile")
        reject.to_dead_letter().model_dump_json()  # every reject can go to the DLQ
    for event in result.events:
        assert "\ufffd" not in event.text and "\ufffd" not in (event.subject or "")


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}: {c.name}" for c in CASES])
def test_hostile_case(case: Case) -> None:
    _check(case, OPTIONS)


@pytest.mark.parametrize(("case", "limits"), LIMITS, ids=[c.name for c, _ in LIMITS])
def test_limit_case_rejects_name_the_limit(case: Case, limits: dict[str, int]) -> None:
    _check(case, dataclasses.replace(OPTIONS, **limits))  # type: ignore[arg-type]


def test_corpus_covers_every_kind_in_both_languages() -> None:
    kinds = collections.Counter(c.kind for c in CASES + [c for c, _ in LIMITS])
    assert set(kinds) == set(KINDS)
    persian = [c for c in CASES if any("\u0600" <= ch <= "\u06ff" for ch in c.data.decode("utf-8", "ignore"))]
    assert len(persian) >= 15


def test_impossible_dates_are_clamped_and_the_original_kept() -> None:
    case = next(c for c in CASES if c.name == "dated 2099")
    event = parse_bytes(case.channel, case.data, options=OPTIONS, location="hostile").events[0]
    assert event.received_at.year < 2099
    assert event.metadata["received_at_original"].startswith("2099-01-01")
    assert "FUTURE_TOLERANCE" in event.metadata["date_clamped"]
    mail = next(c for c in CASES if c.name == "Date year 0001")
    event = parse_bytes("email", mail.data, options=OPTIONS, location="hostile").events[0]
    assert event.received_at.year >= 2026 and "0001" in event.metadata["received_at_original"]


def test_impossible_dates_can_be_rejected_instead() -> None:
    case = next(c for c in CASES if c.name == "dated 2099")
    result = parse_bytes(case.channel, case.data, options=dataclasses.replace(OPTIONS, impossible_dates="reject"),
                         location="hostile")
    assert result.events == [] and result.rejects[0].field == "received_at"
    assert "impossible date" in result.rejects[0].reason


def test_charset_fallback_is_noted_in_metadata() -> None:
    case = next(c for c in CASES if c.name == "declared latin-1 but UTF-8 Persian body")
    event = parse_bytes("email", case.data, options=OPTIONS, location="hostile").events[0]
    assert "iso-8859-1" in event.metadata["charset_note"]


def test_raw_utf8_subject_is_read_as_utf8() -> None:
    case = next(c for c in CASES if c.name == "raw UTF-8 Subject")
    assert parse_bytes("email", case.data, options=OPTIONS, location="h").events[0].subject == "شکایت از ارسال"


def test_utf16_without_bom_is_read_with_a_warning() -> None:
    case = next(c for c in CASES if c.name == "UTF-16 JSONL without a BOM")
    result = parse_bytes("social", case.data, options=OPTIONS, location="h")
    assert any("no BOM" in w for w in result.warnings)
    assert result.events[1].text == "سلام"
