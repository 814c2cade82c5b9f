"""Embed every dataset split once into a cache folder, so training and metrics re-use them.

Run: /tmp/venvtest/bin/python benchmarks/embed_cache.py [--cache /tmp/feedback-emb]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from classifiers.data import cached_embeddings, datasets_dir, read_labelled_csv
from classifiers.encoder import load_encoder

JOBS = [
    ("airline-tweets", "sentiment"), ("snappfood-fa", "sentiment"), ("digikala-recommend-fa", "sentiment"),
    ("deepsentipers-fa", "sentiment"), ("maalej-app-reviews", "topic"), ("bitext-support", "category"),
    ("parsinlu-food-fa", "sentiment"), ("cfpb-complaints", "product_group"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/feedback-emb"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO)
    enc = load_encoder(None)
    for name, column in JOBS:
        for split in ("dev", "train"):
            data = read_labelled_csv([datasets_dir() / name / f"{split}.csv"], label_column=column)
            t = time.perf_counter()
            cached_embeddings(enc.encode, data.texts, name=enc.cache_key, cache_dir=args.cache)
            print(f"{name}/{split}: n={len(data)} {time.perf_counter() - t:.1f}s", flush=True)


if __name__ == "__main__":
    main()
