"""`feedback config show` prints the effective settings with every secret masked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

SECRETS = {
    "FEEDBACK_ES_PASSWORD": "pw-es-3141",
    "FEEDBACK_ES_API_KEY": "apikey-2718",
    "FEEDBACK_INGEST_AUTHOR_SECRET": "hmac-secret-1618",
    "FEEDBACK_ES_URL": "https://elastic:url-pw-1414@es.internal:9200",
}


def _show(tmp_path: Path, *args: str) -> str:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_")}, **SECRETS,
           "FEEDBACK_ES_USERNAME": "elastic", "FEEDBACK_KAFKA_RAW_PARTITIONS": "6"}
    done = subprocess.run([sys.executable, "-m", "feedback", "config", "show", *args], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_json_shows_the_effective_values_and_masks_every_secret(tmp_path: Path) -> None:
    out = _show(tmp_path, "--json")
    for secret in ("pw-es-3141", "apikey-2718", "hmac-secret-1618", "url-pw-1414"):
        assert secret not in out, f"{secret} leaked"
    data = json.loads(out)
    assert data["es"]["password"] == data["es"]["api_key"] == data["ingest"]["author_secret"] == "**********"
    assert data["es"]["username"] == "elastic"  # not a secret: shown
    assert data["kafka"]["raw_partitions"] == 6  # the environment wins over the default
    assert data["es"]["url"] == "https://elastic:**********@es.internal:9200"
    assert data["effective"]["es_url"] == "https://elastic:**********@es.internal:9200"


def test_yaml_output_masks_them_too(tmp_path: Path) -> None:
    out = _show(tmp_path)
    for secret in ("pw-es-3141", "apikey-2718", "hmac-secret-1618", "url-pw-1414"):
        assert secret not in out, f"{secret} leaked"
    data = yaml.safe_load(out)
    assert data["ingest"]["author_secret"] == "**********"
    assert data["kafka"]["raw_partitions"] == 6
