"""The feedback-analysis plugin: its source, descriptor pieces, build errors and the install-once stamp."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from feedback.errors import ServiceError
from feedback.services import plugin
from feedback.services.plugin import PLUGIN_NAME, ensure_analysis_plugin, named_components, plugin_source, source_hash
from feedback.settings import Settings
from sinks import PLUGIN


def _copy_source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    shutil.copytree(str(plugin_source()), src, ignore=shutil.ignore_patterns("target"))
    return src


def test_named_components_list_every_analyzer_the_sink_uses() -> None:
    components = named_components(plugin_source())
    analyzers = components["org.elasticsearch.plugin.analysis.AnalyzerFactory"]
    assert analyzers == {
        "feedback_persian": "feedback.analysis.PersianAnalyzerFactory",
        "feedback_english": "feedback.analysis.EnglishAnalyzerFactory",
        "feedback_arabic": "feedback.analysis.ArabicAnalyzerFactory",
    }
    assert {PLUGIN.persian, PLUGIN.english} <= set(analyzers)


def test_source_hash_changes_with_the_source_and_the_elasticsearch_version(tmp_path: Path) -> None:
    src = _copy_source(tmp_path)
    before = source_hash(src, es_version="9.2.8")
    assert source_hash(src, es_version="9.2.8") == before
    assert source_hash(src, es_version="9.3.0") != before
    java = next(src.rglob("PersianAnalyzerFactory.java"))
    java.write_text(java.read_text().replace("new PersianAnalyzer()", "new PersianAnalyzer() "))
    assert source_hash(src, es_version="9.2.8") != before


def test_build_without_maven_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "elasticsearch-9.2.8"
    (dist / "lib").mkdir(parents=True)
    (dist / "lib" / "lucene-core-10.3.2.jar").write_bytes(b"")
    monkeypatch.setattr(plugin.shutil, "which", lambda _name: None)
    with pytest.raises(ServiceError, match=r"Maven \(mvn\) is not on PATH; install it") as err:
        ensure_analysis_plugin(dist, home=tmp_path, java=tmp_path / "jdk", es_version="9.2.8")
    assert "\n" not in str(err.value)


@pytest.mark.integration
def test_second_up_neither_builds_nor_installs(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings.services
    dist = s.home / f"elasticsearch-{s.es_version}"
    zip_path = s.home / "analysis-plugin" / f"{PLUGIN_NAME}-{s.es_version}.zip"
    installed = dist / "plugins" / PLUGIN_NAME / f"{PLUGIN_NAME}.jar"
    assert installed.is_file() and zip_path.is_file()
    with zipfile.ZipFile(zip_path) as z:
        assert set(z.namelist()) == {"stable-plugin-descriptor.properties", "named_components.json",
                                     f"{PLUGIN_NAME}.jar"}
    stamps = (zip_path.stat().st_mtime_ns, installed.stat().st_mtime_ns)
    # Without mvn a rebuild would fail: returning False proves nothing was built.
    monkeypatch.setattr(plugin.shutil, "which", lambda _name: None)
    assert ensure_analysis_plugin(dist, home=s.home, java=Path("/nonexistent"), es_version=s.es_version) is False
    assert (zip_path.stat().st_mtime_ns, installed.stat().st_mtime_ns) == stamps
