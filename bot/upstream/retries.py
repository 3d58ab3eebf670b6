"""When a failed upstream call is tried again, and after how long.

Owns the retry policy of the table in `bot.upstream` — which errors are worth another request
(nothing came back, a stream cut before its first delta, the statuses the OpenAI SDK retries,
a server's `x-should-retry`), the backoff, how long a Retry-After may make the bot wait — and
the loop that applies it to one call. It must not make calls or read replies itself: the client
(client.py) hands in each attempt, already translated into `bot.errors` types, and decides
which stretch of a call an attempt covers (a stream: up to its first delta only).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.errors import (
    UpstreamContextOverflow,
    UpstreamCut,
    UpstreamError,
    UpstreamHTTPError,
    UpstreamParameterRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# As the OpenAI SDK retries (less 409, which the chat API does not send, and statuses >= 500
# that are no passing trouble, such as 501): timeouts, rate limits, server errors, gateways, and
# 529, Anthropic's "Overloaded" kept by gateways. A server's x-should-retry overrides the list.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 529})
# Waiting longer than this for a rate limit would leave the user staring at "typing…".
MAX_RETRY_AFTER = 30.0


async def retrying(attempt_once: Callable[[], Awaitable[T]], *, retries: int, backoff: float) -> T:
    """`attempt_once()`, tried again after `retry_delay` while that allows: at most `retries`
    more times, waiting `backoff` seconds, doubled each time (or as Retry-After asks)."""
    attempt = 0
    while True:
        try:
            return await attempt_once()
        except UpstreamError as exc:
            delay = retry_delay(exc, attempt, retries=retries, backoff=backoff)
            if delay is None:
                raise
            log.warning("upstream attempt %d failed (%s); retry in %.2f s", attempt + 1, exc, delay)
        await asyncio.sleep(delay)
        attempt += 1


def retry_delay(exc: UpstreamError, attempt: int, *, retries: int, backoff: float) -> float | None:
    """Seconds to wait before trying again, or None when retrying is unsafe or pointless."""
    if attempt >= retries:
        return None
    wait = backoff * 2.0**attempt
    # Nothing came back, or nothing was shown yet (a stream is retried only before its first
    # delta): one more request is all a retry costs.
    connect_failed = isinstance(exc, UpstreamTimeout) and exc.phase == "connect"
    if isinstance(exc, UpstreamUnavailable | UpstreamCut) or connect_failed:
        return wait
    if not isinstance(exc, UpstreamHTTPError) or isinstance(
        exc, UpstreamContextOverflow | UpstreamParameterRejected
    ):
        return None  # those two are answered by changing the request, not by waiting
    retryable = exc.status in RETRYABLE_STATUSES
    if exc.should_retry is not None:
        retryable = exc.should_retry
    if not retryable:
        return None
    if exc.retry_after is None:
        return wait
    return None if exc.retry_after > MAX_RETRY_AFTER else max(exc.retry_after, wait)
