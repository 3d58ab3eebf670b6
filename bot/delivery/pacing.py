"""Pacing decisions for Telegram calls: pure arithmetic over an injected clock.

Owns *when* a call may go: each chat's limits (`ChatPacer`: about one call per second in any
chat, intermediate edits every second in private chats and every three in groups, twenty calls a
minute in a group, and the one short burst a chat may have: a call that follows right behind the
one before it) and the bot-wide sliding window (`SlidingWindow`: 30 calls per second). It
never sleeps, never calls Telegram and never reads the real clock; the scheduler does the waiting.

Telegram counts a call when it handles it, somewhere between our sending it and its response
arriving. So a call counts here from the moment it is let go until `window` seconds after its
response: however late a stalled event loop puts a request on the wire, or however slowly the
answer comes back, Telegram's count in any second can't exceed ours. That is also why the window
takes no safety margin: the round trip already is one (a call let go `window` seconds after an
earlier call's response reaches Telegram more than `window` seconds after Telegram handled the
earlier one), while every millisecond added to it would cost the whole bot that much throughput.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass, field

# Our clock and Telegram's never agree to the millisecond, so every per-chat interval gets a little
# slack on our side; a call that lands a few milliseconds early costs a multi-second 429.
SAFETY_MARGIN = 0.05
GROUP_SPAN = 60.0  # Telegram's group budget is per minute
# A chat's burst allowance, in calls: at most this many calls may go closer together than the
# chat's gap, credit for them coming back at one call per gap (a token bucket; Telegram's own
# lets a chat have a few calls at once, and at most one call a second over time).
FOLLOW_BURST = 2.0
_AHEAD_SLACK = 1e-6  # seconds; see SlidingWindow.take


@dataclass(slots=True)
class ChatPacer:
    """When the next call to one chat may go; shared by every message in that chat.

    Every call waits `gap` seconds after the previous one, and at most `budget` calls go in any
    `span` seconds (groups). Calls that can wait — intermediate edits — also keep `interval`.

    A follow-up (`follow=True`: the message that persists a draft just sealed, the draft shown
    again after a message that dismissed it) needs only the margin after the call before it, as
    long as the chat has burst credit: FOLLOW_BURST calls' worth, one used by every call and one
    earned back per gap. Calls a gap apart never run out of it, and a follow-up spends the credit
    the next one would need, so a chat never has more than two calls within a gap.
    """

    interval: float
    gap: float
    budget: int | None = None
    span: float = GROUP_SPAN
    margin: float = SAFETY_MARGIN
    _sent: deque[float] = field(default_factory=deque)
    _held_until: float = -math.inf
    _credit: float = FOLLOW_BURST  # burst credit left after the last call

    def ready_at(self, *, urgent: bool, follow: bool = False) -> float:
        """The earliest moment the next call may go (urgent: first or final text; follow: a
        call that goes right behind the previous one, burst credit allowing)."""
        ready = self._held_until
        if self._sent:
            last = self._sent[-1]
            if follow:
                # Once the credit is back to one call's worth (at most a gap away).
                wanted = max(0.0, 1.0 - self._credit) * self._refill
                ready = max(ready, last + wanted + self.margin)
            else:
                spacing = self.gap if urgent else max(self.gap, self.interval)
                ready = max(ready, last + spacing + self.margin)
        if self.budget is not None and len(self._sent) >= self.budget:
            ready = max(ready, self._sent[-self.budget] + self.span + self.margin)
        return ready

    def delay(self, now: float, *, urgent: bool = False, follow: bool = False) -> float:
        """Seconds to wait before the next call to this chat may go."""
        return max(0.0, self.ready_at(urgent=urgent, follow=follow) - now)

    @property
    def _refill(self) -> float:
        """Seconds to earn back one call's worth of burst credit."""
        return self.gap + self.margin

    def record(self, now: float) -> None:
        """Note that a call's response arrived at `now`."""
        if self._sent:
            earned = (now - self._sent[-1]) / self._refill
            self._credit = min(FOLLOW_BURST, self._credit + max(0.0, earned))
        else:
            self._credit = FOLLOW_BURST
        self._credit = max(0.0, self._credit - 1.0)
        self._sent.append(now)
        keep = self.budget or 1
        horizon = now - self.span - self.margin
        while len(self._sent) > keep or (len(self._sent) > 1 and self._sent[0] <= horizon):
            self._sent.popleft()

    def hold(self, now: float, seconds: float) -> None:
        """Keep this chat quiet for `seconds` (Telegram's retry_after)."""
        self._held_until = max(self._held_until, now + seconds + self.margin)

    def idle(self, now: float) -> bool:
        """Whether forgetting this chat's history now could never let a call go too early."""
        # (A chat forgotten starts again with full burst credit: only once it has earned it.)
        spacing = max(
            self.gap, self.interval, self.span if self.budget else 0.0, FOLLOW_BURST * self._refill
        )
        last = self._sent[-1] if self._sent else -math.inf
        return now >= max(self._held_until, last + spacing + self.margin)


