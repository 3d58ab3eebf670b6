"""Pacing decisions, with an injected clock: no sleeping, no Telegram."""

from __future__ import annotations

import pytest

from bot.pacing import SAFETY_MARGIN, ChatPacer, SlidingWindow, interval_for


def test_first_call_to_a_chat_may_go_at_once() -> None:
    pacer = ChatPacer(interval=1.0)
    assert pacer.delay(now=100.0) == 0.0


def test_next_call_waits_for_the_interval_plus_margin() -> None:
    pacer = ChatPacer(interval=1.0)
    pacer.record(now=100.0)
    assert pacer.delay(now=100.4) == pytest.approx(0.6 + SAFETY_MARGIN)
    assert pacer.delay(now=101.0 + SAFETY_MARGIN) == 0.0


def test_retry_after_holds_the_chat_longer_than_its_interval() -> None:
    pacer = ChatPacer(interval=1.0)
    pacer.record(now=10.0)
    pacer.hold(now=10.0, seconds=7)
    assert pacer.delay(now=12.0) == pytest.approx(5.0 + SAFETY_MARGIN)


def test_a_short_hold_never_shortens_the_interval() -> None:
    pacer = ChatPacer(interval=3.0)
    pacer.record(now=0.0)
    pacer.hold(now=0.0, seconds=1)
    assert pacer.delay(now=2.0) == pytest.approx(1.0 + SAFETY_MARGIN)


def test_groups_get_the_group_interval_and_private_chats_the_private_one() -> None:
    assert interval_for(-1001234, private=1.0, group=3.0) == 3.0
    assert interval_for(42, private=1.0, group=3.0) == 1.0


def test_window_admits_up_to_its_limit_then_waits_for_the_oldest_to_leave() -> None:
    window = SlidingWindow(limit=3, window=1.0)
    for t in (0.0, 0.1, 0.2):
        assert window.delay(t) == 0.0
        window.record(t)
    assert window.delay(0.3) == pytest.approx(0.7 + SAFETY_MARGIN)
    assert window.delay(1.0 + SAFETY_MARGIN) == 0.0


def test_window_never_admits_more_than_its_limit_in_any_window() -> None:
    window = SlidingWindow(limit=30, window=1.0)
    now = 0.0
    sent: list[float] = []
    while len(sent) < 300:
        wait = window.delay(now)
        now += wait
        window.record(now)
        sent.append(now)
    for i in range(len(sent) - 30):
        assert sent[i + 30] - sent[i] >= 1.0


def test_window_hold_stops_everything_until_it_ends() -> None:
    window = SlidingWindow(limit=30)
    window.hold(now=5.0, seconds=2.0)
    assert window.delay(6.0) == pytest.approx(1.0)
    assert window.delay(7.0) == 0.0


def test_window_rejects_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SlidingWindow(limit=0)
