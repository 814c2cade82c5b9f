"""Persian-aware normalisation, on real samples from the datasets."""

from __future__ import annotations

import pytest

from feedback.text import ZWNJ, fold_digits, normalise


def test_arabic_letter_variants_become_persian() -> None:
    # deepsentipers-fa row 1 is written with Arabic yeh (ي).
    raw = "گوشي خوبيه(قوي و شکيل و زيبا و بي رقيب)البته تو تيپ وگروه خودش عاليه!"
    out = normalise(raw)
    assert "ي" not in out
    assert out.startswith("گوشی خوبیه(قوی")
    assert normalise("كتاب") == "کتاب"


def test_digits_fold_to_ascii() -> None:
    # digikala-recommend-fa row 3: "من الان ۳ هفته هست استفاده میکنم"
    assert normalise("من الان ۳ هفته هست استفاده میکنم") == "من الان 3 هفته هست استفاده میکنم"
    assert fold_digits("٤٥") == "45"


def test_zwnj_kept_inside_words_and_dropped_elsewhere() -> None:
    # snappfood-fa row 1 has "ساندویچ‌ها" with a ZWNJ that belongs there.
    text = "همه ساندویچ\u200cها سرد بود"
    assert normalise(text) == text
    assert normalise("می\u200c\u200cخواهم") == "می" + ZWNJ + "خواهم"
    assert normalise("سلام\u200c خوبی") == "سلام خوبی"
    assert normalise("\u200cسلام") == "سلام"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\u200bb", "ab"),  # zero-width space
        ("\ufeffhello", "hello"),  # BOM
        ("x\u0000y\u0007z", "xyz"),  # control characters
        ("  too    many   spaces  ", "too many spaces"),
        ("line1\r\nline2", "line1\nline2"),
        ("p1\n\n\n\n\np2", "p1\n\np2"),
        ("عـــالی", "عالی"),  # kashida
        ("e\u0301", "\u00e9"),  # NFC
    ],
)
def test_noise_is_removed(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_normalise_is_idempotent() -> None:
    raw = "  مي\u200c\u200cخواهم   كتاب ۳ تا  "
    once = normalise(raw)
    assert normalise(once) == once
