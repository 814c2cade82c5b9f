"""Build and install the ``feedback-analysis`` Elasticsearch plugin into the local distribution.

The plugin (source in ``feedback/services/analysis-plugin/``) exposes Lucene's Persian,
English and Arabic analyzers through Elasticsearch's stable plugin API, because the
``integ-test-zip`` distribution has no ``analysis-common`` module. ``feedback up`` builds it
with Maven and the JDK it runs Elasticsearch with, packs the stable-plugin zip and installs
it with ``bin/elasticsearch-plugin`` before the node starts. A stamp holding the hash of the
plugin source and the Elasticsearch version makes that happen once: a second ``up`` neither
builds nor installs, and a changed source is rebuilt and reinstalled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import zipfile
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from feedback.errors import ServiceError

__all__ = [
    "PLUGIN_NAME",
    "ensure_analysis_plugin",
    "lucene_version",
    "named_components",
    "plugin_source",
    "source_hash",
]

log = logging.getLogger(__name__)

PLUGIN_NAME = "feedback-analysis"
_STAMP = f".{PLUGIN_NAME}.sha256"
_JAR = f"{PLUGIN_NAME}.jar"
_COMPONENT = re.compile(r'@NamedComponent\("([^"]+)"\)\s*public\s+final\s+class\s+(\w+)\s+implements\s+(\w+)')
_PACKAGE = re.compile(r"^package\s+([\w.]+);", re.MULTILINE)
# The stable analysis API's extension points, by the simple name a factory implements.
_EXTENSIBLE = {"AnalyzerFactory": "org.elasticsearch.plugin.analysis.AnalyzerFactory"}


def plugin_source() -> Traversable:
    """The plugin's Maven project (``pom.xml`` and ``src/``), shipped as package data."""
    return resources.files("feedback.services").joinpath("analysis-plugin")


def _source_files(root: Traversable, prefix: str = "") -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        rel = f"{prefix}{entry.name}"
        if entry.is_dir():
            if entry.name != "target":
                out.extend(_source_files(entry, rel + "/"))
        elif entry.name == "pom.xml" or entry.name.endswith(".java"):
            out.append((rel, entry.read_bytes()))
    return out


def source_hash(root: Traversable, *, es_version: str) -> str:
    """SHA-256 over every source file (path and bytes) and the Elasticsearch version.

    >>> source_hash(plugin_source(), es_version="9.2.8")[:8]  # doctest: +SKIP
    '3f1c9a0b'
    """
    h = hashlib.sha256(f"elasticsearch={es_version}\n".encode())
    for rel, data in _source_files(root):
        h.update(f"{rel}\n{len(data)}\n".encode())
        h.update(data)
    return h.hexdigest()


def named_components(root: Traversable) -> dict[str, dict[str, str]]:
    """``named_components.json`` read from the ``@NamedComponent`` classes of the source.

    Shipping it in the zip spares the install tool its class scan (which ran out of memory
    with the tool's default heap).

    >>> named_components(plugin_source())["org.elasticsearch.plugin.analysis.AnalyzerFactory"]["feedback_persian"]
    'feedback.analysis.PersianAnalyzerFactory'
    """
    found: dict[str, dict[str, str]] = {}
    for rel, data in _source_files(root):
        if not rel.endswith(".java"):
            continue
        text = data.decode()
        m = _COMPONENT.search(text)
        if m is None:
            continue
        name, cls, interface = m.groups()
        if interface not in _EXTENSIBLE:
            raise ServiceError(f"{rel}: expected a class implementing one of {sorted(_EXTENSIBLE)}, found {interface}")
        pkg = _PACKAGE.search(text)
        qualified = f"{pkg.group(1)}.{cls}" if pkg else cls
        found.setdefault(_EXTENSIBLE[interface], {})[name] = qualified
    return found


def lucene_version(dist: Path) -> str:
    """The Lucene version inside the distribution (``lib/lucene-core-<v>.jar``)."""
    for jar in (dist / "lib").glob("lucene-core-*.jar"):
        return jar.name.removeprefix("lucene-core-").removesuffix(".jar")
    raise ServiceError(f"no lib/lucene-core-*.jar in {dist}; the Elasticsearch distribution is incomplete, delete it")


