"""Per-user limits on turns sent to the model, and the UTC days and months usage is counted in.

Owns "may this user's turn go to the model now, and if not, from when?" (per minute, daily
messages, daily tokens; 0 turns one off; ADMIN_USER_IDS are exempt), the words that say so and how
often, and estimating tokens when the upstream reports no `usage`. Daily counts come from the
store; the per-minute window lives in memory. No Telegram: the caller shows the refusal.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bot.config import Settings
from bot.store import ChatStore
from bot.types import Clock
from bot.upstream.types import Usage

LimitKind = Literal["rate", "messages", "tokens"]

RATE_WINDOW = 60.0  # seconds the per-minute limit looks back
TELL_INTERVAL = 60.0  # a limited user is told at most once per this many seconds
CHARS_PER_TOKEN = 4  # OpenAI's rule of thumb for English text
# Past this many users in the per-minute window, those idle for a minute are forgotten.
_MAX_TRACKED_USERS = 10_000


@dataclass(frozen=True, slots=True)
class Quotas:
    """The limits in force; 0 means no limit of that kind."""

    per_minute: int = 0
    daily_messages: int = 0
    daily_tokens: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> Quotas:
        return cls(
            per_minute=settings.rate_limit_per_minute,
            daily_messages=settings.daily_message_quota,
            daily_tokens=settings.daily_token_quota,
        )


@dataclass(frozen=True, slots=True)
class LimitReached:
    """A turn that may not go to the model: which limit, and when the user may continue."""

    kind: LimitKind
    limit: int
    retry_at: float  # unix seconds
    tell: bool = True  # False when this user was told within the last TELL_INTERVAL


class Throttle:
    """Says yes to a key at most once per `interval` seconds."""

    def __init__(self, interval: float, clock: Clock = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._last: dict[int, float] = {}

    def ready(self, key: int) -> bool:
        """Whether `key` may be served now (and, if so, remember that it was)."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            return False
        if len(self._last) >= _MAX_TRACKED_USERS:
            self._last = {k: t for k, t in self._last.items() if now - t < self._interval}
        self._last[key] = now
        return True


class UsageLimits:
    """Admits or refuses a user's turn before anything is sent upstream."""

    def __init__(
        self,
        store: ChatStore,
        quotas: Quotas,
        *,
        exempt: frozenset[int] = frozenset(),
        clock: Clock = time.time,
    ) -> None:
        self._store = store
        self._quotas = quotas
        self._exempt = exempt
        self._clock = clock
        self._recent: dict[int, deque[float]] = {}
        self._told = Throttle(TELL_INTERVAL, clock)

    @classmethod
    def from_settings(cls, store: ChatStore, settings: Settings) -> UsageLimits:
        return cls(store, Quotas.from_settings(settings), exempt=settings.admin_user_ids)

    @property
    def quotas(self) -> Quotas:
        return self._quotas

    def now(self) -> float:
        """The time on this service's clock (unix seconds)."""
        return self._clock()

    def limits(self, user_id: int | None) -> bool:
        """Whether any limit applies to this user's turns at all."""
        quotas = self._quotas
        limited = quotas.per_minute or quotas.daily_messages or quotas.daily_tokens
        return bool(limited) and user_id is not None and user_id not in self._exempt

    async def admit(self, user_id: int | None, *, count: bool = True) -> LimitReached | None:
        """None when this turn may go ahead (and it is counted), else why not and until when.

        Turns without a known user (a channel writing in a group) are not limited. With
        `count=False` nothing is counted: a look before work that may end in no turn at all.
        """
        if user_id is None or not self.limits(user_id):
            return None
        refusal = await self._daily_refusal(user_id)
        if refusal is None:
            # Counted only here, after every other check, so refused turns never use up the rate.
            refusal = self._rate_refusal(user_id, self._clock(), count=count)
        if refusal is None:
            return None
        return LimitReached(
            refusal.kind, refusal.limit, refusal.retry_at, self._told.ready(user_id)
        )

    async def _daily_refusal(self, user_id: int) -> LimitReached | None:
        quotas = self._quotas
        if not quotas.daily_messages and not quotas.daily_tokens:
            return None
        now = self._clock()
        used = await self._store.usage(user_id, since=day_start(now))
        tomorrow = next_day_start(now)
        if quotas.daily_messages and used.messages >= quotas.daily_messages:
            return LimitReached("messages", quotas.daily_messages, tomorrow)
        if quotas.daily_tokens and used.tokens >= quotas.daily_tokens:
            return LimitReached("tokens", quotas.daily_tokens, tomorrow)
        return None

    def _rate_refusal(self, user_id: int, now: float, *, count: bool) -> LimitReached | None:
        limit = self._quotas.per_minute
        if not limit:
            return None
        window = self._recent.get(user_id)
        if window is None:
            if len(self._recent) >= _MAX_TRACKED_USERS:
                self._forget_idle(now)
            window = self._recent[user_id] = deque()
        while window and window[0] <= now - RATE_WINDOW:
            window.popleft()
        if len(window) >= limit:
            return LimitReached("rate", limit, window[0] + RATE_WINDOW)
        if count:
            window.append(now)
        return None

    def _forget_idle(self, now: float) -> None:
        self._recent = {
            user: window
            for user, window in self._recent.items()
            if window and window[-1] > now - RATE_WINDOW
        }


