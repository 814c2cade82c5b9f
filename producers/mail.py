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
import email.policy
import logging
import mailbox
from datetime import datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from feedback.schema import FeedbackEvent, utcnow
from producers.htmltext import html_to_text
from producers.records import ParseOptions, ParseResult, RecordRejected, build_event, content_id
from producers.replies import strip_replies

__all__ = ["parse_email_bytes", "parse_email_path", "parse_message"]

log = logging.getLogger(__name__)


def _header(message: Message, name: str) -> str | None:
    """A header as text: RFC 2047 words decoded, stray 8-bit bytes read as UTF-8."""
    value = message.get(name)
    if value is None:
        return None
    raw = str(value)
    try:
        text = str(make_header(decode_header(raw)))
    except (HeaderParseError, LookupError, UnicodeDecodeError):
        text = raw
    # compat32 keeps undecodable header bytes as surrogates; they cannot go into JSON.
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join(text.split()) or None


def _address(header: str | None) -> str | None:
    if not header:
        return None
    for _name, addr in getaddresses([str(header)]):
        if addr:
            return addr.strip().lower()
    return None


def _decode_part(part: Message) -> str:
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        raise RecordRejected("the body part has no content", field="body")
    charset = part.get_content_charset() or "utf-8"
    try:
        return raw.decode(charset)
    except LookupError as e:
        raise RecordRejected(
            f"bad encoding: unknown charset {charset!r}; re-send the mail with a standard charset", field="charset"
        ) from e
    except UnicodeDecodeError as e:
        raise RecordRejected(
            f"bad encoding: the body is not valid {charset} (byte {e.start}); fix the Content-Type charset",
            field="charset",
        ) from e


def _parts(message: Message) -> tuple[Message | None, int]:
    """The first inline text/plain part (else text/html), and the number of attachments."""
    plain: Message | None = None
    html: Message | None = None
    attachments = 0
    for part in message.walk():
        if part.is_multipart():
            continue
        if part.get_content_disposition() == "attachment":
            attachments += 1
            continue
        content_type = part.get_content_type()
        if content_type == "text/plain" and plain is None:
            plain = part
        elif content_type == "text/html" and html is None:
            html = part
    return plain or html, attachments


def _body(part: Message | None) -> tuple[str, str]:
    """The body part's text and its content type."""
    if part is None:
        raise RecordRejected(
            "no text/plain or text/html part found; the mail has only attachments or no body", field="body"
        )
    content_type = part.get_content_type()
    text = _decode_part(part)
    if content_type == "text/html":
        text = html_to_text(text, drop_quotes=True)
    return text, content_type


def _received_at(message: Message) -> tuple[datetime, bool]:
    value = _header(message, "Date")
    if value:
        try:
            return parsedate_to_datetime(value), True
        except (TypeError, ValueError):
            log.warning("unparsable Date header %r; using the ingest time", str(value))
    return utcnow(), False


def parse_message(
    data: bytes, *, options: ParseOptions, mail_format: str, default_source: str = "unknown-mailbox"
) -> FeedbackEvent:
    """One message as bytes to an event; raises :class:`RecordRejected` when it cannot.

    >>> raw = b"Message-ID: <1@x>\\nFrom: a@b.c\\nTo: support@acme.com\\nSubject: Hi\\n\\nMy order is late."
    >>> e = parse_message(raw, options=ParseOptions(author_secret=b"k"), mail_format="eml")
    >>> (e.external_id, e.source, e.subject, e.text)
    ('<1@x>', 'support@acme.com', 'Hi', 'My order is late.')
    """
    # compat32 parsing is several times faster than policy.default's header registry.
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    if not message.keys():
        raise RecordRejected("not an email message: no headers found; expected RFC 5322 headers", field="headers")
    part, attachments = _parts(message)
    try:
        body, content_type = _body(part)
    except (LookupError, ValueError) as e:
        raise RecordRejected(f"unreadable message: {e}", field="body") from e
    subject = _header(message, "Subject")
    text, quotes_removed = strip_replies(body)
    external_id = _header(message, "Message-ID") or content_id(data)
    references = (_header(message, "References") or "").split()
    in_reply_to = _header(message, "In-Reply-To")
    thread_id = references[0] if references else (in_reply_to or external_id)
    received_at, dated = _received_at(message)
    source = _address(_header(message, "Delivered-To")) or _address(_header(message, "To")) or default_source
    metadata: dict[str, object] = {"format": mail_format, "content_type": content_type, "quotes_removed": quotes_removed}
    if in_reply_to:
        metadata["in_reply_to"] = in_reply_to
    if not dated:
        metadata["date_missing"] = True
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
    """One message's bytes to a result holding one event or one reject."""
    result = ParseResult()
    try:
        result.events.append(parse_message(data, options=options, mail_format=mail_format))
    except RecordRejected as e:
        result.reject_error(location, e, data)
    return result


def _is_maildir(path: Path) -> bool:
    return path.is_dir() and all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def parse_email_path(path: Path, *, options: ParseOptions) -> ParseResult:
    """An ``.eml`` file, an mbox file or a Maildir folder to events and rejects.

    A file that starts with an mbox ``From `` line is read as mbox; anything else as one
    message.
    """
    result = ParseResult()
    if _is_maildir(path):
        box = mailbox.Maildir(path, factory=None, create=False)
        for key in sorted(box.keys()):
            result.extend(parse_email_bytes(box.get_bytes(key), options=options, location=f"{path}:{key}",
                                            mail_format="maildir"))
        return result
    with path.open("rb") as handle:
        head = handle.read(5)
    if head == b"From ":
        mbox = mailbox.mbox(path, factory=None, create=False)
        try:
            for index, key in enumerate(mbox.keys()):
                result.extend(parse_email_bytes(mbox.get_bytes(key), options=options, location=f"{path}#{index + 1}",
                                                mail_format="mbox"))
        finally:
            mbox.close()
        return result
    return parse_email_bytes(path.read_bytes(), options=options, location=str(path), mail_format="eml")
