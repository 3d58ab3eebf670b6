"""The fake Telegram's flood limiter, with an injected clock."""

from __future__ import annotations

from tests.fakes.telegram.flood import FloodLimiter, FloodLimits
from tests.support import FakeClock

# --- flood control ---------------------------------------------------------------------------


def test_private_chat_burst_then_ban_until_retry_after() -> None:
    clock = FakeClock(0.0)
    limiter = FloodLimiter(FloodLimits(), clock)
    for _ in range(3):
        assert limiter.retry_after(42) is None
        limiter.record(42)
    assert limiter.retry_after(42) == 1
    clock.now = 0.5
    assert limiter.retry_after(42) == 1  # still banned: retrying early does not help
    clock.now = 1.0
    assert limiter.retry_after(42) is None


def test_ban_in_one_private_chat_leaves_others_alone() -> None:
    limiter = FloodLimiter(FloodLimits(chat_burst=1), FakeClock(0.0))
    limiter.record(1)
    assert (limiter.retry_after(1), limiter.retry_after(2)) == (1, None)


def test_group_allows_twenty_per_minute() -> None:
    clock = FakeClock(0.0)
    limiter = FloodLimiter(FloodLimits(), clock)
    for second in range(20):
        clock.now = float(second)
        assert limiter.retry_after(-100) is None
        limiter.record(-100)
    clock.now = 30.0
    assert limiter.retry_after(-100) == 30
    clock.now = 59.5
    assert limiter.retry_after(-100) == 1
    clock.now = 60.0
    assert limiter.retry_after(-100) is None


def test_global_limit_bans_every_chat() -> None:
    limiter = FloodLimiter(FloodLimits(global_per_second=30), FakeClock(0.0))
    for chat_id in range(1, 31):
        limiter.record(chat_id)
    assert (limiter.retry_after(99), limiter.retry_after(-5)) == (1, 1)


def test_relaxed_limits_never_ban() -> None:
    limiter = FloodLimiter(FloodLimits.relaxed(), FakeClock(0.0))
    for _ in range(1000):
        limiter.record(7)
    assert limiter.retry_after(7) is None
