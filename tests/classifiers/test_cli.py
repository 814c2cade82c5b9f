"""`feedback classify / train / eval` as a user runs them (a real subprocess each)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from feedback.settings import ClassifierSettings

REPO = Path(__file__).resolve().parents[2]


def _share_checkpoint(home: Path) -> None:
    """Link the e5 rebuild of the default home into a test's fresh home (saves a rebuild per test)."""
    from classifiers.e5_checkpoint import E5_CHECKPOINT_NAME, ensure_e5_checkpoint
    from feedback.settings import default_home

    link = home / "models" / E5_CHECKPOINT_NAME
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ensure_e5_checkpoint(default_home()), target_is_directory=True)


def _feedback(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    if "FEEDBACK_SERVICES_HOME" in (env or {}):
        _share_checkpoint(Path(full_env["FEEDBACK_SERVICES_HOME"]))
    return subprocess.run(
        [sys.executable, "-c", "from feedback.cli import main; main()", *args],
        capture_output=True, text=True, env=full_env, cwd=REPO, timeout=300, check=False,
    )


def _subset(src: Path, dst: Path, n: int, *, columns: tuple[str, str]) -> Path:
    with open(src, newline="", encoding="utf-8") as fh, open(dst, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(columns))
        writer.writeheader()
        by_label: dict[str, list[dict[str, str]]] = {}
        for row in csv.DictReader(fh):
            by_label.setdefault(row[columns[1]], []).append(row)
        # the files are grouped by label: take rows round-robin so that every label is present
        picked: list[dict[str, str]] = []
        for i in range(n):
            for rows in by_label.values():
                if i < len(rows) and len(picked) < n:
                    picked.append(rows[i])
        for row in picked:
            writer.writerow({c: row[c] for c in columns})
    return dst


@pytest.mark.slow
def test_classify_json(tmp_path: Path) -> None:
    res = _feedback("classify", "غذا سرد بود و پیک یک ساعت دیر رسید، دیگه هرگز سفارش نمیدم", "--json",
                    env={"FEEDBACK_SERVICES_HOME": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["language"] == "fa"
    assert doc["sentiment"]["label"] == "negative"
    # "never again" (cancellation, 1 point) + a strongly negative text (1 point) = high
    assert doc["sentiment"]["score"] >= 0.8
    assert doc["urgency"] == "high" and set(doc["urgency_reasons"]) == {"cancellation", "strong_negative"}
    assert doc["runtime"] in {"bf16", "onnx-int8", "fp32"}
    assert doc["topics"][0]["label"] == "delivery_shipping"
    assert doc["model_version"].startswith("multilingual-e5-small+lora-")


@pytest.mark.slow
def test_train_then_classify_with_the_trained_head(tmp_path: Path, datasets: Path) -> None:
    data = _subset(datasets / "bitext-support" / "train.csv", tmp_path / "bitext.csv", 400, columns=("text", "category"))
    heads = tmp_path / "heads"
    env = {"FEEDBACK_SERVICES_HOME": str(tmp_path)}
    res = _feedback("train", "--task", "topic", "--data", str(data), "--label-column", "category",
                    "--out", str(heads), "--json", env=env)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["n_train"] == 400 and {"SHIPPING", "DELIVERY", "ACCOUNT"} <= set(doc["labels"])
    assert (heads / "topic.npz").is_file() and (heads / "sentiment.json").is_file()
    # min confidence 0: this checks which head answers, not the `other` threshold.
    texts = {"how long does the delivery take to arrive?": "DELIVERY",
             "I need to change the shipping address of my order": "SHIPPING",
             "I can't log in to my account, I forgot the password": "ACCOUNT"}
    res = _feedback("classify", *texts, "--json",
                    env={**env, "FEEDBACK_CLASSIFIER_MODEL_DIR": str(heads), "FEEDBACK_CLASSIFIER_TOPIC_MIN_CONFIDENCE": "0"})
    assert res.returncode == 0, res.stderr
    assert [d["topic"]["label"] for d in json.loads(res.stdout)] == list(texts.values())


@pytest.mark.slow
def test_eval_with_train_prints_model_and_baseline(tmp_path: Path, datasets: Path) -> None:
    cols = ("text", "category")
    train = _subset(datasets / "bitext-support" / "train.csv", tmp_path / "train.csv", 300, columns=cols)
    test = _subset(datasets / "bitext-support" / "dev.csv", tmp_path / "dev.csv", 100, columns=cols)
    res = _feedback("eval", "--task", "topic", "--data", str(test), "--train", str(train),
                    "--label-column", "category", "--json", env={"FEEDBACK_SERVICES_HOME": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["n"] == 100 and len(doc["labels"]) >= 8
    for side in ("model", "baseline"):
        assert set(doc[side]) == {"accuracy", "macro_f1", "per_class", "confusion"}
        assert len(doc[side]["confusion"]) == len(doc["labels"])
    assert doc["model"]["macro_f1"] > 0.8


def test_bad_column_is_one_line_and_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("body,label\nhello,positive\n", encoding="utf-8")
    res = _feedback("train", "--task", "sentiment", "--data", str(path), "--out", str(tmp_path / "h"),
                    env={"FEEDBACK_SERVICES_HOME": str(tmp_path)})
    assert res.returncode == 1
    assert res.stderr.strip().count("\n") == 0
    assert "expected a column 'text'" in res.stderr and "--text-column" in res.stderr


def test_topic_rounds_errors_are_one_line_and_exit_1(tmp_path: Path) -> None:
    env = {"FEEDBACK_SERVICES_HOME": str(tmp_path)}
    res = _feedback("train", "--task", "topic", "--data", "x.csv", "--topic-rounds", "all", env=env)
    assert res.returncode == 1 and res.stderr.strip().count("\n") == 0
    assert "--topic-rounds only with --defaults" in res.stderr
    # checked before anything is trained: an unknown round fails at once
    res = _feedback("train", "--task", "topic", "--defaults", "--topic-rounds", "1-3,9", "--out", str(tmp_path / "h"), env=env)
    assert res.returncode == 1 and res.stderr.strip().count("\n") == 0
    assert "found [9]" in res.stderr and not (tmp_path / "h").exists()


@pytest.mark.slow
def test_eval_runtimes_report_their_loss_against_fp32(tmp_path: Path, datasets: Path) -> None:
    test = _subset(datasets / "snappfood-fa" / "dev.csv", tmp_path / "dev.csv", 120, columns=("text", "sentiment"))
    (tmp_path / "train.csv").write_bytes((datasets / "snappfood-fa" / "train.csv").read_bytes())
    res = _feedback("eval", "--task", "sentiment", "--data", str(test), "--onnx", "--runtime", "bf16", "--json",
                    env={"FEEDBACK_SERVICES_HOME": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["runtime"] == "fp32" and set(doc["runtimes"]) == {"bf16", "onnx-int8"}
    for r in doc["runtimes"].values():
        assert set(r["metrics"]) == {"accuracy", "macro_f1", "per_class", "confusion"}
        assert r["macro_f1_loss"] == pytest.approx(doc["model"]["macro_f1"] - r["metrics"]["macro_f1"])
        assert abs(r["macro_f1_loss"]) < 0.05  # a broken runtime scores ~0.5
        assert r["label_agreement"] > 0.9
    assert list((tmp_path / "models").glob("multilingual-e5-small*/model.fused.int8.onnx"))


@pytest.mark.slow
def test_eval_topic_reports_languages_and_routing(tmp_path: Path) -> None:
    res = _feedback("eval", "--task", "topic", "--json", env={"FEEDBACK_SERVICES_HOME": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    langs = {r["language"]: r for r in doc["languages"]}
    assert set(langs) == {"en", "fa"}
    assert sum(r["n"] for r in langs.values()) == doc["n"]
    for r in langs.values():
        m = r["metrics"]
        assert sum(map(sum, m["confusion"])) <= r["n"]
        assert 0 < r["routing"]["coverage"] <= 1
        assert r["routing"]["threshold"] == pytest.approx(ClassifierSettings().topic_min_confidence)
        assert r["routing"]["routed"] == round(r["routing"]["coverage"] * r["n"])
    table = _feedback("eval", "--task", "topic", env={"FEEDBACK_SERVICES_HOME": str(tmp_path)})
    assert table.returncode == 0, table.stderr
    assert "[fa]" in table.stdout and "routing precision=" in table.stdout and "confusion" in table.stdout
