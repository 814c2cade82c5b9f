"""Test helpers: settings with their own keys file and webhook secrets, keys issued through
the real store, and signed webhook headers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import SecretStr

from feedback.keys import KeyStore
from feedback.settings import Settings
from feedback.signing import signed_headers

__all__ = ["SOURCE", "SECRET", "bearer", "issue_key", "signed", "with_api"]

SOURCE = "intercom"
SECRET = "test-webhook-secret-0123456789abcdef"


def with_api(settings: Settings, keys_file: Path, **api: object) -> Settings:
    """``settings`` with ``keys_file``, the test webhook source, and any other ``api`` fields."""
    update = {"keys_file": keys_file, "webhook_secrets": {SOURCE: SecretStr(SECRET)}, **api}
    return settings.model_copy(update={"api": settings.api.model_copy(update=update)})


def issue_key(settings: Settings, *, departments: Sequence[str] = (), roles: Sequence[str] = ()) -> str:
    """A new key in the settings' keys file (the way ``feedback keys create --no-es-key`` makes one)."""
    return KeyStore(settings.api_keys_file).issue(departments=departments, roles=roles, name="test").key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def signed(body: bytes, *, timestamp: int | None = None, secret: str = SECRET, **extra: str) -> dict[str, str]:
    """Headers that sign ``body`` for the test source (``extra`` adds e.g. a content type)."""
    return {**signed_headers(SOURCE, secret, body, timestamp=timestamp), **extra}
