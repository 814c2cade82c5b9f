"""Merge the annotation passes of the topic data (issue #11) into train/dev CSVs.

    python scripts/topic_data/merge.py WORK_DIR disagreements   # writes WORK_DIR/batches/third-<lang>.tsv
    python scripts/topic_data/merge.py WORK_DIR build OUT_DIR     # writes OUT_DIR/{train,dev}.csv + agreement.json

WORK_DIR holds pool.csv (sample.py), passA/ and passB/ (two independent annotation passes,
one TSV per batch: id, topic, also) and, for `build`, passC/third-<lang>.tsv (the third
read of every message the two passes disagree on: id, topic, also).

The final topic is the two passes' common primary topic, else the third read's. `also`
is the union of the passes' `also` topics (and the other pass's primary, when the third read
sided with one pass), minus the primary, at most two. The split is fixed: a message is in
dev when the first byte of sha1(id) is below 51 (20 %). `round` is the annotation round that drew the message, read
from the name of its batch file in passA (see :func:`batch_round`).
"""
from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

TOPICS = ("account", "billing_payment", "delivery_shipping", "orders_cancellation", "product_quality",
          "app_bug", "feature_request", "customer_service", "praise", "other")
BATCHES_PER_LANG = 8  # sample.py's round-1 batches per language
CHANNELS = {"airline-tweets": "social", "maalej-app-reviews": "app_review", "cfpb-complaints": "email",
            "bitext-support": "chat"}  # Persian sources are app reviews


def read_pass(folder: Path) -> dict[str, tuple[str, list[str]]]:
    out: dict[str, tuple[str, list[str]]] = {}
    for f in sorted(folder.glob("*.tsv")):
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split("\t")
            rid, topic = parts[0].strip(), parts[1].strip()
            also = [a.strip() for a in (parts[2] if len(parts) > 2 else "").split(",") if a.strip()]
            bad = [t for t in [topic, *also] if t not in TOPICS]
            if bad:
                raise SystemExit(f"{f}:{n}: unknown topic(s) {bad}")
            out[rid] = (topic, also)
    return out


def batch_round(name: str) -> int:
    """The draw round of a batch file: ``<lang>-r<N>-<k>`` is round N; ``<lang>-<k>`` is round 1
    (sample.py's first draw, batches 1..BATCHES_PER_LANG) or round 2 (the rare-topic draw after them).

    >>> batch_round("fa-r6-2"), batch_round("en-8"), batch_round("fa-9")
    (6, 1, 2)
    """
    parts = name.split("-")
    if len(parts) == 3 and parts[1].startswith("r") and parts[1][1:].isdigit():
        return int(parts[1][1:])
    if len(parts) == 2 and parts[1].isdigit():
        return 1 if int(parts[1]) <= BATCHES_PER_LANG else 2
    raise SystemExit(f"{name}: expected a batch file named <lang>-<k> or <lang>-r<N>-<k>")


def read_rounds(folder: Path) -> dict[str, int]:
    """Message id -> the round of the batch file it was annotated in."""
    out: dict[str, int] = {}
    for f in sorted(folder.glob("*.tsv")):
        n = batch_round(f.stem)
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out[line.split("\t")[0].strip()] = n
    return out


def kappa(a: list[str], b: list[str]) -> float:
    n = len(a)
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[t] * cb[t] for t in TOPICS) / (n * n)
    return (po - pe) / (1 - pe) if pe < 1 else 1.0


def is_dev(rid: str) -> bool:
    return hashlib.sha1(rid.encode()).digest()[0] < 51


def main() -> None:
    work, cmd = Path(sys.argv[1]), sys.argv[2]
    with open(work / "pool.csv", newline="", encoding="utf-8") as f:
        pool = {r["id"]: r for r in csv.DictReader(f)}
    a, b = read_pass(work / "passA"), read_pass(work / "passB")
    missing = [rid for rid in pool if rid not in a or rid not in b]
    if missing:
        raise SystemExit(f"{len(missing)} messages lack a pass, e.g. {missing[:3]}")
    if cmd == "disagreements":
        for lang in ("en", "fa"):
            rows = [rid for rid, r in pool.items() if r["lang"] == lang and a[rid][0] != b[rid][0]]
            with open(work / "batches" / f"third-{lang}.tsv", "w", encoding="utf-8") as f:
                for rid in rows:
                    text = " ".join(pool[rid]["text"].split())[:1500]
                    f.write(f"{rid}\t{a[rid][0]} | {b[rid][0]}\t{text}\n")
            print(lang, len(rows), "disagreements")
        return
    out = Path(sys.argv[3])
    c = read_pass(work / "passC")
    rounds = read_rounds(work / "passA")
    report: dict[str, object] = {}
    rows_out: dict[str, list[dict[str, str]]] = {"train": [], "dev": []}
    for lang in ("en", "fa"):
        ids = [rid for rid, r in pool.items() if r["lang"] == lang]
        pa, pb = [a[i][0] for i in ids], [b[i][0] for i in ids]
        agree = sum(x == y for x, y in zip(pa, pb))
        unresolved = [i for i in ids if a[i][0] != b[i][0] and i not in c]
        if unresolved:
            raise SystemExit(f"{len(unresolved)} {lang} disagreements without a third read, e.g. {unresolved[:3]}")
        third_sided = Counter()
        final: Counter[str] = Counter()
        for i in ids:
            if a[i][0] == b[i][0]:
                topic, also = a[i][0], a[i][1] + b[i][1]
            else:
                topic = c[i][0]
                also = c[i][1] + a[i][1] + b[i][1] + [a[i][0], b[i][0]]
                third_sided["A" if topic == a[i][0] else "B" if topic == b[i][0] else "neither"] += 1
            also = list(dict.fromkeys(t for t in also if t != topic))[:2]
            final[topic] += 1
            r = pool[i]
            rows_out["dev" if is_dev(i) else "train"].append({
                "id": i, "text": r["text"], "topic": topic, "also": "|".join(also), "lang": lang,
                "source": r["source"], "channel": CHANNELS.get(r["source"], "app_review"),
                "pass_a": a[i][0], "pass_b": b[i][0], "third": c[i][0] if i in c else "", "round": str(rounds[i]),
            })
        report[lang] = {
            "messages": len(ids), "agreement": round(agree / len(ids), 4), "cohen_kappa": round(kappa(pa, pb), 4),
            "third_reads": len(ids) - agree, "third_read_sided_with": dict(third_sided),
            "topics": {t: final[t] for t in TOPICS},
            "rounds": {str(n): k for n, k in sorted(Counter(rounds[i] for i in ids).items())},
        }
    out.mkdir(parents=True, exist_ok=True)
    fields = ["id", "text", "topic", "also", "lang", "source", "channel", "pass_a", "pass_b", "third", "round"]
    for split, rows in rows_out.items():
        with open(out / f"{split}.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            w.writerows(sorted(rows, key=lambda r: r["id"]))
        report[f"{split}_rows"] = {lang: sum(r["lang"] == lang for r in rows) for lang in ("en", "fa")}
    (out / "agreement.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
