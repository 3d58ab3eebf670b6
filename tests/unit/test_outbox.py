"""The outbox's order, pacing and recovery, with stand-in calls instead of Telegram.

Windows and intervals are shortened to hundredths of a second so each test is quick; every
assertion is about order or about the clock the outbox itself reads, never about elapsed time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import BadRequest, RetryAfter, TimedOut

from bot.delivery.outbox import NothingToSend, Outbox, Priority, retry_after_seconds
from bot.delivery.telegram_io import CURRENT_SLOT
from tests.support import FakeClock


def fast(**options: Any) -> Outbox:
    """An outbox with chat intervals of hundredths of a second (`options` override)."""
    defaults: dict[str, Any] = {"private_interval": 0.01, "group_interval": 0.03}
    return Outbox(**(defaults | {"retry_backoff": 0.0} | options))


def one_at_a_time() -> Outbox:
    """An outbox whose bot-wide window lets one call go per 50 ms."""
    return fast(global_rate=1, window=0.05, margin=0.0)


class Recorder:
    """Stand-in Telegram calls that note the order in which they ran."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def call(self, name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            self.order.append(name)

        return run


async def test_first_and_final_texts_overtake_waiting_edits_when_the_window_is_full() -> None:
    outbox = one_at_a_time()
    calls = Recorder()
    await outbox.call(1, calls.call("fills the window"))
    edits = [
        asyncio.create_task(outbox.call(2, calls.call("edit-2"), priority=Priority.EDIT)),
        asyncio.create_task(outbox.call(3, calls.call("edit-3"), priority=Priority.EDIT)),
    ]
    await asyncio.sleep(0)
    final = asyncio.create_task(outbox.call(4, calls.call("final-4")))
    await asyncio.gather(*edits, final)
    assert calls.order == ["fills the window", "final-4", "edit-2", "edit-3"]


async def test_status_reactions_go_after_every_edit_when_the_window_is_full() -> None:
    outbox = one_at_a_time()
    calls = Recorder()
    await outbox.call(1, calls.call("fills the window"))
    waiting = [
        asyncio.create_task(outbox.call(2, calls.call("reaction-2"), priority=Priority.REACTION)),
        asyncio.create_task(outbox.call(3, calls.call("edit-3"), priority=Priority.EDIT)),
    ]
    await asyncio.sleep(0)
    final = asyncio.create_task(outbox.call(4, calls.call("final-4")))
    await asyncio.gather(*waiting, final)
    assert calls.order == ["fills the window", "final-4", "edit-3", "reaction-2"]


async def test_a_follow_up_goes_right_behind_its_chats_previous_call() -> None:
    clock = FakeClock(0.0)  # moved by hand: a call waiting for its chat's interval never goes
    outbox = fast(private_interval=10.0, margin=0.0, clock=clock)
    calls = Recorder()
    await outbox.call(1, calls.call("seal"))
    clock.now = 1.0  # past the bot-wide spacing, far inside the chat's interval
    await asyncio.wait_for(outbox.call(1, calls.call("persist"), follow=True), 5)
    assert calls.order == ["seal", "persist"]
    waiting = asyncio.create_task(outbox.call(1, calls.call("next"), follow=True))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # the chat's burst is spent until it has waited its interval
    clock.now = 10.0
    outbox.reprioritize(1)  # any change wakes the queue to read the clock again
    await asyncio.wait_for(waiting, 5)


async def test_a_waiting_edit_that_becomes_the_final_text_goes_first() -> None:
    outbox = one_at_a_time()
    calls = Recorder()
    await outbox.call(1, calls.call("fills the window"))
    urgency = {2: Priority.EDIT, 3: Priority.EDIT}

    def urgency_of(chat: int) -> Callable[[], Priority]:
        return lambda: urgency[chat]

    tasks = [
        asyncio.create_task(
            outbox.call(chat, calls.call(f"chat-{chat}"), priority=urgency_of(chat))
        )
        for chat in (2, 3)
    ]
    await asyncio.sleep(0)
    urgency[3] = Priority.URGENT  # chat 3's reply finished while its edit waited
    outbox.reprioritize(3)
    await asyncio.gather(*tasks)
    assert calls.order == ["fills the window", "chat-3", "chat-2"]


