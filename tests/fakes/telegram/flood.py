"""Telegram's flood limits for the fake server, driven by an injected clock.

Owns: `FloodLimits` (the numbers) and `FloodLimiter` (the decision for one counted call). Pure:
no server state, no sleeping; the caller asks `retry_after(chat_id)` before a call and
`record(chat_id)` after it succeeded, so failed calls cost nothing, as on Telegram.

A violation bans the chat (or, for the global limit, every chat) until `retry_after` has passed;
calls during a ban get 429 again without extending it. That is what punishes a bot that retries
before `retry_after`, the way Telegram's multi-minute bans punish streaming bots.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# Methods that create or change a message; everything else (getUpdates, sendChatAction,
# answerCallbackQuery, getFile, setMyCommands, ...) is free.
COUNTED_METHODS = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
        "editMessageMedia",
        "sendVoice",
        "sendAudio",
        "sendPhoto",
        "sendDocument",
        "sendVideo",
        "sendAnimation",
        "sendSticker",
        "sendVideoNote",
        "sendMediaGroup",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "sendMessageDraft",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
    }
)


@dataclass(frozen=True, slots=True)
class FloodLimits:
    chat_burst: int = 3  # token bucket per private chat: capacity
    chat_rate: float = 1.0  # ... refilled per second
    group_per_minute: int = 20  # sliding 60 s window per group/supergroup (chat_id < 0)
    global_per_second: int = 30  # sliding 1 s window over all chats

    @classmethod
    def relaxed(cls) -> FloodLimits:
        """Effectively unlimited, for tests that are not about flood control."""
        return cls(
            chat_burst=1_000_000,
            chat_rate=1_000_000.0,
            group_per_minute=1_000_000,
            global_per_second=1_000_000,
        )


@dataclass(slots=True)
class _Bucket:
    tokens: float
    refilled_at: float


@dataclass(slots=True)
class FloodLimiter:
    limits: FloodLimits
    clock: Callable[[], float]
    _buckets: dict[int, _Bucket] = field(default_factory=dict)
    _group_sends: dict[int, deque[float]] = field(default_factory=dict)
    _global_sends: deque[float] = field(default_factory=deque)
    _banned_until: dict[int, float] = field(default_factory=dict)
    _global_ban_until: float = -math.inf

    def retry_after(self, chat_id: int) -> int | None:
        """Seconds the caller must wait before a counted call to `chat_id`, or None if allowed."""
        now = self.clock()
        if now < self._global_ban_until:
            return _seconds(self._global_ban_until - now)
        if now < self._banned_until.get(chat_id, -math.inf):
            return _seconds(self._banned_until[chat_id] - now)
        _expire(self._global_sends, now - 1.0)
        if len(self._global_sends) >= self.limits.global_per_second:
            wait = _seconds(self._global_sends[0] + 1.0 - now)
            self._global_ban_until = now + wait
            return wait
        wait_or_none = (
            self._group_wait(chat_id, now) if chat_id < 0 else self._private_wait(chat_id, now)
        )
        if wait_or_none is not None:
            self._banned_until[chat_id] = now + wait_or_none
        return wait_or_none

    def record(self, chat_id: int) -> None:
        """Count one successful call to `chat_id`."""
        now = self.clock()
        self._global_sends.append(now)
        if chat_id < 0:
            self._group_sends.setdefault(chat_id, deque()).append(now)
        else:
            self._refilled(chat_id, now).tokens -= 1.0

    def _group_wait(self, chat_id: int, now: float) -> int | None:
        sends = self._group_sends.setdefault(chat_id, deque())
        _expire(sends, now - 60.0)
        if len(sends) < self.limits.group_per_minute:
            return None
        return _seconds(sends[0] + 60.0 - now)

    def _private_wait(self, chat_id: int, now: float) -> int | None:
        bucket = self._refilled(chat_id, now)
        if bucket.tokens >= 1.0:
            return None
        return _seconds((1.0 - bucket.tokens) / self.limits.chat_rate)

    def _refilled(self, chat_id: int, now: float) -> _Bucket:
        bucket = self._buckets.get(chat_id)
        if bucket is None:
            bucket = self._buckets[chat_id] = _Bucket(float(self.limits.chat_burst), now)
        elapsed = max(0.0, now - bucket.refilled_at)
        bucket.tokens = min(
            float(self.limits.chat_burst), bucket.tokens + elapsed * self.limits.chat_rate
        )
        bucket.refilled_at = now
        return bucket


def _expire(times: deque[float], before: float) -> None:
    while times and times[0] <= before:
        times.popleft()


def _seconds(delay: float) -> int:
    # Telegram's retry_after is a whole number of seconds, never 0.
    return max(1, math.ceil(delay - 1e-9))
