"""Print the outcome table of the hostile corpus (produced / rejected / crash per kind).

    PYTHONPATH=. python -m tests.producers.corpus_table

``as expected`` counts the cases whose produced and rejected counts match the corpus.
"""

from __future__ import annotations

import collections
import dataclasses

from producers import ParseOptions, parse_bytes
from tests.producers.hostile import KINDS, corpus, limit_cases


def table() -> dict[str, dict[str, int]]:
    options = ParseOptions(author_secret=b"k")
    rows: dict[str, collections.Counter[str]] = {k: collections.Counter() for k in KINDS}
    runs = [(c, options) for c in corpus()]
    for case, limits in limit_cases():
        try:
            runs.append((case, dataclasses.replace(options, **limits)))  # type: ignore[arg-type]
        except TypeError:
            runs.append((case, options))  # an older ParseOptions without the limits
    for case, opts in runs:
        row = rows[case.kind]
        row["cases"] += 1
        try:
            result = parse_bytes(case.channel, case.data, options=opts, location="corpus")
        except BaseException:  # noqa: BLE001 - counting crashes is the point
            row["crash"] += 1
            continue
        row["produced"] += len(result.events)
        row["rejected"] += len(result.rejects)
        row["as expected"] += (len(result.events), len(result.rejects)) == (case.produced, case.rejected)
    return {k: dict(v) for k, v in rows.items()}


if __name__ == "__main__":
    cols = ("cases", "produced", "rejected", "crash", "as expected")
    print("| kind | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    totals: collections.Counter[str] = collections.Counter()
    for kind, row in table().items():
        totals.update(row)
        print(f"| {kind} | " + " | ".join(str(row.get(c, 0)) for c in cols) + " |")
    print("| **all** | " + " | ".join(str(totals.get(c, 0)) for c in cols) + " |")
