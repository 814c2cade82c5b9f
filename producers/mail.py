"""Email: RFC 5322 messages from ``.eml`` files, mbox files, Maildir folders and IMAP.

One message is one event. The body is the ``text/plain`` part when there is one, else
the ``text/html`` part converted to text; any charset Python knows (utf-8,
windows-1256, ...) in any transfer encoding (quoted-printable, base64). Quoted reply
chains and signatures are removed (:func:`producers.replies.strip_replies`).
``Message-ID`` is the external id; the first of ``References`` (else ``In-Reply-To``,
else the message itself) is the thread id; the mailbox (``Delivered-To``/``To``) is
the source and the sender's address, hashed, is the author.
"""

from __future__ import annotations

import email
import email.errors
import email.policy
import logging
import mailbox
import re
from datetime import datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from feedback.schema import FeedbackEvent, utcnow
from producers.dates import ImpossibleDate
from producers.decoding import decode_declared
from producers.htmltext import html_to_text
from producers.mbox import is_mbox, split_mbox
from producers.records import ParseOptions, ParseResult, RecordRejected, build_event, content_id, read_record
from producers.replies import strip_replies

__all__ = ["parse_email_bytes", "parse_email_path", "parse_message"]

log = logging.getLogger(__name__)


_BASE64_DEFECTS = (
    email.errors.InvalidBase64PaddingDefect,
    email.errors.InvalidBase64CharactersDefect,
    email.errors.InvalidBase64LengthDefect,
)
_MULTIPART = re.compile(rb"^content-type:\s*(?:multipart/|message/rfc822)", re.IGNORECASE | re.MULTILINE)
_YEAR = re.compile(r"\b(\d{1,5})\s+\d{1,2}:\d{2}")


def _raw_header(message: Message, name: str) -> str | None:
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _header(message: Message, name: str) -> str | None:
    """A header as text: RFC 2047 words decoded, raw 8-bit bytes read as UTF-8.

    compat32 keeps raw header bytes as surrogates (and would hand back U+FFFD for them);
    they are read from the raw value here: UTF-8 when they are, else kept as escapes.
    """
    raw = _raw_header(message, name)
    if raw is None:
        return None
    try:
        raw_bytes = raw.encode("ascii", "surrogateescape")
        raw = raw_bytes.decode("utf-8")
    except UnicodeEncodeError:
        pass  # already text
    except UnicodeDecodeError:
        raw = raw_bytes.decode("utf-8", "backslashreplace")
    try:
        text = str(make_header(decode_header(raw))) if "=?" in raw else raw
    except (HeaderParseError, LookupError, UnicodeDecodeError, ValueError):
        text = raw
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "backslashreplace")
    return " ".join(text.split()) or None


def _address(header: str | None) -> str | None:
    if not header:
        return None
    for _name, addr in getaddresses([str(header)]):
        if addr:
            return addr.strip().lower()
    return None


def _decode_part(part: Message, notes: list[str]) -> str:
    before = len(part.defects)
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        raise RecordRejected("the body part has no content", field="body")
    if any(isinstance(d, _BASE64_DEFECTS) for d in part.defects[before:]) or (
        part.get("Content-Transfer-Encoding", "").strip().lower() == "base64" and _base64_truncated(part)
    ):
        raise RecordRejected("broken base64 body: the encoded text is cut off or holds invalid characters; "
                             "re-send the whole mail", field="body")
    decoded = decode_declared(raw, part.get_content_charset(), what="the body")
    if decoded.guess:
        notes.append(decoded.guess)
    return decoded.text


def _base64_truncated(part: Message) -> bool:
    encoded = part.get_payload(decode=False)
    if not isinstance(encoded, str):
        return False
    compact = "".join(encoded.split())
    return bool(compact) and len(compact.rstrip("=")) % 4 == 1