async def test_a_chat_waiting_on_its_own_pacing_does_not_hold_up_other_chats() -> None:
    outbox = fast(private_interval=0.2)
    calls = Recorder()
    await outbox.call(1, calls.call("chat 1, first"))
    second = asyncio.create_task(outbox.call(1, calls.call("chat 1, second")))
    await asyncio.sleep(0)
    await outbox.call(2, calls.call("chat 2"))
    await second
    assert calls.order == ["chat 1, first", "chat 2", "chat 1, second"]


async def test_a_chat_has_one_call_in_flight_at_a_time() -> None:
    outbox = fast()
    answer = asyncio.Event()
    order: list[str] = []

    async def slow() -> None:
        order.append("slow starts")
        await answer.wait()
        order.append("slow answered")

    async def quick() -> None:
        order.append("quick starts")

    first = asyncio.create_task(outbox.call(1, slow))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(outbox.call(1, quick))
    await asyncio.sleep(0.05)
    assert order == ["slow starts"]
    answer.set()
    await asyncio.gather(first, second)
    assert order == ["slow starts", "slow answered", "quick starts"]


async def test_calls_in_flight_keep_their_place_in_the_window_until_answered() -> None:
    outbox = fast(global_rate=2, window=0.01)
    answer, two_started = asyncio.Event(), asyncio.Event()
    started: list[int] = []

    def waiting_call(chat: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            started.append(chat)
            if len(started) == 2:
                two_started.set()
            await answer.wait()

        return run

    tasks = [asyncio.create_task(outbox.call(chat, waiting_call(chat))) for chat in (1, 2, 3)]
    await asyncio.wait_for(two_started.wait(), 5)
    await asyncio.sleep(0.1)  # ten windows: only an answer can free a place
    assert started == [1, 2]
    answer.set()
    await asyncio.gather(*tasks)
    assert started == [1, 2, 3]


async def test_a_scheduler_that_wakes_late_lets_go_at_once_what_the_spacing_allowed_meanwhile() -> (
    None
):
    clock = FakeClock(0.0)
    outbox = fast(global_rate=10, window=1.0, margin=0.0, clock=clock)  # calls 50 ms apart
    calls = Recorder()
    await asyncio.wait_for(outbox.call(1, calls.call("chat 1")), 5)
    tasks = [asyncio.create_task(outbox.call(c, calls.call(f"chat {c}"))) for c in (2, 3, 4)]
    await asyncio.sleep(0)
    # The event loop was busy for 200 ms: by the time the scheduler runs again, its clock says
    # that four places in the spacing have passed, and this frozen clock never gives another.
    clock.now = 0.2
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert calls.order == ["chat 1", "chat 2", "chat 3", "chat 4"]


async def test_catching_up_never_lets_go_more_than_the_window_has_room_for() -> None:
    clock = FakeClock(0.0)
    outbox = fast(global_rate=3, window=1.0, margin=0.0, clock=clock)
    order: list[int] = []
    window_full = asyncio.Event()

    def call(chat: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            order.append(chat)
            if len(order) == 3:
                window_full.set()

        return run

    tasks = [asyncio.create_task(outbox.call(chat, call(chat))) for chat in range(6)]
    await asyncio.sleep(0)
    clock.now = 0.9  # late by far more than the spacing of 6 calls, but 3 fill the window
    await asyncio.wait_for(window_full.wait(), 5)
    await asyncio.sleep(0.1)  # many more turns of the loop on the frozen clock: nobody else goes
    assert order == [0, 1, 2]
    clock.now = 2.0  # the first three answered by 0.9: all have left the window by now
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert sorted(order) == list(range(6))


async def test_with_a_thread_holding_requests_a_call_is_let_go_just_ahead_of_its_moment() -> None:
    clock = FakeClock(0.0)
    outbox = fast(global_rate=1, window=1.0, margin=0.0, clock=clock, held_on_thread=True)
    moments: list[float] = []

    async def note_moment() -> None:
        slot = CURRENT_SLOT.get()
        assert slot is not None
        moments.append(slot.not_before)

    await outbox.call(1, note_moment)  # answered at 0.0: the only place is free again at 1.0
    clock.now = 0.998  # the scheduler may let the next call go now; the thread holds it
    await asyncio.wait_for(outbox.call(2, note_moment), 5)
    assert moments == [0.0, pytest.approx(1.0)]


async def test_without_a_thread_a_call_is_never_let_go_ahead_of_its_moment() -> None:
    clock = FakeClock(0.0)
    outbox = fast(global_rate=1, window=1.0, margin=0.0, clock=clock)
    calls = Recorder()
    await outbox.call(1, calls.call("chat 1"))
    clock.now = 0.998
    second = asyncio.create_task(outbox.call(2, calls.call("chat 2")))
    await asyncio.sleep(0.05)  # many turns of the loop: the frozen clock never reaches 1.0
    assert calls.order == ["chat 1"]
    clock.now = 1.0
    await asyncio.wait_for(second, 5)
    assert calls.order == ["chat 1", "chat 2"]


async def test_a_call_counts_from_when_the_thread_saw_its_answer_not_when_we_noticed() -> None:
    clock = FakeClock(0.0)
    outbox = fast(global_rate=1, window=1.0, margin=0.0, clock=clock, held_on_thread=True)
    calls = Recorder()

    async def answered_early() -> None:
        slot = CURRENT_SLOT.get()
        assert slot is not None
        slot.answered_at = 0.1  # as TelegramIO notes it on its thread
        clock.now = 0.6  # ... while this loop was busy until now

    await outbox.call(1, answered_early)
    clock.now = 1.1  # a second after the answer, half a second before "a second after now"
    await asyncio.wait_for(outbox.call(2, calls.call("chat 2")), 5)
    assert calls.order == ["chat 2"]


async def test_the_call_is_built_when_it_may_go_so_it_carries_the_newest_state() -> None:
    outbox = fast(private_interval=0.1)
    state = {"text": "one"}
    shown: list[str] = []

    async def show() -> None:
        shown.append(state["text"])

    await outbox.call(1, show)
    waiting = asyncio.create_task(outbox.call(1, show, priority=Priority.EDIT))
    await asyncio.sleep(0)
    state["text"] = "one two three"
    await waiting
    assert shown == ["one", "one two three"]


async def test_retry_after_holds_only_that_chat_and_the_call_is_repeated() -> None:
    outbox = fast()
    attempts: list[int] = []

    async def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RetryAfter(timedelta(seconds=0.05))
        return "sent"

    assert await outbox.call(7, flaky) == "sent"
    assert len(attempts) == 2
    assert outbox.chat_ready_in(8) == 0.0


async def test_retry_after_from_several_chats_holds_every_chat() -> None:
    skipped = [0.0]  # seconds the outbox's clock is ahead of the real one
    outbox = fast(clock=lambda: time.monotonic() + skipped[0])
    refused: set[int] = set()
    both_refused = asyncio.Event()

    def refused_once(chat: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if chat not in refused:
                refused.add(chat)
                if len(refused) == 2:
                    both_refused.set()
                raise RetryAfter(timedelta(seconds=30))

        return run

    held = [asyncio.create_task(outbox.call(chat, refused_once(chat))) for chat in (1, 2)]
    await asyncio.wait_for(both_refused.wait(), 5)
    assert not await outbox.spare_call(3, Recorder().call("typing"))
    assert outbox.chat_ready_in(3) == 0.0  # chat 3 itself was never refused ...
    late = asyncio.create_task(outbox.call(3, Recorder().call("chat 3")))
    await asyncio.sleep(0.05)
    assert not late.done()  # ... but the whole bot is held
    skipped[0] = 31.0
    outbox.reprioritize(3)  # any change wakes the queue to read the clock again
    await asyncio.gather(late, *held)


async def test_chat_actions_go_only_while_the_bot_has_capacity_to_spare() -> None:
    clock = FakeClock(0.0)
    outbox = fast(global_rate=8, window=60, margin=0.0, clock=clock)
    calls = Recorder()
    for chat in (1, 2, 3):
        await outbox.spare_call(chat, calls.call(f"typing {chat}"))
        clock.now += 5  # past the spacing between calls, well within the 60 s window
    assert calls.order == ["typing 1", "typing 2"]  # then a quarter of the 8 places was used
    await outbox.call(4, calls.call("reply 4"))  # replies may use the rest
    assert calls.order == ["typing 1", "typing 2", "reply 4"]


async def test_the_outbox_says_whether_the_bot_has_room_to_spare() -> None:
    clock = FakeClock(0.0)
    outbox = fast(global_rate=8, window=60, margin=0.0, clock=clock)  # two calls to spare
    calls = Recorder()
    assert outbox.has_spare()
    await outbox.call(1, calls.call("reply 1"))
    assert outbox.has_spare()
    clock.now += 5
    await outbox.call(2, calls.call("reply 2"))
    assert not outbox.has_spare()


async def test_a_chat_action_right_after_a_reply_waits_out_the_spacing_instead_of_skipping() -> (
    None
):
    outbox = fast(global_rate=20, window=1.0, margin=0.0)  # calls at least 25 ms apart
    calls = Recorder()
    await outbox.call(1, calls.call("reply 1"))
    assert await outbox.spare_call(2, calls.call("typing 2"))
    assert calls.order == ["reply 1", "typing 2"]


async def test_a_call_that_finds_nothing_to_send_gives_its_place_back_uncounted() -> None:
    clock = FakeClock(0.0)
    outbox = fast(global_rate=1, window=60, margin=0.0, clock=clock)
    calls = Recorder()

    async def already_shown() -> None:
        raise NothingToSend

    with pytest.raises(NothingToSend):
        await outbox.call(1, already_shown)
    clock.now = 31.0  # past the spacing between calls (30 s here), well inside the 60 s window
    # Counted, the call would hold the bot's only place for 60 s and the chat's pacing would
    # start from it: on this frozen clock, the next call would never go.
    await asyncio.wait_for(outbox.call(1, calls.call("the next text")), 5)
    assert calls.order == ["the next text"]


async def test_a_call_that_finds_nothing_to_send_leaves_the_next_call_no_spacing_to_wait() -> None:
    clock = FakeClock(0.0)  # frozen: nothing may wait on the clock
    outbox = fast(global_rate=2, window=60, margin=0.0, clock=clock)  # calls 15 s apart
    calls = Recorder()

    async def already_shown() -> None:
        raise NothingToSend

    async def many_replies_finish_together() -> None:
        for chat in (1, 2, 3):
            with pytest.raises(NothingToSend):
                await outbox.call(chat, already_shown)
        await outbox.call(4, calls.call("a final text"))

    await asyncio.wait_for(many_replies_finish_together(), 5)
    assert calls.order == ["a final text"]


async def test_timeouts_are_retried_then_given_up() -> None:
    outbox = fast(retries=2)
    attempts = 0

    async def always_times_out() -> None:
        nonlocal attempts
        attempts += 1
        raise TimedOut()

    with pytest.raises(TimedOut):
        await outbox.call(1, always_times_out)
    assert attempts == 3


async def test_bad_requests_are_not_retried_and_the_chat_stays_usable() -> None:
    outbox = fast()
    attempts = 0

    async def bad() -> None:
        nonlocal attempts
        attempts += 1
        raise BadRequest("Message is not modified")

    with pytest.raises(BadRequest):
        await outbox.call(1, bad)
    calls = Recorder()
    await outbox.call(1, calls.call("next"))
    assert (attempts, calls.order) == (1, ["next"])


async def test_a_caller_cancelled_while_waiting_gives_up_its_place() -> None:
    outbox = one_at_a_time()
    calls = Recorder()
    await outbox.call(1, calls.call("fills the window"))
    cancelled = asyncio.create_task(outbox.call(2, calls.call("cancelled")))
    await asyncio.sleep(0)
    cancelled.cancel()
    await outbox.call(3, calls.call("next"))
    assert calls.order == ["fills the window", "next"]


def test_retry_after_seconds_reads_ints_and_timedeltas() -> None:
    assert retry_after_seconds(RetryAfter(timedelta(seconds=12))) == 12.0
    assert retry_after_seconds(RetryAfter(3)) == 3.0
