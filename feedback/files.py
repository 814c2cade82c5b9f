"""Replacing a file whole: readers (and a crash mid-write) see the old contents or the new, never a part.

Every file the project rewrites while something else may read it goes through
:func:`replace_file`: the replay checkpoint, the node's credentials and roles, the API keys.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["replace_file"]

NEW_FILE_MODE = 0o644  # what open() gives a new file under the usual umask


def replace_file(path: Path, text: str, *, mode: int | None = None, keep_owner: bool = False) -> None:
    """Write ``text`` to a temporary file beside ``path``, flush it to disk, and rename it over ``path``.

    ``mode``: the new file's permission bits, set before the first byte is written (secrets
    never sit in a file others can read); ``None`` keeps the old file's mode (``0o644`` when
    there is none). ``keep_owner``: give the new file the old one's owner and group (a file a
    service running as another user reads). The temporary file is removed on any failure.

    >>> import tempfile, stat
    >>> p = Path(tempfile.mkdtemp()) / "state.json"
    >>> replace_file(p, "{}", mode=0o600)
    >>> p.read_text(), oct(stat.S_IMODE(p.stat().st_mode))
    ('{}', '0o600')
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.stat() if path.is_file() else None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    if mode is None:
        mode = old.st_mode & 0o7777 if old else NEW_FILE_MODE
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), mode)
            if keep_owner and old and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
                os.fchown(f.fileno(), old.st_uid, old.st_gid)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
