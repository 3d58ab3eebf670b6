"""What a rendered message must satisfy, and ways to read one, for the render tests
(test_render*.py); the corpus of real answers they render is in `corpus/`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import pyromark
from telegram import MessageEntity
from telegramify_markdown.converter import STANDARD_OPTIONS

from bot.render.convert import TELEGRAM_TEXT_LIMIT, Piece, Rendered, split_markdown, utf16_len
from tests.fakes.telegram.rules import check_message_text

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.md"))
LONG_ANSWER = Path(__file__).parent / "corpus" / "long_deployment_guide.md"
# render() has no limit of its own (the caller splits): tables can grow far past their source.
UNLIMITED = 10**9
STYLES = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
CODES = frozenset({"code", "pre"})
QUOTES = frozenset({"blockquote", "expandable_blockquote"})
LATEX = re.compile(r"\\\(.+?\\\)|\\\[.+?\\\]", re.DOTALL)
FAMILY = "👨\u200d👩\u200d👧\u200d👦"
FLAG = "🇺🇦"
ACCENTED = "e\u0301"


def assert_valid_entities(
    text: str, entities: Sequence[MessageEntity], limit: int = TELEGRAM_TEXT_LIMIT
) -> None:
    """Telegram's rules for a message: trimmed non-empty text within the limit, entities inside
    it on UTF-16 boundaries, nested properly (code and pre only inside a blockquote, blockquotes
    never nested, links never inside links)."""
    assert text, "Telegram refuses an empty text"
    assert text == text.strip(), "Telegram trims the text, moving every entity"
    size = utf16_len(text)
    assert size <= limit
    units = text.encode("utf-16-le", "surrogatepass")

    def inside_pair(offset: int) -> bool:
        return (
            offset < size
            and 0xDC00 <= int.from_bytes(units[2 * offset : 2 * offset + 2], "little") <= 0xDFFF
        )

    for entity in entities:
        assert entity.length >= 1, entity
        assert entity.offset >= 0, entity
        assert entity.offset + entity.length <= size, entity
        assert not inside_pair(entity.offset), entity
        assert not inside_pair(entity.offset + entity.length), entity
        if entity.type == "text_link":
            assert (entity.url or "").startswith(("http://", "https://", "tg://")), entity
        if entity.type == "pre" and entity.language is not None:
            assert re.fullmatch(r"\S+", entity.language), entity
    for a, b in combinations(entities, 2):
        a_end, b_end = a.offset + a.length, b.offset + b.length
        if a_end <= b.offset or b_end <= a.offset:
            continue
        if a.offset <= b.offset and b_end <= a_end:
            outer, inner = a, b
        elif b.offset <= a.offset and a_end <= b_end:
            outer, inner = b, a
        else:
            raise AssertionError(f"{a} and {b} cross")
        kinds = (outer.type, inner.type)
        assert not (outer.type in QUOTES and inner.type in QUOTES), kinds
        if outer.type in CODES or inner.type in CODES:
            assert outer.type in QUOTES, f"code or pre must stand alone: {kinds}"
        else:
            assert outer.type in STYLES | QUOTES or inner.type in STYLES, kinds


def assert_sendable(rendered: Rendered, limit: int = TELEGRAM_TEXT_LIMIT) -> None:
    """Our rules, and (within Telegram's limit) the fake Telegram server keeps the message
    exactly as sent."""
    assert_valid_entities(rendered.text, rendered.entities, limit)
    if utf16_len(rendered.text) > TELEGRAM_TEXT_LIMIT:
        return
    sent = [entity.to_dict() for entity in rendered.entities]
    kept = check_message_text(rendered.text, sent)
    assert (kept.text, sorted_dicts(kept.entities)) == (rendered.text, sorted_dicts(sent))


def sorted_dicts(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entities, key=lambda e: (e["offset"], e["length"], e["type"]))


def utf16_slice(text: str, offset: int, length: int) -> str:
    units = text.encode("utf-16-le", "surrogatepass")
    return units[2 * offset : 2 * (offset + length)].decode("utf-16-le", "surrogatepass")


def spans(rendered: Rendered) -> list[tuple[str, str]]:
    """Each entity as (type, the text it covers), in order."""
    return [(e.type, utf16_slice(rendered.text, e.offset, e.length)) for e in rendered.entities]


def assert_in_order(words: Sequence[str], text: str) -> None:
    position = 0
    for word in words:
        found = text.find(word, position)
        assert found >= 0, f"{word!r} missing after position {position}"
        position = found + len(word)


def visible_words(markdown: str) -> list[str]:
    """Letters and digits a markdown viewer shows: text, code and raw HTML, not link targets,
    fence languages or LaTeX commands."""
    words: list[str] = []
    for event in pyromark.events(LATEX.sub(" ", markdown), options=STANDARD_OPTIONS):
        if isinstance(event, dict):
            for key, payload in event.items():
                if key in ("Text", "Code", "Html", "InlineHtml") and isinstance(payload, str):
                    words += re.findall(r"[^\W_]+", payload)
    return words


def outside_code(rendered: Rendered) -> str:
    """The rendered text with code and pre taken out."""
    units = rendered.text.encode("utf-16-le", "surrogatepass")
    for e in rendered.entities:
        if e.type in CODES:
            units = units[: 2 * e.offset] + b"\0\0" * e.length + units[2 * (e.offset + e.length) :]
    return units.decode("utf-16-le", "surrogatepass")


def texts(pieces: Sequence[Piece]) -> list[str]:
    return [piece.rendered.text for piece in pieces]


def streamed(source: str, ends: Iterable[int], limit: int) -> list[Piece]:
    """The messages a reply streamed as `source[:end]` for each of `ends` ends up as: each
    prefix is split, every piece but the last is frozen (sent for good), and the next split
    continues from the last frozen piece's end and carry, as the live reply does."""
    frozen: list[Piece] = []
    start, carry = 0, ""
    live: list[Piece] = []
    for end in ends:
        pieces = split_markdown(source[:end], start=start, carry=carry, limit=limit)
        frozen += pieces[:-1]
        if len(pieces) > 1:
            start, carry = pieces[-2].end, pieces[-2].carry
        live = pieces[-1:]
    return frozen + live
