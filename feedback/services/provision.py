"""Fetch Kafka and Elasticsearch from Maven Central with ``mvn`` and find a JDK.

Artifacts land in ``<home>/m2`` (Maven's local repository) and are unpacked into
``<home>/kafka-<version>`` and ``<home>/elasticsearch-<version>``; a second call
downloads nothing.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import zipfile
from importlib import resources
from pathlib import Path

from feedback.errors import ServiceError

__all__ = ["fetch_elasticsearch", "fetch_kafka", "find_java", "java_version"]

log = logging.getLogger(__name__)

_ES_ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"


def _mvn(home: Path, args: list[str], *, what: str) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServiceError(f"cannot download {what}: Maven (mvn) is not on PATH; install it (apt-get install maven)")
    cmd = [mvn, "-B", "-q", f"-Dmaven.repo.local={home / 'm2'}", *args]
    log.info("fetching %s: %s", what, " ".join(cmd))
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [ln for ln in (done.stdout + done.stderr).splitlines() if "ERROR" in ln]
        reason = lines[0] if lines else f"mvn exited {done.returncode}"
        raise ServiceError(f"download of {what} failed: {reason.strip()[:300]}")


def fetch_kafka(home: Path, version: str) -> Path:
    """Kafka's jars for ``version`` in ``<home>/kafka-<version>/libs`` (downloaded once)."""
    root = home / f"kafka-{version}"
    libs = root / "libs"
    if (libs / f"kafka_2.13-{version}.jar").is_file():
        return root
    home.mkdir(parents=True, exist_ok=True)
    tmp = root.with_name(root.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    pom = tmp / "pom.xml"
    pom.write_text(resources.files("feedback.services").joinpath("pom.xml").read_text())
    _mvn(
        home,
        [
            "-f",
            str(pom),
            f"-Dkafka.version={version}",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={tmp / 'libs'}",
            "-DincludeScope=runtime",
        ],
        what=f"Apache Kafka {version}",
    )
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return root


def fetch_elasticsearch(home: Path, version: str) -> Path:
    """Elasticsearch ``version`` unpacked in ``<home>/elasticsearch-<version>``."""
    root = home / f"elasticsearch-{version}"
    if (root / "bin" / "elasticsearch").is_file():
        return root
    home.mkdir(parents=True, exist_ok=True)
    _mvn(
        home,
        ["dependency:get", f"-Dartifact={_ES_ARTIFACT.format(version=version)}", "-Dtransitive=false"],
        what=f"Elasticsearch {version}",
    )
    zip_path = (
        home / "m2/org/elasticsearch/distribution/integ-test-zip/elasticsearch"
        / version / f"elasticsearch-{version}.zip"
    )
    tmp = home / f".elasticsearch-{version}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            extracted = Path(z.extract(info, tmp))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                extracted.chmod(mode)
    shutil.rmtree(root, ignore_errors=True)
    (tmp / f"elasticsearch-{version}").rename(root)
    shutil.rmtree(tmp, ignore_errors=True)
    return root


def java_version(java_home: Path) -> int | None:
    """The feature version (17, 21, 25, ...) of the JDK at ``java_home``, or None."""
    release = java_home / "release"
    if release.is_file():
        m = re.search(r'JAVA_VERSION="(\d+)', release.read_text(errors="replace"))
        if m:
            return int(m.group(1))
    java = java_home / "bin" / "java"
    if not java.is_file():
        return None
    out = subprocess.run([str(java), "-version"], capture_output=True, text=True, check=False).stderr
    m = re.search(r'version "(\d+)', out)
    return int(m.group(1)) if m else None


def _candidates() -> list[Path]:
    found: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        found.append(Path(os.environ["JAVA_HOME"]))
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        found.extend(sorted(p for p in jvm.iterdir() if p.is_dir() and not p.is_symlink()))
    java = shutil.which("java")
    if java:
        found.append(Path(java).resolve().parent.parent)
    return found


def find_java(min_version: int, *, configured: Path | None, purpose: str) -> Path:
    """A JDK home of at least ``min_version``: the configured one, else the newest found."""
    if configured is not None:
        v = java_version(configured)
        if v is None or v < min_version:
            raise ServiceError(
                f"{purpose} needs Java {min_version}+, but {configured} is "
                f"{'not a JDK' if v is None else f'Java {v}'}; point the setting at a JDK {min_version}+"
            )
        return configured
    best: tuple[int, Path] | None = None
    for home in _candidates():
        v = java_version(home)
        if v is not None and v >= min_version and (best is None or v > best[0]):
            best = (v, home)
    if best is None:
        raise ServiceError(
            f"no Java {min_version}+ found for {purpose} (looked at JAVA_HOME, /usr/lib/jvm and PATH); "
            f"install a JDK {min_version}+ or set FEEDBACK_SERVICES_{'ES' if 'Elastic' in purpose else 'KAFKA'}_JAVA_HOME"
        )
    return best[1]
