"""Classification heads over sentence embeddings: fit, save, load, predict.

A head is a linear layer plus softmax (``coef``, ``intercept``, ``labels``), stored as a
small ``<task>.npz`` next to a ``<task>.json`` config (:class:`HeadConfig`) — no pickles.
Two ways to fit one:

* :func:`fit_logistic`: multinomial logistic regression on labelled embeddings (seeded,
  deterministic: lbfgs on a fixed data order);
* :func:`fit_centroids`: few-shot nearest-centroid (one unit-norm centroid per label,
  cosine similarity scaled by a temperature), for custom taxonomies without training.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from feedback.errors import InvalidInput, ModelNotFound

__all__ = ["HeadConfig", "LinearHead", "fit_centroids", "fit_logistic", "fit_mlp"]

log = logging.getLogger(__name__)


class HeadConfig(BaseModel):
    """What a saved head is: its task, labels, encoder and provenance."""

    model_config = ConfigDict(extra="forbid")

    task: str
    labels: list[str] = Field(min_length=2)
    encoder: str
    kind: str = Field(description="logistic | centroid | mlp")
    trained_on: list[str] = Field(default_factory=list)
    seed: int = 0
    n_train: int = 0
    notes: str = ""


class LinearHead:
    """softmax(X @ coef.T + intercept) over ``config.labels``.

    >>> h = LinearHead(HeadConfig(task="t", labels=["a", "b"], encoder="e", kind="logistic"),
    ...                coef=np.array([[1.0, 0.0], [0.0, 1.0]]), intercept=np.zeros(2))
    >>> h.predict_labels(np.array([[0.9, 0.1]]))
    ['a']
    """

    def __init__(
        self, config: HeadConfig, *, coef: np.ndarray, intercept: np.ndarray,
        hidden_w: np.ndarray | None = None, hidden_b: np.ndarray | None = None, scale: float = 1.0,
    ) -> None:
        if coef.shape[0] != len(config.labels) or intercept.shape != (len(config.labels),):
            raise InvalidInput(
                f"expected a head with {len(config.labels)} rows for labels {config.labels}; "
                f"found coef {coef.shape} and intercept {intercept.shape}"
            )
        self.config = config
        self.coef = coef.astype(np.float32)
        self.intercept = intercept.astype(np.float32)
        # Optional hidden ReLU layer (kind="mlp"): relu(scale * x @ hidden_w + hidden_b).
        self.hidden_w = None if hidden_w is None else hidden_w.astype(np.float32)
        self.hidden_b = None if hidden_b is None else hidden_b.astype(np.float32)
        self.scale = float(scale)

    @property
    def labels(self) -> list[str]:
        return list(self.config.labels)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n, len(labels)), rows sum to 1."""
        if self.hidden_w is not None and self.hidden_b is not None:
            x = np.maximum((self.scale * x) @ self.hidden_w + self.hidden_b, 0.0)
        logits = x @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]

    def predict_labels(self, x: np.ndarray) -> list[str]:
        """The most probable label of each row."""
        return [self.config.labels[i] for i in self.predict_proba(x).argmax(axis=1)]

    def save(self, directory: Path) -> Path:
        """Write ``<task>.npz`` and ``<task>.json`` into ``directory``; returns the json path."""
        directory.mkdir(parents=True, exist_ok=True)
        extra = {} if self.hidden_w is None else {
            "hidden_w": self.hidden_w.astype(np.float16), "hidden_b": self.hidden_b, "scale": np.array(self.scale)
        }
        np.savez_compressed(directory / f"{self.config.task}.npz", coef=self.coef, intercept=self.intercept, **extra)
        path = directory / f"{self.config.task}.json"
        path.write_text(self.config.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: Path, task: str) -> LinearHead:
        """Read a head saved by :meth:`save`; a missing file is an error naming its path."""
        meta, weights = directory / f"{task}.json", directory / f"{task}.npz"
        for path in (meta, weights):
            if not path.is_file():
                raise ModelNotFound(
                    f"expected the {task} head file at {path}; found no such file; "
                    f"train it with `feedback train --task {task} --data CSV --out {directory}` "
                    "or unset settings.classifier.model_dir for the shipped artifacts"
                )
        config = HeadConfig.model_validate(json.loads(meta.read_text(encoding="utf-8")))
        with np.load(weights) as arr:
            if "hidden_w" in arr.files:
                return cls(config, coef=arr["coef"], intercept=arr["intercept"], hidden_w=arr["hidden_w"],
                           hidden_b=arr["hidden_b"], scale=float(arr["scale"]))
            return cls(config, coef=arr["coef"], intercept=arr["intercept"])


