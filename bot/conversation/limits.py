"""Per-user limits on turns sent to the model, and the UTC days and months usage is counted in.

Owns "may this user's turn go to the model now, and if not, from when?" (per minute, daily
messages, daily tokens; 0 turns one off; ADMIN_USER_IDS are exempt), the words that say so and how
often, and estimating tokens when the upstream reports no `usage`. A turn is counted when it is
admitted, while it still waits behind others: its `Reservation` holds its place in the per-minute
window and counts as one of the day's messages until the store counts it (`settle`), or is given
back if the turn never runs (`release`). Daily counts come from the store; the per-minute window
and the reservations live in memory. No Telegram: the caller shows the refusal.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bot.config import Settings
from bot.i18n import _, ngettext, number
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
    """Says yes to a key at most `burst` times within any `interval` seconds."""

    def __init__(self, interval: float, clock: Clock = time.monotonic, *, burst: int = 1) -> None:
        self._interval = interval
        self._clock = clock
        self._burst = burst
        self._said: dict[Hashable, deque[float]] = {}

    def ready(self, key: Hashable) -> bool:
        """Whether `key` may be served now (and, if so, remember that it was)."""
        now = self._clock()
        said = self._said.get(key)
        if said is None:
            if len(self._said) >= _MAX_TRACKED_USERS:
                self._said = {k: t for k, t in self._said.items() if now - t[-1] < self._interval}
            said = self._said[key] = deque()
        while said and now - said[0] >= self._interval:
            said.popleft()
        if len(said) >= self._burst:
            return False
        said.append(now)
        return True


@dataclass(eq=False, slots=True)
class Reservation:
    """The room one admitted turn holds under its user's limits: one of the day's messages
    until the store counts the turn, and its place in the per-minute window."""

    user_id: int | None  # None: no limit applies, nothing is held
    at: float | None = None  # its place in the per-minute window, when that limit is on
    open: bool = True


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
        self._reserved: Counter[int] = Counter()  # turns admitted and not stored yet, per user
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

    async def reserve(self, user_id: int | None) -> Reservation | LimitReached:
        """Room for one more turn of this user under every limit, or which limit is reached and
        until when.

        The turn counts from now on, while it waits behind others too: settle the reservation
        once the turn is stored (the database counts it from then on), release it if the turn
        never runs. Turns without a known user (a channel writing in a group) are not limited.
        """
        if user_id is None or not self.limits(user_id):
            return Reservation(None)
        refusal = await self._daily_refusal(user_id)
        now = self._clock()
        if refusal is None:
            # Checked only here, after every other check, so refused turns never use up the rate.
            refusal = self._rate_refusal(user_id, now)
        if refusal is not None:
            return LimitReached(
                refusal.kind, refusal.limit, refusal.retry_at, self._told.ready(user_id)
            )
        # No await since the daily count was read: concurrent turns of one user see each other.
        at = None
        if self._quotas.per_minute:
            at = now
            self._recent[user_id].append(now)
        self._reserved[user_id] += 1
        return Reservation(user_id, at)

    def hold(self, user_id: int | None) -> Reservation:
        """Count a turn admitted before a restart, without checking it again: it waits in the
        inbox, which the daily counts don't read."""
        if user_id is None or not self.limits(user_id):
            return Reservation(None)
        self._reserved[user_id] += 1
        return Reservation(user_id)

    def settle(self, reservation: Reservation) -> None:
        """The turn is stored: the database counts it from now on. Call it with no await between
        the store's write and this, so no one counts the turn twice."""
        if reservation.open and reservation.user_id is not None:
            self._unreserve(reservation.user_id)
        reservation.open = False

    def release(self, reservation: Reservation) -> None:
        """The turn will never run (refused once built, the bot stopping): give its room back.
        Harmless after `settle` or a first `release`."""
        if not reservation.open or reservation.user_id is None:
            reservation.open = False
            return
        reservation.open = False
        self._unreserve(reservation.user_id)
        window = self._recent.get(reservation.user_id)
        if window is not None and reservation.at is not None and reservation.at in window:
            window.remove(reservation.at)

    async def recheck(self, reservation: Reservation) -> LimitReached | None:
        """Whether a turn admitted a while ago may still start. The daily token quota is read
        again: the replies the turn waited behind may have used it up (tokens are known only
        once a reply is done; the other limits counted the turn when it arrived)."""
        user_id = reservation.user_id
        quota = self._quotas.daily_tokens
        if user_id is None or not quota:
            return None
        now = self._clock()
        used = await self._store.usage(user_id, since=day_start(now))
        if used.tokens < quota:
            return None
        return LimitReached("tokens", quota, next_day_start(now), self._told.ready(user_id))

    def _unreserve(self, user_id: int) -> None:
        self._reserved[user_id] -= 1
        if self._reserved[user_id] <= 0:
            del self._reserved[user_id]

    async def _daily_refusal(self, user_id: int) -> LimitReached | None:
        quotas = self._quotas
        if not quotas.daily_messages and not quotas.daily_tokens:
            return None
        now = self._clock()
        used = await self._store.usage(user_id, since=day_start(now))
        tomorrow = next_day_start(now)
        # Turns admitted but not stored yet count as messages; their tokens are not known.
        messages = used.messages + self._reserved.get(user_id, 0)
        if quotas.daily_messages and messages >= quotas.daily_messages:
            return LimitReached("messages", quotas.daily_messages, tomorrow)
        if quotas.daily_tokens and used.tokens >= quotas.daily_tokens:
            return LimitReached("tokens", quotas.daily_tokens, tomorrow)
        return None

    def _rate_refusal(self, user_id: int, now: float) -> LimitReached | None:
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
        return None

    def _forget_idle(self, now: float) -> None:
        self._recent = {
            user: window
            for user, window in self._recent.items()
            if window and window[-1] > now - RATE_WINDOW
        }


