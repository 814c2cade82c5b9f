"""Label mapping and reading labelled CSV files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from classifiers import (
    DEFAULT_TOPIC_MAP,
    DEFAULT_TOPICS,
    datasets_dir,
    map_sentiment_label,
    read_labelled_csv,
)
from feedback.errors import ConfigError, InvalidInput


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("negative", "negative"), ("SAD", "negative"), ("not_recommended", "negative"), ("-2", "negative"),
        ("neutral", "neutral"), ("no_idea", "neutral"), ("Mixed", "neutral"),
        ("HAPPY", "positive"), ("recommended", "positive"), (" positive ", "positive"), ("+1", "positive"),
    ],
)
def test_sentiment_labels_fold_onto_three_classes(raw: str, expected: str) -> None:
    assert map_sentiment_label(raw) == expected


def test_unknown_sentiment_label_is_a_clear_error() -> None:
    with pytest.raises(InvalidInput, match="found 'angry'"):
        map_sentiment_label("angry")


@pytest.mark.parametrize(("folder", "column"), [("bitext-support", "category"), ("maalej-app-reviews", "topic")])
def test_every_dataset_topic_label_maps_to_a_default_topic(folder: str, column: str) -> None:
    with open(datasets_dir() / folder / "train.csv", newline="", encoding="utf-8") as fh:
        labels = {row[column] for row in csv.DictReader(fh)}
    mapped = {DEFAULT_TOPIC_MAP[f"{folder}:{lab}"] for lab in labels}
    assert mapped <= set(DEFAULT_TOPICS)
    assert len(mapped) >= 3


@pytest.mark.parametrize("folder", ["airline-tweets", "snappfood-fa", "digikala-recommend-fa", "deepsentipers-fa"])
def test_every_sentiment_dataset_reads_onto_known_labels(folder: str) -> None:
    data = read_labelled_csv([datasets_dir() / folder / "dev.csv"], task="sentiment", limit=200)
    assert len(data) == 200
    assert set(data.labels) <= {"negative", "neutral", "positive"}


def test_texts_are_normalised_when_read(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,sentiment\nكيفيت  خوب بود ۱۲,positive\n,negative\nok,\n", encoding="utf-8")
    data = read_labelled_csv([path], task="sentiment")
    assert data.texts == ["کیفیت خوب بود 12"]
    assert data.labels == ["positive"]


def test_missing_column_names_the_columns_found(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("body,label\nhello,positive\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"expected a column 'text'.*found columns \['body', 'label'\]"):
        read_labelled_csv([path], task="sentiment")


def test_datasets_dir_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACK_DATASETS", str(tmp_path))
    assert datasets_dir() == tmp_path
    monkeypatch.setenv("FEEDBACK_DATASETS", str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="FEEDBACK_DATASETS"):
        datasets_dir()
