"""Pick the parser for a channel and a path or payload; the only place that dispatches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from feedback.errors import InvalidInput
from feedback.schema import CHANNELS
from producers.app_review import parse_app_review_bytes
from producers.chat import parse_chat_bytes
from producers.mail import parse_email_bytes, parse_email_path
from producers.records import ParseOptions, ParseResult
from producers.social import parse_social_bytes

__all__ = ["expand_paths", "parse_bytes", "parse_path"]


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}: expected one of {', '.join(CHANNELS)}")


def parse_bytes(channel: str, data: bytes, *, options: ParseOptions, location: str) -> ParseResult:
    """One file's or one request's bytes in a channel's formats to events and rejects.

    email takes one RFC 5322 message; chat, app_review and social take JSON or JSONL
    (app_review also the Play Console CSV).

    >>> r = parse_bytes("social", b'{"id": 1, "text": "hi", "created_at": "2026-11-02T09:00:00Z"}',
    ...                 options=ParseOptions(author_secret=b"k"), location="body")
    >>> (len(r.events), len(r.rejects))
    (1, 0)
    """
    _check_channel(channel)
    if channel == "email":
        return parse_email_bytes(data, options=options, location=location)
    if channel == "chat":
        return parse_chat_bytes(data, options=options, location=location)
    if channel == "app_review":
        return parse_app_review_bytes(data, options=options, location=location)
    return parse_social_bytes(data, options=options, location=location)


def _is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def expand_paths(channel: str, paths: list[Path]) -> Iterator[Path]:
    """Files (and Maildir folders, for email) under the given paths, in a stable order.

    Raises :class:`InvalidInput` for a path that does not exist, before anything is read.
    """
    _check_channel(channel)
    for path in paths:
        if not path.exists():
            raise InvalidInput(f"no such file or folder: {path}; give existing paths to `feedback ingest`")
    for path in paths:
        if path.is_file() or (channel == "email" and _is_maildir(path)):
            yield path
            continue
        for child in sorted(path.rglob("*")):
            hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
            inside_maildir = any(_is_maildir(p) for p in child.parents if p == path or path in p.parents)
            if channel == "email" and child.is_dir() and _is_maildir(child) or child.is_file() and not hidden and not (channel == "email" and inside_maildir):
                yield child


def parse_path(channel: str, path: Path, *, options: ParseOptions) -> ParseResult:
    """One file (or Maildir folder) to events and rejects; an unreadable file is a reject."""
    _check_channel(channel)
    if channel == "email":
        try:
            return parse_email_path(path, options=options)
        except OSError as e:
            result = ParseResult()
            result.reject(str(path), f"unreadable file: {e}", b"", field="path")
            return result
    try:
        data = path.read_bytes()
    except OSError as e:
        result = ParseResult()
        result.reject(str(path), f"unreadable file: {e}", b"", field="path")
        return result
    return parse_bytes(channel, data, options=options, location=str(path))
