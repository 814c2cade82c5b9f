"""Language identification with lingua; short or emoji-only texts are `und`."""

from __future__ import annotations

import pytest

from classifiers import detect_language, detect_languages
from feedback.text import normalise


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The delivery was late again and nobody answered the phone", "en"),
        ("سفارش دیر رسید و غذا کاملاً سرد بود", "fa"),
        (normalise("كيفيت غذا خيلي بد بود"), "fa"),
        ("👍👍🔥", "und"),
        ("ok", "und"),
        ("!!! ???", "und"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_batch_keeps_order() -> None:
    assert detect_languages(["غذا عالی بود ممنون", "great food, thank you", "🙂"]) == ["fa", "en", "und"]
