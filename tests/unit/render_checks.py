"""What a rendered message must satisfy, and ways to read one, for the render tests
(test_render*.py); the corpus of real answers they render is in `corpus/`."""

from __future__ import annotations

import _thread
import ctypes
import gc
import re
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import pyromark
from hypothesis import strategies as st
from telegram import MessageEntity
from telegramify_markdown.converter import STANDARD_OPTIONS

from bot.render.convert import TELEGRAM_TEXT_LIMIT, Piece, Rendered, split_markdown, utf16_len
from tests.fakes.telegram.rules import check_message_text

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.md"))
LONG_ANSWER = Path(__file__).parent / "corpus" / "long_deployment_guide.md"
# render() has no limit of its own (the caller splits).
UNLIMITED = 10**9
# No markdown renders to more than this many UTF-16 units per source character (plus a little):
# a list item nested past the deepest indented level costs its indentation, a table its padding.
TEXT_PER_SOURCE = 16
TEXT_SLACK = 64
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


TOKEN = re.compile(r"q\d{4}")
UNICODE_WORDS = (
    "مرحبا",
    "שלום",
    "こんにちは",
    "Привет",
    "e\u0301clair",
    "t\u0337\u0322e\u0335x\u0336t",
    "👨\u200d👩\u200d👧\u200d👦",
    "🏳\ufe0f\u200d🌈",
    "🇺🇦🇯🇵",
    "👍🏽",
    "\U0001d400\U0001d401\U0001d402",  # mathematical bold A B C, outside the BMP
    "\u202bRTL\u202c",
)


class Words:
    """Hands out tokens in order, so each appears once and their order is the source's."""

    def __init__(self) -> None:
        self.shown: list[str] = []

    def token(self) -> str:
        word = f"q{len(self.shown) + 1:04d}"
        self.shown.append(word)
        return word

    def any(self, draw: st.DrawFn) -> str:
        if draw(st.booleans()):
            return self.token()
        word = draw(st.sampled_from(UNICODE_WORDS))
        self.shown.append(word)
        return word


def assert_each_token_once(text: str, words: list[str]) -> None:
    tokens = [w for w in words if TOKEN.fullmatch(w)]
    assert TOKEN.findall(text) == tokens


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


def fresh(text: str) -> str:
    """An equal string that is another object: split_markdown answers a continuation of one of
    its recent splits of the very same object from memory."""
    return text[:1] + text[1:] if len(text) > 1 else "".join(list(text))


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


# --- hostile input and the work it costs -----------------------------------------------------


def _repeated(unit: str) -> Callable[[int], str]:
    return lambda size: unit * (size // len(unit))


def _table(header_cell: str, columns: int, rows: str) -> str:
    return "|" + f"{header_cell}|" * columns + "\n|" + "---|" * columns + "\n" + rows


def _in_bold(text: str, depth: int) -> str:
    """`text` inside `depth` nested bold spans."""
    return "**" * depth + "x" + text + "**" * depth


# Replies a hostile user can make a model write, each of about `size` characters: delimiters
# never closed, runs and nesting the parser tracks, tables that pad, cut points to search.
HOSTILE: dict[str, Callable[[int], str]] = {
    "unclosed \\(": _repeated("\\( a "),
    "unclosed \\[": _repeated("\\[ a "),
    "unclosed $": _repeated("$a "),
    "unclosed $$": _repeated("$$ a "),
    "unclosed **": _repeated("**a "),
    "unclosed __": _repeated("__a "),
    "unclosed [": _repeated("[a "),
    "backtick runs": lambda size: "".join("`" * (i % 40 + 1) + " x " for i in range(size // 23)),
    "code fences": _repeated("```\nx\n"),
    "empty fences": _repeated("~~~\n"),
    "nested quotes": lambda size: ">" * size + " x",
    "nested quote lines": lambda size: "".join(">" * (i % 64) + " x\n" for i in range(size // 35)),
    "nested lists": lambda size: "1. " * (size // 3) + "x",
    "nested bullets": lambda size: "+ " * (size // 2) + "x",
    "long word": _repeated("a"),
    "long line of spaces": lambda size: "a" + " " * size + "b",
    "links": _repeated("[a](https://example.org/x) "),
    "html": _repeated("<a "),
    "double pipes": _repeated("||a"),
    "wide table row": lambda size: "| a |\n|---|\n" + "|" * size,
    "wide header, short rows": lambda size: _table(" h ", size // 16, "| x |\n" * (size // 12)),
    "tall table, wide cell": lambda size: _table(
        " a ", 2, f"|{'x' * (size // 2)}|y|\n" + "| b | c |\n" * (size // 20)
    ),
    "bold around code": lambda size: _in_bold(" `a`" * (size // 8), size // 8),
    "empty links in bold": lambda size: _in_bold(" [a]()" * (size // 12), size // 8),
    "headings": _repeated("# a\n"),
    "blank lines after a colon": lambda size: "x:" + "\n" * size + "y",
    "flags": _repeated(FLAG),
}


_CHECKS: list[int] = []
# The C API's PyErr_SetInterruptEx raises a signal again for the next check. Called through
# ctypes it is a C function, so no Python frame of the handler adds checks of its own; ctypes
# hands its result to `list.append`, another C function, which counts.
_RAISE_AGAIN = ctypes.pythonapi.PyErr_SetInterruptEx
_RAISE_AGAIN.argtypes = (ctypes.c_int, ctypes.py_object)  # the handler's (signal, frame)
_RAISE_AGAIN.restype = _CHECKS.append


def interpreter_steps(call: Callable[[], object]) -> int:
    """The work `call()` does, counted as the times the interpreter checks for a signal.

    CPython checks at every Python call and loop iteration, and its regex engine every 4096
    steps of a match, so the count covers the Python code and a regex's backtracking alike,
    without a clock: the same call counts the same on any machine. Work in other C code (the
    markdown parser) is not counted. For the duration a handler is installed that counts and
    raises its signal again; the garbage collector is off, so collections add no steps.
    """
    assert threading.current_thread() is threading.main_thread(), "signals reach the main thread"
    _CHECKS.clear()
    collecting = gc.isenabled()
    gc.disable()
    previous = signal.signal(signal.SIGUSR2, _RAISE_AGAIN)
    try:
        _thread.interrupt_main(signal.SIGUSR2)
        call()
    finally:
        # A Python handler takes the raised signal that is still pending, then the old one is back.
        signal.signal(signal.SIGUSR2, _ignore)
        signal.signal(signal.SIGUSR2, previous)
        if collecting:
            gc.enable()
    return len(_CHECKS)


def _ignore(signum: int, frame: object) -> None:
    """Takes the last signal `interpreter_steps` raised."""
