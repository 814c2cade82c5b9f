"""Language identification with lingua; emoji-only or too-short texts are ``und``.

The detector is built once per process (lingua's models take a moment to load) and is
safe to share between threads.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

__all__ = ["MIN_LETTERS", "detect_languages", "detect_language"]

log = logging.getLogger(__name__)

# Fewer letters than this and no detector is reliable: "ok", "👍", "!!!" are `und`.
MIN_LETTERS = 3


@functools.lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    # The languages feedback arrives in, plus the close neighbours a Persian or English
    # text is confused with, so that those are not forced into fa/en.
    langs = [
        Language.ENGLISH, Language.PERSIAN, Language.ARABIC, Language.URDU, Language.TURKISH,
        Language.FRENCH, Language.GERMAN, Language.SPANISH, Language.RUSSIAN,
    ]
    return LanguageDetectorBuilder.from_languages(*langs).with_preloaded_language_models().build()


def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text``, or ``und`` when it is too short or has no letters.

    >>> detect_language("The delivery was late again"), detect_language("سفارش دیر رسید"), detect_language("👍👍")
    ('en', 'fa', 'und')
    """
    return detect_languages([text])[0]


def detect_languages(texts: Sequence[str]) -> list[str]:
    """:func:`detect_language` for each text, in order."""
    out: list[str] = []
    detector = _detector()
    for text in texts:
        if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
            out.append("und")
            continue
        lang = detector.detect_language_of(text)
        out.append(lang.iso_code_639_1.name.lower() if lang is not None else "und")
    return out
