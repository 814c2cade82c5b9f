"""The classifier the stream uses: encoder + heads + language + urgency, loaded once.

>>> from feedback.settings import ClassifierSettings
>>> clf = load_classifier(ClassifierSettings())
>>> [c.sentiment.label for c in clf.classify_batch(["Terrible, the app keeps crashing", "عالی بود ممنون"])]
['negative', 'positive']
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifiers.adapter import has_adapter
from classifiers.data import cached_embeddings
from classifiers.encoder import Encoder, load_encoder
from classifiers.heads import LinearHead, fit_centroids
from classifiers.lexical import HybridHead, ngram_counts
from classifiers.runtime import choose_runtime
from classifiers.language import detect_languages
from classifiers.taxonomy import Taxonomy, load_taxonomy
from classifiers.urgency import urgency
from feedback.errors import ConfigError, InvalidInput
from feedback.schema import Classification, Label
from feedback.settings import ClassifierSettings
from feedback.text import normalise

__all__ = ["ARTIFACTS", "FeedbackClassifier", "few_shot_topic_head", "load_classifier"]

log = logging.getLogger(__name__)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
OTHER = "other"
MAX_TOPICS = 3  # the primary topic and up to two secondary ones


class FeedbackClassifier:
    """Sentiment, topic, language and urgency for batches of texts (thread-safe).

    Build it with :func:`load_classifier`; ``classify_batch`` normalises each text with
    :func:`feedback.text.normalise`, embeds the batch once and applies both heads.
    """

    def __init__(
        self,
        encoder: Encoder,
        *,
        sentiment: HybridHead | LinearHead,
        topic: HybridHead | LinearHead,
        topic_min_confidence: float = 0.5,
        topic_secondary_min: float = 0.2,
        topic_encoder: Encoder | None = None,
    ) -> None:
        sentiment = sentiment if isinstance(sentiment, HybridHead) else HybridHead(sentiment)
        topic = topic if isinstance(topic, HybridHead) else HybridHead(topic)
        # A few-shot topic head runs on the plain base encoder: the adapter sharpens the
        # default topics and sentiment, which blurs a custom taxonomy's nearest centroids.
        self.topic_encoder = topic_encoder or encoder
        for head, enc in ((sentiment, encoder), (topic, self.topic_encoder)):
            if head.config.encoder != enc.name:
                raise ConfigError(
                    f"expected the {head.config.task} head to be trained on encoder {enc.name!r}; "
                    f"found one trained on {head.config.encoder!r}; retrain it with `feedback train` "
                    "or set settings.classifier.encoder to the encoder it was trained on"
                )
        self.encoder = encoder
        self.sentiment: HybridHead = sentiment
        self.topic: HybridHead = topic
        self.topic_min_confidence = topic_min_confidence
        self.topic_secondary_min = topic_secondary_min
        digest = hashlib.sha1()
        for head in (sentiment, topic):
            digest.update(head.coef.tobytes())
            if head.lexical is not None:
                digest.update(head.lexical.coef.tobytes())
            digest.update(",".join(head.labels).encode())
        self._version = f"{encoder.name.split('/')[-1]}+heads-{digest.hexdigest()[:10]}"

    @property
    def runtime(self) -> str:
        """The encoder's runtime (:mod:`classifiers.runtime`): bf16, onnx-int8 or fp32."""
        return str(getattr(self.encoder, "runtime", "fp32"))

    @property
    def model_version(self) -> str:
        """Encoder name plus a hash of the head weights: changes whenever a head is retrained."""
        return self._version

    def embed(self, texts: Sequence[str], encoder: Encoder | None = None) -> np.ndarray:
        """Embeddings of already-normalised texts."""
        enc = encoder or self.encoder
        # One call: the encoder sorts the whole window by length and batches by its token budget.
        return enc.encode(list(texts)) if texts else np.zeros((0, enc.dim), dtype=np.float32)

    def classify_batch(
        self, texts: Sequence[str], *, ratings: Sequence[int | None] | None = None
    ) -> list[Classification]:
        """One :class:`Classification` per text, in order (always a list).

        ``ratings`` (1–5 or None per text) feed the urgency rules.
        """
        if ratings is not None and len(ratings) != len(texts):
            raise InvalidInput(f"expected one rating per text ({len(texts)}); found {len(ratings)} ratings")
        if not texts:
            return []
        started = time.perf_counter()
        clean = [normalise(t) for t in texts]
        x = self.embed(clean)
        # Both lexical heads hash the same n-grams: count them once per batch.
        counts = ngram_counts(clean) if self.sentiment.lexical is not None and self.topic.lexical is not None else None
        sent_p = self.sentiment.predict_proba(x, clean, counts)
        x_topic = x if self.topic_encoder is self.encoder else self.embed(clean, self.topic_encoder)
        topic_p = self.topic.predict_proba(x_topic, clean, counts)
        langs = detect_languages(clean)
        out: list[Classification] = []
        for i, text in enumerate(clean):
            s_idx = int(sent_p[i].argmax())
            # float32 softmax can round a hair above 1; Label requires 0..1.
            sentiment = Label(label=self.sentiment.labels[s_idx], score=min(1.0, float(sent_p[i, s_idx])))
            t_idx = int(topic_p[i].argmax())
            t_score = min(1.0, float(topic_p[i, t_idx]))
            t_label = self.topic.labels[t_idx] if t_score >= self.topic_min_confidence else OTHER
            ranked = [int(j) for j in np.argsort(-topic_p[i])[:MAX_TOPICS]]
            topics = [Label(label=self.topic.labels[j], score=min(1.0, float(topic_p[i, j])))
                      for j in ranked if j == t_idx or topic_p[i, j] >= self.topic_secondary_min]
            level, reasons = urgency(text, sentiment=sentiment, rating=ratings[i] if ratings else None)
            out.append(
                Classification(
                    language=langs[i],
                    sentiment=sentiment,
                    topic=Label(label=t_label, score=t_score),
                    topics=topics,
                    urgency=level,
                    urgency_reasons=reasons,
                    model_version=self._version,
                )
            )
        log.debug("classified count=%d elapsed=%.3fs", len(texts), time.perf_counter() - started)
        return out


