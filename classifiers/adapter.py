"""LoRA fine-tuning of the encoder's top layers, multi-task (sentiment + topic), on CPU.

A frozen encoder with trained heads leaves accuracy on the table (docs/classifiers.md);
full fine-tuning is out of reach on two CPU cores and would not fit in the repository.
This module trains low-rank adapters (``peft`` LoRA) on the *top* ``n_layers`` transformer
layers only, with one linear head per task on the mean-pooled output:

1. the bottom layers are frozen, so their output for every training text is computed once
   (no gradient) and kept in memory as float16;
2. each step runs only the top layers + heads on a length-bucketed batch, so one step costs
   about ``n_layers / 12`` of a full forward-backward pass;
3. the adapter (a few hundred kB) is saved in peft's format next to a JSON describing the
   run; :func:`load_adapted_model` merges it into the base weights for inference, so
   serving costs exactly what the base encoder costs.

Binary datasets (no neutral class) mask the neutral logit, so one 3-way sentiment head
learns from 3-class and 2-class data together. Deterministic for a given seed and thread
count (torch CPU kernels).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from feedback.errors import ConfigError, ModelNotFound

__all__ = ["AdapterConfig", "TaskData", "adapter_digest", "has_adapter", "load_adapted_model", "train_adapter"]

log = logging.getLogger(__name__)

ADAPTER_JSON = "adapter_run.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"  # peft's file name
# Training heads see unit-norm embeddings (what Encoder.encode returns, and what the shipped
# heads are fitted on afterwards) times this fixed scale (a softmax temperature).
HEAD_SCALE = 20.0


@dataclass
class TaskData:
    """Rows for one task: texts, labels, per row the labels it may take (None = all) and its
    loss weight (``row_weights``; 1 unless reweighted), and the task's weight in the loss."""

    labels: list[str]
    texts: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    allowed: list[tuple[str, ...] | None] = field(default_factory=list)
    row_weights: list[float] = field(default_factory=list)
    weight: float = 1.0

    def add(self, texts: Sequence[str], targets: Sequence[str], allowed: tuple[str, ...] | None = None) -> None:
        unknown = set(targets) - set(self.labels)
        if unknown:
            raise ConfigError(f"expected labels in {self.labels}; found {sorted(unknown)}")
        self.texts.extend(texts)
        self.targets.extend(targets)
        self.allowed.extend([allowed] * len(texts))
        self.row_weights.extend([1.0] * len(texts))


@dataclass
class AdapterConfig:
    n_layers: int = 6  # adapted top layers (of 12)
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.1
    lr: float = 5e-4
    epochs: float = 2.0
    batch_size: int = 32
    max_length: int = 128
    seed: int = 0
    prefix: str | None = None  # None: what the encoder puts before texts at inference (input_prefix)
    bf16: bool = False  # bfloat16 autocast for the frozen pass and the training steps


def _autocast(cfg: AdapterConfig) -> Any:
    """bfloat16 matmuls where the CPU computes them natively (the serving runtime's choice)."""
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16)


def _pool(hidden: Any, mask: Any) -> Any:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


def _extended_mask(mask: Any, dtype: Any) -> Any:
    import torch

    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def _run_layers(layers: Sequence[Any], hidden: Any, mask: Any) -> Any:
    ext = _extended_mask(mask, hidden.dtype)
    for layer in layers:
        out = layer(hidden, attention_mask=ext)
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden


