"""Webhook signatures: HMAC-SHA256 over ``"<timestamp>.<raw body>"`` with a per-source secret.

The scheme Stripe and Slack use. A sender sets three headers:

* ``X-Feedback-Source``: its name, a key of ``settings.api.webhook_secrets``;
* ``X-Feedback-Timestamp``: Unix seconds when it signed;
* ``X-Feedback-Signature``: ``sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``.

The same with openssl (bash)::

    ts=$(date +%s)
    sig=$(printf '%s.' "$ts" | cat - body.json | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
    curl -X POST http://127.0.0.1:8000/ingest/chat -H 'content-type: application/json' \\
      -H "X-Feedback-Source: intercom" -H "X-Feedback-Timestamp: $ts" \\
      -H "X-Feedback-Signature: sha256=$sig" --data-binary @body.json
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = ["SIGNATURE_HEADER", "SOURCE_HEADER", "TIMESTAMP_HEADER", "signature", "signed_headers"]

SOURCE_HEADER = "X-Feedback-Source"
TIMESTAMP_HEADER = "X-Feedback-Timestamp"
SIGNATURE_HEADER = "X-Feedback-Signature"


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """``sha256=<hex>`` of ``HMAC-SHA256(secret, "<timestamp>." + body)``.

    >>> signature("s3cret-s3cret-s3cret", 1700000000, b'{"a": 1}')[:15]
    'sha256=780d848a'
    """
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signed_headers(source: str, secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The three headers that sign ``body`` for ``source`` now (or at ``timestamp``).

    >>> sorted(signed_headers("intercom", "s3cret-s3cret-s3cret", b"{}", timestamp=1))
    ['X-Feedback-Signature', 'X-Feedback-Source', 'X-Feedback-Timestamp']
    """
    ts = int(time.time()) if timestamp is None else timestamp
    return {SOURCE_HEADER: source, TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: signature(secret, ts, body)}

