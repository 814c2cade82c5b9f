"""`feedback classify`, `feedback train`, `feedback eval`: the classifiers from the command line."""

from __future__ import annotations

import json
import logging
import shutil
import time
from enum import Enum
from pathlib import Path

import typer

from classifiers import (
    ARTIFACTS,
    HybridHead,
    evaluate,
    load_classifier,
    load_encoder,
    train_default_heads,
    train_head,
)
from feedback.cli.app import app, settings_from_context
from feedback.errors import InvalidInput

__all__ = ["classify", "eval_", "train"]

log = logging.getLogger(__name__)


class Task(str, Enum):
    sentiment = "sentiment"
    topic = "topic"


@app.command()
def classify(
    ctx: typer.Context,
    texts: list[str] = typer.Argument(..., help="One or more texts to classify."),
    rating: int | None = typer.Option(None, "--rating", min=1, max=5, help="Star rating (feeds urgency)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Classify text(s): language, sentiment, topic and urgency.

    Example: feedback classify "سفارشم دیر رسید و غذا سرد بود" --json
    """
    settings = settings_from_context(ctx)
    clf = load_classifier(settings.classifier, home=settings.services.home)
    results = clf.classify_batch(texts, ratings=[rating] * len(texts) if rating else None)
    if as_json:
        docs = [r.model_dump(mode="json") for r in results]
        print(json.dumps(docs[0] if len(docs) == 1 else docs, ensure_ascii=False))
        return
    for text, r in zip(texts, results):
        print(
            f"{text[:60]!r}: language={r.language} sentiment={r.sentiment.label}({r.sentiment.score:.2f}) "
            f"topic={r.topic.label}({r.topic.score:.2f}) urgency={r.urgency}"
            + (f" [{', '.join(r.urgency_reasons)}]" if r.urgency_reasons else "")
        )


def _cache_dir(home: Path) -> Path:
    return Path(home) / "models" / "embeddings"


@app.command()
def train(
    ctx: typer.Context,
    task: Task = typer.Option(..., "--task", help="sentiment or topic."),
    data: list[Path] = typer.Option(None, "--data", help="Labelled CSV file(s); repeat the option."),
    text_column: str = typer.Option("text", "--text-column"),
    label_column: str | None = typer.Option(None, "--label-column", help="Default: sentiment / topic."),
    out: Path | None = typer.Option(None, "--out", help="Head directory; default settings model_dir or <home>/models/heads."),
    seed: int = typer.Option(0, "--seed"),
    defaults: bool = typer.Option(False, "--defaults", help="Rebuild the shipped heads from the shared datasets."),
    lexical: bool | None = typer.Option(None, "--lexical/--no-lexical", help="Blend in a hashed n-gram head (default: sentiment yes, topic no)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Train a head on a frozen encoder (seeded, reproducible) and save it.

    Example: feedback train --task topic --data reviews.csv --label-column topic --out ./heads
    Then: FEEDBACK_CLASSIFIER_MODEL_DIR=./heads feedback classify "..."
    """
    settings = settings_from_context(ctx)
    cs = settings.classifier
    target = out or (Path(cs.model_dir) if cs.model_dir else Path(settings.services.home) / "models" / "heads")
    encoder = load_encoder(cs.encoder, max_length=cs.max_length, batch_size=cs.batch_size, home=settings.services.home)
    started = time.perf_counter()
    if defaults:
        taxonomy = Path(cs.taxonomy) if cs.taxonomy else ARTIFACTS / "taxonomy.yaml"
        heads = train_default_heads(target, encoder=encoder, taxonomy=taxonomy, seed=seed, cache_dir=_cache_dir(settings.services.home))
        head = heads[task.value]
    else:
        if not data:
            raise InvalidInput("expected --data CSV (one or more labelled files); found none; or pass --defaults")
        head = train_head(
            task.value, data, encoder=encoder, text_column=text_column, label_column=label_column,
            seed=seed, cache_dir=_cache_dir(settings.services.home), lexical=lexical,
        )
        head.save(target)
    # A head directory is complete on its own: borrow the other task's shipped head.
    for other in ("sentiment", "topic"):
        if not (target / f"{other}.json").exists():
            for suffix in (".json", ".npz", ".lexical.npz"):
                if (ARTIFACTS / f"{other}{suffix}").is_file():
                    shutil.copyfile(ARTIFACTS / f"{other}{suffix}", target / f"{other}{suffix}")
    doc = {"task": task.value, "out": str(target), "labels": head.labels, "n_train": head.config.n_train,
           "seed": seed, "elapsed_s": round(time.perf_counter() - started, 2)}
    print(json.dumps(doc, ensure_ascii=False) if as_json else
          f"trained {task.value} head on {head.config.n_train} rows -> {target} (labels: {', '.join(head.labels)})")


@app.command("eval")
def eval_(
    ctx: typer.Context,
    task: Task = typer.Option(..., "--task", help="sentiment or topic."),
    data: list[Path] = typer.Option(..., "--data", help="Labelled test CSV file(s)."),
    train_files: list[Path] = typer.Option(None, "--train", help="Fit the task on these files first."),
    text_column: str = typer.Option("text", "--text-column"),
    label_column: str | None = typer.Option(None, "--label-column"),
    seed: int = typer.Option(0, "--seed"),
    lexical: bool | None = typer.Option(None, "--lexical/--no-lexical", help="With --train: blend in a hashed n-gram head (default: sentiment yes, topic no)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Score the model and the TF-IDF baseline on labelled test data.

    Example: feedback eval --task sentiment --data ../shared/datasets/snappfood-fa/dev.csv --json
    """
    settings = settings_from_context(ctx)
    cs = settings.classifier
    head: HybridHead | None = None
    version = ""
    if train_files:
        encoder = load_encoder(cs.encoder, max_length=cs.max_length, batch_size=cs.batch_size,
                               onnx=cs.onnx, home=settings.services.home)
    else:
        clf = load_classifier(cs, home=settings.services.home)
        encoder, version = clf.encoder, clf.model_version
        head = clf.sentiment if task is Task.sentiment else clf.topic
    report = evaluate(
        task.value, data, encoder=encoder, head=head, train_paths=train_files or None,
        text_column=text_column, label_column=label_column, seed=seed,
        cache_dir=_cache_dir(settings.services.home), model_version=version, lexical=lexical,
    )
    if as_json:
        print(report.model_dump_json())
        return
    print(f"{task.value} on {report.n} rows (labels: {', '.join(report.labels)})")
    print(f"{'':10} {'accuracy':>9} {'macro-F1':>9}")
    for name, m in (("model", report.model), ("baseline", report.baseline)):
        print(f"{name:10} {m.accuracy:9.4f} {m.macro_f1:9.4f}")
