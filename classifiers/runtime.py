"""Which inference runtime runs the encoder: chosen from the CPU's features, once.

Three runtimes run the same weights:

* ``bf16``: torch with the encoder's weights and activations in bfloat16 (oneDNN uses the
  CPU's AMX tiles or AVX-512 BF16 dot products); pooling and the heads stay float32.
* ``onnx-int8``: the encoder exported to ONNX, attention and layer norms fused by
  ``onnxruntime.transformers.optimizer``, weights quantised to int8 per channel (VNNI).
* ``fp32``: torch float32, everywhere.

``auto`` (the default setting) picks bf16 where the CPU computes bfloat16 natively
(``amx_bf16`` or ``avx512_bf16`` in its flags), else onnx-int8 where it has VNNI, else
fp32; but a runtime only qualifies as a default when ``feedback eval --runtimes`` measured
it within :data:`MAX_DEFAULT_LOSS` macro-F1 of fp32 on every dataset
(``classifiers/artifacts/runtimes.json``). A runtime named in the settings always runs.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable
from pathlib import Path

from feedback.errors import ConfigError

__all__ = [
    "MAX_DEFAULT_LOSS",
    "RUNTIMES",
    "RUNTIME_REPORT",
    "choose_runtime",
    "cpu_flags",
    "qualified_runtimes",
]

log = logging.getLogger(__name__)

RUNTIMES: tuple[str, ...] = ("bf16", "onnx-int8", "fp32")
# A runtime that loses more than this macro-F1 against fp32 on any dataset is not a default.
MAX_DEFAULT_LOSS = 0.005
RUNTIME_REPORT = Path(__file__).resolve().parent / "artifacts" / "runtimes.json"

_BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
_VNNI_FLAGS = frozenset({"amx_int8", "avx512_vnni", "avx_vnni"})


@functools.lru_cache(maxsize=1)
def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags (the ``flags`` line of /proc/cpuinfo); empty where unknown.

    >>> isinstance(cpu_flags(), frozenset)
    True
    """
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def qualified_runtimes(report: Path = RUNTIME_REPORT) -> frozenset[str]:
    """Runtimes measured within :data:`MAX_DEFAULT_LOSS` of fp32 on every dataset (fp32 always).

    >>> "fp32" in qualified_runtimes(Path("/nonexistent"))
    True
    """
    ok = {"fp32"}
    try:
        doc = json.loads(Path(report).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset(ok)
    for name, entry in doc.get("runtimes", {}).items():
        if name in RUNTIMES and entry.get("max_macro_f1_loss") is not None and entry["max_macro_f1_loss"] <= MAX_DEFAULT_LOSS:
            ok.add(name)
    return frozenset(ok)


def choose_runtime(requested: str, flags: Iterable[str] | None = None, qualified: Iterable[str] | None = None) -> str:
    """The runtime to use: ``requested`` itself, or for ``auto`` the fastest the CPU allows.

    >>> choose_runtime("auto", {"avx512f", "avx512_bf16"}, {"fp32", "bf16"})
    'bf16'
    >>> choose_runtime("auto", {"avx512f", "avx512_vnni"}, {"fp32", "bf16"})
    'fp32'
    >>> choose_runtime("onnx-int8", set(), set())
    'onnx-int8'
    """
    if requested != "auto":
        if requested not in RUNTIMES:
            raise ConfigError(f"expected a runtime among auto, {', '.join(RUNTIMES)}; found {requested!r}")
        return requested
    have = frozenset(cpu_flags() if flags is None else flags)
    ok = frozenset(qualified_runtimes() if qualified is None else qualified)
    if have & _BF16_FLAGS and "bf16" in ok:
        return "bf16"
    if have & _VNNI_FLAGS and "onnx-int8" in ok:
        return "onnx-int8"
    return "fp32"
