"""A single Elasticsearch node on 127.0.0.1, run as an unprivileged user when we are root."""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import httpx

from feedback.errors import ServiceError
from feedback.services.plugin import ensure_analysis_plugin
from feedback.services.process import port_in_use, read_pid, wait_until
from feedback.services.provision import fetch_elasticsearch, find_java
from feedback.settings import Settings

__all__ = ["LocalElasticsearch", "es_version"]

log = logging.getLogger(__name__)


def _client(settings: Settings) -> httpx.Client:
    es = settings.es
    headers = {}
    auth = None
    if es.api_key is not None:
        headers["Authorization"] = f"ApiKey {es.api_key.get_secret_value()}"
    elif es.username and es.password is not None:
        auth = (es.username, es.password.get_secret_value())
    return httpx.Client(base_url=settings.es_url, headers=headers, auth=auth, timeout=5.0)


def es_version(settings: Settings) -> str | None:
    """The node version when Elasticsearch answers with a yellow or green cluster, else None."""
    try:
        with _client(settings) as c:
            health = c.get("/_cluster/health").raise_for_status().json()
            if health.get("status") not in ("yellow", "green"):
                return None
            nodes = c.get("/_nodes", params={"filter_path": "nodes.*.version"}).raise_for_status().json()
    except (httpx.HTTPError, ValueError):
        return None
    versions = sorted({n["version"] for n in nodes.get("nodes", {}).values()})
    return ",".join(versions) or "unknown"


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

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.settings.services.es_port}"

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
            "-E", "xpack.security.enabled=false",
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
