"""A written reply's text as Telegram messages: what is finished, what is written, how it ends.

Owns the decisions every way of streaming a reply shares (live_reply.py edits a message,
draft_reply.py streams a draft and persists it): the source so far, cut into pieces of at most
4096 UTF-16 units (render/'s `split_markdown`) from where the finished messages end; the notice
appended to the last piece, or sent alone when it doesn't fit; "(empty reply)" when nothing was
said; and the ids of the messages the reply has used. A reply that changes its way of streaming
halfway (drafts refused) hands this over and loses nothing, its reasoning included.

A reasoning model's thinking (`think`): while reasoning has come and no answer, the reply is
thinking and shows `thinking_line` (its seconds on the sink's clock, passed in as `now`). When the
answer begins, the reasoning is laid out as the chat shows it (render/reasoning.py): its own
messages first (`Head.lead`), then a block above the answer's first message, whose first piece is
cut that much shorter. A reply whose first words turn out to have been thought (see
upstream/thinking.py) takes them back: messages of them already finished stay as they are, and
the answer starts again below them. Makes no calls and reads no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram import MessageEntity

from bot.i18n import N_, _
from bot.render.convert import TELEGRAM_TEXT_LIMIT, Piece, Rendered, split_markdown, utf16_len
from bot.render.reasoning import layout, stacked, thinking_line
from bot.types import ShowReasoning

# Translators: all a reply shows when the model said nothing.
EMPTY_REPLY = N_("(empty reply)")


def with_notice(rendered: Rendered, notice: str) -> Rendered | None:
    """`rendered` followed by an italic notice, or None when the two don't fit one message."""
    mark = f"⚠️ {notice}"
    if not rendered.text:
        return Rendered(mark, (MessageEntity(MessageEntity.ITALIC, 0, utf16_len(mark)),))
    text = f"{rendered.text}\n\n{mark}"
    if utf16_len(text) > TELEGRAM_TEXT_LIMIT:
        return None
    italic = MessageEntity(MessageEntity.ITALIC, utf16_len(rendered.text) + 2, utf16_len(mark))
    return Rendered(text, (*rendered.entities, italic))


@dataclass(frozen=True, slots=True)
class Head:
    """What the reply's next message shows now: the first piece not yet in a finished message
    (`piece`), or one of the reasoning's own messages (`lead`), or, once every piece is shown,
    the end in a message of its own (`piece` None: the notice, or the reasoning's block when no
    answer came)."""

    target: Rendered
    piece: Piece | None
    more: bool = False  # more pieces follow this one
    final: bool = False  # the last piece of a reply that has ended
    # The message is finished once it shows `target`: more follows, or the notice didn't fit.
    complete: bool = False
    # The reply's end (its notice, or the block alone): nothing follows once it is shown.
    shows_notice: bool = False
    lead: bool = False  # one of the reasoning's own messages: finished once shown
    # The end goes in a new message, not edited into the current one (which shows the thinking
    # line, or the reasoning's block, when nothing was answered).
    alone: bool = False


