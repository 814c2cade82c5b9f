"""Dependencies shared by the routers, as ``Annotated`` aliases: settings, the one
Elasticsearch client, the API key store and the authenticated caller.

Every route but the webhook (which checks its own HMAC signature) depends on
:func:`require_caller`: a key in ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``,
else 401. Department scope is then applied by each route from :class:`Caller`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Annotated

from elasticsearch import Elasticsearch
from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from feedback.keys import Caller, KeyStore
from feedback.es_access import Principal
from feedback.settings import Settings

__all__ = [
    "CallerDep",
    "EsDep",
    "SettingsDep",
    "es_client",
    "get_app_settings",
    "key_store",
    "make_es_client",
    "optional_caller",
    "require_caller",
    "scoped_departments",
]

log = logging.getLogger(__name__)
_lock = threading.Lock()

_bearer = HTTPBearer(auto_error=False, description="an API key from `feedback keys create`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the same key, for clients without Bearer")


def get_app_settings(request: Request) -> Settings:
    """The settings ``create_app`` was given."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def make_es_client(settings: Settings, principal: Principal = "api") -> Elasticsearch:
    """THE place every Elasticsearch client of the API and of ``feedback keys`` is built.

    Credentials (``es.api_key`` or ``es.username``/``es.password``) and the CA file come from
    ``settings.es``; plumb any new way of finding them here, nowhere else.
    """
    from sinks import make_client

    return make_client(settings.es_url, settings=settings.es, principal=principal)


def es_client(request: Request) -> Elasticsearch:
    """The app's one synchronous Elasticsearch client (thread-safe; used from the threadpool).

    Built on first use, closed by ``create_app``'s shutdown.
    """
    app = request.app
    with _lock:
        client: Elasticsearch | None = getattr(app.state, "es", None)
        if client is None:
            client = make_es_client(app.state.settings)
            app.state.es = client
        return client


EsDep = Annotated[Elasticsearch, Depends(es_client)]


def key_store(request: Request) -> KeyStore:
    """The app's key store (the file in ``settings.api_keys_file``, re-read when it changes)."""
    app = request.app
    with _lock:
        store: KeyStore | None = getattr(app.state, "key_store", None)
        if store is None:
            store = KeyStore(app.state.settings.api_keys_file)
            app.state.key_store = store
        return store


def _presented_key(bearer: HTTPAuthorizationCredentials | None, header: str | None) -> str | None:
    if bearer is not None and bearer.credentials:
        return bearer.credentials.strip()
    if header:
        return header.strip()
    return None


def optional_caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> Caller | None:
    """The caller of a valid key; ``None`` when none was sent; 401 for a wrong or revoked one."""
    key = _presented_key(bearer, header)
    if key is None:
        return None
    caller = key_store(request).authenticate(key)
    if caller is None:
        log.info("refused an unknown or revoked API key path=%s", request.url.path)
        raise HTTPException(
            status_code=401, headers={"WWW-Authenticate": "Bearer"},
            detail="the API key is unknown or revoked; ask for a new one (`feedback keys create`)")
    return caller


def require_caller(caller: Annotated[Caller | None, Depends(optional_caller)]) -> Caller:
    """The authenticated caller, or 401 naming the two headers that carry a key."""
    if caller is None:
        raise HTTPException(
            status_code=401, headers={"WWW-Authenticate": "Bearer"},
            detail="an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>' "
                   "(issue one with `feedback keys create --department NAME`)")
    return caller


CallerDep = Annotated[Caller, Depends(require_caller)]


def scoped_departments(caller: Caller, requested: Sequence[str]) -> list[str]:
    """The departments a request may read: what it asked for, each checked against the key.

    Nothing asked: every department of the key (``[]`` for ops, meaning all). A department
    outside the key is 403, naming the ones the key may read.

    >>> billing = Caller(key_id="a", name="n", departments=frozenset({"billing"}), roles=frozenset())
    >>> scoped_departments(billing, [])
    ['billing']
    """
    wanted = [d for d in requested if d]
    outside = sorted({d for d in wanted if not caller.may_read(d)})
    if outside:
        raise HTTPException(
            status_code=403,
            detail=f"this API key may not read department(s) {', '.join(outside)}; it may read "
                   f"{', '.join(sorted(caller.departments))}")
    if wanted:
        return sorted(set(wanted))
    return [] if caller.sees_all else sorted(caller.departments)
