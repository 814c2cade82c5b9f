"""HTML to plain text for HTML-only mail, Intercom bodies and Mastodon statuses."""

from __future__ import annotations

from html.parser import HTMLParser

__all__ = ["html_to_text"]

_BLOCKS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "section",
     "article", "header", "footer", "pre", "hr"}
)
_HIDDEN = frozenset({"script", "style", "head", "title", "template", "noscript"})


class _TextExtractor(HTMLParser):
    def __init__(self, *, drop_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0
        self._quote_depth = 0
        self._drop_quotes = drop_quotes
        self._stack: list[tuple[str, bool]] = []

    def _is_quote(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if not self._drop_quotes:
            return False
        if tag == "blockquote":
            return True
        classes = " ".join(v or "" for k, v in attrs if k == "class")
        ids = " ".join(v or "" for k, v in attrs if k == "id")
        # Gmail, Outlook and Apple Mail wrap the quoted history in these containers.
        return "gmail_quote" in classes or "divRplyFwdMsg" in ids or "appendonsend" in ids

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden_depth += 1
        quote = self._is_quote(tag, attrs)
        if quote:
            self._quote_depth += 1
        if tag not in ("br", "hr", "img", "meta", "link", "input"):
            self._stack.append((tag, quote))
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN and self._hidden_depth:
            self._hidden_depth -= 1
        while self._stack:
            open_tag, quote = self._stack.pop()
            if quote:
                self._quote_depth -= 1
            if open_tag == tag:
                break
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth and not self._quote_depth:
            self.parts.append(data)


def html_to_text(html: str, *, drop_quotes: bool = False) -> str:
    """The visible text of an HTML fragment or page, one line per block element.

    ``drop_quotes`` removes ``<blockquote>`` and the mail clients' quoted-history
    containers, so a reply keeps only what its author wrote.

    >>> html_to_text("<p>Hello&nbsp;<b>world</b></p><blockquote>old</blockquote>", drop_quotes=True)
    'Hello world'
    """
    parser = _TextExtractor(drop_quotes=drop_quotes)
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) if line.strip() else "" for line in "".join(parser.parts).split("\n")]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()
