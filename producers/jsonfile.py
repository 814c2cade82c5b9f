"""Read a JSON document or a JSONL file record by record, rejecting what is not JSON.

Every channel that takes JSON accepts both: a file that parses as one JSON document is
unwrapped into records by the channel; otherwise each non-blank line must be JSON. A
line that is not is a reject carrying that line's bytes; the other lines still count.

Limits are checked before a line or document is parsed (size, nesting depth) and before
a record is handed on (field size, records per file); each reject names its limit.
Lines are split at ``\\n`` only (a raw U+2028 or U+0085 inside a string is text), and
each line of a UTF-8 file is decoded on its own, so one bad byte rejects one line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from producers.decoding import decode_bytes
from producers.records import ParseOptions, ParseResult, RecordRejected, display

__all__ = ["check_record", "decode_text", "dump_record", "iter_json_records", "json_too_deep"]

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def decode_text(data: bytes, *, location: str, result: ParseResult) -> str | None:
    """The file's text (BOMs, UTF-16/32 recognised), or None after recording a reject."""
    try:
        decoded = decode_bytes(data)
    except RecordRejected as e:
        result.reject_error(location, e, data)
        return None
    if decoded.guess:
        result.warnings.append(f"{display(location)}: {decoded.guess}")
    return decoded.text


def dump_record(record: Any) -> bytes:
    """A record's JSON bytes, as kept in rejects (``\\u`` escapes where UTF-8 cannot hold it)."""
    try:
        return json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(record).encode("ascii")


