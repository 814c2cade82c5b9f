"""The shipped topic model routes real English and Persian messages (offline, shipped artifacts)."""

from __future__ import annotations

from classifiers import FeedbackClassifier
from classifiers.data import read_labelled_csv
from classifiers.evaluation import topic_report
from classifiers.training import TOPIC_ANNOTATIONS
from stream.routing import load_routing

# One or two messages per topic and language, in the style of real feedback (the first
# Persian ones are the labelling guide's own examples). A model that sends complaints about
# the goods to feature_request or other, praise to other, or delays to app_bug fails here.
CASES = [
    ("I can't log in to my account, the password reset link never arrives", "account"),
    ("How do I unsubscribe from your newsletter emails?", "account"),
    ("I was charged twice for the same order and still have no refund", "billing_payment"),
    ("Why is there a $25 fee on my statement? I never agreed to it", "billing_payment"),
    ("My package still hasn't arrived after three weeks, where is it?", "delivery_shipping"),
    ("@united flight delayed 4 hours and nobody at the gate tells us anything", "delivery_shipping"),
    ("I want to cancel my order, I placed it by mistake", "orders_cancellation"),
    ("@AmericanAir my flight was cancelled, how do I rebook for tomorrow?", "orders_cancellation"),
    ("The app crashes every time I try to upload a photo", "app_bug"),
    ("Since the last update the app won't open on my phone", "app_bug"),
    ("Please add a dark mode and let me export my notes as PDF", "feature_request"),
    ("I waited on hold for two hours and the agent hung up on me", "customer_service"),
    ("Love this app, it's perfect, thank you!", "praise"),
    ("@JetBlue thanks for a great flight, the crew was wonderful", "praise"),
    ("غذا خیلی دیر رسید و کاملا سرد بود", "delivery_shipping"),
    ("پیک آدرس رو پیدا نکرد و یک ساعت منتظر موندم", "delivery_shipping"),
    ("کیفیت پارچه خیلی پایین بود، بعد از یک بار شستن خراب شد", "product_quality"),
    ("کیفیت پیتزا خیلی پایین بود، خمیرش خام بود و پنیرش کم", "product_quality"),
    ("خیلی خوشمزه بود، ممنون", "praise"),
    ("عالی بود، حتما دوباره سفارش میدم", "praise"),
    ("لطفا امکان پرداخت در محل هم اضافه کنید", "feature_request"),
    ("یکی از نوشابه‌ها رو نفرستاده بودن و سفارش ناقص بود", "orders_cancellation"),
    ("قیمتش خیلی گرونه، ارزش این پول رو نداره", "billing_payment"),
    ("پول از حسابم کم شد ولی کیف پولم شارژ نشد", "billing_payment"),
    ("نمی‌تونم وارد حساب کاربریم بشم، رمز عبور رو فراموش کردم", "account"),
    ("برنامه بعد از آپدیت مدام بسته میشه و نمیشه سفارش داد", "app_bug"),
    ("با پشتیبانی تماس گرفتم ولی هیچ کس جواب نداد و برخوردشون بد بود", "customer_service"),
]

# Dev split of the annotated topic data (classifiers/topic_annotations/dev.csv), shipped
# artifacts: a floor a few points under what the shipped model measures (docs/classifiers.md).
# Measured with the model trained on rounds 1-5, on the dev split after round 7 (bf16, 522 en /
# 896 fa dev rows): en accuracy 0.851, macro-F1 0.812, routing precision 0.887 at coverage 0.885;
# fa 0.788, 0.705, 0.849 at 0.800 (threshold 0.5; rounds 6-7 added 100 Persian dev rows the model
# was unsure about, which it rightly sends to triage more often). Persian macro-F1 averages 8
# topics, one of them customer_service with 4 dev rows (losing one takes ~0.03 off the
# average), hence its wider margin.
FLOORS = {
    "en": {"accuracy": 0.82, "macro_f1": 0.77, "precision": 0.85, "coverage": 0.85},
    "fa": {"accuracy": 0.76, "macro_f1": 0.62, "precision": 0.82, "coverage": 0.77},
}


def test_every_topic_in_both_languages(classifier: FeedbackClassifier) -> None:
    results = classifier.classify_batch([text for text, _ in CASES])
    wrong = [(text, want, got.topics[0].label) for (text, want), got in zip(CASES, results) if got.topics[0].label != want]
    assert not wrong, wrong


def test_dev_split_floor_per_language(classifier: FeedbackClassifier) -> None:
    dev = read_labelled_csv([TOPIC_ANNOTATIONS / "dev.csv"], label_column="topic")
    assert dev.languages is not None
    routing = load_routing(None)
    reports = topic_report(
        classifier.topic, classifier.embed(dev.texts), dev.texts, dev.labels, dev.languages,
        departments=dict(routing.topics), triage=routing.default_department, threshold=classifier.topic_min_confidence,
    )
    for r in reports:
        floor = FLOORS[r.language]
        assert r.metrics.accuracy >= floor["accuracy"], r.language
        assert r.metrics.macro_f1 >= floor["macro_f1"], r.language
        assert r.routing.precision >= floor["precision"], r.language
        assert r.routing.coverage >= floor["coverage"], r.language


def test_secondary_topics_are_kept_with_scores(classifier: FeedbackClassifier) -> None:
    [late_and_cold] = classifier.classify_batch(["غذا خیلی دیر رسید و کاملا سرد بود و طعمش هم بد بود"])
    labels = [t.label for t in late_and_cold.topics]
    assert labels[0] == late_and_cold.topic.label or late_and_cold.topic.label == "other"
    assert 1 <= len(labels) <= 3 and len(set(labels)) == len(labels)
    scores = [t.score for t in late_and_cold.topics]
    assert scores == sorted(scores, reverse=True)
    assert all(s >= classifier.topic_secondary_min for s in scores[1:])
