"""YAML taxonomies: validation errors name the bad entry; the shipped one is the default topics."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers import ARTIFACTS, DEFAULT_TOPICS, load_taxonomy
from feedback.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_taxonomy_has_exactly_the_default_topics() -> None:
    taxonomy = load_taxonomy(ARTIFACTS / "taxonomy.yaml")
    assert sorted(taxonomy.names) == sorted(DEFAULT_TOPICS)
    for topic in taxonomy.topics:
        if topic.name != "other":
            assert any("\u0600" <= ch <= "\u06ff" for ex in topic.examples for ch in ex), topic.name


def test_bad_name_error_names_the_entry(tmp_path: Path) -> None:
    path = _write(tmp_path, "topics:\n  - name: refunds\n    description: money back\n  - name: Late Delivery\n    description: late\n")
    with pytest.raises(ConfigError, match=r"topic #2 \('Late Delivery'\), field 'name'.*snake_case"):
        load_taxonomy(path)


def test_missing_description_names_the_entry(tmp_path: Path) -> None:
    path = _write(tmp_path, "topics:\n  - name: refunds\n    description: money back\n  - name: shipping\n")
    with pytest.raises(ConfigError, match=r"topic #2 \('shipping'\), field 'description'"):
        load_taxonomy(path)


def test_unknown_field_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "topics:\n  - name: a\n    description: aaa\n    exmples: [x]\n  - name: b\n    description: bbb\n")
    with pytest.raises(ConfigError, match=r"topic #1 \('a'\), field 'exmples'"):
        load_taxonomy(path)


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "topics:\n  - name: a\n    description: aaa\n  - name: a\n    description: bbb\n")
    with pytest.raises(ConfigError, match="found 'a' twice"):
        load_taxonomy(path)


def test_not_a_mapping_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'topics:' list"):
        load_taxonomy(_write(tmp_path, "- a\n- b\n"))
    with pytest.raises(ConfigError, match="no such file"):
        load_taxonomy(tmp_path / "missing.yaml")
