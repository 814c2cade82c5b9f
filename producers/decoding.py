"""Bytes to text, knowing when it guessed.

A BOM says the encoding (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE). Without one, UTF-32 and
UTF-16 are recognised by their zero bytes (text in any script has them in fixed places
there and never in UTF-8); everything else must be UTF-8. A declared charset (a MIME
``charset=``) is checked, not trusted: when the bytes do not decode in it, or when a
single-byte charset would turn valid UTF-8 into mojibake, the UTF-8 reading is used and
the reason is kept. Nothing is ever decoded with replacement characters: bytes that fit no
reading are a :class:`~producers.records.RecordRejected` naming the offset.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from producers.records import RecordRejected

__all__ = ["Decoded", "decode_bytes", "decode_declared"]

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Charsets in which every byte decodes, so a successful decode proves nothing.
_PERMISSIVE = frozenset({"iso-8859-1", "latin-1", "latin1", "l1", "iso8859-1", "windows-1252", "cp1252",
                         "windows-1256", "cp1256", "iso-8859-6", "us-ascii", "ascii"})


@dataclass(frozen=True, slots=True)
class Decoded:
    """The text, the encoding read, and the reason when that encoding was a guess."""

    text: str
    encoding: str
    guess: str | None = None


def _sniff_wide(data: bytes) -> str | None:
    """UTF-32 or UTF-16 without a BOM, told by where the zero bytes fall."""
    sample = data[:4096]
    if len(sample) >= 8 and len(sample) % 4 == 0:
        quads = [sample[i : i + 4] for i in range(0, len(sample), 4)]
        if all(q[2:] == b"\0\0" and q[:2] != b"\0\0" for q in quads[:64]):
            return "utf-32-le"
        if all(q[:2] == b"\0\0" and q[2:] != b"\0\0" for q in quads[:64]):
            return "utf-32-be"
    if len(sample) >= 4 and len(sample) % 2 == 0:
        pairs = [sample[i : i + 2] for i in range(0, len(sample), 2)]
        odd_zero = sum(1 for p in pairs if p[1] == 0 and p[0] != 0)
        even_zero = sum(1 for p in pairs if p[0] == 0 and p[1] != 0)
        # UTF-8 text never holds a zero byte; UTF-16 of any text with ASCII punctuation,
        # digits or spaces holds them, all on one side of each pair.
        if odd_zero and not even_zero:
            return "utf-16-le"
        if even_zero and not odd_zero:
            return "utf-16-be"
    return None


def _strict(data: bytes, encoding: str, *, what: str, field: str = "encoding") -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise RecordRejected(
            f"bad encoding: {what} is not valid {encoding} (byte 0x{data[e.start]:02x} at offset {e.start}: "
            f"{e.reason}); re-export it as UTF-8", field=field) from e


def decode_bytes(data: bytes, *, what: str = "the file") -> Decoded:
    """A file's bytes as text: BOM, else UTF-32/UTF-16 by their zero bytes, else UTF-8.

    >>> decode_bytes('{"text": "سلام"}'.encode("utf-16-le")).guess
    'no BOM; read as utf-16-le from the position of its zero bytes'
    >>> decode_bytes(b"\\xef\\xbb\\xbfhi").text
    'hi'
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return Decoded(_strict(data[len(bom):], encoding, what=what), encoding)
    wide = _sniff_wide(data)
    if wide is not None:
        text = _strict(data, wide, what=what)
        return Decoded(text, wide, guess=f"no BOM; read as {wide} from the position of its zero bytes")
    if b"\0" in data[:4096]:
        offset = data.index(b"\0")
        raise RecordRejected(
            f"bad encoding: {what} holds a zero byte at offset {offset} but is neither UTF-16 nor UTF-32 with or "
            "without a BOM; re-export it as UTF-8 (or UTF-16 with a BOM)", field="encoding")
    return Decoded(_strict(data, "utf-8", what=what), "utf-8")


def decode_declared(data: bytes, declared: str | None, *, what: str = "the body") -> Decoded:
    """Bytes in a declared charset, verified; UTF-8 when the declaration is wrong, with why.

    >>> d = decode_declared("سلام".encode(), "iso-8859-1")
    >>> (d.text, d.encoding, d.guess is not None)
    ('سلام', 'utf-8', True)
    """
    name = (declared or "utf-8").strip().lower()
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        codec = None
    utf8: str | None
    try:
        utf8 = data.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = None
    if codec is None:
        if utf8 is not None:
            return Decoded(utf8, "utf-8", guess=f"unknown charset {declared!r}; the bytes are valid UTF-8")
        raise RecordRejected(f"bad encoding: unknown charset {declared!r} and the bytes are not UTF-8; re-send "
                             "with a standard charset", field="charset")
    if codec == "utf-8":
        if utf8 is None:
            _strict(data, "utf-8", what=what, field="charset")  # raises with the offset
        return Decoded(utf8 or "", "utf-8")
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as e:
        if utf8 is not None:
            return Decoded(utf8, "utf-8", guess=f"declared {declared} but the bytes do not decode in it (offset "
                           f"{e.start}); they are valid UTF-8")
        raise RecordRejected(
            f"bad encoding: {what} is not valid {declared} (byte 0x{data[e.start]:02x} at offset {e.start}) nor "
            "UTF-8; fix the Content-Type charset", field="charset") from e
    if utf8 is not None and utf8 != text and (name in _PERMISSIVE or codec in _PERMISSIVE or codec.startswith("cp")):
        # A single-byte charset decodes anything; multi-byte UTF-8 sequences read in it are mojibake.
        return Decoded(utf8, "utf-8", guess=f"declared {declared} but the bytes are UTF-8 (multi-byte sequences); "
                       "read as UTF-8")
    if codec in ("latin-1", "iso8859-1") and any("\x80" <= ch <= "\x9f" for ch in text):
        raise RecordRejected(f"bad encoding: {what} read as {declared} holds C1 control characters, so the charset "
                             "is wrong; fix the Content-Type charset", field="charset")
    return Decoded(text, codec)
