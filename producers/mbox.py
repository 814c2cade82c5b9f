"""Split an mbox into messages the way mail clients do (mboxo and mboxrd).

A message starts at a ``From `` line in the asctime form mbox writers use
(``From sender Mon Nov 16 11:09:00 2026``); any other line that starts with ``From `` is
body text, so an unescaped ``From here on ...`` in a complaint does not split it. Quoted
``>From `` lines (``>>From `` in mboxrd) lose one ``>``, so the text reads as written.
"""

from __future__ import annotations

import re

__all__ = ["is_mbox", "split_mbox"]

_DAY = rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTH = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_FROM_LINE = re.compile(
    rb"From \S+ +" + _DAY + rb",? +" + _MONTH + rb" +\d{1,2} +\d{1,2}:\d{2}(?::\d{2})?(?: +[+-]?\w+)? +\d{4}"
    rb"(?: +[+-]?\w+)?\s*$"
)
_ESCAPED = re.compile(rb"^>(>*From )", re.MULTILINE)
_LINES = re.compile(rb"(?<=\n)")


def is_mbox(data: bytes) -> bool:
    """Whether ``data`` is an mbox: it starts with a ``From `` separator line.

    >>> (is_mbox(b"From a@b Mon Nov 16 11:09:00 2026\\nSubject: x\\n\\nhi\\n"), is_mbox(b"From: a@b\\n\\nhi"))
    (True, False)
    """
    return data.startswith(b"From ")


def _message(lines: list[bytes]) -> bytes:
    if lines and not lines[-1].strip():
        lines = lines[:-1]  # the blank line the writer put before the next separator
    return _ESCAPED.sub(rb"\1", b"".join(lines))


def split_mbox(data: bytes) -> list[bytes]:
    """The messages of an mbox, separator lines removed and ``>From`` unquoted.

    >>> split_mbox(b"From a Mon Nov 16 11:09:00 2026\\nSubject: 1\\n\\nFrom now on it fails\\n>From me\\n\\n"
    ...            b"From b Tue Nov 17 11:09:00 2026\\nSubject: 2\\n\\nok\\n")
    [b'Subject: 1\\n\\nFrom now on it fails\\nFrom me\\n', b'Subject: 2\\n\\nok\\n']
    """
    messages: list[bytes] = []
    current: list[bytes] | None = None
    for line in _LINES.split(data):
        if not line:
            continue
        if current is None or (line.startswith(b"From ") and _FROM_LINE.match(line)):
            if current is not None:
                messages.append(_message(current))
            current = []
            continue
        current.append(line)
    if current is not None:
        messages.append(_message(current))
    return messages
