"""Personal data out of the text before it is indexed: typed placeholders, checksums first.

Kinds: ``[EMAIL]``, ``[IBAN]`` (mod-97 valid; Iranian Sheba ``IR`` + 24 digits included),
``[CARD]`` (Luhn-valid 13–19 digits, plain or in groups), ``[NATIONAL_ID]`` (Iranian
10-digit code with its check digit), ``[PHONE]`` (international ``+CC…`` / ``00CC…``,
Iranian mobiles ``09xx…`` / ``+98 9xx…`` / ``0098…``, Iranian landlines ``0xx…``, North
American ``(415) 555-0100``). Numbers that fail their checksum (order numbers, random
16-digit ids), dates and prices stay. Persian and Arabic-Indic digits are recognised in
raw text too, and a number glued to a Persian word (``کارت۶۰۳۷…``) is still found.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from feedback.text import fold_digits

__all__ = ["KINDS", "RedactionResult", "iban_valid", "iran_national_id_valid", "luhn_valid", "redact"]

KINDS: tuple[str, ...] = ("EMAIL", "IBAN", "CARD", "NATIONAL_ID", "PHONE")

# The patterns run on digit-folded text. Boundaries are ASCII letters and digits only, so
# a number written right after a Persian word still matches.
_B = r"(?<![0-9A-Za-z])"
_E = r"(?![0-9A-Za-z])"
_S = r"[ \-\u00a0]"  # one separator inside a number

_EMAIL = re.compile(r"(?<![\w.+%-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![A-Za-z])")
_IBAN = re.compile(
    rf"{_B}[A-Z]{{2}}[0-9]{{2}}(?:[A-Z0-9]{{11,30}}|(?:{_S}[A-Z0-9]{{4}}){{2,7}}(?:{_S}[A-Z0-9]{{1,4}})?){_E}",
    re.IGNORECASE,
)
_CARD = re.compile(
    rf"{_B}(?:[0-9]{{13,19}}"  # compact
    rf"|[0-9]{{4}}(?:{_S}[0-9]{{4}}){{2,3}}(?:{_S}?[0-9]{{1,3}})?"  # 4-4-4-4(-3)
    rf"|[0-9]{{4}}{_S}[0-9]{{6}}{_S}[0-9]{{4,5}}"  # Amex / Diners 4-6-5
    rf"){_E}"
)
_NATIONAL_ID = re.compile(r"(?<![0-9A-Za-z\-/.])(?:[0-9]{10}|[0-9]{3}-[0-9]{6}-[0-9])(?![0-9A-Za-z\-/.])")
_PHONE = re.compile(
    r"(?<![0-9A-Za-z+])(?:"
    rf"(?:\+|00)98{_S}?\(?0?\)?9[0-9]{{2}}{_S}?[0-9]{{3}}{_S}?[0-9]{{2}}{_S}?[0-9]{{2}}"  # +98 912 345 67 89
    rf"|09[0-9]{{2}}{_S}?[0-9]{{3}}{_S}?[0-9]{{2}}{_S}?[0-9]{{2}}"  # 0912 345 6789, 0912-345-67-89
    rf"|0[1-8][0-9]{_S}?[0-9]{{4}}{_S}?[0-9]{{4}}"  # 021 8877 6655 (landline)
    r"|(?:\+|00)[1-9][0-9]{0,2}(?:[ \-.\u00a0]?\(?[0-9]{1,4}\)?){2,5}"  # +44 20 7946 0958
    r"|\(?[2-9][0-9]{2}\)?[ \-.][0-9]{3}[ \-.][0-9]{4}"  # (415) 555-0100, 415-555-0100
    r")(?![0-9A-Za-z])"
)


def _digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", fold_digits(text))


def luhn_valid(number: str) -> bool:
    """The Luhn check of a card number (separators ignored; 13–19 digits).

    >>> luhn_valid("4111 1111 1111 1111"), luhn_valid("4111 1111 1111 1112")
    (True, False)
    """
    digits = _digits(number)
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(value: str) -> bool:
    """ISO 13616 mod-97 check; Iranian Sheba numbers must be IR + 24 digits.

    >>> iban_valid("IR06 2960 0000 0010 0324 2000 01"), iban_valid("GB82 WEST 1234 5698 7654 33")
    (True, False)
    """
    compact = fold_digits(re.sub(r"[\s\-\u00a0]", "", value)).upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", compact):
        return False
    if compact.startswith("IR") and not re.fullmatch(r"IR[0-9]{24}", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def iran_national_id_valid(value: str) -> bool:
    """The check digit of an Iranian national code (کد ملی).

    >>> iran_national_id_valid("0499370899"), iran_national_id_valid("0499370898")
    (True, False)
    """
    digits = _digits(value)
    if len(digits) != 10 or len(set(digits)) == 1:
        return False
    check = int(digits[9])
    s = sum(int(digits[i]) * (10 - i) for i in range(9)) % 11
    return check == (s if s < 2 else 11 - s)


def _phone_valid(value: str) -> bool:
    # E.164 numbers have at most 15 digits; fewer than 8 is a price or a count, not a phone.
    return 8 <= len(_digits(value)) <= 15


@dataclass(frozen=True)
class RedactionResult:
    """The redacted text and how many of each kind were replaced (kinds found only)."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)


_PASSES: tuple[tuple[re.Pattern[str], str, Callable[[str], bool] | None], ...] = (
    # Order matters: the checksum-validated long numbers before the looser phone shapes.
    (_EMAIL, "EMAIL", None),
    (_IBAN, "IBAN", iban_valid),
    (_CARD, "CARD", luhn_valid),
    (_NATIONAL_ID, "NATIONAL_ID", iran_national_id_valid),
    (_PHONE, "PHONE", _phone_valid),
)


def redact(text: str) -> RedactionResult:
    """Replace personal data by typed placeholders; ``counts`` says what was found.

    Safe on raw text (Persian digits, Arabic letter variants) and on normalised text.

    >>> r = redact("mail me at sara@example.com or call +98 912 345 6789")
    >>> r.text, r.counts
    ('mail me at [EMAIL] or call [PHONE]', {'EMAIL': 1, 'PHONE': 1})
    """
    counts: Counter[str] = Counter()
    # Patterns run on a digit-folded copy (one character for one, so spans line up) and
    # replace the same spans in the original, which keeps its own digits elsewhere.
    folded = fold_digits(text)
    for pattern, kind, valid in _PASSES:
        out: list[str] = []
        out_folded: list[str] = []
        last = 0
        for m in pattern.finditer(folded):
            if valid is not None and not valid(m.group(0)):
                continue
            counts[kind] += 1
            out += [text[last : m.start()], f"[{kind}]"]
            out_folded += [folded[last : m.start()], f"[{kind}]"]
            last = m.end()
        text = "".join([*out, text[last:]])
        folded = "".join([*out_folded, folded[last:]])
    return RedactionResult(text=text, counts=dict(counts))
