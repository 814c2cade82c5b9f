"""Training and evaluation on tiny real subsets (seconds), through the API and the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from classifiers import (
    FeedbackClassifier,
    HybridHead,
    evaluate,
    few_shot_topic_head,
    load_taxonomy,
    score,
    train_head,
)
from classifiers.encoder import Encoder
from feedback.cli.app import app


def _taxonomy_yaml(tmp_path: Path, third_topic: str) -> Path:
    """A three-topic taxonomy: refunds, late_delivery and ``third_topic`` (YAML list item)."""
    path = tmp_path / "tax.yaml"
    path.write_text(
        "topics:\n"
        "  - name: refunds\n    description: Getting money back for a purchase\n"
        "    examples: [I want my money back, پولم رو برگردونید]\n"
        "  - name: late_delivery\n    description: The order arrived late or not at all\n"
        "    examples: [My parcel is two weeks late, سفارش هنوز نرسیده]\n"
        + third_topic,
        encoding="utf-8",
    )
    return path


def _subset(src: Path, dest: Path, *, per_label: int, label: str, skip: int = 0) -> Path:
    """The first ``per_label`` rows of each label after skipping ``skip`` of each (stratified, deterministic)."""
    with open(src, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or [])
        counts: dict[str, int] = {}
        rows = []
        for row in reader:
            n = counts.get(row[label], 0)
            counts[row[label]] = n + 1
            if skip <= n < skip + per_label:
                rows.append({"text": row["text"], label: row[label]})
    with open(dest, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", label])
        writer.writeheader()
        writer.writerows(rows)
    assert fields
    return dest


def test_train_head_is_reproducible_and_round_trips(encoder: Encoder, datasets: Path, tmp_path: Path) -> None:
    data = [datasets / "snappfood-fa" / "train.csv"]
    a = train_head("sentiment", data, encoder=encoder, limit=60, seed=7, cache_dir=tmp_path / "emb")
    b = train_head("sentiment", data, encoder=encoder, limit=60, seed=7, cache_dir=tmp_path / "emb")
    assert a.labels == ["negative", "positive"]
    assert np.array_equal(a.coef, b.coef)
    a.save(tmp_path / "heads")
    back = HybridHead.load(tmp_path / "heads", "sentiment")
    assert back.lexical is not None and back.blend == 0.5  # sentiment blends the n-gram head
    texts = ["غذا سرد بود و دیر رسید", "خیلی خوشمزه بود"]
    x = encoder.encode(texts)
    assert back.predict_labels(x, texts) == a.predict_labels(x, texts) == ["negative", "positive"]
    assert back.config.seed == 7 and back.config.n_train == 60


def test_few_shot_custom_taxonomy_without_training(encoder: Encoder, classifier: FeedbackClassifier, tmp_path: Path) -> None:
    path = _taxonomy_yaml(
        tmp_path,
        "  - name: rude_staff\n    description: Staff or drivers were rude or unhelpful\n"
        "    examples: [The agent was rude to me, پیک خیلی بی‌ادب بود]\n",
    )
    head = few_shot_topic_head(load_taxonomy(path), encoder)
    clf = FeedbackClassifier(encoder, sentiment=classifier.sentiment, topic=head, topic_min_confidence=0.0)
    got = [c.topic.label for c in clf.classify_batch([
        "Please refund the 30 dollars you charged me",
        "سه روزه منتظر بسته‌ام هستم و هنوز ارسال نشده",
        "The driver shouted at me and was very impolite",
    ])]
    assert got == ["refunds", "late_delivery", "rude_staff"]


@pytest.mark.slow
def test_cli_train_then_eval_with_baseline(datasets: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACK_SERVICES_HOME", str(tmp_path / "home"))
    src = datasets / "maalej-app-reviews"
    train = _subset(src / "train.csv", tmp_path / "train.csv", per_label=40, label="topic")
    test = _subset(src / "dev.csv", tmp_path / "test.csv", per_label=15, label="topic")
    runner = CliRunner()
    res = runner.invoke(app, ["train", "--task", "topic", "--data", str(train), "--out", str(tmp_path / "heads"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["labels"] == ["bug_report", "feature_request", "rating", "user_experience"]
    assert (tmp_path / "heads" / "topic.npz").is_file() and (tmp_path / "heads" / "sentiment.npz").is_file()

    res = runner.invoke(app, ["eval", "--task", "topic", "--data", str(test), "--train", str(train), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert set(report) >= {"model", "baseline", "n", "labels"}
    assert report["n"] == 60 and report["labels"] == doc["labels"]
    for side in ("model", "baseline"):
        assert set(report[side]) >= {"accuracy", "macro_f1", "per_class", "confusion"}
        assert sum(map(sum, report[side]["confusion"])) == 60
    # 60 test rows: one row moves macro-F1 by ~0.02. Measured 0.509 with the round-3 adapter and
    # 0.477 with the round-4 one, whose custom-taxonomy head on maalej's whole train/dev split
    # scores 0.633 against the round-3 adapter's 0.615 (docs/classifiers.md); chance is 0.25.
    assert report["model"]["macro_f1"] > 0.45


def test_eval_restricts_three_class_model_to_binary_labels(
    classifier: FeedbackClassifier, datasets: Path, tmp_path: Path
) -> None:
    test = _subset(datasets / "snappfood-fa" / "dev.csv", tmp_path / "dev.csv", per_label=10, label="sentiment")
    # the baseline trains on the train.csv beside the test file
    _subset(datasets / "snappfood-fa" / "train.csv", tmp_path / "train.csv", per_label=20, label="sentiment")
    report = evaluate("sentiment", [test], encoder=classifier.encoder, head=classifier.sentiment)
    assert report.labels == ["negative", "positive"]  # no neutral column in a binary dataset
    assert len(report.model.confusion) == 2 and report.train_n == 40
    assert report.model.macro_f1 > 0.7
    assert score(["a"], ["a"], ["a", "b"]).per_class["b"].support == 0


def test_custom_taxonomy_setting_uses_few_shot_head_with_default_threshold(tmp_path: Path) -> None:
    from classifiers import load_classifier
    from feedback.settings import ClassifierSettings

    path = _taxonomy_yaml(
        tmp_path,
        "  - name: app_crash\n    description: The app crashes or freezes\n"
        "    examples: [The app keeps crashing, برنامه هنگ می‌کنه]\n",
    )
    clf = load_classifier(ClassifierSettings(taxonomy=path), home=tmp_path / "home")
    assert clf.topic.config.kind == "centroid" and clf.topic.labels == ["app_crash", "late_delivery", "refunds"]
    got = clf.classify_batch(["I need a refund for the broken blender", "اپلیکیشن موقع پرداخت بسته میشه"])
    assert [c.topic.label for c in got] == ["refunds", "app_crash"]
    assert all(c.topic.score >= ClassifierSettings().topic_min_confidence for c in got)  # not sent to triage
    assert list((tmp_path / "home" / "models" / "fewshot").glob("emb-*.npy"))  # embeddings cached under home
