"""A single Elasticsearch node on 127.0.0.1, run as an unprivileged user when we are root."""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from feedback.errors import ServiceError
from feedback.es_access import Principal, client_options
from feedback.services.plugin import ensure_analysis_plugin
from feedback.services.process import port_in_use, read_pid, wait_until
from feedback.services.provision import fetch_elasticsearch, find_java
from feedback.services.security import department_roles, prepare_node_security, service_roles, write_roles
from feedback.settings import Settings

__all__ = ["LocalElasticsearch", "admin_client", "es_version"]

log = logging.getLogger(__name__)


def admin_client(settings: Settings, *, principal: Principal = "admin", timeout: float = 5.0) -> Elasticsearch:
    """A client for provisioning (``admin``: the local superuser, or the configured credentials)."""
    opts = client_options(settings.es, principal=principal, url=settings.es_url) | {"request_timeout": timeout, "max_retries": 0}
    return Elasticsearch(settings.es_url, **opts)


def es_version(settings: Settings) -> str | None:
    """The node version when Elasticsearch answers with a yellow or green cluster, else None."""
    try:
        with admin_client(settings) as es:
            health = es.cluster.health()
            if health.get("status") not in ("yellow", "green"):
                return None
            nodes = es.nodes.info(filter_path="nodes.*.version")
    except (ApiError, TransportError, ServiceError, ValueError):
        return None
    versions = sorted({n["version"] for n in nodes.get("nodes", {}).values()})
    return ",".join(versions) or "unknown"


