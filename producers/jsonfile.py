"""Read a JSON document or a JSONL file record by record, rejecting what is not JSON.

Every channel that takes JSON accepts both: a file that parses as one JSON document is
unwrapped into records by the channel; otherwise each non-blank line must be JSON. A
line that is not is a reject carrying that line's bytes; the other lines still count.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from producers.records import ParseResult

__all__ = ["decode_text", "dump_record", "iter_json_records"]


def decode_text(data: bytes, *, location: str, result: ParseResult) -> str | None:
    """UTF-8 (with or without BOM) text, or None after recording a reject for the file."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        result.reject(location, f"bad encoding: expected UTF-8 JSON, found byte 0x{data[e.start]:02x} at offset "
                      f"{e.start}; re-export the file as UTF-8", data, field="encoding")
        return None


def dump_record(record: Any) -> bytes:
    """A record's JSON bytes, as kept in rejects."""
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


def iter_json_records(
    data: bytes,
    *,
    location: str,
    unwrap: Callable[[Any], list[Any]],
    result: ParseResult,
) -> Iterator[tuple[str, bytes, Any]]:
    """Yield ``(location, original bytes, record)``; bad JSON lines go to ``result.rejects``.

    >>> r = ParseResult()
    >>> [rec for _, _, rec in iter_json_records(b'{"a": 1}\\n{broken\\n', location="f", unwrap=lambda d: [d], result=r)]
    [{'a': 1}]
    >>> r.rejects[0].location
    'f:2'
    """
    text = decode_text(data, location=location, result=result)
    if text is None:
        return
    try:
        document = json.loads(text)
    except json.JSONDecodeError as whole_error:
        lines = text.splitlines()
        if sum(1 for line in lines if line.strip()) <= 1:
            result.reject(location, f"invalid JSON: {whole_error}", data, field="$")
            return
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{location}:{number}"
            try:
                line_document = json.loads(line)
            except json.JSONDecodeError as e:
                result.reject(where, f"invalid JSON on this line: {e.msg} (column {e.colno})",
                              line.encode("utf-8"), field="$")
                continue
            records = unwrap(line_document)
            for record in records:
                yield where, line.encode("utf-8") if len(records) == 1 else dump_record(record), record
        return
    for index, record in enumerate(unwrap(document)):
        yield f"{location}[{index}]", dump_record(record), record
