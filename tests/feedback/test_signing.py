"""The documented openssl recipe signs exactly like ``feedback.signing`` (what the server checks)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from feedback.signing import signature, signed_headers

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_the_openssl_recipe_gives_the_same_signature(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_bytes('{"text": "پرداخت انجام شد\\n", "n": 1}\n'.encode())
    secret, ts = "recipe-secret-0123456789", "1800000000"
    recipe = ("sig=$(printf '%s.' \"$ts\" | cat - \"$body\" | openssl dgst -sha256 -hmac \"$SECRET\" -r "
              "| cut -d' ' -f1); echo \"sha256=$sig\"")
    assert recipe.split(";")[0] in (REPO / "README.md").read_text()  # the README shows this very recipe
    done = subprocess.run(["bash", "-c", recipe], env={"ts": ts, "body": str(body), "SECRET": secret,
                                                       "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == signature(secret, ts, body.read_bytes())


def test_signed_headers_change_with_every_byte_and_the_timestamp() -> None:
    a = signed_headers("s", "k" * 16, b"{}", timestamp=1)
    assert a["X-Feedback-Timestamp"] == "1" and a["X-Feedback-Signature"].startswith("sha256=")
    assert a != signed_headers("s", "k" * 16, b"{ }", timestamp=1)
    assert a != signed_headers("s", "k" * 16, b"{}", timestamp=2)