def _answers_plain_http(port: int) -> bool:
    """Whether a node without security (an older `feedback up`) answers on ``port``."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3) as r:  # noqa: S310 - fixed local URL
            return bool(r.status == 200)
    except OSError:
        return False


class LocalElasticsearch:
    """The node that `feedback up` provisions under ``<home>/elasticsearch``."""

    name = "Elasticsearch"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        s = settings.services
        self.dist = s.home / f"elasticsearch-{s.es_version}"
        self.state = s.home / "elasticsearch"
        self.pid_file = self.state / "es.pid"
        self.log_dir = self.state / "logs"
        self.stdout_file = self.log_dir / "stdout.log"
        self.conf = self.state / "config"

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.settings.services.es_port}"

    @property
    def version(self) -> str:
        return self.settings.services.es_version

    @property
    def log_file(self) -> Path:
        return self.log_dir / "feedback-local.log"

    def pid(self) -> int | None:
        return read_pid(self.pid_file)

    def ready(self) -> bool:
        return es_version(self.settings) is not None

    def start(self) -> None:
        """Download once, install the analysis plugin once, then start the node as a daemon and wait for yellow health."""
        s = self.settings.services
        if self.pid() is not None and _answers_plain_http(s.es_port):
            raise ServiceError(
                f"the local Elasticsearch (pid {self.pid()}) runs without security, started by an older version; "
                f"run `feedback down` and `feedback up` to restart it with TLS and users (its data is kept)"
            )
        for port in (s.es_port, s.es_port + 100):
            if port_in_use("127.0.0.1", port):
                raise ServiceError(
                    f"port {port} on 127.0.0.1 is taken by another process, so Elasticsearch cannot start "
                    f"(HTTP uses es_port, transport es_port+100); stop it or set FEEDBACK_SERVICES_ES_PORT"
                )
        java = find_java(21, configured=s.es_java_home, purpose="Elasticsearch")
        fetch_elasticsearch(s.home, s.es_version)
        # Before the chown below: the plugin tool writes into the distribution as us.
        ensure_analysis_plugin(self.dist, home=s.home, java=java, es_version=s.es_version)
        for d in (self.state / "data", self.log_dir, self.state / "tmp"):
            d.mkdir(parents=True, exist_ok=True)
        credentials = self.settings.es.credentials_file
        assert credentials is not None  # set for the local node by Settings
        prepare_node_security(dist=self.dist, conf=self.conf, java=java, credentials_file=credentials)
        user = self._run_as()
        if user is not None:
            self._give_to(user)
        self.pid_file.unlink(missing_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.state),
            "ES_JAVA_HOME": str(java),
            "ES_JAVA_OPTS": f"-Xms{s.es_heap} -Xmx{s.es_heap}",
            "ES_TMPDIR": str(self.state / "tmp"),
            "ES_PATH_CONF": str(self.conf),
        }
        cmd = [
            str(self.dist / "bin" / "elasticsearch"),
            "-d",
            "-p",
            str(self.pid_file),
            "-E", "cluster.name=feedback-local",
            "-E", "node.name=feedback-local",
            "-E", "discovery.type=single-node",
            "-E", "network.host=127.0.0.1",
            "-E", f"http.port={s.es_port}",
            "-E", f"transport.port={s.es_port + 100}",
            "-E", f"path.data={self.state / 'data'}",
            "-E", f"path.logs={self.log_dir}",
            "-E", "xpack.security.enabled=true",
            "-E", "xpack.security.http.ssl.enabled=true",
            "-E", "xpack.security.http.ssl.key=certs/node.key",
            "-E", "xpack.security.http.ssl.certificate=certs/node.crt",
            "-E", "xpack.security.http.ssl.certificate_authorities=certs/ca.crt",
            "-E", "xpack.security.transport.ssl.enabled=true",
            "-E", "xpack.security.transport.ssl.verification_mode=certificate",
            "-E", "xpack.security.transport.ssl.key=certs/node.key",
            "-E", "xpack.security.transport.ssl.certificate=certs/node.crt",
            "-E", "xpack.security.transport.ssl.certificate_authorities=certs/ca.crt",
            "-E", "resource.reload.interval.high=1s",
            "-E", "action.destructive_requires_name=false",
            "-E", "cluster.routing.allocation.disk.threshold_enabled=false",
        ]
        if user is not None:
            cmd = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", *cmd]
        with open(self.stdout_file, "ab") as out:
            done = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  check=False, start_new_session=True, timeout=s.start_timeout)
        if done.returncode != 0:
            raise ServiceError(
                f"Elasticsearch failed to start (exit {done.returncode}); see {self.stdout_file} and {self.log_file}"
            )
        if not wait_until(self.ready, timeout=s.start_timeout, interval=1.0):
            raise ServiceError(
                f"Elasticsearch did not become ready within {s.start_timeout:.0f}s; see {self.log_file}"
            )
        log.info("elasticsearch started pid=%s", self.pid())

    def roles(self, departments: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The file roles of this node: the service principals' and one reader per department."""
        es = self.settings.es
        return service_roles([es.index_prefix, *es.access_prefixes]) | department_roles(es.index_prefix, departments)

    def ensure_roles(self, departments: Iterable[str]) -> list[str]:
        """Write the roles (merged into ``config/roles.yml``) and wait until the node has loaded them."""
        roles = self.roles(departments)
        if write_roles(self.conf, roles):
            # The node reads roles.yml every second (resource.reload.interval.high); file roles are
            # invisible to the role API, so wait two reloads and check the worker's privileges.
            time.sleep(2.5)
            if not wait_until(self._worker_can_write, timeout=30.0, interval=1.0):
                raise ServiceError(f"Elasticsearch did not load {self.conf / 'roles.yml'} within 30s; see {self.log_file}")
        return sorted(roles)

    def _worker_can_write(self) -> bool:
        es = self.settings.es
        names = [f"{p.rstrip('*')}-probe" for p in (es.index_prefix, *es.access_prefixes)]
        try:
            with admin_client(self.settings, principal="worker") as client:
                res = client.security.has_privileges(index=[{"names": names, "privileges": ["create_index", "index"]}])
        except (ApiError, TransportError):
            return False
        return bool(res.get("has_all_requested"))

    def _run_as(self) -> pwd.struct_passwd | None:
        """Elasticsearch refuses to run as root: pick (and create) an unprivileged user."""
        if os.geteuid() != 0:
            return None
        name = self.settings.services.es_user
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
        useradd = shutil.which("useradd")
        if useradd is None:
            raise ServiceError(f"Elasticsearch cannot run as root and user {name!r} is missing; create it")
        subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True, capture_output=True,
        )
        return pwd.getpwnam(name)

    def _give_to(self, user: pwd.struct_passwd) -> None:
        home = self.settings.services.home
        # The user must be able to traverse every parent directory of its files.
        for parent in [home, *home.parents]:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                raise ServiceError(
                    f"Elasticsearch runs as {user.pw_name!r} but cannot enter {parent}; "
                    f"set FEEDBACK_SERVICES_HOME to a directory outside private homes (e.g. /var/cache/feedback)"
                )
        for root in (self.dist, self.state):
            for dirpath, _dirs, files in os.walk(root):
                os.chown(dirpath, user.pw_uid, user.pw_gid)
                for f in files:
                    os.chown(os.path.join(dirpath, f), user.pw_uid, user.pw_gid, follow_symlinks=False)
