"""classify_batch throughput (texts/s) on real dev texts, batches of 64, English and Persian mixed.

Run:  python benchmarks/classifier_throughput.py [--n 1024] [--batch 64] [--runtime auto|bf16|onnx-int8|fp32]
"""

from __future__ import annotations

import argparse
import time

from classifiers import datasets_dir, load_classifier, read_labelled_csv
from feedback.settings import ClassifierSettings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--runtime", default="auto", choices=["auto", "bf16", "onnx-int8", "fp32"],
                    help="encoder runtime (auto: chosen from the CPU's features)")
    args = ap.parse_args()
    started = time.perf_counter()
    clf = load_classifier(ClassifierSettings(batch_size=args.batch, runtime=args.runtime))
    clf.classify_batch(["warm up", "گرم کردن"])
    load_s = time.perf_counter() - started
    half = args.n // 2
    en = read_labelled_csv([datasets_dir() / "airline-tweets" / "dev.csv"], task="sentiment", limit=half).texts
    fa = read_labelled_csv([datasets_dir() / "snappfood-fa" / "dev.csv"], task="sentiment", limit=half).texts
    texts = [t for pair in zip(en, fa) for t in pair]
    started = time.perf_counter()
    for i in range(0, len(texts), args.batch):
        clf.classify_batch(texts[i : i + args.batch])
    elapsed = time.perf_counter() - started
    print(f"load+warm-up {load_s:.2f}s; classify_batch: {len(texts)} texts in {elapsed:.2f}s = "
          f"{len(texts) / elapsed:.0f} texts/s (batch {args.batch}, runtime {clf.runtime}, model {clf.model_version})")


if __name__ == "__main__":
    main()
