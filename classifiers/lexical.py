"""A lexical head (hashed word + char n-gram TF-IDF, linear softmax) and the hybrid head.

The frozen encoder sees meaning; short domain cues ("cold", "سرد", "late", brand names)
are caught better by n-grams. :class:`HybridHead` averages the two heads' probabilities:
``p = (1 - blend) * p_dense + blend * p_lexical``. Hashing (no vocabulary) keeps the
saved head small: ``<task>.lexical.npz`` holds the idf and the weights in float16.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.heads import HeadConfig, LinearHead
from feedback.errors import InvalidInput, ModelNotFound

__all__ = ["HybridHead", "LexicalHead", "calibrate", "fit_lexical", "fit_temperature", "ngram_counts"]

log = logging.getLogger(__name__)

N_FEATURES = 2**17  # per analyser: word 1-2-grams and char 2-5-grams


def _vectoriser() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.pipeline import make_union

    return make_union(
        HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=N_FEATURES, alternate_sign=False, norm=None),
        HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), n_features=N_FEATURES, alternate_sign=False, norm=None),
    )


_SHARED_VECTORISER: Any = None


def ngram_counts(texts: Sequence[str]) -> Any:
    """Hashed n-gram counts (scipy CSR) of ``texts``: the same for every lexical head, so a
    classifier with a sentiment and a topic head counts each batch once and hands the counts
    to both (:meth:`LexicalHead.features`)."""
    global _SHARED_VECTORISER
    if _SHARED_VECTORISER is None:
        _SHARED_VECTORISER = _vectoriser()
    return _SHARED_VECTORISER.transform(list(texts)).tocsr()


class LexicalHead:
    """softmax(tfidf(texts) @ coef.T + intercept) with hashed n-grams.

    >>> h = fit_lexical(["good", "great", "bad", "awful"], ["pos", "pos", "neg", "neg"], task="t")
    >>> h.predict_labels(["really great"])
    ['pos']
    """

    def __init__(self, labels: Sequence[str], *, coef: np.ndarray, intercept: np.ndarray, idf: np.ndarray) -> None:
        self.labels = list(labels)
        self.coef = coef.astype(np.float32)
        self.intercept = intercept.astype(np.float32)
        self.idf = idf.astype(np.float32)
        self._vec = _vectoriser()

    def features(self, texts: Sequence[str], counts: Any = None) -> Any:
        """Sublinear-tf × idf, L2-normalised rows (scipy CSR); ``counts`` are the texts'
        :func:`ngram_counts` when the caller already has them."""
        from sklearn.preprocessing import normalize

        raw = self._vec.transform(list(texts)).tocsr() if counts is None else counts
        tf = raw.astype(np.float32)  # a copy: the caller's counts stay as they were
        tf.data = 1.0 + np.log(tf.data)
        return normalize(tf.multiply(self.idf).tocsr())

    def predict_proba(self, texts: Sequence[str], counts: Any = None) -> np.ndarray:
        logits = np.asarray(self.features(texts, counts) @ self.coef.T) + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]

    def predict_labels(self, texts: Sequence[str]) -> list[str]:
        return [self.labels[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path, labels=np.array(self.labels), coef=self.coef.astype(np.float16),
            intercept=self.intercept, idf=self.idf.astype(np.float16),
        )

    @classmethod
    def load(cls, path: Path) -> LexicalHead:
        if not path.is_file():
            raise ModelNotFound(f"expected the lexical head file at {path}; found no such file; retrain with `feedback train`")
        with np.load(path) as arr:
            return cls([str(v) for v in arr["labels"]], coef=arr["coef"], intercept=arr["intercept"], idf=arr["idf"])


def fit_lexical(
    texts: Sequence[str], labels: Sequence[str], *, task: str, seed: int = 0, c: float = 10.0,
    sample_weight: np.ndarray | None = None,
) -> LexicalHead:
    """Fit the lexical head (balanced multinomial logistic regression) on normalised texts."""
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression

    if len(set(labels)) < 2:
        raise InvalidInput(f"expected at least 2 distinct labels to train {task!r}; found {sorted(set(labels))}")
    counts = _vectoriser().transform(list(texts))
    tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
    head = LexicalHead(sorted(set(labels)), coef=np.zeros((1, 1)), intercept=np.zeros(1), idf=tfidf.idf_)
    clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced", random_state=seed)
    clf.fit(head.features(texts), list(labels), sample_weight=sample_weight)
    coef, intercept = clf.coef_, clf.intercept_
    if len(clf.classes_) == 2:
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    head.labels, head.coef, head.intercept = [str(v) for v in clf.classes_], coef.astype(np.float32), intercept.astype(np.float32)
    return head


class HybridHead:
    """A dense head over embeddings, optionally blended with a lexical head over the texts.

    ``config.blend`` (stored in the dense head's JSON notes as ``blend=<w>``) is the lexical weight.
    """

    def __init__(
        self, dense: LinearHead, lexical: LexicalHead | None = None, *, blend: float = 0.5, temperature: float = 1.0,
    ) -> None:
        if lexical is not None and lexical.labels != dense.labels:
            raise InvalidInput(f"expected the lexical head's labels {dense.labels}; found {lexical.labels}")
        if temperature <= 0:
            raise InvalidInput(f"expected a positive calibration temperature; found {temperature}")
        self.dense = dense
        self.lexical = lexical
        self.blend = blend if lexical is not None else 0.0
        # Calibration (fitted on a dev split): p ∝ p_blend ** (1 / temperature).
        self.temperature = temperature

    @property
    def labels(self) -> list[str]:
        return self.dense.labels

    @property
    def config(self) -> HeadConfig:
        return self.dense.config

    @property
    def coef(self) -> np.ndarray:
        return self.dense.coef

    def predict_proba(self, x: np.ndarray, texts: Sequence[str], counts: Any = None) -> np.ndarray:
        """Blended class probabilities for embeddings ``x`` of the (normalised) ``texts``
        (``counts``: their :func:`ngram_counts`, computed here when not given)."""
        p = self.dense.predict_proba(x)
        if self.lexical is not None:
            p = (1.0 - self.blend) * p + self.blend * self.lexical.predict_proba(texts, counts)
        return calibrate(p, self.temperature)

    def predict_labels(self, x: np.ndarray, texts: Sequence[str]) -> list[str]:
        """The most probable label of each text."""
        return [self.labels[i] for i in self.predict_proba(x, texts).argmax(axis=1)]

    def save(self, directory: Path) -> None:
        self.dense.config.notes = json.dumps({"blend": self.blend, "temperature": self.temperature})
        self.dense.save(directory)
        lex = directory / f"{self.dense.config.task}.lexical.npz"
        if self.lexical is not None:
            self.lexical.save(lex)
        elif lex.exists():
            lex.unlink()  # a stale lexical file would be blended into a new dense head

    @classmethod
    def load(cls, directory: Path, task: str) -> HybridHead:
        """Load ``<task>.json/.npz`` and, when its config asks for a blend, ``<task>.lexical.npz``."""
        dense = LinearHead.load(directory, task)
        notes = json.loads(dense.config.notes) if dense.config.notes.startswith("{") else {}
        blend = float(notes.get("blend", 0.0))
        lexical = LexicalHead.load(directory / f"{task}.lexical.npz") if blend > 0 else None
        return cls(dense, lexical, blend=blend, temperature=float(notes.get("temperature", 1.0)))


def calibrate(p: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature scaling of probabilities: ``softmax(log p / T)``; T = 1 changes nothing.

    >>> calibrate(np.array([[0.8, 0.2]]), 2.0).round(3).tolist()
    [[0.667, 0.333]]
    """
    if temperature == 1.0:
        return p
    logits = np.log(np.maximum(p, 1e-12)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


def fit_temperature(p: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of labels ``y`` (indexes) under ``p``.

    >>> p = np.array([[0.99, 0.01], [0.99, 0.01], [0.01, 0.99], [0.99, 0.01]]); y = np.array([0, 0, 1, 1])
    >>> fit_temperature(p, y) > 1.0  # over-confident: soften
    True
    """
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        q = calibrate(p, float(np.exp(log_t)))
        return float(-np.log(np.maximum(q[np.arange(len(y)), y], 1e-12)).mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded").x))