def _distinct_labels(labels: Sequence[str], task: str) -> list[str]:
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise InvalidInput(f"expected at least 2 distinct labels to train {task!r}; found {classes}")
    return classes


def _softmax_form(coef: np.ndarray, intercept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sklearn keeps one output row for binary problems: sigmoid(z) == softmax([-z/2, z/2])."""
    if coef.shape[0] != 1:
        return coef, intercept
    return np.vstack([-coef[0] / 2, coef[0] / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])


def fit_logistic(
    x: np.ndarray, labels: Sequence[str], *, task: str, encoder: str, seed: int = 0,
    c: float = 4.0, trained_on: Sequence[str] = (), sample_weight: np.ndarray | None = None,
) -> LinearHead:
    """Multinomial logistic regression (balanced class weights) on embeddings.

    >>> rng = np.random.default_rng(0); x = rng.normal(size=(40, 4)); y = ["a" if v > 0 else "b" for v in x[:, 0]]
    >>> fit_logistic(x, y, task="t", encoder="e").predict_labels(np.array([[3.0, 0, 0, 0]]))
    ['a']
    """
    from sklearn.linear_model import LogisticRegression

    classes = _distinct_labels(labels, task)
    clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced", random_state=seed)
    clf.fit(x, list(labels), sample_weight=sample_weight)
    coef, intercept = _softmax_form(clf.coef_, clf.intercept_)
    config = HeadConfig(
        task=task, labels=[str(c_) for c_ in clf.classes_], encoder=encoder, kind="logistic",
        trained_on=list(trained_on), seed=seed, n_train=len(labels),
    )
    log.info("trained head task=%s n=%d labels=%d", task, len(labels), len(classes))
    return LinearHead(config, coef=coef, intercept=intercept)


def fit_mlp(
    x: np.ndarray, labels: Sequence[str], *, task: str, encoder: str, seed: int = 0, hidden: int = 512,
    alpha: float = 1e-3, scale: float = 5.0, trained_on: Sequence[str] = (),
) -> LinearHead:
    """One hidden ReLU layer (sklearn MLP, Adam, early stopping on a seeded 10 % split).

    Used for the shipped sentiment head: one head over four datasets whose label
    conventions differ needs a non-linear boundary (dev macro-F1 +0.01 to +0.04 over the
    joint logistic head). ``scale`` widens the unit-norm embeddings for Adam.

    >>> rng = np.random.default_rng(0); x = rng.normal(size=(60, 4)); y = ["a" if v > 0 else "b" for v in x[:, 0]]
    >>> fit_mlp(x, y, task="t", encoder="e", hidden=8).predict_labels(np.array([[3.0, 0, 0, 0]]))
    ['a']
    """
    from sklearn.neural_network import MLPClassifier

    classes = _distinct_labels(labels, task)
    clf = MLPClassifier(hidden_layer_sizes=(hidden,), alpha=alpha, early_stopping=True, random_state=seed, max_iter=100)
    clf.fit(x * scale, list(labels))
    w1, w2 = clf.coefs_
    b1, b2 = clf.intercepts_
    coef, intercept = _softmax_form(w2.T, b2)
    config = HeadConfig(
        task=task, labels=[str(c_) for c_ in clf.classes_], encoder=encoder, kind="mlp",
        trained_on=list(trained_on), seed=seed, n_train=len(labels),
    )
    log.info("trained mlp head task=%s n=%d labels=%d", task, len(labels), len(classes))
    return LinearHead(config, coef=coef, intercept=intercept, hidden_w=w1, hidden_b=b1, scale=scale)


def fit_centroids(
    x: np.ndarray, labels: Sequence[str], *, task: str, encoder: str, temperature: float = 0.02,
    trained_on: Sequence[str] = (),
) -> LinearHead:
    """Few-shot nearest centroid: cosine to each label's mean embedding, softmax at ``temperature``.

    >>> x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]); y = ["a", "a", "b"]
    >>> fit_centroids(x, y, task="t", encoder="e").predict_labels(np.array([[0.2, 0.8]]))
    ['b']
    """
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise InvalidInput(f"expected at least 2 topics with examples for {task!r}; found {classes}")
    arr = np.asarray(labels)
    cents = np.stack([x[arr == c].mean(axis=0) for c in classes])
    cents /= np.maximum(np.linalg.norm(cents, axis=1, keepdims=True), 1e-12)
    config = HeadConfig(
        task=task, labels=classes, encoder=encoder, kind="centroid", trained_on=list(trained_on),
        n_train=len(labels), notes=f"temperature={temperature}",
    )
    return LinearHead(config, coef=cents / temperature, intercept=np.zeros(len(classes)))
