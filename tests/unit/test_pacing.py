"""Pacing decisions, with an injected clock: no sleeping, no Telegram.

The simulations at the end replay calls whose requests and responses are late by arbitrary
amounts (a stalled event loop, a slow network) against the fake Telegram's own flood limiter,
and require that it never answers 429.
"""

from __future__ import annotations

import heapq
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.pacing import SAFETY_MARGIN, ChatPacer, SlidingWindow, pacer_for
from tests.fakes.telegram.flood import FloodLimiter, FloodLimits
from tests.support import FakeClock


def private_pacer() -> ChatPacer:
    return pacer_for(42, private=1.0, group=3.0, margin=SAFETY_MARGIN)


def group_pacer() -> ChatPacer:
    return pacer_for(-1001234, private=1.0, group=3.0, margin=SAFETY_MARGIN)


def test_first_call_to_a_chat_may_go_at_once() -> None:
    assert private_pacer().delay(now=100.0) == 0.0


def test_next_call_waits_for_the_interval_plus_margin() -> None:
    pacer = private_pacer()
    pacer.record(now=100.0)
    assert pacer.delay(now=100.4) == pytest.approx(0.6 + SAFETY_MARGIN)
    assert pacer.delay(now=100.4, urgent=True) == pytest.approx(0.6 + SAFETY_MARGIN)
    assert pacer.delay(now=101.0 + SAFETY_MARGIN) == 0.0


def test_retry_after_holds_the_chat_longer_than_its_interval() -> None:
    pacer = private_pacer()
    pacer.record(now=10.0)
    pacer.hold(now=10.0, seconds=7)
    assert pacer.delay(now=12.0) == pytest.approx(5.0 + SAFETY_MARGIN)
    assert pacer.delay(now=12.0, urgent=True) == pytest.approx(5.0 + SAFETY_MARGIN)


def test_a_short_hold_never_shortens_the_interval() -> None:
    pacer = group_pacer()
    pacer.record(now=0.0)
    pacer.hold(now=0.0, seconds=1)
    assert pacer.delay(now=2.0) == pytest.approx(1.0 + SAFETY_MARGIN)


def test_in_a_group_edits_wait_3_s_but_first_and_final_texts_only_the_1_s_gap() -> None:
    pacer = group_pacer()
    pacer.record(now=0.0)
    assert pacer.delay(now=0.5) == pytest.approx(2.5 + SAFETY_MARGIN)
    assert pacer.delay(now=0.5, urgent=True) == pytest.approx(0.5 + SAFETY_MARGIN)


def test_a_group_gets_20_calls_a_minute_then_waits_for_the_oldest_to_leave_the_minute() -> None:
    pacer = group_pacer()
    now = 0.0
    for _ in range(20):
        now += pacer.delay(now, urgent=True)
        pacer.record(now)
    first = 0.0
    assert pacer.delay(now, urgent=True) == pytest.approx(first + 60 + SAFETY_MARGIN - now)


def test_groups_get_the_group_interval_and_private_chats_the_private_one() -> None:
    assert (group_pacer().interval, group_pacer().budget) == (3.0, 20)
    private = private_pacer()
    assert (private.interval, private.gap, private.budget) == (1.0, 1.0, None)


def test_a_chat_is_idle_once_nothing_it_sent_can_still_matter() -> None:
    pacer = group_pacer()
    pacer.record(now=0.0)
    assert not pacer.idle(now=30.0)
    assert pacer.idle(now=60.0 + SAFETY_MARGIN)


def test_a_follow_up_goes_right_behind_the_call_before_it() -> None:
    pacer = private_pacer()
    pacer.record(now=0.0)
    pacer.record(now=1.2)  # calls a gap apart keep the chat's burst credit
    assert pacer.delay(now=1.2, follow=True) == pytest.approx(SAFETY_MARGIN)
    assert pacer.delay(now=1.2, urgent=True) == pytest.approx(1.0 + SAFETY_MARGIN)


