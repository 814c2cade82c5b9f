"""Labelled CSV files: where the datasets live, reading texts and labels, label mapping.

Label mapping. Sentiment labels of any CSV are folded onto ``negative / neutral /
positive`` by :func:`map_sentiment_label` (``neg``, ``SAD``, ``-2``, ``not_recommended`` …
→ ``negative``; see :data:`SENTIMENT_ALIASES`). Topic labels are kept as written for a
custom taxonomy, or folded onto the default taxonomy by :data:`DEFAULT_TOPIC_MAP`
(``<dataset>:<label>`` → default topic), which docs/classifiers.md documents.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from feedback.errors import ConfigError, InvalidInput
from feedback.text import normalise

__all__ = [
    "DEFAULT_TOPICS",
    "DEFAULT_TOPIC_MAP",
    "SENTIMENT_ALIASES",
    "SENTIMENTS",
    "LabelledData",
    "cached_embeddings",
    "datasets_dir",
    "map_sentiment_label",
    "read_labelled_csv",
]

log = logging.getLogger(__name__)

SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")

DEFAULT_TOPICS: tuple[str, ...] = (
    "account",
    "billing_payment",
    "delivery_shipping",
    "orders_cancellation",
    "product_quality",
    "app_bug",
    "feature_request",
    "customer_service",
    "praise",
    "other",
)

SENTIMENT_ALIASES: dict[str, str] = {
    **{k: "negative" for k in ("negative", "neg", "sad", "bad", "-1", "-2", "0_neg", "not_recommended", "very_negative")},
    **{k: "neutral" for k in ("neutral", "neu", "0", "mixed", "no_idea")},
    **{k: "positive" for k in ("positive", "pos", "happy", "good", "+1", "+2", "recommended", "very_positive")},
}

# Dataset labels → default taxonomy. Keys are "<dataset folder>:<label column value>".
DEFAULT_TOPIC_MAP: dict[str, str] = {
    # bitext-support `category`
    "bitext-support:ACCOUNT": "account",
    "bitext-support:CANCELLATION_FEE": "billing_payment",
    "bitext-support:CONTACT": "customer_service",
    "bitext-support:DELIVERY": "delivery_shipping",
    "bitext-support:FEEDBACK": "customer_service",
    "bitext-support:INVOICES": "billing_payment",
    "bitext-support:NEWSLETTER": "account",
    "bitext-support:ORDER": "orders_cancellation",
    "bitext-support:PAYMENT": "billing_payment",
    "bitext-support:REFUNDS": "billing_payment",
    "bitext-support:SHIPPING": "delivery_shipping",
    # maalej-app-reviews `topic`
    "maalej-app-reviews:bug_report": "app_bug",
    "maalej-app-reviews:feature_request": "feature_request",
    "maalej-app-reviews:rating": "praise",
    "maalej-app-reviews:user_experience": "other",
}


def datasets_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The labelled datasets folder: ``$FEEDBACK_DATASETS`` or ``../shared/datasets`` of the repo.

    >>> datasets_dir().name
    'datasets'
    """
    raw = override or os.environ.get("FEEDBACK_DATASETS")
    path = Path(raw) if raw else Path(__file__).resolve().parents[2] / "shared" / "datasets"
    if not path.is_dir():
        raise ConfigError(
            f"expected the labelled datasets folder at {path}; found nothing there; "
            "set FEEDBACK_DATASETS to the folder that holds airline-tweets/, snappfood-fa/, ..."
        )
    return path


def map_sentiment_label(raw: str) -> str:
    """Fold a dataset's sentiment label onto negative / neutral / positive.

    >>> map_sentiment_label("SAD"), map_sentiment_label("recommended"), map_sentiment_label("-2")
    ('negative', 'positive', 'negative')
    """
    key = raw.strip().lower()
    try:
        return SENTIMENT_ALIASES[key]
    except KeyError:
        raise InvalidInput(
            f"expected a sentiment label: negative/neutral/positive or an alias ({', '.join(sorted(SENTIMENT_ALIASES))}); found {raw!r}; "
            "rename it in the CSV or use --task topic for arbitrary labels"
        ) from None


@dataclass(frozen=True)
class LabelledData:
    """Normalised texts and their labels from one or more CSV files."""

    texts: list[str]
    labels: list[str]
    languages: list[str] | None = None  # the file's `lang` column, when it has one

    def __len__(self) -> int:
        return len(self.texts)


def read_labelled_csv(
    paths: Sequence[Path],
    *,
    text_column: str = "text",
    label_column: str | None = None,
    task: str = "topic",
    limit: int | None = None,
    where: Callable[[dict[str, str]], bool] | None = None,
) -> LabelledData:
    """Read texts (normalised) and labels; rows with an empty text or label are skipped and counted.

    ``where``, when given, picks the rows to read (by the raw CSV row); the others are left out
    without a count.

    ``task="sentiment"`` maps labels through :func:`map_sentiment_label`; the default label
    column is ``sentiment`` for that task and ``topic`` otherwise.

    >>> d = read_labelled_csv([datasets_dir() / "snappfood-fa" / "dev.csv"], task="sentiment", limit=3)
    >>> len(d), set(d.labels) <= {"negative", "positive"}
    (3, True)
    """
    column = label_column or ("sentiment" if task == "sentiment" else "topic")
    csv.field_size_limit(sys.maxsize)
    texts: list[str] = []
    labels: list[str] = []
    languages: list[str] = []
    skipped = 0
    for path in paths:
        if not Path(path).is_file():
            raise InvalidInput(f"expected a labelled CSV file at {path}; found no such file")
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            for col in (text_column, column):
                if col not in fields:
                    raise InvalidInput(
                        f"expected a column {col!r} in {path}; found columns {fields}; "
                        "pick them with --text-column / --label-column"
                    )
            for row in reader:
                if where is not None and not where(row):
                    continue
                text = normalise(row[text_column] or "")
                label = (row[column] or "").strip()
                if not text or not label:
                    skipped += 1
                    continue
                texts.append(text)
                labels.append(map_sentiment_label(label) if task == "sentiment" else label)
                languages.append((row.get("lang") or "").strip())
                if limit is not None and len(texts) >= limit:
                    break
    if skipped:
        log.info("skipped rows without text or label count=%d", skipped)
    if not texts:
        raise InvalidInput(f"expected labelled rows in {[str(p) for p in paths]}; found none")
    return LabelledData(texts=texts, labels=labels, languages=languages if all(languages) else None)


def cached_embeddings(encode: object, texts: Sequence[str], *, name: str, cache_dir: Path | None) -> np.ndarray:
    """``encode(texts)``, memoised in ``cache_dir`` by a hash of the encoder name and the texts.

    Used by training, evaluation and the benchmarks so that re-running them on the same
    files does not re-embed (the cache sits outside the repo, e.g. under /tmp or ``home``).

    >>> cached_embeddings(lambda t: np.ones((len(t), 2)), ["a"], name="x", cache_dir=None).shape
    (1, 2)
    """
    if cache_dir is None:
        return np.asarray(encode(list(texts)), dtype=np.float32)  # type: ignore[operator]
    digest = hashlib.sha1(name.encode())
    for t in texts:
        digest.update(t.encode("utf-8"))
        digest.update(b"\x1f")
    path = Path(cache_dir) / f"emb-{digest.hexdigest()[:20]}.npy"
    if path.exists():
        return np.load(path)
    out = np.asarray(encode(list(texts)), dtype=np.float32)  # type: ignore[operator]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, out)
    tmp.replace(path)
    return out
