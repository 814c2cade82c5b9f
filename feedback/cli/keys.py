"""``feedback keys create | list | revoke``: the keys callers present to the HTTP API and page.

The key is printed once, at creation; the store (``settings.api_keys_file``, mode 0600) keeps
only its SHA-256. Where Elasticsearch runs with security, ``create`` also issues an
Elasticsearch API key that reads only those departments (printed once too) and ``revoke``
invalidates it.
"""

from __future__ import annotations

import json
import logging

import typer

from feedback.cli.app import app, settings_from_context
from feedback.api.es_keys import EsKeysUnavailable
from feedback.errors import InvalidInput, ServiceError
from feedback.keys import ROLES, ApiKey, KeyStore, as_json, check_grant
from feedback.settings import Settings

__all__: list[str] = []

log = logging.getLogger(__name__)

keys_app = typer.Typer(help="Issue, list and revoke API keys (HTTP API, web page).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _department_indexes(settings: Settings, departments: list[str]) -> dict[str, str]:
    """Department name → index suffix, from the routing file; an unknown name is an error."""
    from feedback.cli.wiring import load_routing_config

    known = {d.name: d.index for d in load_routing_config(settings).departments}
    unknown = sorted(set(departments) - set(known))
    if unknown:
        raise InvalidInput(f"unknown department(s) {', '.join(unknown)}: expected one of {', '.join(sorted(known))} "
                           "(the routing file, FEEDBACK_STREAM_ROUTING)")
    return {d: known[d] for d in departments}


@keys_app.command("create")
def create_command(
    ctx: typer.Context,
    department: list[str] = typer.Option([], "--department", "-d", help="A department the key may read (repeat)."),
    role: list[str] = typer.Option([], "--role", help=f"A role: {', '.join(ROLES)}; ops reads every department."),
    name: str | None = typer.Option(None, "--name", help="Who holds the key (shown by `keys list`)."),
    es_key: bool = typer.Option(
        True, "--es-key/--no-es-key",
        help="Also issue an Elasticsearch API key where the cluster has security (default); --no-es-key skips "
        "asking Elasticsearch."),
    as_json_out: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """Issue a key for the departments; it is printed once and stored only as a hash."""
    settings = settings_from_context(ctx)
    check_grant(departments=department, roles=role)
    indexes = _department_indexes(settings, department)
    with_es_key = es_key and _es_has_security(settings)
    store = KeyStore(settings.api_keys_file)
    issued = store.issue(departments=department, roles=role, name=name)
    record = issued.record
    es_encoded: str | None = None
    es_unavailable: str | None = None
    if with_es_key:
        try:
            record, es_encoded = _issue_es_key(settings, record, indexes)
        except EsKeysUnavailable as e:
            # Not a failure of this key: the cluster cannot issue any. The API key stands alone
            # (its departments are enforced by the API); say so instead of failing.
            es_unavailable = str(e)
            log.warning("no Elasticsearch API key for %s: %s", record.id, e)
        except BaseException:
            store.revoke(record.id)  # never leave a usable key whose other half failed
            raise
    log.info("issued API key id=%s departments=%s roles=%s es_key=%s", record.id, record.departments,
             record.roles, record.es_api_key_id)
    if as_json_out:
        doc = {**record.model_dump(mode="json", exclude={"sha256"}), "key": issued.key,
               "es_api_key": None if es_encoded is None else {"id": record.es_api_key_id, "encoded": es_encoded},
               "es_api_key_unavailable": es_unavailable}
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    scope = "every department (ops)" if "ops" in record.roles else ", ".join(record.departments)
    print(f"API key {record.id} ({record.name}) reads {scope}:")
    print(issued.key)
    if es_encoded is not None:
        print(f"Elasticsearch API key {record.es_api_key_id} (Authorization: ApiKey ...), reads the same:")
        print(es_encoded)
    elif es_unavailable is not None:
        print(f"No Elasticsearch API key: {es_unavailable}. The API key is scoped by the API itself.")
    print("They are shown only now; the store keeps a hash. Send the API key as 'Authorization: Bearer <key>'.")


def _es_has_security(settings: Settings) -> bool:
    from feedback.api.deps import make_es_client
    from feedback.api.es_keys import security_enabled

    es = make_es_client(settings, "admin")
    try:
        enabled = security_enabled(es)
    finally:
        es.close()
    if not enabled:
        log.info("Elasticsearch runs without security; no Elasticsearch API key is issued")
    return enabled


def _issue_es_key(settings: Settings, record: ApiKey, indexes: dict[str, str]) -> tuple[ApiKey, str]:
    from feedback.api.deps import make_es_client
    from feedback.api.es_keys import create_es_key, role_descriptors

    descriptors = role_descriptors(prefix=settings.es.index_prefix, indexes=list(indexes.values()),
                                   ops="ops" in record.roles)
    es = make_es_client(settings, "admin")
    try:
        es_id, encoded = create_es_key(es, name=f"feedback-{record.name}", descriptors=descriptors,
                                       metadata={"feedback_key_id": record.id, "departments": record.departments,
                                                 "roles": list(record.roles)})
    finally:
        es.close()
    updated = record.model_copy(update={"es_api_key_id": es_id})
    KeyStore(settings.api_keys_file).update(updated)
    return updated, encoded


@keys_app.command("list")
def list_command(
    ctx: typer.Context,
    as_json_out: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """Every key with its departments, roles and state; never a secret or a hash."""
    settings = settings_from_context(ctx)
    records = KeyStore(settings.api_keys_file).keys()
    if as_json_out:
        print(as_json(records))
        return
    if not records:
        print(f"no API keys in {settings.api_keys_file}; issue one with `feedback keys create --department NAME`")
        return
    print(f"{'id':<13}{'name':<24}{'departments':<30}{'roles':<10}{'created':<18}{'state':<26}es key")
    for r in records:
        state = "active" if r.active else f"revoked {r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else ""
        print(f"{r.id:<13}{r.name[:23]:<24}{','.join(r.departments)[:29] or '-':<30}{','.join(r.roles) or '-':<10}"
              f"{r.created_at:%Y-%m-%d %H:%M}  {state:<26}{r.es_api_key_id or '-'}")


@keys_app.command("revoke")
def revoke_command(
    ctx: typer.Context,
    key_id: str = typer.Argument(..., help="The key's id (`feedback keys list`)."),
) -> None:
    """Revoke a key at once (the running API re-reads the store), and its Elasticsearch API key."""
    settings = settings_from_context(ctx)
    record = KeyStore(settings.api_keys_file).revoke(key_id)
    if record.es_api_key_id:
        from feedback.api.deps import make_es_client
        from feedback.api.es_keys import invalidate_es_key

        es = make_es_client(settings, "admin")
        try:
            invalidate_es_key(es, record.es_api_key_id)
        except ServiceError as e:
            raise ServiceError(f"API key {key_id} is revoked, but its Elasticsearch API key {record.es_api_key_id} "
                               f"is still valid: {e}; run `feedback keys revoke {key_id}` again") from e
        finally:
            es.close()
    print(f"revoked API key {record.id} ({record.name})"
          + (f" and Elasticsearch API key {record.es_api_key_id}" if record.es_api_key_id else ""))