def test_after_a_follow_up_the_next_one_waits_until_the_chat_has_earned_it_back() -> None:
    pacer = private_pacer()
    pacer.record(now=0.0)
    pacer.record(now=0.1)  # a follow-up: the credit is spent
    refill = 1.0 + SAFETY_MARGIN
    assert pacer.delay(now=0.1, follow=True) == pytest.approx(refill * (1 - 0.1 / refill) + 0.05)
    assert pacer.delay(now=0.1, urgent=True) == pytest.approx(1.0 + SAFETY_MARGIN)
    pacer.record(now=1.2)  # an ordinary call earns back less than it spends
    assert pacer.delay(now=1.2, follow=True) > 0.5


def test_a_chat_is_forgotten_only_once_it_has_earned_its_whole_burst_back() -> None:
    pacer = private_pacer()
    pacer.record(now=0.0)
    assert not pacer.idle(now=1.0 + 2 * SAFETY_MARGIN)
    assert pacer.idle(now=2 * (1.0 + SAFETY_MARGIN) + SAFETY_MARGIN)


def test_window_admits_up_to_its_limit_then_waits_for_the_oldest_answer_to_leave() -> None:
    window = SlidingWindow(limit=3, window=1.0)
    for t in (0.0, 0.2, 0.4):
        assert window.delay(t) == 0.0
        window.take(t)
        window.release(t + 0.01)
    assert window.delay(0.5) == pytest.approx(0.51)
    assert window.delay(1.0) > 0  # the first answer arrived at 0.01: it still counts
    assert window.delay(1.01) == 0.0


def test_a_call_counts_while_in_flight_however_long_its_answer_takes() -> None:
    window = SlidingWindow(limit=2, window=1.0)
    window.take(0.0)
    window.take(0.1)
    assert window.delay(5.0) == math.inf
    window.release(5.0)
    assert window.used(5.5) == 2
    assert window.delay(5.5) == pytest.approx(0.5)


def test_calls_freed_together_are_let_go_half_a_fair_share_apart() -> None:
    window = SlidingWindow(limit=10, window=1.0)
    window.take(0.0)
    assert window.delay(0.0) == pytest.approx(0.05)
    assert window.delay(0.05) == 0.0


def test_a_call_given_back_holds_up_neither_its_slot_nor_the_spacing() -> None:
    window = SlidingWindow(limit=10, window=1.0)
    window.take(0.0)
    window.release(0.01)
    window.take(0.05)
    assert window.delay(0.05) == pytest.approx(0.05)
    window.give_back(0.05)  # it found nothing to send
    assert window.delay(0.05) == 0.0  # the call before it is 50 ms old: spaced enough
    assert window.used(0.05) == 1


def test_window_hold_stops_everything_until_it_ends() -> None:
    window = SlidingWindow(limit=30)
    window.hold(now=5.0, seconds=2.0)
    assert window.delay(6.0) == pytest.approx(1.0)
    assert window.delay(7.0) == 0.0


def test_window_rejects_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SlidingWindow(limit=0)


def test_a_release_without_a_take_is_a_bug() -> None:
    with pytest.raises(RuntimeError, match="without take"):
        SlidingWindow(limit=1).release(0.0)


# --- simulations against the fake Telegram's limiter --------------------------------------------


# How late a request reaches Telegram after we let it go, and its answer reaches us after that.
Lateness = st.tuples(st.floats(0.0, 0.4), st.floats(0.0, 0.4))


@settings(max_examples=60, deadline=None)
@given(st.lists(Lateness, min_size=40, max_size=120))
def test_the_global_window_never_trips_telegrams_limit_however_late_calls_are(
    lateness: list[tuple[float, float]],
) -> None:
    clock = FakeClock(0.0)
    telegram = FloodLimiter(FloodLimits(), clock)
    window = SlidingWindow(limit=30)
    events: list[tuple[float, int, str]] = []  # (time, call, "arrive" | "answer")
    sent = 0
    while sent < len(lateness) or events:
        wait = window.delay(clock.now) if sent < len(lateness) else math.inf
        if events and events[0][0] < clock.now + wait:
            clock.now, call, kind = heapq.heappop(events)
            if kind == "arrive":
                assert telegram.retry_after(call) is None
                telegram.record(call)
                heapq.heappush(events, (clock.now + lateness[call][1], call, "answer"))
            else:
                window.release(clock.now)
            continue
        if wait > 0:
            clock.now += wait  # then ask again, as the outbox does after sleeping
            continue
        window.take(clock.now)
        heapq.heappush(events, (clock.now + lateness[sent][0], sent, "arrive"))
        sent += 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(Lateness, st.floats(0.0, 0.5)), min_size=40, max_size=120))
