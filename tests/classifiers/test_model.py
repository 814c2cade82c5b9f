"""The shipped classifier on real English and Persian sentences (offline)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from classifiers import ARTIFACTS, FeedbackClassifier, LinearHead, load_classifier
from classifiers.encoder import Encoder
from feedback.errors import ConfigError, InvalidInput, ModelNotFound
from feedback.protocols import Classifier
from feedback.schema import Classification
from feedback.settings import ClassifierSettings

CASES = [
    # text, sentiment, topic, language
    ("The app crashes every time I try to upload a photo, please fix it", "negative", "app_bug", "en"),
    ("I was charged twice for my order and still have no refund", "negative", "billing_payment", "en"),
    ("My package hasn't arrived after three weeks, where is it?", "negative", "delivery_shipping", "en"),
    ("Thank you so much, the crew was wonderful and the flight was great!", "positive", None, "en"),
    ("غذا خیلی سرد و بی‌کیفیت بود و پیک یک ساعت دیر رسید", "negative", None, "fa"),
    ("خیلی خوشمزه بود، ممنون از رستوران عالی", "positive", None, "fa"),
    ("برنامه بعد از آپدیت مدام بسته میشه و نمی‌تونم پرداخت کنم", "negative", "app_bug", "fa"),
    ("I can't log in to my account, the password reset link doesn't work", "negative", "account", "en"),
]


def test_satisfies_the_stream_protocol(classifier: FeedbackClassifier) -> None:
    assert isinstance(classifier, Classifier)
    assert classifier.model_version.startswith("multilingual-e5-small+lora-")
    assert "+heads-" in classifier.model_version


def test_classify_batch_on_real_sentences(classifier: FeedbackClassifier) -> None:
    results = classifier.classify_batch([c[0] for c in CASES])
    assert len(results) == len(CASES)
    for (text, sentiment, topic, language), got in zip(CASES, results):
        assert isinstance(got, Classification)
        assert got.sentiment.label == sentiment, text
        assert got.language == language, text
        if topic is not None:
            assert got.topic.label == topic, text
        # clear cases: the winning class holds most of the probability (a flat or broken head does not)
        assert got.sentiment.score > 0.6, text


def test_urgency_and_language_edge_cases(classifier: FeedbackClassifier) -> None:
    out = classifier.classify_batch(
        ["If you don't refund me today I'm calling my lawyer and suing you", "👍👍", "عالی بود ممنون"],
        ratings=[1, None, 5],
    )
    assert out[0].urgency == "high" and "legal_threat" in out[0].urgency_reasons
    assert out[1].language == "und"
    assert out[2].urgency == "low"


class _Recording:
    """Wraps the real encoder and keeps the texts it was given."""

    def __init__(self, inner: Encoder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        return self.inner.encode(texts)


def test_persian_is_normalised_before_tokenisation(classifier: FeedbackClassifier) -> None:
    spy = _Recording(classifier.encoder)
    clf = FeedbackClassifier(spy, sentiment=classifier.sentiment, topic=classifier.topic)
    arabic_form = "كيفيت  غذا عالي بود \u200c\u200c ۵ از ۵"  # Arabic kaf/yeh, Persian digits, stray ZWNJ
    persian_form = "کیفیت غذا عالی بود 5 از 5"
    a, b = clf.classify_batch([arabic_form, persian_form])
    assert spy.seen == [persian_form, persian_form]
    assert a.sentiment == b.sentiment and a.topic == b.topic


def test_low_confidence_topic_becomes_other(classifier: FeedbackClassifier) -> None:
    strict = FeedbackClassifier(
        classifier.encoder, sentiment=classifier.sentiment, topic=classifier.topic, topic_min_confidence=1.0
    )
    (got,) = strict.classify_batch(["I was charged twice for my order"])
    assert got.topic.label == "other"


def test_thread_safe_and_in_order(classifier: FeedbackClassifier) -> None:
    texts = [c[0] for c in CASES]
    expected = [r.sentiment.label for r in classifier.classify_batch(texts)]
    results: dict[int, list[str]] = {}

    def work(i: int) -> None:
        results[i] = [r.sentiment.label for r in classifier.classify_batch(texts[i:] + texts[:i])]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, labels in results.items():
        assert labels == expected[i:] + expected[:i]


def test_load_once_and_errors(tmp_path: Path) -> None:
    settings = ClassifierSettings()
    assert load_classifier(settings) is load_classifier(settings)
    with pytest.raises(ModelNotFound, match=str(tmp_path / "sentiment.json")):
        load_classifier(ClassifierSettings(model_dir=tmp_path))
    with pytest.raises(InvalidInput, match="one rating per text"):
        load_classifier(settings).classify_batch(["a", "b"], ratings=[1])
    assert load_classifier(settings).classify_batch([]) == []


def test_head_trained_on_another_encoder_is_refused(classifier: FeedbackClassifier) -> None:
    head = LinearHead.load(ARTIFACTS, "sentiment")
    alien = LinearHead(head.config.model_copy(update={"encoder": "some/other-model"}), coef=head.coef, intercept=head.intercept)
    with pytest.raises(ConfigError, match="some/other-model"):
        FeedbackClassifier(classifier.encoder, sentiment=alien, topic=classifier.topic)


def test_both_lexical_heads_score_from_one_ngram_count(classifier: FeedbackClassifier) -> None:
    # classify_batch counts the n-grams once and hands them to both heads: each head must give
    # exactly what it gives when it counts the texts itself, and the shared counts stay untouched.
    from classifiers.lexical import ngram_counts

    texts = ["the courier was two hours late", "غذا سرد بود و دیر رسید", "please add dark mode", "I was charged twice"]
    counts = ngram_counts(texts)
    before = counts.copy()
    for head in (classifier.sentiment.lexical, classifier.topic.lexical):
        assert head is not None
        np.testing.assert_array_equal(head.predict_proba(texts, counts), head.predict_proba(texts))
    assert (counts != before).nnz == 0
