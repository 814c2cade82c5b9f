"""replace_file: the one way the project rewrites a file that something else may be reading."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest

from feedback.files import replace_file


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_gets_the_mode_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "secret.json"
    replace_file(path, '{"k": 1}', mode=0o600)
    assert path.read_text() == '{"k": 1}'
    assert mode_of(path) == 0o600


def test_replacing_renames_a_new_file_over_the_old_one_keeping_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "roles.yml"
    path.write_text("old: 1\n")
    path.chmod(0o640)
    with open(path, encoding="utf-8") as reader:  # a reader that opened the old file
        replace_file(path, "new: 2\n")
        assert reader.read() == "old: 1\n"  # still whole: the old file was not truncated
    assert path.read_text() == "new: 2\n"
    assert mode_of(path) == 0o640


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("checkpoint")
    with pytest.raises(UnicodeEncodeError):
        replace_file(path, "half \ud800 written", mode=0o600)  # a lone surrogate cannot be encoded
    assert path.read_text() == "checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