def _run(cmd: list[str], *, env: dict[str, str], what: str, timeout: float) -> None:
    log.info("%s: %s", what, " ".join(cmd))
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise ServiceError(f"{what} did not finish within {timeout:.0f}s") from e
    if done.returncode != 0:
        lines = [ln for ln in (done.stdout + done.stderr).splitlines() if "ERROR" in ln or "Exception" in ln]
        reason = lines[0] if lines else f"exited {done.returncode}"
        raise ServiceError(f"{what} failed: {reason.strip()[:300]}")


def _build(home: Path, *, java: Path, es_version: str, lucene: str) -> Path:
    """``mvn package`` in a copy of the source under ``<home>/analysis-plugin``; the jar's path."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServiceError(
            f"cannot build the {PLUGIN_NAME} Elasticsearch plugin: Maven (mvn) is not on PATH; "
            "install it (apt-get install maven)"
        )
    work = home / "analysis-plugin" / "build"
    shutil.rmtree(work, ignore_errors=True)
    src = plugin_source()
    for rel, data in _source_files(src):
        target = work / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    env = {**os.environ, "JAVA_HOME": str(java)}
    _run(
        [mvn, "-B", "-q", f"-Dmaven.repo.local={home / 'm2'}", "-f", str(work / "pom.xml"),
         f"-Des.version={es_version}", f"-Dlucene.version={lucene}", "package"],
        env=env, what=f"build of the {PLUGIN_NAME} plugin (mvn package)", timeout=600,
    )
    jar = work / "target" / _JAR
    if not jar.is_file():
        raise ServiceError(f"mvn package finished but {jar} is missing; see the pom in {work}")
    return jar


def _pack(jar: Path, *, es_version: str, java_release: int) -> Path:
    """The stable-plugin zip: descriptor, jar and ``named_components.json``."""
    descriptor = "\n".join([
        "description=Lucene's Persian, English and Arabic analyzers for the feedback pipeline",
        "version=1",
        f"name={PLUGIN_NAME}",
        f"java.version={java_release}",
        f"elasticsearch.version={es_version}",
        "",
    ])
    out = jar.parent.parent.parent / f"{PLUGIN_NAME}-{es_version}.zip"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("stable-plugin-descriptor.properties", descriptor)
        z.writestr("named_components.json", json.dumps(named_components(plugin_source()), indent=2))
        z.write(jar, _JAR)
    return out


def _install(dist: Path, zip_path: Path, *, java: Path) -> None:
    tool = str(dist / "bin" / "elasticsearch-plugin")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ES_JAVA_HOME": str(java),
        "CLI_JAVA_OPTS": "-Xmx512m",
    }
    if (dist / "plugins" / PLUGIN_NAME).exists():
        _run([tool, "remove", PLUGIN_NAME], env=env, what=f"removal of the old {PLUGIN_NAME} plugin", timeout=300)
    _run([tool, "install", "--batch", zip_path.as_uri()], env=env,
         what=f"install of the {PLUGIN_NAME} plugin (elasticsearch-plugin install)", timeout=300)


def ensure_analysis_plugin(dist: Path, *, home: Path, java: Path, es_version: str) -> bool:
    """Build and install the plugin unless the installed one matches the source; True when installed now.

    >>> ensure_analysis_plugin(dist, home=home, java=jdk25, es_version="9.2.8")  # doctest: +SKIP
    False
    """
    wanted = source_hash(plugin_source(), es_version=es_version)
    stamp = dist / _STAMP
    installed = (dist / "plugins" / PLUGIN_NAME).is_dir()
    if installed and stamp.is_file() and stamp.read_text().strip() == wanted:
        log.debug("plugin=%s up to date hash=%s", PLUGIN_NAME, wanted[:12])
        return False
    jar = _build(home, java=java, es_version=es_version, lucene=lucene_version(dist))
    zip_path = _pack(jar, es_version=es_version, java_release=21)
    _install(dist, zip_path, java=java)
    stamp.write_text(wanted + "\n")
    log.info("installed plugin=%s hash=%s into=%s", PLUGIN_NAME, wanted[:12], dist)
    return True
