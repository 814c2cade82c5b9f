"""Scoring a model on a labelled test file, always next to a TF-IDF baseline.

The baseline is TF-IDF (word 1–2-grams + char 2–5-grams) with logistic regression,
trained on the same training data as the model in the same run: the ``--train`` files,
or — when the shipped model is scored — the ``train.csv`` beside each test file.

Label mapping: sentiment labels are folded onto negative/neutral/positive
(:func:`classifiers.data.map_sentiment_label`); when the test file has fewer classes than
the model (binary datasets have no neutral) the model's probabilities are restricted to
the test file's classes before the argmax. Topic labels of a known dataset are folded onto
the default taxonomy through :data:`classifiers.data.DEFAULT_TOPIC_MAP` when the shipped
topic head is scored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from classifiers.data import DEFAULT_TOPIC_MAP, LabelledData, cached_embeddings, read_labelled_csv
from classifiers.encoder import Encoder
from classifiers.heads import fit_logistic
from classifiers.lexical import HybridHead, fit_lexical
from feedback.errors import InvalidInput

__all__ = [
    "ClassMetrics", "EvalReport", "LanguageTopicReport", "Metrics", "RoutingMetrics", "RuntimeScore",
    "evaluate", "routing_metrics", "score", "tfidf_baseline", "topic_report",
]

log = logging.getLogger(__name__)


class ClassMetrics(BaseModel):
    model_config = ConfigDict(frozen=True)

    precision: float
    recall: float
    f1: float
    support: int


class Metrics(BaseModel):
    """Accuracy, macro-F1, per-class P/R/F1 and the confusion matrix (rows = true labels)."""

    model_config = ConfigDict(frozen=True)

    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassMetrics]
    confusion: list[list[int]]


class RuntimeScore(BaseModel):
    """The same head scored on another runtime's embeddings, against the reference (fp32)."""

    model_config = ConfigDict(frozen=True)

    metrics: Metrics
    macro_f1_loss: float  # reference macro-F1 minus this runtime's
    label_agreement: float  # share of rows where both runtimes predict the same label


class EvalReport(BaseModel):
    """What ``feedback eval --json`` prints."""

    model_config = ConfigDict(frozen=True)

    task: str
    model: Metrics
    baseline: Metrics
    n: int
    labels: list[str]
    model_version: str
    train_n: int
    runtime: str = "fp32"
    runtimes: dict[str, RuntimeScore] = {}
    languages: list["LanguageTopicReport"] = []


