"""The API key store and `feedback keys create | list | revoke` (no services: --no-es-key)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from feedback.cli import app
from feedback.errors import InvalidInput
from feedback.keys import KeyStore, hash_key


def test_issue_stores_only_a_hash_in_a_0600_file(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "api" / "keys.json")
    issued = store.issue(departments=["orders", "billing", "billing"], roles=[], name="billing desk")
    text = store.path.read_text()
    assert issued.key not in text and issued.key.split("_")[2] not in text
    assert hash_key(issued.key) in text
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert issued.record.departments == ["billing", "orders"]
    assert len(issued.key) == len("fbk_") + 12 + 1 + 43  # 32 random bytes


def test_authenticate_known_unknown_malformed_revoked(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    issued = store.issue(departments=["billing"], roles=[])
    caller = store.authenticate(issued.key)
    assert caller is not None and caller.departments == {"billing"} and not caller.sees_all
    assert caller.may_read("billing") and not caller.may_read("orders")
    forged = issued.key[:-1] + ("A" if issued.key[-1] != "A" else "B")  # right id, wrong secret
    assert store.authenticate(forged) is None
    assert store.authenticate("fbk_" + "0" * 12 + "_" + "x" * 43) is None
    assert store.authenticate("not-a-key") is None
    # A second process (the CLI) revokes; this store sees it on its next read.
    KeyStore(store.path).revoke(issued.record.id)
    assert store.authenticate(issued.key) is None


def test_ops_reads_every_department_and_a_key_must_read_something(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    ops = store.authenticate(store.issue(departments=[], roles=["ops"]).key)
    assert ops is not None and ops.sees_all and ops.may_read("anything")
    with pytest.raises(InvalidInput, match="at least one --department"):
        store.issue(departments=[], roles=["support"])
    with pytest.raises(InvalidInput, match="unknown role.*admin"):
        store.issue(departments=["billing"], roles=["admin"])
    with pytest.raises(InvalidInput, match="no API key with id 'nope'"):
        store.revoke("nope")


def test_a_corrupt_keys_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text("{not json")
    from feedback.errors import ConfigError

    with pytest.raises(ConfigError, match="not a valid keys file"):
        KeyStore(path).authenticate("fbk_" + "0" * 12 + "_" + "x" * 43)


def _cli(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = {"FEEDBACK_API_KEYS_FILE": str(tmp_path / "keys.json")}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_cli_create_prints_the_key_once_list_hides_it_revoke_ends_it(tmp_path: Path) -> None:
    code, out, _ = _cli(tmp_path, "keys", "create", "--department", "billing", "-d", "orders", "--name", "desk",
                        "--no-es-key", "--json")
    assert code == 0, out
    created = json.loads(out)
    key = created["key"]
    assert created["departments"] == ["billing", "orders"] and created["es_api_key"] is None
    assert "sha256" not in created
    store = KeyStore(tmp_path / "keys.json")
    assert store.authenticate(key) is not None

    code, listed, _ = _cli(tmp_path, "keys", "list")
    assert code == 0 and created["id"] in listed and "desk" in listed and "active" in listed
    assert key not in listed and hash_key(key) not in listed
    code, listed_json, _ = _cli(tmp_path, "keys", "list", "--json")
    [row] = json.loads(listed_json)
    assert row["id"] == created["id"] and "sha256" not in row and key not in listed_json

    code, out, _ = _cli(tmp_path, "keys", "revoke", created["id"])
    assert code == 0 and f"revoked API key {created['id']}" in out
    assert store.authenticate(key) is None
    assert "revoked" in _cli(tmp_path, "keys", "list")[1]


def test_cli_plain_output_shows_the_key_and_how_to_send_it(tmp_path: Path) -> None:
    code, out, _ = _cli(tmp_path, "keys", "create", "--role", "ops", "--no-es-key")
    assert code == 0
    [key] = [line for line in out.splitlines() if line.startswith("fbk_")]
    assert "every department (ops)" in out and "Authorization: Bearer" in out
    assert KeyStore(tmp_path / "keys.json").authenticate(key).sees_all  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--department", "billing-eu"], "unknown department(s) billing-eu: expected one of"),
        (["--role", "support"], "at least one --department"),
        (["--department", "billing", "--role", "root"], "unknown role(s) root"),
    ],
)
def test_cli_bad_input_is_one_line_and_nonzero(tmp_path: Path, args: list[str], fragment: str) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "feedback", "keys", "create", *args, "--no-es-key"],
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "FEEDBACK_API_KEYS_FILE": str(tmp_path / "keys.json")})
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: ") and fragment in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "keys.json").exists()


def test_cli_revoke_unknown_id_is_one_line(tmp_path: Path) -> None:
    code, _, _ = _cli(tmp_path, "keys", "revoke", "abc")
    assert code != 0
