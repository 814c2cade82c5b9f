"""Security of the local node: its TLS certificate, its users, and the least-privilege roles.

Done once, before the first start, with the distribution's own tools:
``bin/elasticsearch-certutil`` makes a CA and a node certificate (SANs 127.0.0.1 and
localhost) under ``<home>/elasticsearch/config/certs``, and ``bin/elasticsearch-users``
adds the superuser ``feedback_admin`` to the file realm. The other principals' users are
file-realm users too, and the roles live in ``config/roles.yml``: this distribution cannot
create the ``.security`` index (its mapping needs the absent ``analysis-common`` module), so
native users, native roles and API keys are unavailable on the local node. `up` rewrites
``roles.yml`` (merging) each time, and the node reloads it within seconds.

Roles (``<p>`` is each prefix the roles cover: ``es.index_prefix`` plus ``es.access_prefixes``):

- ``feedback_worker``: ``create_index``, ``index`` and ``manage`` (aliases, refresh) on ``<p>-*``
  plus the cluster's ``monitor`` and ``manage_index_templates``; no ``read``, so the user
  that writes cannot read a document back.
- ``feedback_trends``: ``read`` on ``<p>-*`` (spike counts are aggregations) and
  ``create_doc`` on the alert claims index ``<p>-alerts-raised``.
- ``feedback_ops``: ``read``, ``write``, ``create_index``, ``manage`` on ``<p>-*`` (replay).
- ``feedback_api``: ``read`` on ``<p>-*``; the HTTP API scopes departments itself.
- ``<prefix>_read_<department>``: ``read`` on ``/<prefix>-<department>(-v[0-9]+)?/`` only, a
  regular expression because ``feedback-billing*`` would also match a department ``billing-eu``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from feedback.errors import ServiceError
from feedback.es_access import USERNAMES, LocalCredentials, load_credentials, new_credentials, save_credentials
from feedback.files import replace_file

__all__ = [
    "add_file_user",
    "department_index_pattern",
    "department_role",
    "department_role_name",
    "department_roles",
    "file_users",
    "prepare_node_security",
    "remove_file_user",
    "service_roles",
    "write_roles",
]

log = logging.getLogger(__name__)

# Lucene regular-expression operators: a name holding one must match itself literally.
_REGEX_SPECIAL = set('.?+*|{}[]()"\\#@&<>~')


def _literal(name: str) -> str:
    return "".join(f"\\{c}" if c in _REGEX_SPECIAL else c for c in name)


def department_index_pattern(prefix: str, department: str) -> str:
    """The role index pattern of one department: its alias and its versions, nothing else.

    >>> department_index_pattern("feedback", "billing")
    '/feedback-billing(-v[0-9]+)?/'
    """
    return f"/{_literal(prefix)}-{_literal(department)}(-v[0-9]+)?/"


def department_role_name(prefix: str, department: str) -> str:
    """``<prefix>_read_<department>``, e.g. ``feedback_read_billing``."""
    return f"{prefix}_read_{department}"


def department_role(prefix: str, department: str) -> dict[str, Any]:
    """The role descriptor that reads one department's alias and versioned indexes."""
    return {
        "cluster": [],
        "indices": [{"names": [department_index_pattern(prefix, department)],
                     "privileges": ["read", "view_index_metadata"]}],
    }


