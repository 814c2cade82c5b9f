"""Who talks to Elasticsearch as whom: principals, the local node's credentials file, client options.

The local node that `feedback up` runs has security on (HTTPS, users, roles). `up` creates
one user per principal and keeps their passwords in ``<home>/elasticsearch-credentials.json``
(mode 0600, never printed). Every client names the principal it acts as:

| principal | user | used by |
|---|---|---|
| ``worker`` | ``feedback_worker`` | the worker's index agent (writes, cannot read documents) |
| ``trends`` | ``feedback_trends`` | the worker's spike check (reads counts, claims alerts) |
| ``ops`` | ``feedback_ops`` | ``feedback replay``, soak clean-up |
| ``api`` | ``feedback_api`` | ``feedback serve``, ``feedback search`` / ``trends``, the demo's read-back |
| ``admin`` | ``feedback_admin`` | ``up`` (roles, users), issuing API keys |

For a user's own cluster (``es.url`` set) the configured credentials are used for every
principal. Configured credentials (user/password or API key) also win for the local node,
so a test or an operator can act as any other user.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from feedback.errors import ConfigError, ServiceError
from feedback.files import replace_file
from feedback.settings import EsSettings

__all__ = [
    "PRINCIPALS",
    "USERNAMES",
    "LocalCredentials",
    "Principal",
    "client_options",
    "load_credentials",
    "new_credentials",
    "save_credentials",
]

Principal = Literal["worker", "trends", "ops", "api", "admin"]
PRINCIPALS: tuple[Principal, ...] = get_args(Principal)
USERNAMES: dict[Principal, str] = {p: f"feedback_{p}" for p in PRINCIPALS}


class LocalCredentials(BaseModel):
    """The passwords `up` generated for the local node's users, by principal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    passwords: dict[Principal, SecretStr]

    def basic_auth(self, principal: Principal) -> tuple[str, str]:
        return USERNAMES[principal], self.passwords[principal].get_secret_value()


def new_credentials() -> LocalCredentials:
    """Fresh random passwords for every principal."""
    return LocalCredentials(passwords={p: SecretStr(secrets.token_urlsafe(24)) for p in PRINCIPALS})


def save_credentials(path: Path, creds: LocalCredentials) -> None:
    """Write ``creds`` to ``path`` with mode 0600 from the first byte on (atomic rename)."""
    replace_file(path, json.dumps({"passwords": {p: s.get_secret_value() for p, s in creds.passwords.items()}}),
                 mode=0o600)


def load_credentials(path: Path) -> LocalCredentials:
    """The local node's credentials; a missing or broken file is a :class:`ServiceError` saying what to run."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LocalCredentials.model_validate(data)
    except FileNotFoundError as e:
        raise ServiceError(
            f"no Elasticsearch credentials at {path}: the local node's users are created by `feedback up`; run it"
        ) from e
    except (ValueError, ValidationError) as e:
        raise ServiceError(
            f"the Elasticsearch credentials file {path} is unreadable ({type(e).__name__}); "
            f"delete it and the node's config directory and run `feedback up` again"
        ) from e


def client_options(settings: EsSettings, *, principal: Principal, url: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``Elasticsearch(url, ...)``: timeout, TLS and the principal's credentials.

    TLS options are left out for a plain ``http://`` ``url`` (the client refuses them there).

    >>> client_options(EsSettings(url="https://es:9200", api_key="k"), principal="worker")["api_key"]
    'k'
    """
    if principal not in PRINCIPALS:
        raise ConfigError(f"unknown Elasticsearch principal {principal!r}; expected one of {', '.join(PRINCIPALS)}")
    opts: dict[str, Any] = {"request_timeout": settings.request_timeout}
    tls = url is None or url.startswith("https://")
    if tls and settings.ca_certs is not None:
        opts["ca_certs"] = str(settings.ca_certs)
    if tls and not settings.verify_certs:
        opts["verify_certs"] = False
        opts["ssl_show_warn"] = False
    if settings.api_key is not None:
        opts["api_key"] = settings.api_key.get_secret_value()
    elif settings.username and settings.password is not None:
        opts["basic_auth"] = (settings.username, settings.password.get_secret_value())
    elif settings.url is None and settings.credentials_file is not None:
        opts["basic_auth"] = load_credentials(settings.credentials_file).basic_auth(principal)
    return opts
