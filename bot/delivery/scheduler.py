"""The delivery scheduler: which waiting Telegram call goes next, and when.

Owns the queue shared by every chat: a call waits until its chat's pacing lets it go, then competes
for the bot-wide window, most urgent first (first and final texts before intermediate edits, status
reactions last), and among equals the one that has been able to go the longest. Each chat has at
most one call in flight. The limits themselves are pacing.py's; it never calls Telegram itself.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from bot.delivery.pacing import ChatPacer, SlidingWindow
from bot.types import Clock

# Forget the pacing of idle chats past this many, so thousands of one-off chats don't pile up.
_MAX_CHATS = 5_000
# Letting calls go ahead of their moment (`ahead=True`): by a few milliseconds on an idle loop,
# and by up to three times how late the loop has lately woken the dispatcher, since a call's own
# task is as late again to build it; never by more than half a second.
_AHEAD_MIN = 0.005
_AHEAD_PER_LAG = 3.0
_AHEAD_MAX = 0.5
_LAG_HALF_LIFE = 1.0  # seconds after which a late wake-up weighs half as much


class Priority(IntEnum):
    """Lower goes first when the bot-wide window is full."""

    URGENT = 0  # a reply's first visible text, its final text, answers to commands
    EDIT = 1  # intermediate edits of a streaming reply; their content is read when they go
    REACTION = 2  # status reactions: cosmetic, after everything else of their chat and the bot


Urgency = Priority | Callable[[], Priority]


@dataclass(eq=False, slots=True)
class _Waiter:
    urgency: Urgency
    priority: Priority
    seq: int
    queued_at: float
    future: asyncio.Future[float]  # the moment the call may reach Telegram
    follow: bool = False  # right behind the chat's previous call (see ChatPacer)

    def key(self) -> tuple[int, int]:
        return (int(self.priority), self.seq)


@dataclass(eq=False, slots=True)
class _Chat:
    pacer: ChatPacer
    waiting: list[_Waiter] = field(default_factory=list)  # most urgent first, then oldest
    in_flight: bool = False
    mark: float = 0.0  # the call in flight's place in the window's spacing
    stamp: int = 0  # queue entries carrying another stamp are out of date

    def head(self) -> _Waiter | None:
        while self.waiting and self.waiting[0].future.done():  # its caller was cancelled
            self.waiting.pop(0)
        return self.waiting[0] if self.waiting else None


def _read(urgency: Urgency) -> Priority:
    return urgency if isinstance(urgency, Priority) else urgency()


class Scheduler:
    """Lets waiting calls go through the bot-wide window, one at a time per chat.

    With `ahead=True` a call whose place in the window comes within the next few moments is let
    go already, with that moment (`turn` returns it): the caller must not let its request reach
    Telegram before it (telegram_io.py holds it back on its own thread). A busy event loop wakes
    the dispatcher and then the call's task late; letting go ahead by about that much keeps the
    window's places from standing empty while the loop catches up.
    """

    def __init__(
        self,
        window: SlidingWindow,
        pacer_for: Callable[[int], ChatPacer],
        clock: Clock = time.monotonic,
        *,
        ahead: bool = False,
    ) -> None:
        self._window = window
        self._ahead = ahead
        self._lag = 0.0  # how late the dispatcher woke lately (decaying), seconds
        self._lag_at = 0.0
        self._pacer_for = pacer_for
        self._clock = clock
        self._chats: dict[int, _Chat] = {}
        self._max_chats = _MAX_CHATS
        self._seq = itertools.count()
        self._stamps = itertools.count(1)
        # (ready at, stamp, chat id): chats whose next call waits on its own pacing
        self._later: list[tuple[float, int, int]] = []
        # (priority, ready at, seq, stamp, chat id): chats whose next call may go now
        self._ready: list[tuple[int, float, int, int, int]] = []
        self._alarm: asyncio.Future[None] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        # When the dispatcher was next due to let calls go: it wakes later when the loop is busy.
        self._due = math.inf

    def chat_delay(self, chat_id: int) -> float:
        """Seconds until the chat's next intermediate edit may go (0 when it may go now)."""
        return self._chat(chat_id).pacer.delay(self._clock())

    async def turn(self, chat_id: int, urgency: Urgency, *, follow: bool = False) -> float:
        """Wait until one more call to `chat_id` may go, then count it as in flight; returns
        the moment its request may reach Telegram (later than now only with `ahead`).
        `follow`: the call goes right behind the chat's previous one (ChatPacer's burst).

        The caller must `release` the chat once the call has its answer (or failed).
        """
        chat = self._chat(chat_id)
        priority = _read(urgency)
        now = self._clock()
        if (
            not chat.in_flight
            and not chat.waiting
            and not self._ready
            and chat.pacer.delay(now, urgent=priority == Priority.URGENT, follow=follow) == 0
            and self._window.delay(now) == 0
        ):
            return self._let_go(chat, now)
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(urgency, priority, next(self._seq), now, future, follow)
        chat.waiting.append(waiter)
        chat.waiting.sort(key=_Waiter.key)
        self._requeue(chat_id, chat)
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # let go just as it was cancelled
                self.release(chat_id)
            elif waiter in chat.waiting:
                chat.waiting.remove(waiter)
                self._requeue(chat_id, chat)
            raise

    def release(
        self,
        chat_id: int,
        *,
        hold: float | None = None,
        made: bool = True,
        answered_at: float | None = None,
    ) -> None:
        """The chat's call in flight is over; `hold` is Telegram's retry_after, if it gave one.

        `answered_at`: when its answer arrived, if known more precisely than now (telegram_io.py
        notes it on its thread, while this loop may be busy). `made=False`: the caller found
        nothing left to send, so the call never reached Telegram and counts against neither the
        chat nor the bot-wide window.
        """
        now = self._clock()
        chat = self._chat(chat_id)
        chat.in_flight = False
        if made:
            at = now if answered_at is None else min(answered_at, now)
            chat.pacer.record(at)
            self._window.release(at)
        else:
            self._window.give_back(chat.mark)
        if hold is not None:
            chat.pacer.hold(now, hold)
        self._requeue(chat_id, chat)
        self._wake()

    def reprioritize(self, chat_id: int) -> None:
        """Read again the urgency of every call waiting for `chat_id`."""
        chat = self._chats.get(chat_id)
        if chat is None or not chat.waiting:
            return
        for waiter in chat.waiting:
            waiter.priority = _read(waiter.urgency)
        chat.waiting.sort(key=_Waiter.key)
        self._requeue(chat_id, chat)

    def hold_all(self, seconds: float) -> None:
        """Let no call go for `seconds` (Telegram refused several chats at once)."""
        self._window.hold(self._clock(), seconds)
        self._wake()

    def take_spare(self, spare: int) -> bool:
        """Count one call outside the queue if nothing waits and at most `spare` slots are used."""
        now = self._clock()
        if self._spare_delay(spare, now) != 0:
            return False
        self._window.take(now)
        return True

    def spare_now(self, spare: int) -> bool:
        """Whether at most `spare` slots of the window are used now and no call is ready and
        waiting: the bot has room for a call that nobody waits for."""
        return not self._ready and self._window.used(self._clock()) < spare

    def spare_in(self, spare: int) -> float | None:
        """Seconds until `take_spare` may succeed if nothing changes; None: not soon (calls
        wait, or more than `spare` slots are used, or the bot is held)."""
        return self._spare_delay(spare, self._clock())

    def _spare_delay(self, spare: int, now: float) -> float | None:
        if self._ready or self._window.used(now) >= spare:
            return None
        delay = self._window.delay(now)
        # Only the spacing between calls (a few milliseconds) is worth waiting for.
        return delay if delay <= self._window.spacing else None

    def release_spare(self) -> None:
        """The response to a call from `take_spare` arrived (or it failed)."""
        self._window.release(self._clock())
        self._wake()

    # --- the queue -----------------------------------------------------------------------------

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            if len(self._chats) >= self._max_chats:
                self._forget_idle()
                # Scan again only once as many chats again have come, however busy they are.
                self._max_chats = max(_MAX_CHATS, 2 * len(self._chats))
            chat = self._chats[chat_id] = _Chat(self._pacer_for(chat_id))
        return chat

    def _requeue(self, chat_id: int, chat: _Chat) -> None:
        """Put the chat's next call in line (invalidating its old place), if it has one."""
        chat.stamp = next(self._stamps)
        head = chat.head()
        if chat.in_flight or head is None:
            return
        urgent = head.priority == Priority.URGENT
        ready_at = max(head.queued_at, chat.pacer.ready_at(urgent=urgent, follow=head.follow))
        heapq.heappush(self._later, (ready_at, chat.stamp, chat_id))
        self._wake()

    def _let_go(self, chat: _Chat, now: float, due: float | None = None) -> float:
        chat.in_flight = True
        chat.stamp = next(self._stamps)
        chat.mark = self._window.take(now, due=due)
        return max(chat.mark, now)

    def _lookahead(self, now: float, due: float) -> float:
        """How far ahead of their moment calls may be let go now (see the class docstring)."""
        if not self._ahead:
            return 0.0
        self._lag *= 0.5 ** (max(0.0, now - self._lag_at) / _LAG_HALF_LIFE)
        self._lag = max(self._lag, now - due)
        self._lag_at = now
        return min(_AHEAD_MAX, _AHEAD_MIN + _AHEAD_PER_LAG * self._lag)

    def _wake(self) -> None:
        if self._alarm is not None and not self._alarm.done():
            self._alarm.set_result(None)
        if not self._later and not self._ready:
            return
        self._due = min(self._due, self._clock())  # something may go: the dispatcher is due
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.get_running_loop().create_task(
                self._dispatch(), name="outbox-scheduler"
            )

    async def _dispatch(self) -> None:
        while True:
            now = self._clock()
            # However late the loop woke us, the calls that could have gone since we were due
            # go now, as far as the window has room for them now (see SlidingWindow.take).
            due = min(self._due, now)
            self._due = math.inf
            ahead = self._lookahead(now, due)
            self._move_ready(now)
            while self._ready and self._window.delay(now) <= ahead:
                _, _, _, stamp, chat_id = heapq.heappop(self._ready)
                head = self._current(stamp, chat_id)
                if head is None:
                    continue  # out of date: the chat was requeued or its caller cancelled
                chat = self._chats[chat_id]
                chat.waiting.pop(0)
                head.future.set_result(self._let_go(chat, now, due))
            self._drop_stale()
            if not self._ready and not self._later:
                return
            wait = math.inf
            if self._ready:
                wait = max(0.0, self._window.delay(now) - ahead)
            if self._later:
                wait = min(wait, self._later[0][0] - now)
            self._due = min(self._due, now + wait)
            await self._sleep(wait)

    def _current(self, stamp: int, chat_id: int) -> _Waiter | None:
        """The waiting call a queue entry stands for, or None if the entry is out of date."""
        chat = self._chats.get(chat_id)
        return chat.head() if chat is not None and chat.stamp == stamp else None

    def _drop_stale(self) -> None:
        while self._later and self._current(self._later[0][1], self._later[0][2]) is None:
            heapq.heappop(self._later)
        while self._ready and self._current(self._ready[0][3], self._ready[0][4]) is None:
            heapq.heappop(self._ready)

    def _move_ready(self, now: float) -> None:
        while self._later and self._later[0][0] <= now:
            ready_at, stamp, chat_id = heapq.heappop(self._later)
            head = self._current(stamp, chat_id)
            if head is not None:
                entry = (int(head.priority), ready_at, head.seq, stamp, chat_id)
                heapq.heappush(self._ready, entry)

    async def _sleep(self, seconds: float) -> None:
        """Sleep `seconds` (forever when infinite), or until something changes."""
        loop = asyncio.get_running_loop()
        alarm = self._alarm = loop.create_future()
        timer = None if math.isinf(seconds) else loop.call_later(max(0.0, seconds), _ring, alarm)
        try:
            await alarm
        finally:
            if timer is not None:
                timer.cancel()
            self._alarm = None

    def _forget_idle(self) -> None:
        now = self._clock()
        for chat_id in [
            c
            for c, chat in self._chats.items()
            if not chat.in_flight and not chat.waiting and chat.pacer.idle(now)
        ]:
            del self._chats[chat_id]


def _ring(alarm: asyncio.Future[None]) -> None:
    if not alarm.done():
        alarm.set_result(None)
