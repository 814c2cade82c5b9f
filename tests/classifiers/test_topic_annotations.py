"""The annotated topic data (classifiers/topic_annotations) is valid and honest about its origin."""

from __future__ import annotations

import csv
import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest

from classifiers import ARTIFACTS
from classifiers.data import DEFAULT_TOPICS
from classifiers.training import (
    RELEASED_TOPIC_ROUNDS,
    TOPIC_ANNOTATIONS,
    default_adapter_tasks,
    parse_rounds,
    read_topic_annotations,
    topic_rows,
)
from feedback.errors import InvalidInput
from feedback.text import normalise

REPO = Path(__file__).resolve().parents[2]

SPLITS = ("train", "dev")
FA_SOURCES = {"snappfood-fa", "digikala-recommend-fa", "deepsentipers-fa", "parsinlu-food-fa"}
EN_SOURCES = {"airline-tweets", "maalej-app-reviews", "cfpb-complaints", "bitext-support"}


def _rows(split: str) -> list[dict[str, str]]:
    with open(TOPIC_ANNOTATIONS / f"{split}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def rows() -> dict[str, list[dict[str, str]]]:
    return {split: _rows(split) for split in SPLITS}


def test_every_label_is_a_default_topic(rows: dict[str, list[dict[str, str]]]) -> None:
    for split, data in rows.items():
        for r in data:
            assert r["topic"] in DEFAULT_TOPICS, (split, r["id"])
            also = [t for t in r["also"].split("|") if t]
            assert len(also) <= 2 and r["topic"] not in also and set(also) <= set(DEFAULT_TOPICS), (split, r["id"])
            # the final label is the two passes' common label, or else the third read's
            assert r["topic"] == (r["pass_a"] if r["pass_a"] == r["pass_b"] else r["third"]), r["id"]


def test_at_least_2000_messages_per_language_from_the_named_sources(rows: dict[str, list[dict[str, str]]]) -> None:
    every = rows["train"] + rows["dev"]
    by_lang = Counter(r["lang"] for r in every)
    assert by_lang["en"] >= 2000 and by_lang["fa"] >= 2000
    assert {r["source"] for r in every if r["lang"] == "fa"} == FA_SOURCES
    assert {r["source"] for r in every if r["lang"] == "en"} == EN_SOURCES
    # the topics the sources allow are covered in both languages
    en_topics = Counter(r["topic"] for r in every if r["lang"] == "en")
    fa_topics = Counter(r["topic"] for r in every if r["lang"] == "fa")
    assert all(en_topics[t] >= 10 for t in DEFAULT_TOPICS)
    assert all(fa_topics[t] >= 30 for t in DEFAULT_TOPICS if t not in {"account", "app_bug", "customer_service"})


def test_no_text_is_in_both_train_and_dev(rows: dict[str, list[dict[str, str]]]) -> None:
    train = {normalise(r["text"]) for r in rows["train"]}
    dev = {normalise(r["text"]) for r in rows["dev"]}
    assert not train & dev
    ids = [r["id"] for split in SPLITS for r in rows[split]]
    assert len(ids) == len(set(ids))


def test_no_text_comes_from_a_dev_split_of_the_shared_datasets(rows: dict[str, list[dict[str, str]]], datasets: Path) -> None:
    dev_texts: set[str] = set()
    train_ids: dict[str, set[str]] = {}
    for folder in EN_SOURCES | FA_SOURCES:
        with open(datasets / folder / "dev.csv", newline="", encoding="utf-8") as f:
            dev_texts |= {normalise(r["text"]) for r in csv.DictReader(f)}
        with open(datasets / folder / "train.csv", newline="", encoding="utf-8") as f:
            train_ids[folder] = {r["id"] for r in csv.DictReader(f)}
    for split in SPLITS:
        for r in rows[split]:
            assert normalise(r["text"]) not in dev_texts, (split, r["id"])
            assert r["id"] in train_ids[r["source"]], (split, r["id"])  # drawn from a train split


def test_agreement_report_matches_the_passes(rows: dict[str, list[dict[str, str]]]) -> None:
    report = json.loads((TOPIC_ANNOTATIONS / "agreement.json").read_text(encoding="utf-8"))
    every = rows["train"] + rows["dev"]
    for lang in ("en", "fa"):
        mine = [r for r in every if r["lang"] == lang]
        agree = sum(r["pass_a"] == r["pass_b"] for r in mine) / len(mine)
        assert report[lang]["messages"] == len(mine)
        assert report[lang]["agreement"] == pytest.approx(agree, abs=1e-4)
        assert report[lang]["third_reads"] == sum(bool(r["third"]) for r in mine)


def _merge_module() -> object:
    spec = importlib.util.spec_from_file_location("topic_merge", REPO / "scripts" / "topic_data" / "merge.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_round_column_is_the_round_of_the_batch_each_message_was_read_in(rows: dict[str, list[dict[str, str]]]) -> None:
    read_in = _merge_module().read_rounds(TOPIC_ANNOTATIONS / "passes" / "passA")  # type: ignore[attr-defined]
    every = rows["train"] + rows["dev"]
    assert {r["id"]: int(r["round"]) for r in every} == read_in
    # rounds 5-7 were Persian only (SOURCE.md)
    assert {r["lang"] for r in every if int(r["round"]) >= 5} == {"fa"}


def test_released_rounds_select_exactly_the_rows_the_shipped_model_was_trained_on(datasets: Path) -> None:
    """`feedback train --defaults` rebuilds the release: the shipped topic head and adapter record
    how many rows they saw, and rounds 1-5 give exactly those counts (every round gives more)."""
    shipped_head = json.loads((ARTIFACTS / "topic.json").read_text(encoding="utf-8"))
    shipped_adapter = json.loads((ARTIFACTS / "adapter" / "adapter_run.json").read_text(encoding="utf-8"))
    tax = ARTIFACTS / "taxonomy.yaml"
    assert shipped_head["trained_on"][0] == f"topic_annotations/train.csv (rounds {','.join(map(str, RELEASED_TOPIC_ROUNDS))})"
    assert len(topic_rows(tax, root=datasets, rounds=RELEASED_TOPIC_ROUNDS)[0]) == shipped_head["n_train"]
    assert len(topic_rows(tax, root=datasets, rounds=None)[0]) > shipped_head["n_train"]
    tasks = default_adapter_tasks(tax, root=datasets, rounds=RELEASED_TOPIC_ROUNDS)
    assert len(tasks["topic"].texts) == shipped_adapter["rows"]["topic"]
    assert len(tasks["sentiment"].texts) == shipped_adapter["rows"]["sentiment"]
    # the calibration split of the release: the 1,318 dev messages of rounds 1-5
    assert len(read_topic_annotations("dev", RELEASED_TOPIC_ROUNDS)) == 1318


def test_rounds_from_the_command_line() -> None:
    assert parse_rounds("1-3, 6") == (1, 2, 3, 6)
    assert parse_rounds("ALL") is None
    assert parse_rounds("released") == RELEASED_TOPIC_ROUNDS
    for bad in ("", "5-1", "one", "1-"):
        with pytest.raises(InvalidInput, match="expected annotation rounds"):
            parse_rounds(bad)
    with pytest.raises(InvalidInput, match=r"among \[1, 2, 3, 4, 5, 6, 7\]; found \[9\]"):
        read_topic_annotations("train", [1, 9])
