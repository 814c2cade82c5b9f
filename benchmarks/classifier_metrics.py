"""Dev-split metrics of the classifiers next to the TF-IDF baseline, every runtime against
fp32, and classify_batch throughput per runtime. Reproduces the tables in docs/classifiers.md::

    python benchmarks/classifier_metrics.py [--runtimes bf16,onnx-int8] [--write-runtimes] [--json-out F]

The shipped model is scored in fp32 (the reference); each of ``--runtimes`` scores the same
heads on its own embeddings of the same texts, and the macro-F1 it loses is reported per
dataset. ``--write-runtimes`` records those losses in classifiers/artifacts/runtimes.json,
which decides which runtimes ``runtime=auto`` may pick (classifiers/runtime.py). Sentiment
rows score the shipped sentiment head; topic rows score the shipped topic head on the
annotated dev split (per language) and on maalej / bitext with their labels mapped; the
``own train`` rows fit a head on that dataset's own train split (the custom-taxonomy path of
``feedback eval --train``). Every baseline is fitted on the same train split in the same run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

from classifiers import datasets_dir, evaluate, load_classifier, read_labelled_csv
from classifiers.encoder import load_encoder
from classifiers.runtime import MAX_DEFAULT_LOSS, RUNTIME_REPORT
from classifiers.training import TOPIC_ANNOTATIONS
from feedback.settings import ClassifierSettings
from stream.routing import load_routing

# (dataset, task, label column, fit on its own train split?)
ROWS = [
    ("airline-tweets", "sentiment", "sentiment", False),
    ("snappfood-fa", "sentiment", "sentiment", False),
    ("digikala-recommend-fa", "sentiment", "sentiment", False),
    ("deepsentipers-fa", "sentiment", "sentiment", False),
    ("topic-annotations", "topic", "topic", False),
    ("maalej-app-reviews", "topic", "topic", False),  # shipped head, labels mapped to default topics
    ("bitext-support", "topic", "category", False),  # shipped head, labels mapped to default topics
    ("maalej-app-reviews", "topic", "topic", True),
    ("bitext-support", "topic", "category", True),
]


def throughput(runtime: str, n: int = 1024, batch: int = 64, *, home: Path | None = None) -> dict[str, object]:
    """texts/s of ``classify_batch`` on a mix of English and Persian dev texts."""
    base = datasets_dir()
    en = read_labelled_csv([base / "airline-tweets" / "dev.csv"], task="sentiment", limit=n // 2).texts
    fa = read_labelled_csv([base / "snappfood-fa" / "dev.csv"], task="sentiment", limit=n // 2).texts
    texts = [t for pair in zip(en, fa) for t in pair]
    clf = load_classifier(ClassifierSettings(batch_size=batch, runtime=runtime), home=home)  # type: ignore[arg-type]
    clf.classify_batch(texts[:batch])  # warm-up: lingua models, engine buffers
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        clf.classify_batch(texts[i : i + batch])
    elapsed = time.perf_counter() - started
    return {"runtime": runtime, "texts": len(texts), "batch": batch, "seconds": round(elapsed, 2),
            "texts_per_s": round(len(texts) / elapsed, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/feedback-emb"))
    ap.add_argument("--json-out", type=Path, default=None)
    ap.add_argument("--runtimes", default="bf16,onnx-int8", help="comma-separated runtimes to score against fp32")
    ap.add_argument("--write-runtimes", action="store_true", help=f"record the losses in {RUNTIME_REPORT}")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--home", type=Path, default=Path("/tmp/feedback-home"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    runtimes = [r for r in args.runtimes.split(",") if r and r != "fp32"]
    shipped = load_classifier(ClassifierSettings(runtime="fp32"), home=args.home)
    encoder = shipped.encoder
    others = {r: load_encoder(None, runtime=r, home=args.home) for r in runtimes}
    heads = {"sentiment": shipped.sentiment, "topic": shipped.topic}
    routing = load_routing(None)
    base = datasets_dir()
    results = []
    worst: dict[str, float] = {r: 0.0 for r in runtimes}
    print("| dataset (dev) | task | head | n | model macro-F1 | baseline macro-F1 | accuracy model / baseline | "
          + " | ".join(f"{r} macro-F1 (loss)" for r in runtimes) + " |")
    print("|---|---|---|---|---|---|---|" + "---|" * len(runtimes))
    for name, task, column, own_train in ROWS:
        folder = TOPIC_ANNOTATIONS if name == "topic-annotations" else base / name
        report = evaluate(
            task, [folder / "dev.csv"], encoder=encoder, head=None if own_train else heads[task],
            train_paths=[folder / "train.csv"] if own_train else None,
            label_column=column, cache_dir=args.cache, model_version=shipped.model_version,
            other_runtimes=None if own_train else others,
            routing=(dict(routing.topics), routing.default_department, shipped.topic_min_confidence),
        )
        kind = f"own train ({column})" if own_train else f"shipped {task} head"
        results.append({"dataset": name, "task": task, "column": column, "head": kind, **report.model_dump()})
        for r, rs in report.runtimes.items():
            worst[r] = max(worst[r], rs.macro_f1_loss)
        cells = " | ".join(f"{rs.metrics.macro_f1:.4f} ({rs.macro_f1_loss:+.4f})" for rs in report.runtimes.values())
        print(f"| {name} | {task} | {kind} | {report.n} | {report.model.macro_f1:.4f} | {report.baseline.macro_f1:.4f} | "
              f"{report.model.accuracy:.4f} / {report.baseline.accuracy:.4f} | {cells or ' - ' * len(runtimes)} |", flush=True)
        for lang in report.languages:
            print(f"|   {name} [{lang.language}] | | | {lang.n} | {lang.metrics.macro_f1:.4f} | | "
                  f"acc {lang.metrics.accuracy:.4f}; routing precision {lang.routing.precision:.4f} "
                  f"coverage {lang.routing.coverage:.4f} @ {lang.routing.threshold:.2f} |", flush=True)
    doc: dict[str, object] = {"rows": results, "max_macro_f1_loss": worst}
    print(f"\nworst macro-F1 loss against fp32 over the datasets: {worst} (a default may lose at most {MAX_DEFAULT_LOSS})")
    if args.write_runtimes:
        RUNTIME_REPORT.write_text(json.dumps({
            "note": "written by benchmarks/classifier_metrics.py --write-runtimes: worst macro-F1 loss against fp32 "
                    "over the dev splits of every dataset, same heads, same texts",
            "model_version": shipped.model_version,
            "runtimes": {r: {"max_macro_f1_loss": round(v, 4)} for r, v in worst.items()},
        }, indent=2) + "\n", encoding="utf-8")
    if not args.skip_throughput:
        doc["throughput"] = [throughput(r, home=args.home) for r in ["fp32", *runtimes]]
        print(f"\nclassify_batch throughput: {doc['throughput']}")
    if args.json_out:
        args.json_out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
