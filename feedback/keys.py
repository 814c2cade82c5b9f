"""API keys: issue, look up, list and revoke the keys that callers of the HTTP API present.

A key is ``fbk_<id>_<secret>``: ``id`` (12 hex digits) names the record and may be shown
(``feedback keys list``, logs); ``secret`` is 32 random bytes (``secrets.token_urlsafe``).
The store keeps only the SHA-256 of the whole key (a 256-bit random secret needs no slow
hash) and compares it in constant time. The store is one JSON file, mode 0600, written
atomically (temporary file + rename) under an exclusive lock, so ``feedback keys`` and a
running ``feedback serve`` can share it; the server re-reads it when it changes, so a
revoked key stops working at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from feedback.errors import ConfigError, InvalidInput
from feedback.files import replace_file

__all__ = ["ROLES", "ApiKey", "Caller", "IssuedKey", "KeyStore", "Role", "as_json", "check_grant", "hash_key"]

Role = Literal["support", "product", "ops"]
ROLES: tuple[str, ...] = ("support", "product", "ops")
_KEY = re.compile(r"^fbk_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")


def hash_key(key: str) -> str:
    """The stored form of a key: hex SHA-256.

    >>> hash_key("fbk_000000000000_x")[:12]
    '87431e8394ed'
    """
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKey(BaseModel):
    """One stored key: never the key itself, only its hash."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    departments: list[str] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)
    sha256: str
    created_at: datetime
    revoked_at: datetime | None = None
    es_api_key_id: str | None = Field(default=None, description="the Elasticsearch API key issued with it, if any")

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class IssuedKey(BaseModel):
    """What ``issue`` hands back once: the record and the key in clear."""

    model_config = ConfigDict(frozen=True)

    record: ApiKey
    key: str


class Caller(BaseModel):
    """Who is asking: the departments their key may read; ops may read every department."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    name: str
    departments: frozenset[str]
    roles: frozenset[str]

    @property
    def sees_all(self) -> bool:
        return "ops" in self.roles

    def may_read(self, department: str) -> bool:
        """``True`` for one of the key's departments, or any department for ops.

        >>> Caller(key_id="a", name="n", departments=frozenset({"billing"}), roles=frozenset()).may_read("orders")
        False
        """
        return self.sees_all or department in self.departments

    @classmethod
    def of(cls, record: ApiKey) -> Caller:
        return cls(key_id=record.id, name=record.name, departments=frozenset(record.departments),
                   roles=frozenset(record.roles))


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    keys: list[ApiKey] = Field(default_factory=list)


def check_grant(*, departments: Sequence[str], roles: Sequence[str]) -> None:
    """Refuse an unknown role, or a key that would read nothing.

    >>> check_grant(departments=[], roles=["support"])
    Traceback (most recent call last):
    feedback.errors.InvalidInput: a key needs at least one --department (or --role ops, which reads every department)
    """
    unknown_roles = sorted(set(roles) - set(ROLES))
    if unknown_roles:
        raise InvalidInput(f"unknown role(s) {', '.join(unknown_roles)}: expected one of {', '.join(ROLES)}")
    if not departments and "ops" not in roles:
        raise InvalidInput("a key needs at least one --department (or --role ops, which reads every department)")


class KeyStore:
    """The keys file. Reads are cached and refreshed when the file's mtime or size changes.

    >>> store = KeyStore(Path("/tmp/keys.json"))  # doctest: +SKIP
    >>> issued = store.issue(departments=["billing"], roles=[], name="billing team")  # doctest: +SKIP
    >>> store.authenticate(issued.key).departments  # doctest: +SKIP
    frozenset({'billing'})
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cached: tuple[tuple[int, int], dict[str, ApiKey]] | None = None

    # -- reading -----------------------------------------------------------------------
    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def _read(self) -> list[ApiKey]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as e:
            raise ConfigError(f"cannot read the API keys file {self.path}: {e}; check its owner and mode") from e
        try:
            return _File.model_validate_json(text).keys
        except ValidationError as e:
            raise ConfigError(
                f"the API keys file {self.path} is not a valid keys file ({e.errors()[0]['msg']}); restore it from a "
                "backup or move it away and issue new keys with `feedback keys create`"
            ) from e

    def keys(self) -> list[ApiKey]:
        """Every record, revoked ones included, oldest first."""
        stamp = self._stamp()
        if stamp is None:
            return []
        if self._cached is None or self._cached[0] != stamp:
            records = self._read()
            self._cached = (stamp, {r.id: r for r in records})
        return list(self._cached[1].values())

    def get(self, key_id: str) -> ApiKey:
        for record in self.keys():
            if record.id == key_id:
                return record
        raise InvalidInput(f"no API key with id {key_id!r} in {self.path}; `feedback keys list` shows the ids")

    def authenticate(self, key: str) -> Caller | None:
        """The caller a key stands for, or ``None`` for a malformed, unknown or revoked key."""
        match = _KEY.match(key)
        if match is None:
            return None
        digest = hash_key(key)
        for record in self.keys():
            if record.id == match.group(1):
                if hmac.compare_digest(record.sha256, digest) and record.active:
                    return Caller.of(record)
                return None
        return None

    # -- writing -----------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[list[ApiKey]]:
        """Hold the lock, hand out the records, and write them back atomically (mode 0600)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            records = self._read()
            yield records
            body = _File(keys=records).model_dump_json(indent=2)
            replace_file(self.path, body + "\n", mode=0o600)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def issue(self, *, departments: Sequence[str], roles: Sequence[str], name: str | None = None) -> IssuedKey:
        """Create a key for ``departments`` (and ``roles``); the clear key is returned only here."""
        check_grant(departments=departments, roles=roles)
        key_id = secrets.token_hex(6)
        key = f"fbk_{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKey(
            id=key_id, name=name or f"key-{key_id}", departments=sorted(set(departments)),
            roles=sorted(set(roles)),  # type: ignore[arg-type]
            sha256=hash_key(key), created_at=datetime.now(UTC),
        )
        with self._locked() as records:
            records.append(record)
        return IssuedKey(record=record, key=key)

    def update(self, record: ApiKey) -> None:
        """Replace the stored record of the same id (e.g. to add the Elasticsearch key id)."""
        with self._locked() as records:
            for i, old in enumerate(records):
                if old.id == record.id:
                    records[i] = record
                    return
        raise InvalidInput(f"no API key with id {record.id!r} in {self.path}")

    def revoke(self, key_id: str) -> ApiKey:
        """Mark a key revoked (kept for the record); revoking twice keeps the first time."""
        with self._locked() as records:
            for i, old in enumerate(records):
                if old.id == key_id:
                    if old.revoked_at is None:
                        records[i] = old.model_copy(update={"revoked_at": datetime.now(UTC)})
                    return records[i]
        raise InvalidInput(f"no API key with id {key_id!r} in {self.path}; `feedback keys list` shows the ids")


def as_json(records: Sequence[ApiKey]) -> str:
    """The records without their hashes, as one JSON document (``feedback keys list --json``)."""
    return json.dumps([r.model_dump(mode="json", exclude={"sha256"}) for r in records], ensure_ascii=False, indent=2)