def _walk(message: Message) -> list[Message]:
    """The leaf parts, depth first, without recursion (a mail may nest parts deeply)."""
    leaves: list[Message] = []
    stack: list[Message] = [message]
    while stack:
        part = stack.pop()
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list):
            stack.extend(reversed(payload))
        else:
            leaves.append(part)
    return leaves


def _body(message: Message, notes: list[str]) -> tuple[str, str, int]:
    """The text, its content type and the attachment count.

    The first inline text/plain part whose text is not empty, else the first text/html
    part converted to text: an empty plain alternative never hides a full HTML one.
    """
    plain: list[Message] = []
    html: list[Message] = []
    attachments = 0
    for part in _walk(message):
        if part.get_content_disposition() == "attachment":
            attachments += 1
            continue
        content_type = part.get_content_type()
        if content_type == "text/plain":
            plain.append(part)
        elif content_type == "text/html":
            html.append(part)
    if not plain and not html:
        raise RecordRejected(
            "no text/plain or text/html part found; the mail has only attachments or no body", field="body"
        )
    first_error: RecordRejected | None = None
    for part in plain[:1] + html[:1]:
        try:
            text = _decode_part(part, notes)
        except RecordRejected as e:
            first_error = first_error or e
            continue
        content_type = part.get_content_type()
        if content_type == "text/html":
            text = html_to_text(text, drop_quotes=True)
        if text.strip():
            return text, content_type, attachments
    if first_error is not None:
        raise first_error
    return "", (plain or html)[0].get_content_type(), attachments


def _received_at(message: Message, metadata: dict[str, object]) -> datetime | ImpossibleDate:
    value = _header(message, "Date")
    if value:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            log.warning("unparsable Date header %r; using the ingest time", str(value))
            metadata["date_unparsable"] = value[:200]
            return utcnow()
        written = _YEAR.search(value)
        if written and len(written.group(1)) > 2 and int(written.group(1)) != moment.year:
            # email.utils reads years below 100 as 19xx/20xx even when written "0001".
            return ImpossibleDate(raw=value[:200], why=f"year {written.group(1)} is before e-mail existed")
        return moment
    metadata["date_missing"] = True
    return utcnow()


