"""The bundled samples parse to exactly what the generator meant (samples/MANIFEST.json)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from producers import ParseOptions, expand_paths, parse_path
from tests.producers.helpers import SAMPLES

OPTIONS = ParseOptions(author_secret=b"test-secret")
MANIFEST: dict[str, dict[str, int]] = json.loads((SAMPLES / "MANIFEST.json").read_text())


@pytest.mark.parametrize("relative", sorted(MANIFEST))
def test_sample_file_counts_match_manifest(relative: str) -> None:
    channel = relative.split("/")[0]
    result = parse_path(channel, SAMPLES / relative, options=OPTIONS)
    assert (len(result.events), len(result.rejects)) == (MANIFEST[relative]["valid"], MANIFEST[relative]["rejected"])


def test_every_channel_has_a_few_hundred_items_in_both_languages() -> None:
    for channel in ("email", "chat", "app_review", "social"):
        events = [e for path in expand_paths(channel, [SAMPLES / channel]) for e in
                  parse_path(channel, path, options=OPTIONS).events]
        assert len(events) >= 200, channel
        persian = sum(1 for e in events if any("\u0600" <= c <= "\u06ff" for c in e.text))
        assert persian >= 40, channel
        assert len(events) - persian >= 40, channel


def test_samples_stay_small() -> None:
    assert sum(f.stat().st_size for f in SAMPLES.rglob("*") if f.is_file()) < 3_000_000


def test_expand_paths_treats_maildir_as_one_mailbox() -> None:
    paths = list(expand_paths("email", [SAMPLES / "email"]))
    assert SAMPLES / "email" / "Maildir" in paths
    assert not any("Maildir" in p.parts and p.name != "Maildir" for p in paths)


def test_make_samples_regenerates_identical_files(tmp_path: Path) -> None:
    datasets = SAMPLES.parents[1] / "shared" / "datasets"
    if not datasets.is_dir():
        pytest.skip(f"the datasets are not beside the repo ({datasets})")
    script = SAMPLES.parent / "scripts" / "make_samples.py"
    subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], check=True, capture_output=True)
    for relative in MANIFEST:
        for original in ([SAMPLES / relative] if (SAMPLES / relative).is_file() else
                         sorted(p for p in (SAMPLES / relative).rglob("*") if p.is_file())):
            regenerated = tmp_path / original.relative_to(SAMPLES)
            assert regenerated.read_bytes() == original.read_bytes(), original