def json_too_deep(text: str, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit`` (checked before parsing).

    >>> (json_too_deep("[[1]]", 2), json_too_deep('[["[[["]]', 2), json_too_deep("[[[1]]]", 2))
    (False, False, True)
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _find(value: Any, test: Callable[[str], bool], path: str = "$") -> str | None:
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if test(item):
                return where
        elif isinstance(item, dict):
            for key, sub in item.items():
                if test(key):
                    return f"{where}.{key!r}"
                stack.append((sub, f"{where}.{key}"))
        elif isinstance(item, list):
            stack.extend((sub, f"{where}[{i}]") for i, sub in enumerate(item))
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def check_record(record: Any, raw: str | bytes, *, options: ParseOptions) -> None:
    """Raise :class:`RecordRejected` for a record over the field-size limit or holding a
    lone surrogate; cheap when neither can be the case."""
    if len(raw) > options.max_field_chars:
        where = _find(record, lambda s: len(s) > options.max_field_chars)
        if where is not None:
            raise RecordRejected(f"field too large: {where} is over the limit of {options.max_field_chars} "
                                 "characters (FEEDBACK_INGEST_MAX_FIELD_CHARS); shorten it", field=where)
    text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
    if _SURROGATE_ESCAPE.search(text):
        where = _find(record, _has_surrogate)
        if where is not None:
            raise RecordRejected(f"not valid Unicode: {where} holds an escaped lone surrogate (half of a UTF-16 "
                                 "pair, such as \\ud83d without its low half); send the whole character",
                                 field=where)


def _loads(text: str) -> Any:
    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON; send a number or null")

    return json.loads(text, parse_constant=constant)


def _parse_error(e: ValueError) -> str:
    if isinstance(e, json.JSONDecodeError):
        return f"{e.msg} (line {e.lineno}, column {e.colno})"
    return str(e)


def _too_large(options: ParseOptions, size: int) -> str:
    return (f"record too large: {size} bytes, over the limit of {options.max_record_bytes} "
            "(FEEDBACK_INGEST_MAX_RECORD_BYTES); split it")


def _too_deep(options: ParseOptions) -> str:
    return (f"nested too deep: over the limit of {options.max_depth} levels (FEEDBACK_INGEST_MAX_DEPTH); "
            "flatten the document")


def _lines(data: bytes, text: str | None) -> Iterator[tuple[int, bytes, str | None]]:
    """``(line number, bytes, text or None when the line is not UTF-8)``, split at ``\\n`` only."""
    if text is not None:
        for number, line in enumerate(text.split("\n"), start=1):
            yield number, line.encode("utf-8", "surrogatepass"), line
        return
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            yield number, raw, raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, raw, None


def iter_json_records(
    data: bytes,
    *,
    location: str,
    unwrap: Callable[[Any], list[Any]],
    result: ParseResult,
    options: ParseOptions,
) -> Iterator[tuple[str, bytes, Any]]:
    """Yield ``(location, original bytes, record)``; bad JSON lines go to ``result.rejects``.

    >>> r = ParseResult()
    >>> opts = ParseOptions(author_secret=b"k")
    >>> [rec for _, _, rec in iter_json_records(b'{"a": 1}\\n{broken\\n', location="f", unwrap=lambda d: [d],
    ...                                         result=r, options=opts)]
    [{'a': 1}]
    >>> r.rejects[0].location
    'f:2'
    """
    text: str | None
    try:
        decoded = decode_bytes(data)
        text = decoded.text
        if decoded.guess:
            result.warnings.append(f"{display(location)}: {decoded.guess}")
    except RecordRejected as e:
        if data.startswith((b"\xff\xfe", b"\xfe\xff", b"\0")) or b"\0" in data[:4096]:
            result.reject_error(location, e, data)
            return
        if not _looks_like_jsonl(data):
            # A document over several lines, not JSONL: the encoding spoils the whole file.
            result.reject_error(location, e, data)
            return
        text = None  # UTF-8 JSONL with bad bytes: decode line by line, so only those lines are lost
    if text is not None and not text.strip():
        result.reject(location, "empty file: no JSON record in it; send at least one record", data, field="$")
        return
    count = 0

    def records_of(document: Any, where: str, payload: bytes, raw: str, single: bool) -> Iterator[tuple[str, bytes, Any]]:
        nonlocal count
        try:
            records = unwrap(document)
        except RecordRejected as e:
            result.reject_error(where, e, payload)
            return
        for index, record in enumerate(records):
            here = where if single and len(records) == 1 else f"{where}[{index}]"
            if count >= options.max_records_per_file:
                result.reject(here, f"too many records: the file holds more than {options.max_records_per_file} "
                              "(FEEDBACK_INGEST_MAX_RECORDS_PER_FILE); this and the records after it were not read; "
                              "split the file", payload, field="$")
                return
            count += 1
            kept = payload if single and len(records) == 1 else dump_record(record)
            try:
                check_record(record, raw if len(records) == 1 else kept, options=options)
            except RecordRejected as e:
                result.reject_error(here, e, kept)
                continue
            yield here, kept, record

    if text is not None and text.lstrip().startswith(("{", "[")) and "\n" in text.strip():
        # A pretty-printed document spans lines: try it whole before reading it as JSONL.
        document: Any = _NOT_WHOLE
        if not json_too_deep(text, options.max_depth):
            try:
                document = _loads(text)
            except (ValueError, RecursionError):
                pass
        elif not _first_line_is_json(text, options):
            result.reject(location, _too_deep(options), data, field="$")
            return
        if document is not _NOT_WHOLE:
            yield from records_of(document, location, data, text, single=False)
            return
    for number, raw, line in _lines(data, text):
        where = f"{location}:{number}"
        if count >= options.max_records_per_file and raw.strip():
            result.reject(where, f"too many records: the file holds more than {options.max_records_per_file} "
                          "(FEEDBACK_INGEST_MAX_RECORDS_PER_FILE); this line and the lines after it were not read; "
                          "split the file", raw, field="$")
            return
        if line is None:
            bad = raw.decode("utf-8", "replace").index("\ufffd")
            result.reject(where, f"bad encoding: this line is not valid UTF-8 (near character {bad}); re-export the "
                          "file as UTF-8", raw, field="encoding")
            continue
        if not line.strip():
            continue
        if len(raw) > options.max_record_bytes:
            result.reject(where, _too_large(options, len(raw)), raw, field="$")
            continue
        if json_too_deep(line, options.max_depth):
            result.reject(where, _too_deep(options), raw, field="$")
            continue
        try:
            document = _loads(line)
        except (ValueError, RecursionError) as e:
            result.reject(where, f"invalid JSON on this line: {_parse_error(e)}", raw, field="$")
            continue
        yield from records_of(document, where, raw, line, single=True)


_NOT_WHOLE = object()


def _looks_like_jsonl(data: bytes) -> bool:
    """Whether some of the first lines are whole JSON values (JSONL), decoding each alone."""
    lines = [line for line in data.split(b"\n", 100)[:100] if line.strip()]
    if len(lines) <= 1 or lines[0].rstrip().endswith((b"}", b"]")):
        return True  # a first line that closes itself is a record of its own
    for line in lines:
        try:
            _loads(line.decode("utf-8"))
        except (ValueError, RecursionError):
            continue
        return True
    return False


def _first_line_is_json(text: str, options: ParseOptions) -> bool:
    first = next((line for line in text.split("\n") if line.strip()), "")
    if json_too_deep(first, options.max_depth):
        return True  # a JSONL line of its own (too deep itself, rejected as a line)
    try:
        _loads(first)
    except (ValueError, RecursionError):
        return False
    return True