def limit_reached_text(refusal: LimitReached, now: float) -> str:
    """What a limited user reads: which limit they reached and when they can continue."""
    count, moment = number(refusal.limit), when(refusal.retry_at, now)
    # Translators: {when} is a moment such as "in 14 s (at 12:00:14 UTC)" or "tomorrow at
    # 00:00 UTC (in 3 h 20 min)".
    if refusal.kind == "rate":
        text = ngettext(
            "You've sent {count} message within a minute, the most I answer. "
            "You can continue {when}.",
            "You've sent {count} messages within a minute, the most I answer. "
            "You can continue {when}.",
            refusal.limit,
        )
    elif refusal.kind == "messages":
        text = ngettext(
            "You've used today's quota of {count} message. You can continue {when}.",
            "You've used today's quota of {count} messages. You can continue {when}.",
            refusal.limit,
        )
    else:
        text = ngettext(
            "You've used today's quota of {count} token. You can continue {when}.",
            "You've used today's quota of {count} tokens. You can continue {when}.",
            refusal.limit,
        )
    return text.format(count=count, when=moment)


def too_long_text(length: int, limit: int) -> str:
    """What a user reads when their turn has more characters than MAX_MESSAGE_CHARS."""
    return _(
        "Your message is too long: {length} characters (with any message it replies to), "
        "and I take at most {limit}. Please shorten it or send it in parts."
    ).format(length=number(length), limit=number(limit))


def when(at: float, now: float) -> str:
    """`at` for a reader at `now`: "in 14 s (at 12:00:14 UTC)", or for a UTC midnight
    tomorrow "tomorrow at 00:00 UTC (in 3 h 20 min)"."""
    # Rounded up: at 12:00:14.2 the user can't continue yet at 12:00:14.
    moment = datetime.fromtimestamp(math.ceil(at), UTC)
    relative = _duration(max(0, math.ceil(at - now)))
    if at == next_day_start(now):
        # Translators: completes "You can continue {when}."; {duration} is e.g. "3 h 20 min".
        return _("tomorrow at 00:00 UTC (in {duration})").format(duration=relative)
    # Translators: completes "You can continue {when}."; {duration} is e.g. "14 s", {time}
    # a time of day such as 12:00:14.
    return _("in {duration} (at {time} UTC)").format(duration=relative, time=f"{moment:%H:%M:%S}")


def _duration(seconds: int) -> str:
    if seconds < 60:
        return _("{seconds} s").format(seconds=seconds)
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        if rest:
            return _("{minutes} min {seconds} s").format(minutes=minutes, seconds=rest)
        return _("{minutes} min").format(minutes=minutes)
    hours, rest = divmod(math.ceil(seconds / 60), 60)
    if rest:
        return _("{hours} h {minutes} min").format(hours=hours, minutes=rest)
    return _("{hours} h").format(hours=hours)


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
