"""Classifiers stage: sentiment, topic, language and urgency for English and Persian feedback.

The stream builds one classifier per process with :func:`load_classifier` and calls
``classify_batch``; the CLI uses the training and evaluation functions.
"""

from classifiers.data import (
    DEFAULT_TOPIC_MAP,
    DEFAULT_TOPICS,
    SENTIMENTS,
    LabelledData,
    datasets_dir,
    map_sentiment_label,
    read_labelled_csv,
)
from classifiers.encoder import DEFAULT_ENCODER, Encoder, load_encoder
from classifiers.evaluation import EvalReport, Metrics, evaluate, score
from classifiers.heads import HeadConfig, LinearHead, fit_centroids, fit_logistic, fit_mlp
from classifiers.lexical import HybridHead, LexicalHead, fit_lexical
from classifiers.language import detect_language, detect_languages
from classifiers.model import ARTIFACTS, FeedbackClassifier, few_shot_topic_head, load_classifier
from classifiers.taxonomy import Taxonomy, TopicSpec, load_taxonomy
from classifiers.training import train_default_heads, train_head
from classifiers.urgency import urgency

__all__ = [
    "ARTIFACTS",
    "DEFAULT_ENCODER",
    "DEFAULT_TOPICS",
    "DEFAULT_TOPIC_MAP",
    "SENTIMENTS",
    "Encoder",
    "EvalReport",
    "FeedbackClassifier",
    "HeadConfig",
    "HybridHead",
    "LexicalHead",
    "LabelledData",
    "LinearHead",
    "Metrics",
    "Taxonomy",
    "TopicSpec",
    "datasets_dir",
    "detect_language",
    "detect_languages",
    "evaluate",
    "few_shot_topic_head",
    "fit_centroids",
    "fit_lexical",
    "fit_logistic",
    "fit_mlp",
    "load_classifier",
    "load_encoder",
    "load_taxonomy",
    "map_sentiment_label",
    "read_labelled_csv",
    "score",
    "train_default_heads",
    "train_head",
    "urgency",
]
