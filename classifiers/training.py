"""Training heads on labelled CSV files (frozen encoder), including the shipped defaults.

Reproducible: the data order is the file order, lbfgs is deterministic and the seed is
recorded in the head's config.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifiers.adapter import AdapterConfig, TaskData, train_adapter
from classifiers.data import (
    DEFAULT_TOPIC_MAP,
    DEFAULT_TOPICS,
    SENTIMENTS,
    cached_embeddings,
    datasets_dir,
    read_labelled_csv,
)
from classifiers.encoder import Encoder
from classifiers.heads import fit_logistic, fit_mlp
from classifiers.lexical import HybridHead, fit_lexical
from classifiers.taxonomy import load_taxonomy
from feedback.text import normalise

__all__ = [
    "DEFAULT_SENTIMENT_DATA",
    "DEFAULT_TOPIC_DATA",
    "default_adapter_tasks",
    "train_default_adapter",
    "train_default_heads",
    "train_head",
]

log = logging.getLogger(__name__)

# (folder, label column) of the datasets behind the shipped heads.
DEFAULT_SENTIMENT_DATA: tuple[tuple[str, str], ...] = (
    ("airline-tweets", "sentiment"),
    ("snappfood-fa", "sentiment"),
    ("digikala-recommend-fa", "sentiment"),
    ("deepsentipers-fa", "sentiment"),
)
DEFAULT_TOPIC_DATA: tuple[tuple[str, str], ...] = (
    ("bitext-support", "category"),
    ("maalej-app-reviews", "topic"),
)
# Each taxonomy example counts as this many rows: they are the only Persian topic data.
EXAMPLE_WEIGHT = 20.0
# Adapter training: bitext rows used (a seeded sample: its 11 categories are easy and
# 15k rows would only slow training), copies of each taxonomy example, topic loss weight.
ADAPTER_BITEXT_ROWS = 5000
ADAPTER_EXAMPLE_COPIES = 10
ADAPTER_TOPIC_WEIGHT = 2.0


def train_head(
    task: str,
    paths: Sequence[Path],
    *,
    encoder: Encoder,
    text_column: str = "text",
    label_column: str | None = None,
    seed: int = 0,
    c: float = 4.0,
    cache_dir: Path | None = None,
    limit: int | None = None,
    lexical: bool | None = None,
    blend: float = 0.5,
) -> HybridHead:
    """Fit a logistic-regression head for ``task`` on the labelled CSV files.

    With ``lexical`` a hashed n-gram head is fitted on the same rows and blended in with
    weight ``blend`` (see :mod:`classifiers.lexical`). ``None`` means: on for sentiment
    (it helped on every sentiment dev split), off for topic (it hurt maalej by 0.03).

    >>> from classifiers.encoder import load_encoder
    >>> from classifiers.data import datasets_dir
    >>> head = train_head("sentiment", [datasets_dir() / "snappfood-fa" / "dev.csv"], encoder=load_encoder(None), limit=40)
    >>> head.labels
    ['negative', 'positive']
    """
    data = read_labelled_csv(paths, text_column=text_column, label_column=label_column, task=task, limit=limit)
    x = cached_embeddings(encoder.encode, data.texts, name=encoder.cache_key, cache_dir=cache_dir)
    dense = fit_logistic(
        x, data.labels, task=task, encoder=encoder.name, seed=seed, c=c,
        trained_on=[str(Path(p).resolve()) for p in paths],
    )
    use_lexical = task == "sentiment" if lexical is None else lexical
    lex = fit_lexical(data.texts, data.labels, task=task, seed=seed) if use_lexical else None
    return HybridHead(dense, lex, blend=blend)


def _taxonomy_rows(taxonomy_path: Path) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    labels: list[str] = []
    for topic in load_taxonomy(taxonomy_path).topics:
        for sentence in topic.sentences():
            texts.append(normalise(sentence))
            labels.append(topic.name)
    return texts, labels


def train_default_heads(
    out_dir: Path, *, encoder: Encoder, taxonomy: Path, seed: int = 0,
    c_topic: float = 4.0, cache_dir: Path | None = None, root: Path | None = None,
) -> dict[str, HybridHead]:
    """Train the shipped sentiment and topic heads from the train splits of the datasets.

    Sentiment: airline, snappfood, digikala, deepsentipers (labels folded to
    negative/neutral/positive), an MLP head blended with a lexical head. Topic: bitext categories and maalej topics mapped through
    :data:`DEFAULT_TOPIC_MAP`, plus the taxonomy's descriptions and examples (weighted).
    """
    base = root or datasets_dir()
    heads: dict[str, HybridHead] = {}
    xs: list[np.ndarray] = []
    ys: list[str] = []
    texts: list[str] = []
    for folder, column in DEFAULT_SENTIMENT_DATA:
        data = read_labelled_csv([base / folder / "train.csv"], label_column=column, task="sentiment")
        xs.append(cached_embeddings(encoder.encode, data.texts, name=encoder.cache_key, cache_dir=cache_dir))
        ys.extend(data.labels)
        texts.extend(data.texts)
    dense = fit_mlp(
        np.concatenate(xs), ys, task="sentiment", encoder=encoder.name, seed=seed,
        trained_on=[f"{f}/train.csv" for f, _ in DEFAULT_SENTIMENT_DATA],
    )
    heads["sentiment"] = HybridHead(dense, fit_lexical(texts, ys, task="sentiment", seed=seed), blend=0.5)
    xs, ys = [], []
    weights: list[np.ndarray] = []
    for folder, column in DEFAULT_TOPIC_DATA:
        data = read_labelled_csv([base / folder / "train.csv"], label_column=column)
        xs.append(cached_embeddings(encoder.encode, data.texts, name=encoder.cache_key, cache_dir=cache_dir))
        ys.extend(DEFAULT_TOPIC_MAP[f"{folder}:{label}"] for label in data.labels)
        weights.append(np.ones(len(data)))
    ex_texts, ex_labels = _taxonomy_rows(taxonomy)
    xs.append(cached_embeddings(encoder.encode, ex_texts, name=encoder.cache_key, cache_dir=cache_dir))
    ys.extend(ex_labels)
    weights.append(np.full(len(ex_texts), EXAMPLE_WEIGHT))
    missing = set(DEFAULT_TOPICS) - set(ys)
    if missing:
        log.warning("default topics without training rows: %s", sorted(missing))
    # Dense only: the topic rows are English, a lexical head would not transfer to Persian.
    heads["topic"] = HybridHead(fit_logistic(
        np.concatenate(xs), ys, task="topic", encoder=encoder.name, seed=seed, c=c_topic,
        sample_weight=np.concatenate(weights),
        trained_on=[f"{f}/train.csv" for f, _ in DEFAULT_TOPIC_DATA] + ["artifacts/taxonomy.yaml"],
    ))
    for head in heads.values():
        head.save(out_dir)
    return heads


def default_adapter_tasks(taxonomy: Path, *, root: Path | None = None, seed: int = 0) -> dict[str, TaskData]:
    """Sentiment and topic rows for the shipped adapter (train splits only).

    Sentiment: the four sentiment datasets; rows of binary datasets may only be negative or
    positive (the neutral logit is masked). Topic: a seeded sample of bitext, all of maalej
    (mapped through :data:`DEFAULT_TOPIC_MAP`) and the taxonomy's examples.
    """
    base = root or datasets_dir()
    sentiment = TaskData(labels=list(SENTIMENTS))
    for folder, column in DEFAULT_SENTIMENT_DATA:
        data = read_labelled_csv([base / folder / "train.csv"], label_column=column, task="sentiment")
        allowed = None if "neutral" in set(data.labels) else ("negative", "positive")
        sentiment.add(data.texts, data.labels, allowed)
    topic = TaskData(labels=list(DEFAULT_TOPICS), weight=ADAPTER_TOPIC_WEIGHT)
    for folder, column in DEFAULT_TOPIC_DATA:
        data = read_labelled_csv([base / folder / "train.csv"], label_column=column)
        idx = np.random.RandomState(seed).permutation(len(data))
        if folder == "bitext-support":
            idx = idx[:ADAPTER_BITEXT_ROWS]
        topic.add([data.texts[i] for i in idx], [DEFAULT_TOPIC_MAP[f"{folder}:{data.labels[i]}"] for i in idx])
    ex_texts, ex_labels = _taxonomy_rows(taxonomy)
    topic.add(ex_texts * ADAPTER_EXAMPLE_COPIES, ex_labels * ADAPTER_EXAMPLE_COPIES)
    return {"sentiment": sentiment, "topic": topic}


def train_default_adapter(
    out_dir: Path, *, base_dir: Path | str, taxonomy: Path, seed: int = 0, root: Path | None = None,
    config: AdapterConfig | None = None, threads: int = 0, progress: object = None,
) -> dict[str, object]:
    """Train the shipped LoRA adapter (multi-task sentiment + topic) into ``out_dir``."""
    cfg = config or AdapterConfig(seed=seed)
    return train_adapter(
        base_dir, default_adapter_tasks(taxonomy, root=root, seed=seed), out_dir, cfg,
        threads=threads, progress=progress,  # type: ignore[arg-type]
    )