def score(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> Metrics:
    """Metrics of predictions against gold labels over ``labels``.

    >>> score(["a", "b", "b"], ["a", "b", "a"], ["a", "b"]).accuracy
    0.6666666666666666
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    labs = list(labels)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labs, zero_division=0)
    return Metrics(
        accuracy=float(accuracy_score(y_true, y_pred)),
        macro_f1=float(f1_score(y_true, y_pred, labels=labs, average="macro", zero_division=0)),
        per_class={
            lab: ClassMetrics(precision=float(p[i]), recall=float(r[i]), f1=float(f[i]), support=int(s[i]))
            for i, lab in enumerate(labs)
        },
        confusion=confusion_matrix(y_true, y_pred, labels=labs).tolist(),
    )


def tfidf_baseline(train: LabelledData, *, seed: int = 0) -> object:
    """The TF-IDF (word 1–2 + char 2–5) + logistic-regression baseline, fitted on ``train``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    features = make_union(
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=1, sublinear_tf=True, max_features=200_000),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, max_features=300_000),
    )
    clf = make_pipeline(features, LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced", random_state=seed))
    clf.fit(train.texts, train.labels)
    return clf


def _restrict(head: HybridHead, x: np.ndarray, texts: Sequence[str], labels: Sequence[str]) -> list[str]:
    proba = head.predict_proba(x, texts)
    keep = [i for i, lab in enumerate(head.labels) if lab in set(labels)]
    if not keep:
        raise InvalidInput(
            f"expected test labels among the model's labels {head.labels}; found {sorted(set(labels))}; "
            "pass --train TRAIN.csv to fit the task on your labels first"
        )
    sub = proba[:, keep]
    return [head.labels[keep[j]] for j in sub.argmax(axis=1)]


def _fold_topics(data: LabelledData, paths: Sequence[Path], head_labels: Sequence[str]) -> LabelledData:
    if set(data.labels) <= set(head_labels):
        return data
    folder = Path(paths[0]).resolve().parent.name
    try:
        return LabelledData(texts=data.texts, labels=[DEFAULT_TOPIC_MAP[f"{folder}:{lab}"] for lab in data.labels])
    except KeyError as e:
        raise InvalidInput(
            f"expected topic labels of the model ({list(head_labels)}) or of a mapped dataset; found {e.args[0]!r}; "
            "pass --train TRAIN.csv to fit a head on your own labels"
        ) from None


def evaluate(
    task: str,
    test_paths: Sequence[Path],
    *,
    encoder: Encoder,
    head: HybridHead | None = None,
    train_paths: Sequence[Path] | None = None,
    text_column: str = "text",
    label_column: str | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
    model_version: str = "",
    lexical: bool | None = None,
    other_runtimes: dict[str, Encoder] | None = None,
    routing: tuple[dict[str, str], str, float] | None = None,
) -> EvalReport:
    """Score the model (``head``, or one fitted on ``train_paths``) and the baseline on the test files.

    With ``train_paths`` both the model head and the baseline are fitted on them; without,
    ``head`` is scored and the baseline is fitted on the ``train.csv`` beside each test file.
    ``other_runtimes`` (name → the same weights in another runtime) score the same head on
    their embeddings: the macro-F1 each loses against ``encoder`` and how often its labels agree.
    ``routing`` (topic → department, the triage department, the confidence threshold) adds,
    for topic files with a ``lang`` column, per-language metrics and routing precision/coverage.
    """
    kw = {"text_column": text_column, "label_column": label_column, "task": task}
    test = read_labelled_csv(test_paths, **kw)  # type: ignore[arg-type]
    if train_paths:
        train = read_labelled_csv(train_paths, **kw)  # type: ignore[arg-type]
        x_train = cached_embeddings(encoder.encode, train.texts, name=encoder.cache_key, cache_dir=cache_dir)
        dense = fit_logistic(x_train, train.labels, task=task, encoder=encoder.name, seed=seed)
        use_lexical = task == "sentiment" if lexical is None else lexical  # as in train_head
        lex = fit_lexical(train.texts, train.labels, task=task, seed=seed) if use_lexical else None
        head = HybridHead(dense, lex)
    else:
        if head is None:
            raise InvalidInput("expected a trained head or --train files to evaluate; found neither")
        siblings = [Path(p).resolve().parent / "train.csv" for p in test_paths]
        missing = [str(p) for p in siblings if not p.is_file()]
        if missing:
            raise InvalidInput(
                f"expected the baseline's training data at {missing}; found no such file; pass --train TRAIN.csv"
            )
        train = read_labelled_csv(siblings, **kw)  # type: ignore[arg-type]
        if task == "topic":
            test = _fold_topics(test, test_paths, head.labels)
            train = _fold_topics(train, siblings, head.labels)
    labels = sorted(set(test.labels))
    x_test = cached_embeddings(encoder.encode, test.texts, name=encoder.cache_key, cache_dir=cache_dir)
    model_pred = _restrict(head, x_test, test.texts, labels)
    model_metrics = score(test.labels, model_pred, labels)
    runtimes: dict[str, RuntimeScore] = {}
    for name, other in (other_runtimes or {}).items():
        x_other = cached_embeddings(other.encode, test.texts, name=other.cache_key, cache_dir=cache_dir)
        pred = _restrict(head, x_other, test.texts, labels)
        m = score(test.labels, pred, labels)
        runtimes[name] = RuntimeScore(metrics=m, macro_f1_loss=model_metrics.macro_f1 - m.macro_f1,
                                      label_agreement=float(np.mean([a == b for a, b in zip(pred, model_pred)])))
    languages: list[LanguageTopicReport] = []
    if routing is not None and task == "topic" and test.languages is not None and set(head.labels) <= set(routing[0]):
        departments, triage, threshold = routing
        languages = topic_report(head, x_test, test.texts, test.labels, test.languages,
                                 departments=departments, triage=triage, threshold=threshold)
    baseline = tfidf_baseline(train, seed=seed)
    base_pred = [str(v) for v in baseline.predict(test.texts)]  # type: ignore[attr-defined]
    report = EvalReport(
        task=task,
        model=model_metrics,
        baseline=score(test.labels, base_pred, labels),
        n=len(test),
        labels=labels,
        model_version=model_version or f"{encoder.name}+{head.config.kind}",
        train_n=len(train),
        runtime=str(getattr(encoder, "runtime", "fp32")),
        runtimes=runtimes,
        languages=languages,
    )
    log.info("eval task=%s n=%d model_f1=%.4f baseline_f1=%.4f", task, report.n, report.model.macro_f1, report.baseline.macro_f1)
    return report


class RoutingMetrics(BaseModel):
    """Routing by topic at a confidence threshold: how many go to a department, how many rightly."""

    model_config = ConfigDict(frozen=True)

    threshold: float
    coverage: float  # share routed to a department (not to triage)
    precision: float  # share of those routes whose department is the gold topic's department
    routed: int
    n: int


class LanguageTopicReport(BaseModel):
    """Topic metrics of one language: accuracy, macro-F1, confusion, routing."""

    model_config = ConfigDict(frozen=True)

    language: str
    n: int
    metrics: Metrics
    routing: RoutingMetrics
    routing_curve: list[RoutingMetrics]


def routing_metrics(
    gold: Sequence[str], pred: Sequence[str], scores: np.ndarray, *, departments: dict[str, str],
    triage: str, threshold: float,
) -> RoutingMetrics:
    """Coverage and precision of topic routing: a prediction below ``threshold`` (or ``other``)
    goes to ``triage``; a route is right when it names the gold topic's department.

    >>> m = routing_metrics(["a", "b", "other"], ["a", "a", "a"], np.array([0.9, 0.4, 0.8]),
    ...                     departments={"a": "A", "b": "B", "other": "T"}, triage="T", threshold=0.5)
    >>> m.coverage, m.precision
    (0.6666666666666666, 0.5)
    """
    routed = right = 0
    for g, p, s in zip(gold, pred, scores):
        dept = departments.get(p, triage) if s >= threshold else triage
        if dept == triage:
            continue
        routed += 1
        right += dept == departments.get(g, triage)
    n = len(gold)
    return RoutingMetrics(threshold=threshold, coverage=routed / n if n else 0.0,
                          precision=right / routed if routed else 1.0, routed=routed, n=n)


def topic_report(
    head: HybridHead, x: np.ndarray, texts: Sequence[str], gold: Sequence[str], languages: Sequence[str], *,
    departments: dict[str, str], triage: str, threshold: float,
) -> list[LanguageTopicReport]:
    """Per-language topic accuracy, macro-F1, confusion matrix and routing precision/coverage
    (at ``threshold`` and along a curve of thresholds), for embeddings ``x`` of ``texts``."""
    proba = head.predict_proba(x, texts)
    pred = [head.labels[i] for i in proba.argmax(axis=1)]
    scores = proba.max(axis=1)
    out = []
    for lang in sorted(set(languages)):
        idx = [i for i, v in enumerate(languages) if v == lang]
        g, p, s = [gold[i] for i in idx], [pred[i] for i in idx], scores[idx]
        kw = {"departments": departments, "triage": triage}
        out.append(LanguageTopicReport(
            # macro-F1 over the topics that occur in this language's gold labels
            language=lang, n=len(idx), metrics=score(g, p, sorted(set(g))),
            routing=routing_metrics(g, p, s, threshold=threshold, **kw),
            routing_curve=[routing_metrics(g, p, s, threshold=t / 20, **kw) for t in range(0, 20)],
        ))
    return out


EvalReport.model_rebuild()
