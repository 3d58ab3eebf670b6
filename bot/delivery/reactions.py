"""Status reactions (STATUS_REACTIONS=true): the bot's reaction on the user's message says where
its answer is.

Owns the reaction on each answered message: 👀 while it waits behind another turn of its chat,
✍ while the answer is written, none once the answer is complete, 😢 when it failed. A bot may
set one reaction per message, and each change replaces the last; states only move forward.
Reactions are cosmetic and cost calls like any other, so they go through the outbox at the
lowest priority, after every call of their chat and of the bot: a waiting or writing state is
sent only while the bot has calls to spare (else it waits, and a later state replaces it), and
the final state is queued until there is room. A reaction that has waited AGE seconds competes
with its chat's edits as an equal (the older first), or a chat streaming at its pace would never
show one. A refused reaction is logged, never shown. The
emoji are `telegram.constants.ReactionEmoji` members: PTB sends any other string as the id of a
custom emoji. What the states mean for a turn is the handlers' business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from enum import Enum

from telegram import Bot
from telegram.constants import ReactionEmoji
from telegram.error import TelegramError

from bot.delivery.outbox import NothingToSend, Outbox, Priority

log = logging.getLogger(__name__)

RETRY = 1.0  # seconds before a waiting or writing state looks again for calls to spare
AGE = 1.0  # seconds a reaction waits behind its chat's edits before it goes among them
CLOSE_GRACE = 2.0  # seconds the bot's shutdown waits for final states still to be sent


class Status(Enum):
    """Where a message's answer is."""

    QUEUED = "queued"
    WRITING = "writing"
    DONE = "done"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        """A later state never goes back to an earlier one; both final states rank last."""
        return _RANKS[self]

    @property
    def final(self) -> bool:
        return self.rank == _RANKS[Status.DONE]


_RANKS = {Status.QUEUED: 1, Status.WRITING: 2, Status.DONE: 3, Status.FAILED: 3}


_EMOJI: dict[Status, ReactionEmoji | None] = {
    Status.QUEUED: ReactionEmoji.EYES,
    Status.WRITING: ReactionEmoji.WRITING_HAND,
    Status.DONE: None,  # the reaction removed
    Status.FAILED: ReactionEmoji.CRYING_FACE,
}


def _aging() -> Callable[[], Priority]:
    """A reaction's urgency from now: the lowest, then an edit's once it has waited AGE s."""
    loop = asyncio.get_running_loop()
    queued_at = loop.time()

    def urgency() -> Priority:
        return Priority.EDIT if loop.time() - queued_at >= AGE else Priority.REACTION

    return urgency


class StatusReaction:
    """The reaction on one user message (a no-op when status reactions are off)."""

    def __init__(
        self, owner: StatusReactions | None, chat_id: int = 0, message_id: int = 0
    ) -> None:
        self._owner = owner
        self._chat_id = chat_id
        self._message_id = message_id
        self._wanted: Status | None = None
        self._shown: ReactionEmoji | None = None  # what Telegram shows (none at first)
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def queued(self) -> None:
        """The message waits behind another turn of its chat."""
        self._want(Status.QUEUED)

    def writing(self) -> None:
        """Its answer is being written."""
        self._want(Status.WRITING)

    def done(self) -> None:
        """Its answer is complete (or it needs none): the reaction goes."""
        self._want(Status.DONE)

    def failed(self) -> None:
        """Its answer failed."""
        self._want(Status.FAILED)

    def _want(self, status: Status) -> None:
        owner = self._owner
        if owner is None:
            return
        if self._wanted is not None and self._wanted.rank >= status.rank:
            return  # states only move forward; the first final one stays
        self._wanted = status
        self._changed.set()
        if self._task is None:
            self._task = owner.deliver(self)

    @property
    def settled(self) -> bool:
        """Whether only the final state is left to send (or nothing)."""
        return self._wanted is None or self._wanted.final

    async def deliver(self, bot: Bot, outbox: Outbox) -> None:
        """Bring Telegram to the newest wanted state, until the final one is shown."""
        while (wanted := self._wanted) is not None:
            self._changed.clear()
            if _EMOJI[wanted] == self._shown:
                if wanted.final:
                    return
                await self._changed.wait()
                continue
            if not wanted.final and not outbox.has_spare():
                # No calls to spare: the state waits, and a later one may replace it.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RETRY):
                        await self._changed.wait()
                continue
            aged = asyncio.get_running_loop().call_later(AGE, outbox.reprioritize, self._chat_id)
            try:
                await outbox.call(self._chat_id, lambda: self._set(bot), priority=_aging())
            except NothingToSend:
                continue
            except TelegramError as exc:
                log.info(
                    "chat %s: no status reaction on message %s: %s",
                    self._chat_id,
                    self._message_id,
                    exc,
                )
                return
            finally:
                aged.cancel()

    async def _set(self, bot: Bot) -> None:
        """Show the newest wanted state: called when the outbox lets the call go."""
        wanted = self._wanted
        emoji = None if wanted is None else _EMOJI[wanted]
        if wanted is None or emoji == self._shown:
            raise NothingToSend
        await bot.set_message_reaction(
            self._chat_id, self._message_id, reaction=[] if emoji is None else [emoji]
        )
        self._shown = emoji


class StatusReactions:
    """The bot's status reactions: one per answered message, each sent by a task of its own
    that ends once the final state is shown; `close` ends those still waiting."""

    def __init__(self, bot: Bot, outbox: Outbox, *, enabled: bool) -> None:
        self._bot = bot
        self._outbox = outbox
        self._enabled = enabled
        self._tasks: dict[asyncio.Task[None], StatusReaction] = {}

    def for_message(self, chat_id: int, message_id: int) -> StatusReaction:
        """The reaction on the user's message `message_id` in `chat_id`."""
        return StatusReaction(self if self._enabled else None, chat_id, message_id)

    def deliver(self, reaction: StatusReaction) -> asyncio.Task[None]:
        task = asyncio.create_task(reaction.deliver(self._bot, self._outbox), name="reaction")
        self._tasks[task] = reaction
        task.add_done_callback(lambda done: self._tasks.pop(done, None))
        return task

    async def close(self, grace: float = CLOSE_GRACE) -> None:
        """Give the final states still to be sent `grace` seconds, then stop every task (a
        message whose turn never ended keeps what it shows)."""
        final = {task for task, reaction in self._tasks.items() if reaction.settled}
        pending = set(self._tasks) - final
        if final:
            _, late = await asyncio.wait(final, timeout=grace)
            pending |= late
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