def parse_message(
    data: bytes, *, options: ParseOptions, mail_format: str, default_source: str = "unknown-mailbox"
) -> FeedbackEvent:
    """One message as bytes to an event; raises :class:`RecordRejected` when it cannot.

    >>> raw = b"Message-ID: <1@x>\\nFrom: a@b.c\\nTo: support@acme.com\\nSubject: Hi\\n\\nMy order is late."
    >>> e = parse_message(raw, options=ParseOptions(author_secret=b"k"), mail_format="eml")
    >>> (e.external_id, e.source, e.subject, e.text)
    ('<1@x>', 'support@acme.com', 'Hi', 'My order is late.')
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a BOM written by an editor before the headers
    if len(data) > options.max_mail_bytes:
        raise RecordRejected(f"mail too large: {len(data)} bytes, over the limit of {options.max_mail_bytes} "
                             "(FEEDBACK_INGEST_MAX_MAIL_BYTES)", field="$")
    if len(_MULTIPART.findall(data)) > options.max_depth:
        raise RecordRejected(f"nested too deep: more than {options.max_depth} multipart containers (limit "
                             "FEEDBACK_INGEST_MAX_DEPTH); re-send the mail without the nesting", field="body")
    # compat32 parsing is several times faster than policy.default's header registry.
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    if not message.keys():
        raise RecordRejected("not an email message: no headers found; expected RFC 5322 headers", field="headers")
    notes: list[str] = []
    try:
        body, content_type, attachments = _body(message, notes)
    except (LookupError, ValueError) as e:
        raise RecordRejected(f"unreadable message: {e}", field="body") from e
    subject = _header(message, "Subject")
    text, quotes_removed = strip_replies(body)
    external_id = _header(message, "Message-ID") or content_id(data)
    references = (_header(message, "References") or "").split()
    in_reply_to = _header(message, "In-Reply-To")
    thread_id = references[0] if references else (in_reply_to or external_id)
    source = _address(_header(message, "Delivered-To")) or _address(_header(message, "To")) or default_source
    metadata: dict[str, object] = {"format": mail_format, "content_type": content_type, "quotes_removed": quotes_removed}
    received_at = _received_at(message, metadata)
    if in_reply_to:
        metadata["in_reply_to"] = in_reply_to
    if notes:
        metadata["charset_note"] = "; ".join(notes)
    if attachments:
        metadata["attachments"] = attachments
    return build_event(
        "email",
        source=source,
        external_id=external_id,
        text=text,
        received_at=received_at,
        options=options,
        author=_address(_header(message, "From")),
        subject=subject,
        thread_id=thread_id,
        metadata=metadata,
    )


def parse_email_bytes(data: bytes, *, options: ParseOptions, location: str, mail_format: str = "eml") -> ParseResult:
    """One message's bytes to a result holding one event or one reject.

    Bytes that start with an mbox ``From `` line are an mbox: one event or reject per
    message (``location#1``, ``#2``, ...), never one event holding several messages.
    """
    if is_mbox(data):
        return _parse_mbox(data, options=options, location=location)
    result = ParseResult()
    read_record(result, location, data, lambda: parse_message(data, options=options, mail_format=mail_format))
    return result


def _parse_mbox(data: bytes, *, options: ParseOptions, location: str) -> ParseResult:
    result = ParseResult()
    for number, message in enumerate(split_mbox(data), start=1):
        where = f"{location}#{number}"
        if number > options.max_records_per_file:
            result.reject(where, f"too many messages: the mbox holds more than {options.max_records_per_file} "
                          "(FEEDBACK_INGEST_MAX_RECORDS_PER_FILE); this message and the ones after it were not "
                          "read; split the mbox", message, field="$")
            break
        read_record(result, where, message,
                    lambda message=message: parse_message(message, options=options, mail_format="mbox"))
    return result


def _is_maildir(path: Path) -> bool:
    return path.is_dir() and all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def _parse_maildir(path: Path, *, options: ParseOptions, location: str) -> ParseResult:
    """A Maildir and its Maildir++ subfolders (``.Complaints``, ``.Complaints.2026``)."""
    result = ParseResult()
    box = mailbox.Maildir(path, factory=None, create=False)
    boxes: list[tuple[str, mailbox.Maildir]] = [(location, box)]
    try:
        folders = sorted(box.list_folders())
    except OSError as e:
        result.reject(location, f"unreadable Maildir folder list: {e}", b"", field="path")
        folders = []
    for name in folders:
        boxes.append((f"{location}/.{name}", box.get_folder(name)))
    for where, folder in boxes:
        try:
            keys = sorted(folder.keys())
        except OSError as e:
            result.reject(where, f"unreadable Maildir: {e.strerror or e}; check its permissions", b"", field="path")
            continue
        for key in keys:
            here = f"{where}:{key}"
            try:
                raw = folder.get_bytes(key)
            except (OSError, KeyError) as e:
                result.reject(here, f"unreadable message file: {e}; check its permissions", b"", field="path")
                continue
            read_record(result, here, raw,
                        lambda raw=raw: parse_message(raw, options=options, mail_format="maildir"))
    return result


def parse_email_path(path: Path, *, options: ParseOptions, location: str | None = None) -> ParseResult:
    """An ``.eml`` file, an mbox file or a Maildir folder to events and rejects.

    A file that starts with an mbox ``From `` line is read as mbox; anything else as one
    message. A Maildir's Maildir++ subfolders are read with it.
    """
    where = location or str(path)
    if _is_maildir(path):
        return _parse_maildir(path, options=options, location=where)
    data = path.read_bytes()
    if is_mbox(data):
        return _parse_mbox(data, options=options, location=where)
    return parse_email_bytes(data, options=options, location=where, mail_format="eml")
