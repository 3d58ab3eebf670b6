"""How a reasoning model's thinking looks in Telegram: the line saying it thinks, and its reasoning
as a quote above the answer. Pure: text and seconds in, `Rendered` out; no clock, no Telegram calls.

While the model thinks: "💭 Thinking… 12 s", in italics. Once the answer begins, as the chat shows
reasoning (`bot.types.ShowReasoning`):

- collapsed: one expandable blockquote ("💭 Thought for 12 s", then the reasoning's first
  `COLLAPSED_LIMIT` UTF-16 units, cut at a boundary and ended with "…" when there is more) above
  the answer, in the answer's first message, whose first piece is cut that much shorter;
- full: the whole reasoning in blockquotes of one message each, split like any long text; a
  last piece of at most `FULL_SHARE` units shares the answer's first message, above it;
- hidden: nothing.

The reasoning is markdown like the answer and rendered the same (`bot.render.convert`), except
that its own quotes lose their entity: Telegram's quotes do not nest.
"""

from __future__ import annotations

from telegram import MessageEntity

from bot.i18n import N_, _
from bot.render.convert import (
    TELEGRAM_TEXT_LIMIT,
    Rendered,
    first_piece,
    split_markdown,
    utf16_len,
)
from bot.render.cuts import only_whitespace_after
from bot.types import ShowReasoning

# Worded in the reader's language where they are shown (bot/i18n.py).
# Translators: the live message while a reasoning model thinks; a time may follow ("… 12 s").
THINKING = N_("💭 Thinking…")
# Translators: heads a reasoning model's reasoning, quoted above its answer.
THOUGHT = N_("💭 Thought")
# Translators: heads a reasoning model's reasoning, quoted above its answer; {duration} is a
# time such as "12 s" or "2 min 5 s".
THOUGHT_FOR = N_("💭 Thought for {duration}")
# A collapsed quote holds this much of the reasoning: a few paragraphs, tapped open.
COLLAPSED_LIMIT = 1500
# A full reasoning's last piece this short sits above the answer instead of alone.
FULL_SHARE = 2048
# Source read for a collapsed quote: enough for any rendering of COLLAPSED_LIMIT units
# (markup that renders to nothing, like long link targets, takes source but no room).
_COLLAPSED_SOURCE = COLLAPSED_LIMIT * 8
_QUOTES = frozenset({MessageEntity.BLOCKQUOTE, MessageEntity.EXPANDABLE_BLOCKQUOTE})


def duration(seconds: float) -> str:
    """Whole seconds as people read them: "12 s", "2 min 5 s"."""
    whole = max(int(seconds), 0)
    if whole < 60:
        return _("{seconds} s").format(seconds=whole)
    return _("{minutes} min {seconds} s").format(minutes=whole // 60, seconds=whole % 60)


def thinking_line(seconds: float | None) -> Rendered:
    """The live message while the model thinks: "💭 Thinking… 12 s" (no time under a second)."""
    thinking = _(THINKING)
    text = thinking if seconds is None or seconds < 1 else f"{thinking} {duration(seconds)}"
    return Rendered(text, (MessageEntity(MessageEntity.ITALIC, 0, utf16_len(text)),))


def layout(
    reasoning: str, show: ShowReasoning, seconds: float | None
) -> tuple[tuple[Rendered, ...], Rendered | None]:
    """The reasoning's messages before the answer's, and the block above the answer's first
    message (None: none). `seconds` is how long the model thought, if known."""
    if show == "hidden" or not reasoning.strip():
        return (), None
    if seconds is None or seconds < 1:
        header = _(THOUGHT)
    else:
        header = _(THOUGHT_FOR).format(duration=duration(seconds))
    if show == "collapsed":
        return (), collapsed(reasoning, header)
    pieces = full(reasoning, header)
    if pieces and utf16_len(pieces[-1].text) <= FULL_SHARE:
        return tuple(pieces[:-1]), pieces[-1]
    return tuple(pieces), None


def collapsed(reasoning: str, header: str) -> Rendered:
    """`header` and the start of the reasoning in one expandable blockquote."""
    source = reasoning[:_COLLAPSED_SOURCE]
    piece = first_piece(source, limit=COLLAPSED_LIMIT)
    if piece is None:
        return quoted(header, Rendered("", ()), MessageEntity.EXPANDABLE_BLOCKQUOTE)
    body = piece.rendered
    if not only_whitespace_after(reasoning, piece.end):
        body = Rendered(f"{body.text} …", body.entities)
    return quoted(header, body, MessageEntity.EXPANDABLE_BLOCKQUOTE)


def full(reasoning: str, header: str) -> list[Rendered]:
    """The whole reasoning in blockquotes of at most one message each, `header` on the first."""
    limit = TELEGRAM_TEXT_LIMIT - utf16_len(header) - 1
    pieces = split_markdown(reasoning, limit=limit)
    return [
        quoted(header if i == 0 else None, piece.rendered, MessageEntity.BLOCKQUOTE)
        for i, piece in enumerate(pieces)
    ]


def quoted(header: str | None, body: Rendered, kind: str) -> Rendered:
    """`header` (a line of its own) and `body` in one quote of `kind`; quotes inside it go."""
    if header is None:
        text, shift = body.text, 0
    else:
        text, shift = (f"{header}\n{body.text}" if body.text else header), utf16_len(header) + 1
    inner = tuple(_shifted(e, shift) for e in body.entities if e.type not in _QUOTES)
    return Rendered(text, (MessageEntity(kind, 0, utf16_len(text)), *inner))


def stacked(top: Rendered, bottom: Rendered) -> Rendered:
    """`top` above `bottom`, a blank line between (the caller makes sure the two fit)."""
    if not bottom.text:
        return top
    shift = utf16_len(top.text) + 2
    entities = (*top.entities, *(_shifted(e, shift) for e in bottom.entities))
    return Rendered(f"{top.text}\n\n{bottom.text}", entities)


def _shifted(entity: MessageEntity, shift: int) -> MessageEntity:
    if not shift:
        return entity
    return MessageEntity(
        entity.type, entity.offset + shift, entity.length, url=entity.url, language=entity.language
    )
