"""The converter's entities made acceptable to Telegram: nesting rules, link URLs, code languages.

Owns which entities a rendered text keeps and how they are cut: bold/italic/underline/
strikethrough/spoiler nest with anything but code and pre (they are cut around those); code and
pre touch nothing but a blockquote that contains them; inline code inside a link loses its code
style (the link wins); blockquotes never nest; a link whose URL Telegram refuses is dropped, and
a code block's language kept only if it looks like a name. Sorting and bisection, never a check
of every pair, whatever the entities. Must not render or cut text: `bot.render.convert` hands in
the converter's entities.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from telegram import MessageEntity

_STYLES = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
_CODES = frozenset({"code", "pre"})
_QUOTES = frozenset({"blockquote", "expandable_blockquote"})
_LINKS = frozenset({"text_link"})
# Telegram refuses a text_link whose URL is not http(s) with a plain ASCII host, or tg:/ton:.
_APP_SCHEMES = frozenset({"tg", "ton"})
_WEB_SCHEMES = frozenset({"http", "https"})
_HOST = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|localhost|\[[0-9a-fA-F:]+\]")
# A code block's language: the first word of its info string, kept if it looks like a name.
_LANGUAGE = re.compile(r"[\w+#.-]{1,32}")


@dataclass(slots=True)
class _Span:
    type: str
    start: int
    end: int
    url: str | None = None
    language: str | None = None


def telegram_entities(raw: list[Any], lead: int, size: int) -> tuple[MessageEntity, ...]:
    """The converter's entities (`raw`, offsets in the unstripped text) moved onto the text with
    its `lead` units of leading whitespace stripped (`size` units long), and made acceptable
    to Telegram."""
    spans: list[_Span] = []
    for entity in raw:
        start = max(entity.offset - lead, 0)
        end = min(entity.offset + entity.length - lead, size)
        url: str | None = entity.url
        if end <= start or entity.type not in _STYLES | _CODES | _QUOTES | _LINKS:
            continue
        if entity.type == "text_link" and not _is_valid_url(url or ""):
            continue
        words = (entity.language or "").split()
        language = words[0] if words and _LANGUAGE.fullmatch(words[0]) else None
        spans.append(_Span(entity.type, start, end, url, language))
    spans.sort(key=lambda s: (s.start, -s.end))
    quotes = _outermost([s for s in spans if s.type in _QUOTES])
    blocks = _Ranges([s for s in spans if s.type == "pre"])
    links = _Ranges(
        [s for s in _outermost([s for s in spans if s.type in _LINKS]) if not blocks.hit(s)]
    )
    codes = _Ranges(
        [s for s in spans if s.type == "pre" or (s.type == "code" and not links.hit(s))]
    )
    styles: list[_Span] = []
    for kind in sorted(_STYLES):
        # Spans of one kind nest (the converter closes the innermost open one), so the outermost
        # cover the rest: only theirs are cut around code, each stretch of code once per kind.
        outer = _outermost([s for s in spans if s.type == kind])
        styles += _outermost([part for s in outer for part in codes.around(s)])
    kept = sorted(quotes + links.spans + codes.spans + styles, key=lambda s: (s.start, -s.end))
    return tuple(
        MessageEntity(s.type, s.start, s.end - s.start, url=s.url, language=s.language)
        for s in kept
    )


def _is_valid_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    return scheme in _APP_SCHEMES or (scheme in _WEB_SCHEMES and bool(_HOST.fullmatch(host)))


def _outermost(spans: list[_Span]) -> list[_Span]:
    """Spans (sorted by start, longest first) not inside an earlier one."""
    kept: list[_Span] = []
    for span in spans:
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


class _Ranges:
    """Spans sorted by start that do not overlap each other, for overlap queries."""

    __slots__ = ("_ends", "spans")

    def __init__(self, spans: list[_Span]) -> None:
        self.spans = spans
        self._ends = [s.end for s in spans]

    def hit(self, span: _Span) -> bool:
        """Whether `span` overlaps one of these."""
        i = bisect_right(self._ends, span.start)
        return i < len(self.spans) and self.spans[i].start < span.end

    def around(self, span: _Span) -> list[_Span]:
        """`span` with the stretches these cover taken out."""
        parts: list[_Span] = []
        start = span.start
        i = bisect_right(self._ends, span.start)
        while i < len(self.spans) and self.spans[i].start < span.end:
            other = self.spans[i]
            i += 1
            if other.start > start:
                parts.append(_Span(span.type, start, other.start))
            start = max(start, other.end)
        if start < span.end:
            parts.append(_Span(span.type, start, span.end))
        return parts
