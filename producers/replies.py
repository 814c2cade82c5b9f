"""Remove quoted reply chains and signatures from a mail body (English and Persian).

The splitting is done by ``mail-parser-reply`` (maintained, multi-language). It has no
Persian, so we register Persian reply headers with it: Gmail's ``... نوشت:`` line and
Outlook's ``از: / ارسال شده: / به: / موضوع:`` block, plus closing phrases on a line of
their own.
"""

from __future__ import annotations

import re

from mailparser_reply import EmailMessage
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


def strip_replies(body: str) -> tuple[str, bool]:
    """The newest reply of a mail body, and whether anything was removed.

    >>> strip_replies("Still broken.\\n\\nOn Mon, 2 Nov 2026 at 10:00, Support <s@acme.com> wrote:\\n> Try again")
    ('Still broken.', True)
    """
    message = EmailMessage(text=body, languages=["fa", "en"], keep_hyphen_lists=True).read()
    newest = next((reply.body for reply in message.replies if reply.body.strip()), "")
    # Bottom-quoted lines without a header ("> ...") are history too.
    kept = [line for line in newest.split("\n") if not _QUOTED_LINE.match(line)]
    text = "\n".join(kept).strip()
    original = "\n".join(line.strip() for line in body.replace("\r\n", "\n").split("\n")).strip()
    return text, text != original
