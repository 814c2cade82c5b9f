"""Redaction: every kind of personal data in English and Persian text; look-alikes stay."""

from __future__ import annotations

import pytest

from feedback.text import normalise
from stream.redact import iban_valid, iran_national_id_valid, luhn_valid, redact

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def fa_digits(text: str) -> str:
    return text.translate(PERSIAN_DIGITS)


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("Contact me at sara.k+orders@mail.example.co.uk please",
         "Contact me at [EMAIL] please", "EMAIL"),
        ("Refund to card 6037 9917 5432 1804 asap", "Refund to card [CARD] asap", "CARD"),
        ("my card is 4111-1111-1111-1111.", "my card is [CARD].", "CARD"),
        ("Amex 3782 822463 10005 was charged", "Amex [CARD] was charged", "CARD"),
        ("Send it to IBAN DE89 3704 0044 0532 0130 00 and tell me",
         "Send it to IBAN [IBAN] and tell me", "IBAN"),
        ("sheba IR050170000000123456789012 for order 12", "sheba [IBAN] for order 12", "IBAN"),
        ("national id 0088123456 was rejected", "national id [NATIONAL_ID] was rejected", "NATIONAL_ID"),
        ("call me on +1 (415) 555-0100 today", "call me on [PHONE] today", "PHONE"),
        ("UK office: +44 20 7946 0958.", "UK office: [PHONE].", "PHONE"),
        ("mobile 0912 345 6789 or +98 912 345 6789", "mobile [PHONE] or [PHONE]", "PHONE"),
        ("landline 021-8877-6655", "landline [PHONE]", "PHONE"),
    ],
)
def test_each_kind_is_replaced_in_english_text(text: str, expected: str, kind: str) -> None:
    result = redact(text)
    assert result.text == expected
    assert result.counts.get(kind, 0) >= 1


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("ایمیل من ali.rezaei@example.ir است", "ایمیل من [EMAIL] است", "EMAIL"),
        (f"شماره کارتم {fa_digits('6037-9917-5432-1804')} هست", "شماره کارتم [CARD] هست", "CARD"),
        (f"کارت{fa_digits('6219861234567898')} را مسدود کنید", "کارت[CARD] را مسدود کنید", "CARD"),
        ("شبا: IR70 0560 0000 0098 7654 3210 01 لطفا واریز کنید", "شبا: [IBAN] لطفا واریز کنید", "IBAN"),
        (f"شماره شبا {fa_digits('IR050170000000123456789012')}", "شماره شبا [IBAN]", "IBAN"),
        (f"کد ملی من {fa_digits('4389672134')} است", "کد ملی من [NATIONAL_ID] است", "NATIONAL_ID"),
        (f"کد ملی: {fa_digits('438-967213-4')}", "کد ملی: [NATIONAL_ID]", "NATIONAL_ID"),
        (f"با شماره {fa_digits('09123456789')} تماس بگیرید", "با شماره [PHONE] تماس بگیرید", "PHONE"),
        (f"موبایلم {fa_digits('+98 935 111 22 33')} است", "موبایلم [PHONE] است", "PHONE"),
        (f"تلفن {fa_digits('0098-912-345-6789')}", "تلفن [PHONE]", "PHONE"),
    ],
)
def test_each_kind_is_replaced_in_persian_text_with_persian_digits(text: str, expected: str, kind: str) -> None:
    result = redact(text)
    assert result.text == expected
    assert result.counts == {kind: 1}


def test_redaction_gives_the_same_result_on_raw_and_normalised_persian_text() -> None:
    raw = f"سلام، كارت {fa_digits('6037991754321804')} و موبايل {fa_digits('09123456789')} من"
    assert redact(normalise(raw)).text == normalise(redact(raw).text)
    assert redact(raw).counts == {"CARD": 1, "PHONE": 1}


def test_counts_add_up_over_several_items_of_several_kinds() -> None:
    text = "a@b.com, c@d.org, 4111 1111 1111 1111, 0088123456, +98 912 345 6789"
    result = redact(text)
    assert result.counts == {"EMAIL": 2, "CARD": 1, "NATIONAL_ID": 1, "PHONE": 1}
    assert result.text == "[EMAIL], [EMAIL], [CARD], [NATIONAL_ID], [PHONE]"


@pytest.mark.parametrize(
    "text",
    [
        "tracking 4111 1111 1111 1112 is a random 16-digit number that fails Luhn",
        "order #2024123112345678 arrived late",
        "order number 1234567890 is wrong",  # 10 digits, bad national-id check digit
        "delivered on 2024-05-12 at 14:30, ordered 12/05/2024",
        "it cost $1,299.99 (was 1.250.000 Toman), rated 4.5 of 5",
        "قیمت ۱۲۵۰۰۰۰ تومان بود و سفارش ۱۴۰۳/۰۵/۱۲ رسید",
        "I paid +10.50 extra for 3 items",
        "version 2.14.4 of the app crashes",
        "IBAN GB82 WEST 1234 5698 7654 33 with a wrong check digit",
    ],
)
def test_look_alikes_are_not_redacted(text: str) -> None:
    result = redact(text)
    assert result.text == text
    assert result.counts == {}


def test_checksums() -> None:
    assert luhn_valid("6037 9917 5432 1804") and not luhn_valid("6037 9917 5432 1805")
    assert not luhn_valid("0000 0000 0000 0000")
    assert iban_valid("IR05 0170 0000 0012 3456 7890 12") and not iban_valid("IR06 0170 0000 0012 3456 7890 12")
    assert not iban_valid("IR0501700000001234567890")  # Sheba must have 24 digits
    assert iran_national_id_valid(fa_digits("0088123456")) and not iran_national_id_valid("1111111111")
