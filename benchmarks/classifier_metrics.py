"""Dev-split metrics of the classifiers next to the TF-IDF baseline, and classify_batch throughput.

Reproduces the table in docs/classifiers.md::

    /tmp/venvtest/bin/python benchmarks/classifier_metrics.py [--retrain] [--cache /tmp/feedback-emb]

``--onnx-check`` also scores the ONNX Runtime int8 export of the same encoder with the
same heads (its macro-F1 loss) and measures its throughput. ``--retrain`` first rebuilds the shipped heads in classifiers/artifacts from the train
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


def throughput(n: int = 512, batch: int = 64, *, onnx: bool = False, home: Path | None = None) -> dict[str, float]:
    """texts/s of ``classify_batch`` on a mix of English and Persian dev texts."""
    base = datasets_dir()
    en = read_labelled_csv([base / "airline-tweets" / "dev.csv"], task="sentiment", limit=n // 2).texts
    fa = read_labelled_csv([base / "snappfood-fa" / "dev.csv"], task="sentiment", limit=n // 2).texts
    texts = [t for pair in zip(en, fa) for t in pair]
    clf = load_classifier(ClassifierSettings(batch_size=batch, onnx=onnx), home=home)
    clf.classify_batch(texts[:batch])  # warm-up: lingua models, engine buffers
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        clf.classify_batch(texts[i : i + batch])
    elapsed = time.perf_counter() - started
    return {"onnx": onnx, "texts": len(texts), "batch": batch, "seconds": round(elapsed, 2), "texts_per_s": round(len(texts) / elapsed, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/feedback-emb"))
    ap.add_argument("--retrain", action="store_true")
    ap.add_argument("--json-out", type=Path, default=None)
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--onnx-check", action="store_true", help="also score the ONNX int8 encoder on shipped-head rows")
    ap.add_argument("--home", type=Path, default=Path("/tmp/feedback-home"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    encoder = load_encoder(None, home=args.home)
    onnx_encoder = load_encoder(None, home=args.home, onnx=True) if args.onnx_check else None
    if args.retrain:
        train_default_heads(ARTIFACTS, encoder=encoder, taxonomy=ARTIFACTS / "taxonomy.yaml", cache_dir=args.cache)
    shipped = load_classifier(ClassifierSettings(), home=args.home)
    heads = {"sentiment": shipped.sentiment, "topic": shipped.topic}
    base = datasets_dir()
    results = []
    print("| dataset (dev) | task | head | n | model macro-F1 | baseline macro-F1 | target | accuracy model / baseline | ONNX int8 macro-F1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, task, column, own_train, target in ROWS:
        dev = [base / name / "dev.csv"]
        report = evaluate(
            task, dev, encoder=encoder, head=None if own_train else heads[task],
            train_paths=[base / name / "train.csv"] if own_train else None,
            label_column=column, cache_dir=args.cache, model_version=shipped.model_version,
            onnx_encoder=None if own_train else onnx_encoder,
        )
        kind = f"trained on {name}/train ({column})" if own_train else f"shipped {task} head"
        row = {"dataset": name, "task": task, "column": column, "head": kind, "target": target, **report.model_dump()}
        results.append(row)
        tgt = f"{target:.2f}" if target else "-"
        print(f"| {name} | {task} | {kind} | {report.n} | {report.model.macro_f1:.4f} | {report.baseline.macro_f1:.4f} | "
              f"{tgt} | {report.model.accuracy:.4f} / {report.baseline.accuracy:.4f} | "
              f"{f'{report.onnx.macro_f1:.4f}' if report.onnx else '-'} |", flush=True)
    doc: dict[str, object] = {"rows": results}
    if not args.skip_throughput:
        doc["throughput"] = [throughput(home=args.home)]
        if args.onnx_check:
            doc["throughput"].append(throughput(onnx=True, home=args.home))  # type: ignore[attr-defined]
        print(f"\nclassify_batch throughput: {doc['throughput']}")
    if args.json_out:
        args.json_out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