@dataclass(slots=True)
class ReplyText:
    """The state of one reply's text and reasoning, shared by whatever shows it."""

    source: str = ""
    notice: str | None = None
    closing: bool = False  # the reply has ended: `source` and `notice` are final
    notice_shown: bool = False
    frozen_end: int = 0  # source before this offset is in finished messages
    carry: str = ""  # markdown that reopens a code block split at frozen_end
    frozen_text: str = ""  # source[:frozen_end], to tell a taken-back answer
    message_ids: list[int] = field(default_factory=list)
    # Reasoning: what the model thought, how it is shown, and when (the sink's clock).
    reasoning: str = ""
    display: ShowReasoning = "collapsed"
    began: float | None = None  # when the first reasoning or words arrived
    thought: float | None = None  # seconds of thinking, once the answer began
    leads_shown: int = 0  # the reasoning's own messages already out
    _layout_for: tuple[str, ShowReasoning, float | None] | None = field(default=None, init=False)
    _leads: tuple[Rendered, ...] = field(default=(), init=False)
    _block: Rendered | None = field(default=None, init=False)

    def think(self, reasoning: str, show: ShowReasoning, now: float) -> None:
        """The whole reasoning so far, and how the chat shows it."""
        self.reasoning, self.display = reasoning, show
        if self.began is None:
            self.began = now

    def set_source(self, text: str, now: float) -> None:
        """The whole answer so far (which may take back words that were thought)."""
        if self.began is None:
            self.began = now
        if self.frozen_end and not text.startswith(self.frozen_text):
            self.frozen_end, self.carry, self.frozen_text = 0, "", ""
        if self.thought is None and text.strip() and self.reasoning.strip():
            self.thought = now - self.began
        self.source = text

    def end(self, text: str, notice: str | None, now: float) -> None:
        """The final answer and its notice: the reply has ended (thinking too)."""
        self.set_source(text, now)
        if self.thought is None and self.began is not None and self.reasoning.strip():
            self.thought = now - self.began
        self.notice = notice
        self.closing = True

    def thinking(self) -> bool:
        """Whether the model thinks and no answer has come: the reply says so."""
        return (
            not self.closing
            and not self.leads_shown
            and bool(self.reasoning.strip())
            and not self.source.strip()
        )

    def thinking_line(self, now: float) -> Rendered:
        """The thinking line, "💭 Thinking… 12 s", counted from the first reasoning."""
        return thinking_line(None if self.began is None else now - self.began)

    def head(self, *, thinking_shown: bool = False) -> Head | None:
        """The next message's content now, or None when nothing more is to be shown (yet).
        `thinking_shown`: the message being written shows the thinking line."""
        leads, block = self._layout()
        if self.leads_shown < len(leads):
            return Head(leads[self.leads_shown], None, lead=True)
        # The answer's first message carries the reasoning's block above it.
        above = block if self.frozen_end == 0 and not self.carry else None
        limit = TELEGRAM_TEXT_LIMIT
        if above is not None:
            limit -= utf16_len(above.text) + 2
        pieces = split_markdown(self.source, start=self.frozen_end, carry=self.carry, limit=limit)
        if not pieces:
            return self._end(above, thinking_shown)
        piece, more = pieces[0], len(pieces) > 1
        last = self.closing and not more
        shown = piece.rendered if above is None else stacked(above, piece.rendered)
        target, shows_notice = shown, False
        if last and self.notice:
            combined = with_notice(shown, self.notice)
            if combined is not None:
                target, shows_notice = combined, True
        # Past 4096 units the message is complete; so is a final text without room for its
        # notice, which then follows in a message of its own.
        complete = more or (last and self.notice is not None and not shows_notice)
        return Head(target, piece, more, last, complete, shows_notice)

    def freeze(self, piece: Piece) -> None:
        """`piece` is in a finished message: what follows starts after it."""
        self.frozen_end = piece.end
        self.frozen_text = self.source[: piece.end]
        self.carry = piece.carry

    def _end(self, above: Rendered | None, thinking_shown: bool) -> Head | None:
        """The notice in a message of its own (below the reasoning's block, if any, when no
        answer came), the block alone, or "(empty reply)" when nothing was said."""
        if not self.closing or self.notice_shown:
            return None
        notice = self.notice
        if notice is None and above is None and (thinking_shown or not self.message_ids):
            notice = _(EMPTY_REPLY)
        if notice is None:
            if above is None:
                return None
            return Head(above, None, final=True, shows_notice=True)
        mark = with_notice(above or Rendered("", ()), notice)
        if mark is None:  # no block is that long; should one be, the notice goes alone
            mark = with_notice(Rendered("", ()), notice)
        assert mark is not None
        # The thinking line, or a block alone, is edited into the notice, not left above it.
        alone = not thinking_shown and above is None
        return Head(mark, None, final=True, shows_notice=True, alone=alone)

    def _layout(self) -> tuple[tuple[Rendered, ...], Rendered | None]:
        """The reasoning's own messages and the block above the answer, made again only when
        the reasoning (or how it is shown) changed and none of its messages is out yet."""
        key = (self.reasoning, self.display, self.thought)
        if key != self._layout_for and not self.leads_shown:
            self._layout_for = key
            self._leads, self._block = layout(self.reasoning, self.display, self.thought)
        return self._leads, self._block
