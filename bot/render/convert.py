"""Model markdown -> Telegram `text` + `entities`, and splitting it into messages.

Owns what a reply looks like in Telegram: `render` turns markdown (finished or cut off
mid-stream) into plain text with entities whose UTF-16 offsets Telegram accepts, `plain` is the
same text without formatting for when Telegram refuses a formatted one, and `split_markdown` cuts
a long source into pieces that each fit one message. Pure: no I/O, no clock, no Telegram calls
(it remembers its last few splits, whose continuations it then answers without rendering again);
the conversion itself is telegramify-markdown's, with its super-linear steps replaced
(`bot.render.walker`); `bot.render.prepare` readies its source, `bot.render.entities` makes its
entities acceptable to Telegram and `bot.render.cuts` chooses the cut points. Every step costs
time linear in its input, whatever the input holds. Text never starts or ends with whitespace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import MessageEntity
from telegramify_markdown import RenderConfig

from bot.render.cuts import (
    choose_cut,
    index_at_units,
    only_whitespace_after,
    skip_blank_lines,
    skip_whitespace,
)
from bot.render.entities import telegram_entities
from bot.render.prepare import prepare
from bot.render.walker import convert

TELEGRAM_TEXT_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Rendered:
    """Text and entities ready for sendMessage/editMessageText (`entities`, never parse_mode)."""

    text: str
    entities: tuple[MessageEntity, ...]


@dataclass(frozen=True, slots=True)
class Piece:
    """One message of a split reply.

    `end` is where this piece's source ends in the string given to `split_markdown`; `carry` is
    the markdown the next piece starts with (the fence of a code block cut in two), "" if none.
    """

    rendered: Rendered
    end: int
    carry: str


EMPTY = Rendered("", ())


def _config() -> RenderConfig:
    # An isolated config: the library's global one is shared, mutable state.
    config = RenderConfig.isolated()
    symbols = config.markdown_symbol
    for level in range(1, 7):
        setattr(symbols, f"heading_level_{level}", "")  # headings are bold, not emoji-prefixed
    symbols.unordered_list_item = "•"
    symbols.task_completed = "✅"
    symbols.task_uncompleted = "⬜"
    symbols.image = "🖼 "
    # Telegram folds long quotes away; a reply should not hide part of itself as it streams.
    config.cite_expandable = False
    return config


_CONFIG = _config()

# Text made only of these counts as empty for Telegram (tdlib's strip_empty_characters).
_INVISIBLE = re.compile(
    "[\\s\u00a0\u1680\u180e\u2000-\u200f\u202e\u202f\u205f\u2800\u3000\ufeff\ufffc"
    "\U000e0000-\U000e007f]*"
)
# A piece filled to this share of the limit is good enough; below it, markup that renders to
# nothing (long link targets) may leave room for more source.
_GOOD_FILL = 0.8


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) >> 1


def render(markdown: str) -> Rendered:
    """Render markdown, finished or cut off mid-stream, into text and valid entities.

    Unclosed constructs stay literal (`**bold`, `[link](http://exa`) except an unclosed code
    fence, which is code up to the end. Raw HTML is shown, not dropped. Any length: the caller
    splits (see `split_markdown`).
    """
    if not markdown.strip():
        return EMPTY
    text, raw = convert(prepare(markdown), _CONFIG)
    stripped = text.strip()
    if _INVISIBLE.fullmatch(stripped):
        return EMPTY
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    return Rendered(stripped, telegram_entities(raw, lead, utf16_len(stripped)))


def plain(markdown: str) -> Rendered:
    """The same text as `render`, with no formatting: the resend when Telegram refuses one."""
    return Rendered(render(markdown).text, ())


def split_markdown(
    source: str, *, start: int = 0, carry: str = "", limit: int = TELEGRAM_TEXT_LIMIT
) -> list[Piece]:
    """Render `carry + source[start:]` as consecutive pieces of at most `limit` UTF-16 units.

    The source is cut at a block (blank line, code block edge), then line, then sentence, then
    word boundary, else hard (never inside a surrogate pair, rarely inside a grapheme cluster).
    A fenced code block cut in two is reopened in the next piece with the same fence; that
    fence is the piece's `carry` (a line cut in two before a fence or a link definition carries
    an escape instead, so that the rest of the line stays text). Ends strictly increase and the
    last one is `len(source)`.

    Streaming: keep earlier pieces as sent and continue with
    `split_markdown(text, start=piece.end, carry=piece.carry)`; every source character then
    belongs to exactly one piece.
    """
    if not 0 <= start <= len(source):
        raise ValueError(f"start {start} outside the source (length {len(source)})")
    if limit < 2:
        raise ValueError(f"limit {limit} cannot hold one character")
    for split in _recent_splits:
        kept = split.continued(source, start, carry, limit)
        if kept is not None:
            return kept
    pieces = _split(source, start, carry, limit)
    _recent_splits.insert(0, _Split(source, start, carry, limit, tuple(pieces)))
    del _recent_splits[_RECENT_SPLITS:]
    return pieces


def first_piece(source: str, *, limit: int = TELEGRAM_TEXT_LIMIT) -> Piece | None:
    """The first piece `split_markdown(source, limit=limit)` gives, without rendering the rest
    (its `end` stops short of trailing blank space); None when the source renders to nothing."""
    if limit < 2:
        raise ValueError(f"limit {limit} cannot hold one character")
    if only_whitespace_after(source, 0):
        return None
    return _next_piece(source, 0, "", limit, len(source.rstrip()))


def _split(source: str, start: int, carry: str, limit: int) -> list[Piece]:
    pieces: list[Piece] = []
    stop = len(source.rstrip())
    while not only_whitespace_after(source, start):
        piece = _next_piece(source, start, carry, limit, stop)
        if piece is None:
            break
        pieces.append(piece)
        start, carry = piece.end, piece.carry
    if pieces and pieces[-1].end != len(source):
        # Whatever is left renders to nothing (blank lines, a reopened fence with no code).
        last = pieces[-1]
        pieces[-1] = Piece(last.rendered, len(source), "")
    return pieces


@dataclass(frozen=True, slots=True)
class _Split:
    """One split_markdown result, and what it answers without rendering again."""

    source: str
    start: int
    carry: str
    limit: int
    pieces: tuple[Piece, ...]

    def continued(self, source: str, start: int, carry: str, limit: int) -> list[Piece] | None:
        """The pieces for these arguments if this split holds them, else None.

        Splitting is a loop that continues from each piece's end and carry, so continuing from
        one of these pieces gives exactly the pieces after it.
        """
        if source is not self.source or limit != self.limit:
            return None
        if start == self.start and carry == self.carry:
            return list(self.pieces)
        for i, piece in enumerate(self.pieces):
            if piece.end == start and piece.carry == carry:
                return list(self.pieces[i + 1 :])
        return None


# The live reply splits its source, freezes the first piece and splits again from its end, and
# splits once more when its edit may go: those splits are continuations of one already made, of
# the very same string (a new string is a new source, even if equal).
_RECENT_SPLITS = 4
_recent_splits: list[_Split] = []


def _next_piece(source: str, start: int, carry: str, limit: int, stop: int) -> Piece | None:
    """The piece starting at `start`, or None when the rest renders to nothing.

    `stop` is where the source's trailing whitespace begins: a piece reaching it takes all. The
    window is sized by the source, then shrunk until its rendering fits, or grown while markup
    that renders to little (long link targets) leaves room.
    """
    body = skip_blank_lines(source, start)
    budget = max(limit - utf16_len(carry), 1)
    best: Piece | None = None
    window: tuple[str, int, int] | None = None  # (carry, body, end) of `rendered`
    rendered = EMPTY
    while True:
        ceiling = index_at_units(source, body, budget)
        if ceiling >= stop:
            end, next_carry = len(source), ""
        else:
            cut = choose_cut(source, body, max(ceiling, body + 1), carry)
            end, next_carry = cut.end, cut.carry
        if (carry, body, end) != window:
            # A bigger budget may find no later cut (a long run without one): the same window
            # renders the same.
            window, rendered = (carry, body, end), render(carry + source[body:end])
        size = utf16_len(rendered.text)
        if not rendered.text:
            if best is not None or end == len(source):
                return best
            # Nothing visible (a fence line, invisible characters): it belongs to this piece's
            # source but the search goes on after it.
            body, carry = skip_blank_lines(source, end), next_carry
            budget = max(limit - utf16_len(carry), 1)
            continue
        if size > limit:
            if best is not None:
                return best
            budget = min(budget * limit // size, utf16_len(source[body:end]) - 1)
            if budget < 1:
                return _unformatted_piece(source, body, end)
            continue
        best = Piece(rendered, end, next_carry)
        shrunk = size < utf16_len(source[body:end]) * _GOOD_FILL
        if end == len(source) or size >= limit * _GOOD_FILL or not shrunk:
            return best
        budget = max(budget + 1, min(budget * 4, budget * limit // size * 9 // 10))


def _unformatted_piece(source: str, body: int, end: int) -> Piece:
    """A one-character window that renders past the limit, shown as written, carry dropped.

    Only a carry that is no fence (a caller's heading, say) gets here: no markdown renders one
    character into more than two UTF-16 units, the smallest limit.
    """
    end = max(end, skip_whitespace(source, body) + 1)
    return Piece(Rendered(source[body:end].strip(), ()), end, "")