def few_shot_topic_head(taxonomy: Taxonomy, encoder: Encoder, *, cache_dir: Path | None = None) -> LinearHead:
    """A nearest-centroid topic head from a taxonomy's descriptions and examples (no training).

    >>> from classifiers.encoder import load_encoder
    >>> head = few_shot_topic_head(load_taxonomy(ARTIFACTS / "taxonomy.yaml"), load_encoder(None))
    >>> head.labels[:2]
    ['account', 'app_bug']
    """
    texts: list[str] = []
    labels: list[str] = []
    for topic in taxonomy.topics:
        for sentence in topic.sentences():
            texts.append(normalise(sentence))
            labels.append(topic.name)
    x = cached_embeddings(encoder.encode, texts, name=encoder.cache_key, cache_dir=cache_dir)
    return fit_centroids(x, labels, task="topic", encoder=encoder.name, trained_on=["taxonomy yaml"])


def _adapter_for(settings: ClassifierSettings, model_dir: Path) -> Path | None:
    """settings.adapter, else the ``adapter/`` the heads were trained with, else the default."""
    if settings.adapter:
        return Path(settings.adapter)
    bundled = model_dir / "adapter"
    return bundled if has_adapter(bundled) else None


_CACHE: dict[str, FeedbackClassifier] = {}
_CACHE_LOCK = threading.Lock()


def load_classifier(settings: ClassifierSettings, *, home: Path | None = None) -> FeedbackClassifier:
    """The classifier for these settings, built once per process and shared (thread-safe).

    ``settings.model_dir`` holds the heads (default: the shipped ``classifiers/artifacts``);
    ``settings.encoder`` names the encoder (default: bundled multilingual-e5-small);
    ``settings.taxonomy`` switches topics to a custom YAML taxonomy: its trained head when
    ``model_dir`` has one for exactly those topics, else a few-shot head built from the YAML.
    ``home`` (``settings.services.home``) is where ONNX exports and embedding caches go.

    >>> from feedback.settings import ClassifierSettings
    >>> load_classifier(ClassifierSettings()) is load_classifier(ClassifierSettings())
    True
    """
    key = f"{settings.model_dump_json()}|{home}"
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        started = time.perf_counter()
        model_dir = Path(settings.model_dir) if settings.model_dir else ARTIFACTS
        runtime = choose_runtime(settings.requested_runtime)
        encoder = load_encoder(
            settings.encoder, max_length=settings.max_length, batch_size=settings.batch_size,
            runtime=runtime, home=home, threads=settings.threads,
            adapter=_adapter_for(settings, model_dir), token_budget=settings.token_budget,
        )
        sentiment = HybridHead.load(model_dir, "sentiment")
        topic_encoder: Encoder | None = None
        if settings.taxonomy is not None:
            taxonomy = load_taxonomy(Path(settings.taxonomy))
            topic: HybridHead | None = None
            if (model_dir / "topic.json").is_file():
                trained = HybridHead.load(model_dir, "topic")
                if sorted(trained.labels) == sorted(taxonomy.names):
                    topic = trained
            if topic is None:
                cache = Path(home) / "models" / "fewshot" if home else None
                if encoder.adapter is not None:
                    topic_encoder = load_encoder(
                        settings.encoder, max_length=settings.max_length, batch_size=settings.batch_size,
                        runtime=runtime, home=home, threads=settings.threads, use_adapter=False,
                        token_budget=settings.token_budget,
                    )
                topic = HybridHead(few_shot_topic_head(taxonomy, topic_encoder or encoder, cache_dir=cache))
        else:
            topic = HybridHead.load(model_dir, "topic")
        clf = FeedbackClassifier(
            encoder, sentiment=sentiment, topic=topic,
            topic_min_confidence=settings.topic_min_confidence, topic_secondary_min=settings.topic_secondary_min,
            topic_encoder=topic_encoder,
        )
        log.info("classifier loaded version=%s elapsed=%.2fs", clf.model_version, time.perf_counter() - started)
        _CACHE[key] = clf
        return clf
