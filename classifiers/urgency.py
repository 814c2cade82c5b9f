"""Urgency (low / normal / high) from a documented mix of signals, English and Persian.

Signals and their points (see docs/classifiers.md):

=================  ======  ===========================================================
signal             points  when
=================  ======  ===========================================================
legal_threat       2       lawyer, sue, court, legal action; وکیل، شکایت، دادگاه، قانونی
safety             2       injury, fire, poisoning, allergic reaction; مسمومیت، آتش، آسیب
cancellation       1       cancel my account/subscription, close my account; لغو، کنسل
urgent_wording     1       urgent, asap, immediately, emergency; فوری، فورا، همین الان
strong_negative    1       sentiment negative with score >= 0.8
low_rating         1       rating 1 (of 5)
=================  ======  ===========================================================

``high`` at 2 points or more; ``normal`` at 1 point or for any negative text; ``low``
otherwise (positive or neutral with no signal).
"""

from __future__ import annotations

import re

from feedback.schema import Label, Urgency

__all__ = ["STRONG_NEGATIVE", "urgency"]

STRONG_NEGATIVE = 0.8

_PATTERNS: dict[str, tuple[int, re.Pattern[str]]] = {
    "legal_threat": (2, re.compile(
        r"\b(lawyer|attorney|sue|suing|lawsuit|court|legal action|small claims|ombudsman|regulator|bbb|"
        r"report you to)\b|وکیل|دادگاه|شکایت|پیگرد|قانونی|دادسرا|تعزیرات",
        re.IGNORECASE,
    )),
    "safety": (2, re.compile(
        r"\b(injur\w*|hurt me|burn(ed|t)|fire|poison\w*|food poisoning|allergic|hospital|danger\w*|unsafe)\b|"
        r"مسموم|آتش|سوختگی|بیمارستان|آسیب|خطرناک|حساسیت",
        re.IGNORECASE,
    )),
    "cancellation": (1, re.compile(
        r"\bcancel\w*|\bclose my account|\bunsubscribe|\bleaving you\b|\bnever (again|use)\b|"
        r"لغو|کنسل|انصراف|حسابم.{0,12}(ببندید|حذف)|دیگه.{0,10}(نمی|هرگز)|هرگز",
        re.IGNORECASE,
    )),
    "urgent_wording": (1, re.compile(
        r"\b(urgent\w*|asap|immediately|right now|emergency|as soon as possible)\b|فوری|فورا|همین الان|اورژانس|سریعا",
        re.IGNORECASE,
    )),
}


def urgency(text: str, *, sentiment: Label, rating: int | None = None) -> tuple[Urgency, list[str]]:
    """The urgency level of a normalised text and the signals that raised it.

    >>> urgency("I will sue you, my lawyer is ready", sentiment=Label(label="negative", score=0.9))
    ('high', ['legal_threat', 'strong_negative'])
    >>> urgency("عالی بود", sentiment=Label(label="positive", score=0.95))
    ('low', [])
    """
    reasons: list[str] = []
    points = 0
    for name, (weight, pattern) in _PATTERNS.items():
        if pattern.search(text):
            reasons.append(name)
            points += weight
    if sentiment.label == "negative" and sentiment.score >= STRONG_NEGATIVE:
        reasons.append("strong_negative")
        points += 1
    if rating is not None and rating <= 1:
        reasons.append("low_rating")
        points += 1
    if points >= 2:
        return "high", reasons
    if points == 1 or sentiment.label == "negative":
        return "normal", reasons
    return "low", reasons
