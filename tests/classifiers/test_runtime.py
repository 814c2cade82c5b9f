"""The encoder runtime: chosen from CPU flags, and every runtime agrees with fp32 on real texts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from classifiers import load_classifier
from classifiers.encoder import head_tail, token_batches
from classifiers.runtime import MAX_DEFAULT_LOSS, choose_runtime, cpu_flags, qualified_runtimes
from feedback.errors import ConfigError
from feedback.settings import ClassifierSettings

ZEN4 = {"avx2", "avx512f", "avx512_bf16", "avx512_vnni"}
SAPPHIRE_RAPIDS = {"avx512f", "avx512_bf16", "amx_bf16", "amx_int8", "amx_tile"}
ICELAKE = {"avx2", "avx512f", "avx512_vnni"}
ALDER_LAKE = {"avx2", "avx_vnni"}
OLD = {"sse4_2", "avx2"}


@pytest.mark.parametrize(
    ("flags", "qualified", "expected"),
    [
        (SAPPHIRE_RAPIDS, {"fp32", "bf16", "onnx-int8"}, "bf16"),
        (ZEN4, {"fp32", "bf16"}, "bf16"),
        (ICELAKE, {"fp32", "bf16", "onnx-int8"}, "onnx-int8"),
        (ALDER_LAKE, {"fp32", "onnx-int8"}, "onnx-int8"),
        (ICELAKE, {"fp32", "bf16"}, "fp32"),  # int8 lost too much macro-F1: not a default
        (ZEN4, {"fp32", "onnx-int8"}, "onnx-int8"),  # bf16 not qualified: next best
        (OLD, {"fp32", "bf16", "onnx-int8"}, "fp32"),
        (set(), {"fp32", "bf16", "onnx-int8"}, "fp32"),
    ],
)
def test_auto_follows_the_cpu_flags(flags: set[str], qualified: set[str], expected: str) -> None:
    assert choose_runtime("auto", flags, qualified) == expected


def test_a_runtime_named_in_the_settings_always_runs() -> None:
    assert choose_runtime("fp32", SAPPHIRE_RAPIDS, {"bf16"}) == "fp32"
    assert choose_runtime("onnx-int8", OLD, {"fp32"}) == "onnx-int8"
    with pytest.raises(ConfigError, match="expected a runtime among"):
        choose_runtime("fp16", ZEN4, {"fp32"})


def test_cpu_flags_reads_the_flags_line(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: X\nflags\t\t: fpu avx512f avx512_bf16\n\nprocessor\t: 1\n")
    assert cpu_flags.__wrapped__(str(info)) == frozenset({"fpu", "avx512f", "avx512_bf16"})
    assert cpu_flags.__wrapped__(str(tmp_path / "missing")) == frozenset()


def test_only_runtimes_within_the_loss_bound_qualify(tmp_path: Path) -> None:
    report = tmp_path / "runtimes.json"
    report.write_text(json.dumps({"runtimes": {
        "bf16": {"max_macro_f1_loss": MAX_DEFAULT_LOSS / 2},
        "onnx-int8": {"max_macro_f1_loss": MAX_DEFAULT_LOSS * 7},
    }}))
    assert qualified_runtimes(report) == {"fp32", "bf16"}
    report.write_text("not json")
    assert qualified_runtimes(report) == {"fp32"}


def test_the_shipped_runtime_report_qualifies_bf16_and_not_int8() -> None:
    # classifiers/artifacts/runtimes.json is written by benchmarks/runtime_eval.py
    assert qualified_runtimes() == {"fp32", "bf16"}


def test_head_tail_keeps_both_ends_and_the_special_tokens() -> None:
    ids = [0, *range(100, 400), 2]
    cut = head_tail(ids, 128)
    assert len(cut) == 128
    assert cut[0] == 0 and cut[-1] == 2
    assert cut[1:96] == list(range(100, 195))  # three quarters of the room: the start
    assert cut[96:127] == list(range(369, 400))  # the last quarter: the end
    assert head_tail(ids[:50], 128) == ids[:50]


def test_token_batches_stay_within_the_budget_and_cover_every_text() -> None:
    rng = np.random.default_rng(0)
    lengths = [int(v) for v in rng.integers(3, 128, size=500)]
    batches = token_batches(lengths, budget=2048, max_count=64)
    assert sorted(i for b in batches for i in b) == list(range(500))
    for b in batches:
        assert len(b) <= 64
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 2048
    # sorted by length: short texts share batches, so there are far fewer batches than texts
    assert len(batches) < 60


def _greedy_batches(lengths: list[int], budget: int) -> list[list[int]]:
    """The previous rule: close a batch only when one more row would pass the budget."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = [[]]
    for i in order:
        if batches[-1] and (len(batches[-1]) + 1) * lengths[i] > budget:
            batches.append([])
        batches[-1].append(i)
    return batches


def test_token_batches_pad_little_when_a_call_brings_few_texts_of_mixed_lengths() -> None:
    # One call of 64: half short (tweets), half long (reviews, emails), as classify_batch gets them.
    rng = np.random.default_rng(1)
    lengths = [int(v) for v in np.concatenate([rng.integers(8, 30, 32), rng.integers(30, 128, 32)])]
    def padded(batches: list[list[int]]) -> int:
        return sum(len(b) * max(lengths[i] for i in b) for b in batches)
    batches = token_batches(lengths, budget=2048, max_count=256)
    assert sorted(i for b in batches for i in b) == list(range(64))
    assert padded(batches) <= 1.2 * sum(lengths)
    assert padded(batches) < 0.8 * padded(_greedy_batches(lengths, 2048))


SENTENCES = [
    "The app crashes every time I try to upload a photo, please fix it",
    "I was charged twice for my order and still have no refund",
    "My package hasn't arrived after three weeks, where is it?",
    "Thank you so much, the crew was wonderful and the flight was great!",
    "I can't log in to my account, the password reset link doesn't work",
    "Please add a dark mode to the app",
    "@united flight delayed 4 hours and nobody at the gate tells us anything",
    "غذا خیلی سرد و بی‌کیفیت بود و پیک یک ساعت دیر رسید",
    "خیلی خوشمزه بود، ممنون از رستوران عالی",
    "کیفیت پارچه خیلی پایین بود، بعد از یک بار شستن خراب شد",
    "لطفا امکان پرداخت در محل هم اضافه کنید",
    "سفارشم رو لغو کردم ولی هنوز پولم برنگشته",
    "یکی از پیتزاها رو اشتباه فرستادن",
    "گوشی خوبیه ولی باتریش زود تموم میشه",
]


@pytest.mark.parametrize("runtime", ["bf16", "onnx-int8"])
def test_each_runtime_gives_the_labels_of_fp32_on_real_sentences(runtime: str, tmp_path: Path) -> None:
    fp32 = load_classifier(ClassifierSettings(runtime="fp32"))
    other = load_classifier(ClassifierSettings(runtime=runtime), home=tmp_path if runtime == "onnx-int8" else None)
    assert (fp32.runtime, other.runtime) == ("fp32", runtime)
    a, b = fp32.classify_batch(SENTENCES), other.classify_batch(SENTENCES)
    assert [r.sentiment.label for r in a] == [r.sentiment.label for r in b]
    assert [r.topics[0].label for r in a] == [r.topics[0].label for r in b]
    assert fp32.model_version == other.model_version  # same weights, same heads