def test_catching_up_after_waking_late_never_trips_telegrams_limit(
    calls: list[tuple[tuple[float, float], float]],
) -> None:
    """As above, with the scheduler itself waking late (its loop was busy) before each call and
    letting go at once what the spacing allowed since it was due, as the outbox's does."""
    clock = FakeClock(0.0)
    telegram = FloodLimiter(FloodLimits(), clock)
    window = SlidingWindow(limit=30)
    events: list[tuple[float, int, str]] = []  # (time, call, "arrive" | "answer")
    sent = 0
    due = 0.0
    while sent < len(calls) or events:
        wait = window.delay(clock.now) if sent < len(calls) else math.inf
        wake = clock.now + wait + (calls[sent][1] if sent < len(calls) else 0.0)
        if events and events[0][0] < wake:
            clock.now, call, kind = heapq.heappop(events)
            if kind == "arrive":
                assert telegram.retry_after(call) is None
                telegram.record(call)
                heapq.heappush(events, (clock.now + calls[call][0][1], call, "answer"))
            else:
                window.release(clock.now)
            continue
        if wait > 0:
            due, clock.now = clock.now + wait, wake
            continue
        window.take(clock.now, due=min(due, clock.now))
        heapq.heappush(events, (clock.now + calls[sent][0][0], sent, "arrive"))
        sent += 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(Lateness, st.floats(0.0, 0.5)), min_size=40, max_size=120),
    st.floats(0.0, 0.5),
)
def test_calls_let_go_ahead_and_answers_noted_on_a_thread_never_trip_telegrams_limit(
    calls: list[tuple[tuple[float, float], float]], ahead: float
) -> None:
    """As the bot runs with telegram_io.py: calls are let go up to `ahead` before their moment
    and held back until it; each answer's arrival is noted exactly but reported to the window
    late by the second float (a busy event loop), out of order if need be."""
    clock = FakeClock(0.0)
    telegram = FloodLimiter(FloodLimits(), clock)
    window = SlidingWindow(limit=30)
    events: list[tuple[float, int, str, float]] = []  # (time, call, kind, when answered)
    sent = 0
    while sent < len(calls) or events:
        wait = max(0.0, window.delay(clock.now) - ahead) if sent < len(calls) else math.inf
        if events and events[0][0] < clock.now + wait:
            clock.now, call, kind, answered = heapq.heappop(events)
            (_, back), report = calls[call]
            if kind == "arrive":
                assert telegram.retry_after(call) is None
                telegram.record(call)
                heapq.heappush(events, (clock.now + back, call, "answer", 0.0))
            elif kind == "answer":
                heapq.heappush(events, (clock.now + report, call, "report", clock.now))
            else:
                window.release(answered)
            continue
        if wait > 1e-9:  # (a float hair past `ahead` is still within it)
            clock.now += wait
            continue
        moment = max(window.take(clock.now), clock.now)
        heapq.heappush(events, (moment + calls[sent][0][0], sent, "arrive", 0.0))
        sent += 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.booleans(), Lateness), min_size=10, max_size=60),
    st.booleans(),
)
def test_a_chats_pacing_never_trips_telegrams_chat_limits(
    calls: list[tuple[bool, bool, tuple[float, float]]], group: bool
) -> None:
    clock = FakeClock(0.0)
    telegram = FloodLimiter(FloodLimits(), clock)
    chat_id = -1001234 if group else 42
    pacer = pacer_for(chat_id, private=1.0, group=3.0, margin=SAFETY_MARGIN)
    # One call in flight per chat, as the outbox does; some go as follow-ups (a short burst).
    for urgent, follow, (to_telegram, back) in calls:
        clock.now += pacer.delay(clock.now, urgent=urgent, follow=follow)
        clock.now += to_telegram
        assert telegram.retry_after(chat_id) is None
        telegram.record(chat_id)
        clock.now += back
        pacer.record(clock.now)
