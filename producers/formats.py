"""Pick the parser for a channel and a path or payload; the only place that dispatches."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from feedback.errors import InvalidInput
from feedback.schema import CHANNELS
from producers.app_review import parse_app_review_bytes
from producers.chat import parse_chat_bytes
from producers.mail import parse_email_bytes, parse_email_path
from producers.records import ParseOptions, ParseResult, display
from producers.social import parse_social_bytes

__all__ = ["expand_paths", "parse_bytes", "parse_path"]

log = logging.getLogger(__name__)


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
    try:
        if channel == "email":
            return parse_email_bytes(data, options=options, location=location)
        if channel == "chat":
            return parse_chat_bytes(data, options=options, location=location)
        if channel == "app_review":
            return parse_app_review_bytes(data, options=options, location=location)
        return parse_social_bytes(data, options=options, location=location)
    except Exception as e:  # noqa: BLE001 - the per-file boundary: one reject, never a traceback
        log.exception("parser failed on a file location=%s", display(location))
        result = ParseResult()
        result.reject(location, f"unreadable file: {type(e).__name__}: {display(str(e))[:200]}; check it against "
                      "docs/ingest.md", data, field="$")
        return result


def _is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def expand_paths(channel: str, paths: list[Path]) -> Iterator[Path]:
    """Files (and Maildir folders, for email) under the given paths, in a stable order.

    Raises :class:`InvalidInput` for a path that does not exist, before anything is read.
    """
    _check_channel(channel)
    for path in paths:
        if not path.exists():
            raise InvalidInput(f"no such file or folder: {display(str(path))}; give existing paths to "
                               "`feedback ingest`")
    for path in paths:
        if not path.is_dir() or (channel == "email" and _is_maildir(path)):
            yield path  # a file (an unreadable one becomes a reject when it is read)
            continue
        yield from _walk(channel, path)


def _walk(channel: str, folder: Path) -> Iterator[Path]:
    """Files under ``folder`` in name order, hidden ones skipped; for email a Maildir is one
    item (its Maildir++ subfolders are read with it). An unreadable folder is yielded
    itself, so that reading it becomes a reject."""
    try:
        children = sorted(folder.iterdir())
    except OSError:
        yield folder
        return
    for child in children:
        if child.name.startswith("."):
            continue
        if child.is_dir():
            if channel == "email" and _is_maildir(child):
                yield child
            else:
                yield from _walk(channel, child)
        elif child.exists():
            yield child


def parse_path(channel: str, path: Path, *, options: ParseOptions) -> ParseResult:
    """One file (or Maildir folder) to events and rejects; an unreadable file is a reject.

    The per-file error boundary: whatever happens reading one file ends as rejects of that
    file, never as an exception that stops the files after it.
    """
    _check_channel(channel)
    location = display(str(path))
    try:
        if channel == "email":
            return parse_email_path(path, options=options, location=location)
        return parse_bytes(channel, path.read_bytes(), options=options, location=location)
    except OSError as e:
        result = ParseResult()
        result.reject(location, f"unreadable file: {e.strerror or e}; check that it exists and can be read",
                      b"", field="path")
        return result
    except Exception as e:  # noqa: BLE001 - the per-file boundary: keep it as a reject, go on
        log.exception("parser failed on a file path=%s", location)
        result = ParseResult()
        result.reject(location, f"unreadable file: {type(e).__name__}: {display(str(e))[:200]}", b"", field="$")
        return result