def bottom_states(
    model: Any, tok: Any, texts: Sequence[str], *, cut: int, cfg: AdapterConfig,
    progress: Callable[[int], None] | None = None,
) -> list[Any]:
    """Hidden states after layer ``cut`` for each text (float16, padding removed)."""
    import torch

    out: list[Any] = [None] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    with torch.no_grad(), _autocast(cfg):
        for start in range(0, len(order), 64):
            idx = order[start : start + 64]
            enc = tok([(cfg.prefix or "") + (texts[i] or " ") for i in idx], padding=True, truncation=True,
                      max_length=cfg.max_length, return_tensors="pt")
            hidden = model.embeddings(input_ids=enc["input_ids"])
            hidden = _run_layers(model.encoder.layer[:cut], hidden, enc["attention_mask"])
            lengths = enc["attention_mask"].sum(1).tolist()
            for j, i in enumerate(idx):
                out[i] = hidden[j, : lengths[j]].to(torch.float16).clone()
            if progress:
                progress(len(idx))
    return out


def _batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Length-bucketed batches in random order (little padding, still shuffled)."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunks = [order[i : i + batch_size * 50] for i in range(0, len(order), batch_size * 50)]
    batches: list[list[int]] = []
    for chunk in chunks:
        chunk.sort(key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def _pad(states: Sequence[Any]) -> tuple[Any, Any]:
    import torch

    n = max(s.shape[0] for s in states)
    hidden = torch.zeros(len(states), n, states[0].shape[1])
    mask = torch.zeros(len(states), n, dtype=torch.long)
    for j, s in enumerate(states):
        hidden[j, : s.shape[0]] = s.float()
        mask[j, : s.shape[0]] = 1
    return hidden, mask


def train_adapter(
    base_dir: Path | str, tasks: dict[str, TaskData], out_dir: Path, cfg: AdapterConfig | None = None,
    *, threads: int = 0, progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Train a LoRA adapter on the top layers of the encoder at ``base_dir``; save to ``out_dir``.

    Returns the run summary, also written to ``adapter_run.json``. The training heads are
    discarded: the shipped heads are fitted afterwards on the adapted embeddings.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel, AutoTokenizer

    from classifiers.encoder import input_prefix, quiet_transformers

    quiet_transformers()
    cfg = cfg or AdapterConfig()
    if cfg.prefix is None:  # train on the inputs the encoder will see when serving
        cfg = replace(cfg, prefix=input_prefix(str(base_dir)))
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    tok = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModel.from_pretrained(base_dir).eval()
    n_total = model.config.num_hidden_layers
    if not 1 <= cfg.n_layers <= n_total:
        raise ConfigError(f"expected n_layers in 1..{n_total}; found {cfg.n_layers}")
    cut = n_total - cfg.n_layers
    started = time.perf_counter()

    # 1. frozen bottom: states for every row of every task, once.
    rows: list[tuple[str, int]] = [(name, i) for name, data in tasks.items() for i in range(len(data.texts))]
    all_texts = [tasks[name].texts[i] for name, i in rows]
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress:
            progress("encode", done[0], len(all_texts))

    states = bottom_states(model, tok, all_texts, cut=cut, cfg=cfg, progress=tick)
    encode_s = time.perf_counter() - started

    # 2. LoRA on the top layers + one linear head per task.
    lora = LoraConfig(
        r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
        target_modules=["query", "key", "value", "dense"],
        layers_to_transform=list(range(cut, n_total)), layers_pattern="layer",
    )
    peft_model = get_peft_model(model, lora)
    top = peft_model.base_model.model.encoder.layer[cut:]
    hidden_size = model.config.hidden_size
    heads = torch.nn.ModuleDict({name: torch.nn.Linear(hidden_size, len(d.labels)) for name, d in tasks.items()})
    params = [p for p in peft_model.parameters() if p.requires_grad] + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01)
    masks: dict[str, Any] = {}
    targets: dict[str, Any] = {}
    row_weights: dict[str, Any] = {}
    for name, data in tasks.items():
        index = {label: j for j, label in enumerate(data.labels)}
        targets[name] = torch.tensor([index[t] for t in data.targets])
        row_weights[name] = torch.tensor(data.row_weights, dtype=torch.float32)
        m = torch.zeros(len(data.texts), len(data.labels))
        for i, allowed in enumerate(data.allowed):
            if allowed is not None:
                m[i] = torch.tensor([0.0 if label in allowed else float("-inf") for label in data.labels])
        masks[name] = m
    batches = _batches([s.shape[0] for s in states], cfg.batch_size, rng)
    steps = max(1, int(len(batches) * cfg.epochs))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, steps // 20)) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))
    )
    peft_model.train()
    heads.train()
    losses: list[float] = []
    for step in range(steps):
        if step and step % len(batches) == 0:  # next epoch: a new shuffle
            batches = _batches([s.shape[0] for s in states], cfg.batch_size, rng)
        batch = batches[step % len(batches)]
        hidden, mask = _pad([states[i] for i in batch])
        with _autocast(cfg):
            top_out = _run_layers(top, hidden, mask)
        pooled = torch.nn.functional.normalize(_pool(top_out.float(), mask), dim=-1) * HEAD_SCALE
        loss = torch.zeros(())
        for name, data in tasks.items():
            sel = [j for j, i in enumerate(batch) if rows[i][0] == name]
            if not sel:
                continue
            rid = torch.tensor([rows[batch[j]][1] for j in sel])
            logits = heads[name](pooled[sel]) + masks[name][rid]
            per_row = torch.nn.functional.cross_entropy(logits, targets[name][rid], reduction="none")
            loss = loss + data.weight * (per_row * row_weights[name][rid]).sum() / len(batch)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        schedule.step()
        losses.append(loss.item())
        if progress:
            progress("train", step + 1, steps)
    train_s = time.perf_counter() - started - encode_s

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(out_dir)
    _to_float16(out_dir / ADAPTER_WEIGHTS)
    _portable_config(out_dir, base_dir)
    run = {
        "config": asdict(cfg), "base_layers": n_total, "rows": {n: len(d.texts) for n, d in tasks.items()},
        "steps": steps, "loss_first_tenth": float(np.mean(losses[: max(1, steps // 10)])),
        "loss_last_tenth": float(np.mean(losses[-max(1, steps // 10) :])),
        "encode_seconds": round(encode_s, 1), "train_seconds": round(train_s, 1),
    }
    (out_dir / ADAPTER_JSON).write_text(json.dumps(run, indent=2) + "\n")
    log.info("adapter trained: %s", run)
    return run


def _to_float16(path: Path) -> None:
    """Store the LoRA weights as float16 (half the size; loading casts them back to float32)."""
    from safetensors.torch import load_file, save_file

    tensors = {k: v.half().contiguous() for k, v in load_file(str(path)).items()}
    save_file(tensors, str(path), metadata={"format": "pt"})


def _portable_config(out_dir: Path, base_dir: Path | str) -> None:
    """Name the base model by its folder name (not this machine's path); drop peft's stub card."""
    config_path = out_dir / "adapter_config.json"
    config = json.loads(config_path.read_text())
    config["base_model_name_or_path"] = Path(str(base_dir)).name
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    (out_dir / "README.md").unlink(missing_ok=True)


def has_adapter(directory: Path) -> bool:
    """Whether ``directory`` holds trained LoRA weights."""
    return (Path(directory) / ADAPTER_WEIGHTS).is_file()


def adapter_digest(adapter_dir: Path) -> str:
    """Short hash of the adapter weights: heads trained on it record it in their encoder name."""
    weights = Path(adapter_dir) / ADAPTER_WEIGHTS
    if not weights.exists():
        raise ModelNotFound(f"expected LoRA weights at {weights}; found none; run `feedback train --task adapter`")
    return hashlib.sha1(weights.read_bytes()).hexdigest()[:8]


def load_adapted_model(base_dir: Path | str, adapter_dir: Path | None) -> Any:
    """The base encoder with the adapter merged in (plain ``BertModel``, eval mode)."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(base_dir)
    if adapter_dir is not None:
        from peft import PeftModel

        adapter_digest(adapter_dir)  # clear error when the weights are missing
        model = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    return model.eval()
