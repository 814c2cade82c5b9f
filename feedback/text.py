"""Text normalisation shared by ingest, classification, indexing and search.

One function, :func:`normalise`, so that the text a model sees, the text Elasticsearch
indexes and the query a person types are folded the same way.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalise", "fold_digits", "ZWNJ"]

ZWNJ = "\u200c"

# Arabic code points that Persian writes with a different letter.
_LETTERS = str.maketrans(
    {
        "\u064a": "\u06cc",  # ARABIC YEH -> FARSI YEH
        "\u0649": "\u06cc",  # ALEF MAKSURA -> FARSI YEH
        "\u0643": "\u06a9",  # ARABIC KAF -> KEHEH
        "\u06c0": "\u0647\u0654",  # HEH WITH YEH ABOVE -> HEH + HAMZA ABOVE (NFC form)
        "\u0640": None,  # TATWEEL (kashida) carries no meaning
    }
)

# Persian (U+06F0..) and Arabic-Indic (U+0660..) digits -> ASCII digits.
_DIGITS = str.maketrans(
    {**{chr(0x06F0 + i): str(i) for i in range(10)}, **{chr(0x0660 + i): str(i) for i in range(10)}}
)

# Zero-width and bidi controls that are never meaningful in feedback text. ZWNJ is
# handled separately because Persian needs it inside words (می‌خواهم).
_INVISIBLE = re.compile("[\u200b\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad]")
# Control characters other than tab and newline.
_CONTROL = re.compile("[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]")
# Arabic diacritics (harakat); Persian text seldom writes them and search must ignore them.
_DIACRITICS = re.compile("[\u064b-\u0652\u0670]")
_ZWNJ_RUN = re.compile(ZWNJ + "{2,}")
# A ZWNJ belongs only between two letters; elsewhere (next to a space, at an edge) it is noise.
_ZWNJ_STRAY = re.compile(rf"(?<![^\W\d_]){ZWNJ}|{ZWNJ}(?![^\W\d_])")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")


def fold_digits(text: str) -> str:
    """Replace Persian and Arabic-Indic digits by ASCII digits.

    >>> fold_digits("۱۲۳ و ٤٥")
    '123 و 45'
    """
    return text.translate(_DIGITS)


def normalise(text: str) -> str:
    """Fold a feedback text into the one form every stage uses.

    Unicode NFC; Arabic letter variants to Persian (ي→ی, ك→ک); Persian and Arabic digits
    to ASCII; ZWNJ kept between letters and dropped elsewhere; other zero-width, bidi and
    control characters and Arabic diacritics removed; runs of spaces folded to one space,
    three or more line breaks to a paragraph break; leading and trailing space stripped.

    >>> normalise("  مي\u200c\u200cخواهم   كتاب ۳ تا  ")
    'می\u200cخواهم کتاب 3 تا'
    """
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.translate(_LETTERS).translate(_DIGITS)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    text = _DIACRITICS.sub("", text)
    text = _ZWNJ_RUN.sub(ZWNJ, text)
    text = _ZWNJ_STRAY.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n\n", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return unicodedata.normalize("NFC", text).strip()
