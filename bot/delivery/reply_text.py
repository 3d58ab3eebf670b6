"""A written reply's text as Telegram messages: what is finished, what is written, how it ends.

Owns the decisions every way of streaming a reply shares (live_reply.py edits a message,
draft_reply.py streams a draft and persists it): the source so far, cut into pieces of at most
4096 UTF-16 units (render/'s `split_markdown`) from where the finished messages end; the notice
appended to the last piece, or sent alone when it doesn't fit; "(empty reply)" when nothing was
said; and the ids of the messages the reply has used. A reply that changes its way of streaming
halfway (drafts refused) hands this over and loses nothing. Makes no calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram import MessageEntity

from bot.render.convert import TELEGRAM_TEXT_LIMIT, Piece, Rendered, split_markdown, utf16_len

EMPTY_REPLY = "(empty reply)"


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
    (`piece`), or, once every piece is, the notice in a message of its own (`piece` None)."""

    target: Rendered
    piece: Piece | None
    more: bool = False  # more pieces follow this one
    final: bool = False  # the last piece of a reply that has ended
    # The message is finished once it shows `target`: more follows, or the notice didn't fit.
    complete: bool = False
    shows_notice: bool = False


@dataclass(slots=True)
class ReplyText:
    """The state of one reply's text, shared by whatever shows it."""

    source: str = ""
    notice: str | None = None
    closing: bool = False  # the reply has ended: `source` and `notice` are final
    notice_shown: bool = False
    frozen_end: int = 0  # source before this offset is in finished messages
    carry: str = ""  # markdown that reopens a code block split at frozen_end
    message_ids: list[int] = field(default_factory=list)

    def head(self) -> Head | None:
        """The next message's content now, or None when nothing more is to be shown (yet)."""
        pieces = split_markdown(self.source, start=self.frozen_end, carry=self.carry)
        if not pieces:
            return self._notice_alone()
        piece, more = pieces[0], len(pieces) > 1
        last = self.closing and not more
        target, shows_notice = piece.rendered, False
        if last and self.notice:
            combined = with_notice(piece.rendered, self.notice)
            if combined is not None:
                target, shows_notice = combined, True
        # Past 4096 units the message is complete; so is a final text without room for its
        # notice, which then follows in a message of its own.
        complete = more or (last and self.notice is not None and not shows_notice)
        return Head(target, piece, more, last, complete, shows_notice)

    def freeze(self, piece: Piece) -> None:
        """`piece` is in a finished message: what follows starts after it."""
        self.frozen_end = piece.end
        self.carry = piece.carry

    def _notice_alone(self) -> Head | None:
        """The notice in a message of its own, or "(empty reply)" when nothing was said."""
        if not self.closing or self.notice_shown:
            return None
        notice = self.notice
        if notice is None and not self.message_ids:
            notice = EMPTY_REPLY
        if notice is None:
            return None
        mark = with_notice(Rendered("", ()), notice)
        assert mark is not None
        return Head(mark, None, final=True, shows_notice=True)
