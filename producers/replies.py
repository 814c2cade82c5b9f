"""Remove quoted reply chains and signatures from a mail body (English and Persian).

The splitting is done by ``mail-parser-reply`` (maintained, multi-language). It has no
Persian, so we register Persian reply headers with it: Gmail's ``... نوشت:`` line and
Outlook's ``از: / ارسال شده: / به: / موضوع:`` block, plus closing phrases on a line of
their own.
"""

from __future__ import annotations

import re

from mailparser_reply import EmailMessage

from feedback.text import fold_digits
from mailparser_reply.constants import MAIL_LANGUAGES, QUOTED_MATCH_INCLUDE

__all__ = ["strip_replies"]

_FA: dict[str, object] = {
    # Gmail in Persian: "در تاریخ سه‌شنبه ۳ نوامبر ۲۰۲۶ ساعت ۱۰:۰۰ Support <s@x.com> نوشت:"
    "wrote_header": r"^(" + QUOTED_MATCH_INCLUDE + r"در تاریخ[^\n]{0,200}(?:\n[^\n]{0,120})?نوشت\s?:)$",
    "from_header": r"((?:(?:^|\n|\n"
    + QUOTED_MATCH_INCLUDE
    + r")[* ]*(?:از|فرستنده|ارسال شده|تاریخ|به|گیرنده|موضوع|رونوشت):[ *]*(?:\s{,2}).*){2,}(?:\n.*){,1})",
    "disclaimers": ["سلب مسئولیت:"],
    # Closing phrases count only alone on their line, so "با تشکر از ..." inside a sentence stays.
    "signatures": [r"با احترام[،,]?\s*$", r"با سپاس[،,]?\s*$", r"با تشکر[،,]?\s*$", r"ارادتمند[،,]?\s*$"],
    "sent_from": r"ارسال شده از",
}
MAIL_LANGUAGES.setdefault("fa", _FA)

_QUOTED_LINE = re.compile(r"^\s*>")

# A line that looks like a reply header ("From: ...", "از: ..."), possibly quoted.
_HEADER_LINE = re.compile(
    r"^((?:> ?)*[* ]*)(from|sent|to|subject|date|cc|organization|از|فرستنده|ارسال شده|تاریخ|به|گیرنده|موضوع|رونوشت)"
    r"([ *]*):(.*)$",
    re.IGNORECASE,
)
_FROM = frozenset({"from", "از", "فرستنده"})
_WHEN = frozenset({"sent", "date", "ارسال شده", "تاریخ"})
_WHAT = frozenset({"to", "subject", "cc", "به", "گیرنده", "موضوع", "رونوشت"})
_CLOCK_OR_YEAR = re.compile(r"\d{1,2}:\d{2}|\b\d{4}\b")
# Stands in for the colon of a line that only looks like a header, while the splitter runs.
_MASK = "\ue000"


def _real_block(block: list[re.Match[str]]) -> bool:
    """A header block of a quoted message: From, a date, To or Subject, and an address or a time."""
    names = {m.group(2).lower() for m in block}
    values = " ".join(fold_digits(m.group(4)) for m in block)
    return bool(names & _FROM and names & _WHEN and names & _WHAT) and (
        "@" in values or bool(_CLOCK_OR_YEAR.search(values)))


def _mask_lookalikes(body: str) -> str:
    """Hide the colons of header-like lines that do not form a real header block
    ("از: تهران / به: شیراز" in a complaint about a route, a quoted single "From:")."""
    lines = body.split("\n")
    index = 0
    while index < len(lines):
        match = _HEADER_LINE.match(lines[index])
        if match is None:
            index += 1
            continue
        block = [match]
        end = index + 1
        while end < len(lines) and (next_match := _HEADER_LINE.match(lines[end])) is not None:
            block.append(next_match)
            end += 1
        if not _real_block(block):
            for offset, m in enumerate(block):
                lines[index + offset] = f"{m.group(1)}{m.group(2)}{m.group(3)}{_MASK}{m.group(4)}"
        index = end
    return "\n".join(lines)


def strip_replies(body: str) -> tuple[str, bool]:
    """The newest reply of a mail body, and whether anything was removed.

    >>> strip_replies("Still broken.\\n\\nOn Mon, 2 Nov 2026 at 10:00, Support <s@acme.com> wrote:\\n> Try again")
    ('Still broken.', True)
    """
    masked = _mask_lookalikes(body.replace("\r\n", "\n"))
    message = EmailMessage(text=masked, languages=["fa", "en"], keep_hyphen_lists=True).read()
    newest = next((reply.body for reply in message.replies if reply.body.strip()), "")
    # Bottom-quoted lines without a header ("> ...") are history too.
    kept = [line for line in newest.split("\n") if not _QUOTED_LINE.match(line)]
    text = "\n".join(kept).strip().replace(_MASK, ":")
    original = "\n".join(line.strip() for line in body.replace("\r\n", "\n").split("\n")).strip()
    return text, text != original
