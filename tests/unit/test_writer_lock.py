"""The writer's lock: one holder at a time, handed to the waiter whose work began first."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.store import ChatKey, ChatStore, work_began
from bot.store.writer_lock import OldestFirstLock


async def _hold(lock: OldestFirstLock, name: str, order: list[str], began: float | None) -> None:
    if began is not None:
        work_began(began)
    async with lock:
        order.append(name)
        await asyncio.sleep(0)


async def _queued(lock: OldestFirstLock, *waiters: tuple[str, float | None]) -> list[str]:
    """Start each waiter while the lock is held, then let them all through; who went when."""
    order: list[str] = []
    await lock.acquire()
    tasks = [asyncio.create_task(_hold(lock, name, order, began)) for name, began in waiters]
    await asyncio.sleep(0)  # every one of them is waiting now
    lock.release()
    await asyncio.gather(*tasks)
    return order


async def test_an_uncontended_lock_is_taken_and_given_back_at_once() -> None:
    lock = OldestFirstLock()
    async with lock:
        assert lock.locked()
    assert not lock.locked()


async def test_the_waiter_whose_work_began_first_goes_first_whatever_the_order_of_asking() -> None:
    lock = OldestFirstLock(clock=lambda: 100.0)
    order = await _queued(lock, ("late", 30.0), ("early", 10.0), ("middle", 20.0))
    assert order == ["early", "middle", "late"]


async def test_among_equals_the_first_to_ask_goes_first() -> None:
    lock = OldestFirstLock(clock=lambda: 100.0)
    assert await _queued(lock, ("a", 5.0), ("b", 5.0), ("c", 5.0)) == ["a", "b", "c"]


async def test_work_that_said_nothing_counts_as_beginning_when_it_asks() -> None:
    lock = OldestFirstLock(clock=lambda: 50.0)
    order = await _queued(lock, ("after", 60.0), ("unsaid", None), ("before", 40.0))
    assert order == ["before", "unsaid", "after"]


@pytest.mark.parametrize("handed", [False, True], ids=["while waiting", "just as handed it"])
async def test_a_cancelled_waiter_never_keeps_the_lock_from_the_next(handed: bool) -> None:
    lock = OldestFirstLock(clock=lambda: 100.0)
    order: list[str] = []
    await lock.acquire()
    first = asyncio.create_task(_hold(lock, "first", order, 1.0))
    second = asyncio.create_task(_hold(lock, "second", order, 2.0))
    await asyncio.sleep(0)  # both wait
    if handed:
        lock.release()  # handed to `first`, which has not run yet ...
    first.cancel()  # ... (or still waits) and is cancelled
    with contextlib.suppress(asyncio.CancelledError):
        await first
    if not handed:
        lock.release()
    await second
    assert order == ["second"]
    assert not lock.locked()


async def test_releasing_a_free_lock_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        OldestFirstLock().release()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 3)), min_size=1, max_size=30))
def test_one_holder_at_a_time_and_every_waiter_gets_through(work: list[tuple[int, int]]) -> None:
    async def scenario() -> None:
        lock = OldestFirstLock()
        holders = 0
        done = 0

        async def worker(began: int, times: int) -> None:
            nonlocal holders, done
            work_began(float(began))
            for _ in range(times):
                async with lock:
                    holders += 1
                    assert holders == 1
                    await asyncio.sleep(0)
                    holders -= 1
            done += 1

        await asyncio.wait_for(asyncio.gather(*(worker(b, t) for b, t in work)), 10)
        assert done == len(work)
        assert not lock.locked()

    asyncio.run(scenario())


async def test_a_turn_that_began_first_goes_through_the_store_before_a_crowd_that_came_later(
    store: ChatStore,
) -> None:
    # A burst: one turn began, then a crowd of later arrivals each asked the store for the
    # writer. The turn needs it three times in a row; a FIFO lock would put each of its second
    # and third operations behind the whole crowd, and it would finish among the last.
    finished: list[str] = []
    crowd = 200

    async def turn() -> None:
        work_began()
        for message_id in range(1, 4):
            await store.add_user_message(
                ChatKey(1), f"question {message_id}", telegram_message_id=message_id, user_id=1
            )
        finished.append("turn")

    async def arrival(chat_id: int) -> None:
        await store.receive(ChatKey(chat_id), "hello", telegram_message_id=1, user_id=chat_id)
        finished.append(f"arrival {chat_id}")

    first = asyncio.create_task(turn())
    await asyncio.sleep(0)  # it has begun, and holds the writer
    await asyncio.gather(first, *(arrival(100 + n) for n in range(crowd)))
    assert len(finished) == crowd + 1
    assert finished.index("turn") <= 3
