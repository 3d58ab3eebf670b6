"""Pacing decisions for Telegram calls: pure arithmetic over an injected clock.

Owns *when* a call may go: the per-chat spacing (about one call per second in private chats,
one per three seconds in groups) and the bot-wide sliding window (30 calls per second). It never
sleeps, never calls Telegram and never reads the real clock; `outbox.py` does the waiting.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

# Our clock and Telegram's never agree to the millisecond, so every interval gets a little slack
# on our side; a call that lands a few milliseconds early costs a multi-second 429.
SAFETY_MARGIN = 0.05


@dataclass(slots=True)
class ChatPacer:
    """Spacing of the calls to one chat; shared by every live message in that chat."""

    interval: float
    next_allowed: float = 0.0

    def delay(self, now: float) -> float:
        """Seconds to wait before the next call to this chat may go."""
        return max(0.0, self.next_allowed - now)

    def record(self, now: float) -> None:
        """Note that a call went out at `now`."""
        self.next_allowed = max(self.next_allowed, now + self.interval + SAFETY_MARGIN)

    def hold(self, now: float, seconds: float) -> None:
        """Keep this chat quiet for `seconds` (Telegram's retry_after)."""
        self.next_allowed = max(self.next_allowed, now + seconds + SAFETY_MARGIN)


class SlidingWindow:
    """At most `limit` calls in any `window` seconds, the way Telegram counts its global limit."""

    def __init__(self, limit: int, window: float = 1.0) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window = window + SAFETY_MARGIN
        self._sent: deque[float] = deque()
        self._held_until = 0.0

    def delay(self, now: float) -> float:
        """Seconds to wait before one more call fits in the window."""
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
        wait = self._held_until - now
        if len(self._sent) >= self.limit:
            wait = max(wait, self._sent[0] + self.window - now)
        return max(0.0, wait)

    def record(self, now: float) -> None:
        """Note that a call went out at `now`."""
        self._sent.append(now)

    def hold(self, now: float, seconds: float) -> None:
        """Stop everything for `seconds`."""
        self._held_until = max(self._held_until, now + seconds)


def interval_for(chat_id: int, *, private: float, group: float) -> float:
    """The spacing Telegram wants for a chat: groups and channels have negative ids."""
    return group if chat_id < 0 else private
