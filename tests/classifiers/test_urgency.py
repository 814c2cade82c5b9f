"""Urgency rules in English and Persian."""

from __future__ import annotations

import pytest

from classifiers import urgency
from feedback.schema import Label
from feedback.text import normalise

NEG = Label(label="negative", score=0.95)
MILD_NEG = Label(label="negative", score=0.6)
POS = Label(label="positive", score=0.9)
NEU = Label(label="neutral", score=0.7)


@pytest.mark.parametrize(
    ("text", "sentiment", "rating", "level", "reason"),
    [
        ("I will sue you, my lawyer is ready", MILD_NEG, None, "high", "legal_threat"),
        ("اگه پولم رو برنگردونید شکایت می‌کنم و میرم دادگاه", MILD_NEG, None, "high", "legal_threat"),
        ("My kid got food poisoning from your burger", NEU, None, "high", "safety"),
        ("بعد از خوردن غذا مسموم شدم", NEU, None, "high", "safety"),
        ("Cancel my subscription, this is useless", NEG, None, "high", "cancellation"),
        ("سفارشم رو لغو کنید، افتضاح بود", NEG, None, "high", "cancellation"),
        ("please cancel my order", NEU, None, "normal", "cancellation"),
        ("لطفا فوری رسیدگی کنید", NEU, None, "normal", "urgent_wording"),
        ("the app is slow", NEU, 1, "normal", "low_rating"),
        ("the app is slow", NEG, 1, "high", "low_rating"),
    ],
)
def test_signals_raise_urgency_in_both_languages(
    text: str, sentiment: Label, rating: int | None, level: str, reason: str
) -> None:
    got_level, reasons = urgency(normalise(text), sentiment=sentiment, rating=rating)
    assert got_level == level
    assert reason in reasons


@pytest.mark.parametrize("text", ["Great service, thanks!", "عالی بود، ممنون از پیک"])
def test_happy_feedback_is_low(text: str) -> None:
    assert urgency(normalise(text), sentiment=POS, rating=5) == ("low", [])


def test_any_negative_text_is_at_least_normal() -> None:
    level, reasons = urgency("the packaging was a bit dented", sentiment=MILD_NEG)
    assert level == "normal"
    assert reasons == []


def test_strong_negative_alone_is_normal_not_high() -> None:
    assert urgency("worst experience", sentiment=NEG) == ("normal", ["strong_negative"])
