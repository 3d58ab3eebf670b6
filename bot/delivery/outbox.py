"""The outbox: every call that sends or changes a message goes through here.

Owns recovery from transient Telegram failures — a `RetryAfter` holds only the chat it concerns
(or, when several chats are refused at once, the whole bot); timeouts and network errors are
retried with backoff — and spare-capacity calls such as "typing…", which never compete with
replies (`has_spare` tells callers, such as status reactions, whether there is room for one).
Waiting is scheduler.py's; what to send is the caller's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.delivery.pacing import SAFETY_MARGIN, SlidingWindow, pacer_for
from bot.delivery.scheduler import Priority, Scheduler, Urgency
from bot.delivery.telegram_io import CURRENT_SLOT, Slot
from bot.types import Clock

__all__ = ["NothingToSend", "Outbox", "Priority", "Urgency", "retry_after_seconds"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# 429s from this many different chats within FLOOD_SPAN seconds mean the bot-wide limit was hit
# (Telegram's per-chat limits can't explain them), so every chat is held, not only those two.
FLOOD_CHATS = 2
FLOOD_SPAN = 2.0
# "typing…" goes out only while the bot-wide window is at most this full and nothing waits, so
# a burst of new questions can't fill the window with chat actions just before their replies.
SPARE_SHARE = 0.25


class NothingToSend(Exception):
    """Raised by a call's `make` when, by the time the call may go, there is nothing left to
    send (the text it was queued for is already on screen): its slot is given back uncounted,
    so the bot-wide window isn't spent on a call Telegram never saw."""


def retry_after_seconds(exc: RetryAfter) -> float:
    """Telegram's retry_after, in seconds, whichever type PTB hands us."""
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Outbox:
    """Paces and retries Telegram calls per chat and bot-wide."""

    def __init__(
        self,
        *,
        global_rate: float = 30.0,
        private_interval: float = 1.0,
        group_interval: float = 3.0,
        window: float = 1.0,
        margin: float = SAFETY_MARGIN,
        retries: int = 3,
        retry_backoff: float = 0.5,
        clock: Clock = time.monotonic,
        held_on_thread: bool = False,
    ) -> None:
        """`held_on_thread`: every call's requests go through a `TelegramIO` (as the bot's do),
        which holds each back until the call's moment and notes when its answer arrived; calls
        may then be let go ahead of their moment. Otherwise the outbox waits for it itself."""
        limit = max(1, int(global_rate))
        self._scheduler = Scheduler(
            SlidingWindow(limit, window),
            lambda chat_id: pacer_for(
                chat_id, private=private_interval, group=group_interval, margin=margin
            ),
            clock,
            ahead=held_on_thread,
        )
        self._held_on_thread = held_on_thread
        self._spare = max(1, int(limit * SPARE_SHARE))
        self._retries = retries
        self._retry_backoff = retry_backoff
        self._clock = clock
        self._floods: deque[tuple[float, int]] = deque()

    def chat_ready_in(self, chat_id: int) -> float:
        """Seconds until the chat's next intermediate edit may go (0 when it may go now)."""
        return self._scheduler.chat_delay(chat_id)

    def has_spare(self) -> bool:
        """Whether the bot-wide window has room to spare now (as "typing…" needs it): nothing
        waits to go, and at most a quarter of the window is used."""
        return self._scheduler.spare_now(self._spare)

    def reprioritize(self, chat_id: int) -> None:
        """The urgency of a call waiting for `chat_id` has changed; read it again."""
        self._scheduler.reprioritize(chat_id)

    async def call(
        self,
        chat_id: int,
        make: Callable[[], Awaitable[T]],
        *,
        priority: Urgency = Priority.URGENT,
        follow: bool = False,
    ) -> T:
        """Run one Telegram call for `chat_id` when pacing allows, retrying transient failures.

        `make` runs only once the call may go, so it can build the request from the newest
        state; it runs again, after the wait Telegram asks for, if the call is refused with a
        RetryAfter. `priority` may be a function, read when the call is queued and whenever
        `reprioritize` is called for the chat. `make` must not itself go through the outbox for
        the same chat: it would wait for its own call to end. `make` raises `NothingToSend`
        (passed on to the caller) when it calls nothing after all. `follow`: the call goes right
        behind the chat's previous one, as a short burst (see pacing.ChatPacer); a retry doesn't.
        """
        attempt = 0
        while True:
            slot = Slot(await self._scheduler.turn(chat_id, priority, follow=follow))
            follow = False
            hold: float | None = None
            backoff = 0.0
            made = True
            try:
                if not self._held_on_thread and (early := slot.not_before - self._clock()) > 0:
                    await asyncio.sleep(early)
                return await self._in_slot(slot, make)
            except NothingToSend:
                made = False
                raise
            except RetryAfter as exc:
                hold = retry_after_seconds(exc)
                log.warning("Telegram flood limit in chat %s: holding %.1f s", chat_id, hold)
            except BadRequest:
                raise
            except (TimedOut, NetworkError) as exc:
                attempt += 1
                if attempt > self._retries:
                    raise
                backoff = self._retry_backoff * 2 ** (attempt - 1)
                log.warning("Telegram call failed (%s); retry %d in %.1f s", exc, attempt, backoff)
            finally:
                self._scheduler.release(chat_id, hold=hold, made=made, answered_at=slot.answered_at)
            if hold is not None:
                self._flooded(chat_id, hold)
            if backoff:
                await asyncio.sleep(backoff)

    @staticmethod
    async def _in_slot(slot: Slot, make: Callable[[], Awaitable[T]]) -> T:
        """`make()` with its requests carrying `slot` (the context is this task's own)."""
        token = CURRENT_SLOT.set(slot)
        try:
            return await make()
        finally:
            CURRENT_SLOT.reset(token)

    async def spare_call(self, chat_id: int, make: Callable[[], Awaitable[object]]) -> bool:
        """Run a call nobody waits for (a chat action) if the bot has capacity to spare now.

        Returns whether it ran. It is counted in the bot-wide window but skips the chat's
        pacing, and is never retried: the next one will come soon enough.
        """
        wait = self._scheduler.spare_in(self._spare)
        if wait is None:
            return False
        if wait > 0:
            await asyncio.sleep(wait)
        if not self._scheduler.take_spare(self._spare):
            return False
        try:
            await make()
        except RetryAfter as exc:
            self._flooded(chat_id, retry_after_seconds(exc))
            raise
        finally:
            self._scheduler.release_spare()
        return True

    def _flooded(self, chat_id: int, seconds: float) -> None:
        now = self._clock()
        floods = self._floods
        floods.append((now, chat_id))
        while floods and floods[0][0] < now - FLOOD_SPAN:
            floods.popleft()
        if len({chat for _, chat in floods}) >= FLOOD_CHATS:
            log.warning("Telegram flood limit in several chats: holding every chat %.1f s", seconds)
            self._scheduler.hold_all(seconds)