def pacer_for(chat_id: int, *, private: float, group: float, margin: float) -> ChatPacer:
    """The pacer Telegram's limits call for: groups and channels have negative ids.

    A group's edit interval also sets its budget (60 / interval calls a minute: 20 for the
    default 3 s), so a first or final text may go sooner than the interval while the minute's
    budget lasts; every chat keeps the private interval (about one call a second) between calls.
    """
    if chat_id < 0:
        budget = max(1, math.floor(GROUP_SPAN / group))
        return ChatPacer(interval=group, gap=private, budget=budget, margin=margin)
    return ChatPacer(interval=private, gap=private, margin=margin)


class SlidingWindow:
    """At most `limit` calls in any `window` seconds, the way Telegram counts its global limit.

    A call is counted from `take` (it is let go) until `window` seconds after `release` (its
    response arrived); see the module docstring for why. Calls are also let go at least half a
    fair share (`window / limit / 2`) apart: slots freed together would otherwise go out as one
    clump, whose slowest response holds every slot of the next window, clump after clump.

    That spacing is a schedule, not a wait after each call: a scheduler that wakes late (its event
    loop was busy) lets go at once the calls the spacing would have let go since it was due
    (`take(now, due=...)`), as far as slots are free now. Otherwise a loop busy for 100 ms at a
    time would let one call go per turn of the loop, 10 a second, whatever the window allows. A
    call given back (`give_back`: it was never made) holds up nobody, neither its slot nor its
    place in the spacing.
    """

    def __init__(self, limit: int, window: float = 1.0) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window = window
        self._done: deque[float] = deque()  # response times still inside the window
        self._in_flight = 0
        self._held_until = -math.inf
        self._spread = self.window / limit / 2
        # The spacing marks of recent calls (see `take`); the latest sets when the next may go.
        self._marks: deque[float] = deque()

    def used(self, now: float) -> int:
        """Calls counted at `now`: in flight, or answered less than `window` seconds ago."""
        while self._done and self._done[0] <= now - self.window:
            self._done.popleft()
        return self._in_flight + len(self._done)

    def delay(self, now: float) -> float:
        """Seconds to wait before one more call fits; infinite while every slot is in flight."""
        return max(0.0, self._fits_at(now) - now)

    def _fits_at(self, now: float) -> float:
        """The earliest moment one more call fits, by the spacing and the slots (maybe past)."""
        fits = max(self._held_until, self._last_mark() + self._spread)
        used = self.used(now)
        if used >= self.limit:
            # Answered calls leave oldest first; one more fits once all but limit - 1 of the
            # counted calls have left (more than `limit` are counted while a call taken ahead of
            # its moment waits for it). Calls in flight never leave before their answer.
            # (At least a nanosecond past now: rounding can put "now" a hair before one leaves.)
            index = used - self.limit
            leaves = self._done[index] + self.window if index < len(self._done) else math.inf
            fits = max(fits, leaves, now + 1e-9)
        return fits

    @property
    def spacing(self) -> float:
        """The least time between two calls let go."""
        return self._spread

    def take(self, now: float, *, due: float | None = None) -> float:
        """Count one call that is being let go at `now`; returns the moment it may reach
        Telegram, its place in the spacing.

        That is `now` when the call fits now. A caller that lets calls go ahead of their moment
        (`delay(now) > 0`: the request is held back until then, see telegram_io.py) gets that
        later moment; the call counts against the window from `now` all the same.

        `due`: when the caller was due to let calls go (it woke up late). The call then takes
        the first place in the spacing from `due` on rather than `now`, so the calls the spacing
        would have let go while the caller was late can go at once. Only the spacing moves: the
        call counts against the window from `now`, as always.
        """
        mark = self._fits_at(now)
        if mark > now:
            # Ahead of its moment, which is the very instant an earlier call leaves the window:
            # a hair later, so that rounding in anyone's clock arithmetic can't put it inside.
            mark += _AHEAD_SLACK
        mark = max(mark, now if due is None or mark > now else min(due, now))
        self._in_flight += 1
        last = self._last_mark()
        if mark >= last:
            # Older marks are kept a while only so that a call given back can be found.
            while self._marks and self._marks[0] < mark - self.window:
                self._marks.popleft()
            self._marks.append(mark)
        return mark

    def release(self, now: float) -> None:
        """The response to one call taken earlier arrived at `now` (or the call failed).

        Responses may be reported out of order: `now` is when the answer arrived, which can be
        earlier than when the caller got round to saying so (see telegram_io.py).
        """
        if self._in_flight < 1:
            raise RuntimeError("release without take")
        self._in_flight -= 1
        bisect.insort(self._done, now)

    def give_back(self, mark: float) -> None:
        """The call `take` placed at `mark` was not made after all: it never counted at
        Telegram, so it frees its slot at once, and the next call keeps only the spacing from
        the call let go before it."""
        if self._in_flight < 1:
            raise RuntimeError("give_back without take")
        self._in_flight -= 1
        if mark in self._marks:
            self._marks.remove(mark)

    def _last_mark(self) -> float:
        return self._marks[-1] if self._marks else -math.inf

    def hold(self, now: float, seconds: float) -> None:
        """Stop everything for `seconds`."""
        self._held_until = max(self._held_until, now + seconds)
