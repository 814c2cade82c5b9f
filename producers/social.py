"""Social posts: X API v2 payloads, Mastodon statuses and a plain JSONL.

Each file is JSON or JSONL; each record is recognised by its shape:

* X API v2 (``GET /2/tweets/search/recent`` or the filtered stream): ``{"data": [...] or
  {...}, "includes": {"users": [...]}}``; the author's username comes from
  ``includes.users``; ``conversation_id`` is the thread; ``entities`` give hashtags,
  mentions and URLs.
* Mastodon status (``GET /api/v1/statuses/:id``, or an array from a timeline): ``content``
  is HTML; ``account.acct``, ``tags``, ``mentions``, ``url``, ``in_reply_to_id``.
* Plain JSONL: ``{"id", "author", "text", "created_at", "url"}``.

Hashtags, mentions and the post URL go to ``metadata``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from feedback.schema import FeedbackEvent
from producers.htmltext import html_to_text
from producers.jsonfile import iter_json_records
from producers.records import (
    ParseOptions,
    ParseResult,
    RecordRejected,
    build_event,
    read_record,
    reject_from_validation,
)

__all__ = ["parse_social_bytes", "parse_social_record"]

_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_MENTION = re.compile(r"(?<![\w@])@(\w{1,30})")


class _Tweet(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    text: str
    created_at: datetime
    author_id: str | None = None
    conversation_id: str | None = None
    lang: str | None = None
    entities: dict[str, Any] = Field(default_factory=dict)


class _Account(BaseModel):
    model_config = ConfigDict(extra="allow")

    acct: str
    url: str | None = None


class _Status(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    created_at: datetime
    content: str
    url: str | None = None
    uri: str | None = None
    account: _Account
    in_reply_to_id: str | None = None
    language: str | None = None
    tags: list[dict[str, Any]] = Field(default_factory=list)
    mentions: list[dict[str, Any]] = Field(default_factory=list)


class _Plain(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | int
    author: str | None = None
    text: str
    created_at: datetime
    url: str | None = None
    source: str = "social"


def _validate(model: type[BaseModel], record: dict[str, Any]) -> Any:
    try:
        return model.model_validate(record)
    except ValidationError as e:
        raise reject_from_validation(e) from e


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _users(document: dict[str, Any]) -> list[dict[str, Any]]:
    # ``includes`` of the wrong shape only loses the usernames; the tweet itself is fine.
    includes = document.get("includes")
    return _dicts(includes.get("users")) if isinstance(includes, dict) else []


def _host(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlparse(url).hostname
    except ValueError:
        return None


def _x_event(record: dict[str, Any], *, options: ParseOptions) -> FeedbackEvent:
    tweet: _Tweet = _validate(_Tweet, record["data"])
    users = {u.get("id"): u for u in _users(record) if isinstance(u, dict)}
    username = (users.get(tweet.author_id) or {}).get("username")
    if not isinstance(username, str):
        username = None
    entities = tweet.entities
    hashtags = [h["tag"] for h in _dicts(entities.get("hashtags")) if isinstance(h.get("tag"), str)] or (
        _HASHTAG.findall(tweet.text))
    mentions = [m["username"] for m in _dicts(entities.get("mentions")) if isinstance(m.get("username"), str)] or (
        _MENTION.findall(tweet.text))
    url = f"https://x.com/{username or 'i/web'}/status/{tweet.id}"
    metadata: dict[str, Any] = {"format": "x_v2", "platform": "x", "url": url, "hashtags": hashtags,
                                "mentions": mentions}
    if tweet.lang:
        metadata["lang"] = tweet.lang
    return build_event(
        "social",
        source="x",
        external_id=tweet.id,
        text=tweet.text,
        received_at=tweet.created_at,
        options=options,
        author=username or tweet.author_id,
        thread_id=tweet.conversation_id,
        metadata=metadata,
    )


def _mastodon_event(record: dict[str, Any], *, options: ParseOptions) -> FeedbackEvent:
    status: _Status = _validate(_Status, record)
    url = status.url or status.uri
    host = _host(url)
    metadata: dict[str, Any] = {
        "format": "mastodon",
        "platform": "mastodon",
        "url": url,
        "hashtags": [t["name"] for t in status.tags if isinstance(t.get("name"), str)],
        "mentions": [m["acct"] for m in status.mentions if isinstance(m.get("acct"), str)],
    }
    if status.language:
        metadata["lang"] = status.language
    return build_event(
        "social",
        source=f"mastodon:{host}" if host else "mastodon",
        external_id=status.id,
        text=html_to_text(status.content),
        received_at=status.created_at,
        options=options,
        author=status.account.acct,
        thread_id=status.in_reply_to_id or status.id,
        metadata=metadata,
    )


def _plain_event(record: dict[str, Any], *, options: ParseOptions) -> FeedbackEvent:
    post: _Plain = _validate(_Plain, record)
    return build_event(
        "social",
        source=post.source,
        external_id=str(post.id),
        text=post.text,
        received_at=post.created_at,
        options=options,
        author=post.author,
        metadata={"format": "jsonl", "url": post.url, "hashtags": _HASHTAG.findall(post.text),
                  "mentions": _MENTION.findall(post.text)},
    )


def parse_social_record(record: Any, *, options: ParseOptions) -> FeedbackEvent:
    """One post, in any of the three shapes, to an event.

    >>> e = parse_social_record({"id": "9", "author": "@ana", "text": "Love the new app #update",
    ...                          "created_at": "2026-11-02T09:14:00Z", "url": "https://t.example/9"},
    ...                         options=ParseOptions(author_secret=b"k"))
    >>> (e.external_id, e.metadata["hashtags"], e.metadata["url"])
    ('9', ['update'], 'https://t.example/9')
    """
    if not isinstance(record, dict):
        raise RecordRejected(f"expected a JSON object per post, found {type(record).__name__}", field="$")
    if isinstance(record.get("data"), dict):
        return _x_event(record, options=options)
    if "content" in record and "account" in record:
        return _mastodon_event(record, options=options)
    return _plain_event(record, options=options)


def _records(document: Any) -> list[Any]:
    if isinstance(document, dict) and "data" in document and isinstance(document["data"], (list, dict)):
        # One X response may carry many tweets; each record keeps its author's user object
        # so that it stays a valid X payload on its own (as kept in rejects).
        tweets = document["data"] if isinstance(document["data"], list) else [document["data"]]
        users = _users(document)
        return [
            {"data": t, "includes": {"users": [u for u in users if isinstance(t, dict) and u.get("id") == t.get(
                "author_id")]}}
            for t in tweets
        ]
    return document if isinstance(document, list) else [document]


def parse_social_bytes(data: bytes, *, options: ParseOptions, location: str) -> ParseResult:
    """A JSON or JSONL file of posts to events and rejects."""
    result = ParseResult()
    for where, payload, record in iter_json_records(data, location=location, unwrap=_records, result=result,
                                                    options=options):
        read_record(result, where, payload, lambda record=record: parse_social_record(record, options=options))
    return result