def service_roles(prefixes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Role name → descriptor for the worker, the spike check, ops and the API, over ``prefixes``.

    >>> service_roles(["feedback"])["feedback_worker"]["indices"][0]
    {'names': ['feedback-*'], 'privileges': ['create_index', 'index', 'manage']}
    """
    every = [f"{p}-*" for p in prefixes]
    claims = [f"{p}-alerts-raised" for p in prefixes]
    return {
        USERNAMES["worker"]: {
            "cluster": ["monitor", "manage_index_templates"],
            "indices": [{"names": every, "privileges": ["create_index", "index", "manage"]}],
        },
        USERNAMES["trends"]: {
            "cluster": ["monitor"],
            "indices": [
                {"names": every, "privileges": ["read", "view_index_metadata"]},
                {"names": claims, "privileges": ["create_doc", "create_index"]},
            ],
        },
        USERNAMES["ops"]: {
            "cluster": ["monitor", "manage_index_templates"],
            "indices": [{"names": every, "privileges": ["read", "write", "create_index", "manage"]}],
        },
        USERNAMES["api"]: {
            "cluster": ["monitor"],
            "indices": [{"names": every, "privileges": ["read", "view_index_metadata"]}],
        },
    }


def _tool_env(java: Path, conf: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ES_JAVA_HOME": str(java), "ES_PATH_CONF": str(conf),
            "HOME": str(conf.parent)}


def _run_tool(cmd: list[str], *, env: dict[str, str], what: str) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        # The tools echo no secrets, but keep only the first error line.
        lines = [ln for ln in (done.stderr + done.stdout).splitlines() if ln.strip() and not ln.startswith("\tat ")]
        raise ServiceError(f"{what} failed (exit {done.returncode}): {(lines[0] if lines else '').strip()[:300]}")


def _make_certificates(dist: Path, conf: Path, java: Path) -> None:
    certs = conf / "certs"
    if (certs / "node.crt").is_file() and (certs / "node.key").is_file() and (certs / "ca.crt").is_file():
        return
    certutil = str(dist / "bin" / "elasticsearch-certutil")
    env = _tool_env(java, conf)
    with tempfile.TemporaryDirectory(prefix="feedback-certs-") as tmp:
        work = Path(tmp)
        _run_tool([certutil, "ca", "--silent", "--pem", "--out", str(work / "ca.zip")], env=env,
                  what="elasticsearch-certutil ca")
        with zipfile.ZipFile(work / "ca.zip") as z:
            z.extractall(work)
        _run_tool([certutil, "cert", "--silent", "--pem", "--ca-cert", str(work / "ca" / "ca.crt"),
                   "--ca-key", str(work / "ca" / "ca.key"), "--ip", "127.0.0.1", "--dns", "localhost",
                   "--name", "node", "--out", str(work / "node.zip")], env=env, what="elasticsearch-certutil cert")
        with zipfile.ZipFile(work / "node.zip") as z:
            z.extractall(work)
        certs.mkdir(parents=True, exist_ok=True)
        # The CA key is not kept: a new certificate means a new CA (delete config/certs and run `up`).
        shutil.copyfile(work / "ca" / "ca.crt", certs / "ca.crt")
        shutil.copyfile(work / "node" / "node.crt", certs / "node.crt")
        shutil.copyfile(work / "node" / "node.key", certs / "node.key")
    (certs / "node.key").chmod(0o600)
    log.info("tls certificates generated dir=%s", certs)


def file_users(conf: Path) -> set[str]:
    """The user names in the node's file realm (``config/users``)."""
    users = conf / "users"
    if not users.is_file():
        return set()
    return {ln.split(":", 1)[0] for ln in users.read_text().splitlines() if ln.strip() and not ln.startswith("#")}


def _match_owner(conf: Path, names: Iterable[str]) -> None:
    """Files a tool run as root rewrote go back to the user the node runs as (the config dir's owner)."""
    st = conf.stat()
    for name in names:
        f = conf / name
        if f.exists() and (f.stat().st_uid, f.stat().st_gid) != (st.st_uid, st.st_gid):
            os.chown(f, st.st_uid, st.st_gid)


def remove_file_user(*, dist: Path, conf: Path, java: Path, username: str) -> None:
    """Delete a file-realm user (no-op when absent)."""
    if username in file_users(conf):
        _run_tool([str(dist / "bin" / "elasticsearch-users"), "userdel", username], env=_tool_env(java, conf),
                  what=f"elasticsearch-users userdel {username}")
        _match_owner(conf, ["users", "users_roles"])


def add_file_user(*, dist: Path, conf: Path, java: Path, username: str, password: str, roles: list[str]) -> None:
    """Add (or replace) a file-realm user; the node reloads ``config/users`` within seconds.

    The password goes on the tool's command line, visible only to this machine's root and
    this user for the few seconds the tool runs; it is never printed.
    """
    tool, env = str(dist / "bin" / "elasticsearch-users"), _tool_env(java, conf)
    if username in file_users(conf):
        _run_tool([tool, "userdel", username], env=env, what=f"elasticsearch-users userdel {username}")
    _run_tool([tool, "useradd", username, "-p", password, "-r", ",".join(roles)], env=env,
              what=f"elasticsearch-users useradd {username}")
    _match_owner(conf, ["users", "users_roles"])
    log.info("file realm user added user=%s roles=%s", username, ",".join(roles))


def write_roles(conf: Path, roles: dict[str, dict[str, Any]], *, remove: Iterable[str] = ()) -> bool:
    """Merge ``roles`` into ``config/roles.yml`` and drop ``remove`` (the node reloads it within
    seconds); True if the file changed.

    Written beside it and renamed over it, so a reload never reads a truncated file (every
    role would vanish for that second: 403 "assigned roles ... were not found"); the new file
    takes the old one's mode and owner (the user the node runs as).
    """
    path = conf / "roles.yml"
    current = yaml.safe_load(path.read_text()) if path.is_file() else None
    kept = {k: v for k, v in (current or {}).items() if k not in set(remove)}
    # Through JSON: no shared lists, so no YAML anchors, which the node's parser does not resolve.
    merged = json.loads(json.dumps({**kept, **roles}))
    text = "# Written by `feedback up`: file roles (this node has no .security index).\n" + yaml.safe_dump(
        merged, sort_keys=True, default_flow_style=False)
    if path.is_file() and path.read_text() == text:
        return False
    replace_file(path, text, keep_owner=True)
    return True


def prepare_node_security(*, dist: Path, conf: Path, java: Path, credentials_file: Path) -> LocalCredentials:
    """Config directory, TLS certificates, credentials file and one user per principal, each made once.

    The roles are left to `up` (``LocalElasticsearch.ensure_roles``): a restart of the node
    (the soak's outage, say) must not narrow them to its caller's prefixes.

    A node directory from an older, insecure version (data but no ``config``) gets all of
    them here and keeps its data.
    """
    if not (conf / "elasticsearch.yml").is_file():
        shutil.copytree(dist / "config", conf, dirs_exist_ok=True)
    _make_certificates(dist, conf, java)
    fresh = not credentials_file.is_file()
    if fresh:
        save_credentials(credentials_file, new_credentials())
    creds = load_credentials(credentials_file)
    present = file_users(conf)
    for principal, username in USERNAMES.items():
        if fresh or username not in present:
            role = "superuser" if principal == "admin" else username
            add_file_user(dist=dist, conf=conf, java=java, username=username,
                          password=creds.passwords[principal].get_secret_value(), roles=[role])
    return creds


def department_roles(prefix: str, departments: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Role name → descriptor: one read role per department."""
    return {department_role_name(prefix, d): department_role(prefix, d) for d in departments}
