"""Property tests (hypothesis) for every parser: any bytes in -> events or rejects out,
never an exception, and the records in equal produced + rejected."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producers import ParseOptions, parse_bytes
from producers.mbox import split_mbox

OPTIONS = ParseOptions(author_secret=b"k")
PROFILE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_text = st.text(st.characters(codec="utf-8") | st.sampled_from("سلام\u200c\u2028\u0085\ufeff\ud83d\"\\{}[],\n\r"),
                max_size=40)
_json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)
_fields = st.fixed_dictionaries({}, optional={
    "id": _json_value, "text": _json_value, "created_at": _json_value | st.just("2026-11-02T09:00:00Z"),
    "conversation_id": _json_value, "messages": _json_value, "data": _json_value, "includes": _json_value,
    "type": st.sampled_from(["conversation", "conversation.list", "customerReviews"]) | _json_value,
    "source": _json_value, "conversation_parts": _json_value, "conversations": _json_value,
    "content": _json_value, "account": _json_value, "attributes": _json_value, "links": _json_value,
})


def _no_exception(channel: str, data: bytes) -> None:
    result = parse_bytes(channel, data, options=OPTIONS, location="p")
    for reject in result.rejects:
        assert reject.reason
        reject.to_dead_letter().model_dump_json()
    for event in result.events:
        event.model_dump_json()


@PROFILE
@given(channel=st.sampled_from(["email", "chat", "app_review", "social"]), data=st.binary(max_size=400))
def test_any_bytes_never_raise(channel: str, data: bytes) -> None:
    _no_exception(channel, data)


@PROFILE
@given(channel=st.sampled_from(["chat", "app_review", "social"]), records=st.lists(_fields, min_size=1, max_size=5))
def test_jsonl_records_in_equal_produced_plus_rejected(channel: str, records: list[dict[str, object]]) -> None:
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    result = parse_bytes(channel, data, options=OPTIONS, location="p")
    if any(isinstance(r.get("data"), list | dict) or r.get("type") == "conversation.list" for r in records):
        return  # a page holds any number of records (an X page, an App Store page, a list)
    assert len(result.events) + len(result.rejects) == len(lines)


@PROFILE
@given(texts=st.lists(_text, min_size=1, max_size=6), ratings=st.lists(_text, min_size=6, max_size=6))
def test_play_csv_rows_in_equal_produced_plus_rejected(texts: list[str], ratings: list[str]) -> None:
    header = "Package Name,Review Submit Date and Time,Star Rating,Review Text"

    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"'

    rows = [f"com.acme.app,2026-11-02T09:00:00Z,{cell(r)},{cell(t)}" for t, r in zip(texts, ratings, strict=False)]
    data = "\r\n".join([header, *rows]).encode("utf-16", "surrogatepass")
    result = parse_bytes("app_review", data, options=OPTIONS, location="p")
    if any("\ud800" <= ch <= "\udfff" for ch in "".join(texts + ratings)):
        return  # a lone surrogate cannot be written as UTF-16: the file is one reject
    assert len(result.events) + len(result.rejects) == len(rows)


_line = st.text(st.characters(codec="utf-8"), max_size=30).map(lambda s: s.replace("\n", " "))


@PROFILE
@given(bodies=st.lists(st.lists(_line | st.sampled_from(["From now on", ">From me", "From: x", "از: تهران"]),
                                 max_size=5), min_size=1, max_size=4))
def test_mbox_messages_in_equal_produced_plus_rejected(bodies: list[list[str]]) -> None:
    data = b""
    for i, body in enumerate(bodies):
        text = "\n".join(line for line in body if not line.startswith("From "))
        data += (f"From a@b Mon Nov 02 09:00:0{i} 2026\nMessage-ID: <{i}@x>\nFrom: a@b.c\n\n{text}\n\n"
                 ).encode("utf-8", "surrogatepass")
    assert len(split_mbox(data)) == len(bodies)
    result = parse_bytes("email", data, options=OPTIONS, location="p")
    assert len(result.events) + len(result.rejects) == len(bodies)


@PROFILE
@given(data=st.binary(max_size=300), header=st.sampled_from([b"", b"Content-Type: text/plain; charset=utf-8\n",
                                                             b"Content-Transfer-Encoding: base64\n",
                                                             b"Content-Type: text/html; charset=windows-1256\n"]))
def test_one_mail_is_one_event_or_one_reject(data: bytes, header: bytes) -> None:
    raw = b"Message-ID: <p@x>\nFrom: a@b.c\n" + header + b"\n" + data
    result = parse_bytes("email", raw, options=OPTIONS, location="p")
    assert len(result.events) + len(result.rejects) == 1