def limit_reached_text(refusal: LimitReached, now: float) -> str:
    """What a limited user reads: which limit they reached and when they can continue."""
    if refusal.kind == "rate":
        reached = f"You've sent {refusal.limit} messages within a minute, the most I answer."
    elif refusal.kind == "messages":
        reached = f"You've used today's quota of {refusal.limit} messages."
    else:
        reached = f"You've used today's quota of {refusal.limit:,} tokens."
    return f"{reached} You can continue {when(refusal.retry_at, now)}."


def too_long_text(length: int, limit: int) -> str:
    """What a user reads when their turn has more characters than MAX_MESSAGE_CHARS."""
    return (
        f"Your message is too long: {length:,} characters (with any message it replies to), "
        f"and I take at most {limit:,}. Please shorten it or send it in parts."
    )


def when(at: float, now: float) -> str:
    """`at` for a reader at `now`: "in 14 s (at 12:00:14 UTC)", or for a UTC midnight
    tomorrow "tomorrow at 00:00 UTC (in 3 h 20 min)"."""
    # Rounded up: at 12:00:14.2 the user can't continue yet at 12:00:14.
    moment = datetime.fromtimestamp(math.ceil(at), UTC)
    relative = _duration(max(0, math.ceil(at - now)))
    if at == next_day_start(now):
        return f"tomorrow at 00:00 UTC (in {relative})"
    return f"in {relative} (at {moment:%H:%M:%S} UTC)"


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(math.ceil(seconds / 60), 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def day_start(now: float) -> float:
    """The unix time of the UTC midnight that began `now`'s day."""
    moment = datetime.fromtimestamp(now, UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def next_day_start(now: float) -> float:
    """The unix time of the next UTC midnight after `now`."""
    start = datetime.fromtimestamp(day_start(now), UTC)
    return (start + timedelta(days=1)).timestamp()


def month_start(now: float) -> float:
    """The unix time of 00:00 UTC on the first day of `now`'s month."""
    moment = datetime.fromtimestamp(now, UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


def estimated_usage(messages: Sequence[Mapping[str, Any]], reply: str) -> Usage:
    """Tokens estimated from characters (about four to a token) when the upstream reports none.

    Only text counts: attached images and audio are not estimated.
    """
    prompt = estimate_tokens(sum(len(_text_of(m.get("content"))) for m in messages))
    completion = estimate_tokens(len(reply))
    return Usage(prompt, completion, prompt + completion)


def estimate_tokens(chars: int) -> int:
    """About how many tokens `chars` characters of text take."""
    return math.ceil(chars / CHARS_PER_TOKEN)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type") == "text"
        )
    return ""
