"""History retention on a real SQLite file: which messages go, that usage outlives them, that
the deletes come in batches other writes get between, and that the file gives the space back.
Also: the /stats reads run beside the writer, never holding it."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from bot.conversation.limits import day_start, month_start
from bot.store import ChatKey, ChatPreferences, ChatStore, Forgotten, Received, Turn, UsageTotals
from tests.support import FakeClock, query, run_sql

DAY = 86_400.0
ALICE = 101
BOB = 202
CAROL = 303
QUIET = ChatKey(ALICE)  # its only conversation falls silent
BUSY = ChatKey(BOB)  # old messages, but it spoke again within the retention period
RENEWED = ChatKey(CAROL)  # /new left an old conversation behind a current one


async def exchange(store: ChatStore, key: ChatKey, user_id: int, text: str) -> None:
    await store.add_user_message(key, text, telegram_message_id=None, user_id=user_id)
    await store.add_assistant_message(
        key, f"re: {text}", model="gpt-test", prompt_tokens=10, completion_tokens=5, user_id=user_id
    )


async def stored_contents(database: Path) -> list[str]:
    return [
        str(row[0]) for row in await query(database, "SELECT content FROM messages ORDER BY id")
    ]


async def test_only_the_messages_of_conversations_idle_that_long_are_deleted(
    store: ChatStore, clock: FakeClock, database: Path
) -> None:
    clock.now -= 40 * DAY
    await store.update_preferences(QUIET, model="gpt-4o")
    await exchange(store, QUIET, ALICE, "quiet")
    await exchange(store, BUSY, BOB, "busy, long ago")
    await exchange(store, RENEWED, CAROL, "before /new")
    await store.start_conversation(RENEWED)
    clock.now += 20 * DAY
    await exchange(store, BUSY, BOB, "busy, lately")
    await exchange(store, RENEWED, CAROL, "after /new")
    await store.receive(QUIET, "waiting", telegram_message_id=7, user_id=ALICE)
    clock.now += 20 * DAY

    forgotten = await store.forget_idle_history(idle_for=30 * DAY)

    assert await stored_contents(database) == [
        "busy, long ago",
        "re: busy, long ago",
        "busy, lately",
        "re: busy, lately",
        "after /new",
        "re: after /new",
    ]
    assert (forgotten.messages, forgotten.conversations) == (4, 2)
    assert await query(database, "SELECT COUNT(*) FROM conversations") == [(2,)]
    # Settings and the inbox are not history: they stay.
    assert await store.preferences(QUIET) == ChatPreferences(model="gpt-4o")
    assert await store.inbox() == [Received(QUIET, "waiting", 7, ALICE)]
    # The quiet chat's next message starts a fresh conversation.
    await store.add_user_message(QUIET, "hello again", telegram_message_id=8, user_id=ALICE)
    assert await store.recent_turns(QUIET, char_budget=1_000) == [Turn("user", "hello again")]


async def test_usage_outlives_the_messages_it_counted(store: ChatStore, clock: FakeClock) -> None:
    now = clock.now
    clock.now = month_start(now) - 10 * DAY  # last month
    await exchange(store, QUIET, ALICE, "last month")
    await exchange(store, BUSY, BOB, "last month")
    clock.now = month_start(now) + 2 * DAY  # this month, days before today
    await exchange(store, QUIET, ALICE, "this month")  # the quiet chat is idle since then
    await exchange(store, QUIET, ALICE, "this month, again")
    await store.add_assistant_message(
        QUIET, "guessed", model="gpt-test", prompt_tokens=3, completion_tokens=1, user_id=ALICE,
        usage_estimated=True,
    )  # fmt: skip
    clock.now = now
    await exchange(store, BUSY, BOB, "today")
    periods = (day_start(now), month_start(now), None)
    before = [await store.usage_report(user, since=periods) for user in (ALICE, BOB)]
    top_before = await store.top_users(since=None, by="tokens")
    month_before = await store.top_users(since=month_start(now))

    forgotten = await store.forget_idle_history(idle_for=DAY)

    assert forgotten.messages == 7  # all of Alice's; Bob spoke today
    assert [await store.usage_report(user, since=periods) for user in (ALICE, BOB)] == before
    assert before[0] == [
        UsageTotals(0, 0, 0),
        UsageTotals(2, 23, 11, estimated_replies=1),
        UsageTotals(3, 33, 16, estimated_replies=1),
    ]
    assert await store.usage(ALICE, since=day_start(now)) == UsageTotals(0, 0, 0)
    assert await store.top_users(since=None, by="tokens") == top_before
    assert await store.top_users(since=month_start(now)) == month_before


async def test_a_conversation_that_speaks_while_a_pass_runs_keeps_its_history(
    store: ChatStore, clock: FakeClock, database: Path
) -> None:
    clock.now -= 10 * DAY
    await exchange(store, QUIET, ALICE, "old")
    clock.now += 10 * DAY

    # The pass finds the conversation idle (on the reader) while the new message is written.
    forgetting = asyncio.create_task(store.forget_idle_history(idle_for=DAY))
    await store.add_user_message(QUIET, "I'm back", telegram_message_id=None, user_id=ALICE)

    assert await forgetting == Forgotten(0, 0, 0)
    assert await stored_contents(database) == ["old", "re: old", "I'm back"]


async def test_deletes_come_in_batches_with_other_chats_writes_between_them(
    store: ChatStore, clock: FakeClock, database: Path
) -> None:
    clock.now -= 10 * DAY
    for number in range(29):
        await exchange(store, QUIET, ALICE, f"old {number}")
    clock.now += 10 * DAY
    statements: list[str] = []
    await store._db.set_trace_callback(lambda sql: statements.append(" ".join(sql.split())))

    async def other_chat_talks() -> None:
        for number in range(5):
            await store.add_user_message(
                BUSY, f"new {number}", telegram_message_id=None, user_id=BOB
            )

    forgotten, _ = await asyncio.gather(
        store.forget_idle_history(idle_for=DAY, batch=10), other_chat_talks()
    )

    assert forgotten.messages == 58
    deletes = [n for n, sql in enumerate(statements) if sql.startswith("DELETE FROM messages")]
    writes = [n for n, sql in enumerate(statements) if sql.startswith("INSERT INTO messages")]
    assert len(deletes) == 6  # 58 messages, at most 10 a transaction
    assert any(deletes[0] < write < deletes[-1] for write in writes)
    assert await stored_contents(database) == [f"new {number}" for number in range(5)]


async def test_the_file_gives_the_space_of_deleted_history_back(
    store: ChatStore, clock: FakeClock, database: Path
) -> None:
    clock.now -= 10 * DAY
    for number in range(200):
        await exchange(store, QUIET, ALICE, f"{number} " + "x" * 4_000)
    clock.now += 10 * DAY
    [(pages_before,)] = await query(database, "PRAGMA page_count")

    forgotten = await store.forget_idle_history(idle_for=DAY)

    [(pages_after,)] = await query(database, "PRAGMA page_count")
    assert await query(database, "PRAGMA freelist_count") == [(0,)]
    assert forgotten.pages == pages_before - pages_after
    assert pages_after < pages_before / 10


async def test_a_database_made_without_incremental_auto_vacuum_is_converted_for_retention(
    tmp_path: Path,
) -> None:
    older = tmp_path / "older.sqlite3"
    run_sql(older, "CREATE TABLE operator_notes (note TEXT)")  # made before this code
    assert run_sql(older, "PRAGMA auto_vacuum") == [(0,)]

    await (await ChatStore.open(older)).close()
    kept = run_sql(older, "PRAGMA auto_vacuum")
    await (await ChatStore.open(older, reclaim_space=True)).close()

    assert (kept, run_sql(older, "PRAGMA auto_vacuum")) == ([(0,)], [(2,)])


async def test_a_new_database_has_incremental_auto_vacuum(store: ChatStore, database: Path) -> None:
    assert await query(database, "PRAGMA auto_vacuum") == [(2,)]


# The read connection


async def test_a_stats_aggregate_in_progress_does_not_hold_up_a_turns_writes_and_reads(
    store: ChatStore,
) -> None:
    await exchange(store, QUIET, ALICE, "hello")
    reading = threading.Event()
    release = threading.Event()

    def stalled() -> int:
        # SQLite calls this inside the aggregate, on the reader's thread: the query stalls, once,
        # until the turn below is done (or, as a guard, 10 s have passed).
        if not reading.is_set():
            reading.set()
            release.wait(timeout=10)
        return 0  # go on (non-zero would abort the query)

    await store._reader.set_progress_handler(stalled, 1)
    finished: list[str] = []

    async def stats() -> None:
        await store.top_users(since=None)
        finished.append("stats")

    async def turn() -> None:
        await asyncio.to_thread(reading.wait)
        await store.add_user_message(BUSY, "meanwhile", telegram_message_id=None, user_id=BOB)
        assert await store.recent_turns(BUSY, char_budget=100) == [Turn("user", "meanwhile")]
        finished.append("turn")
        release.set()

    await asyncio.gather(stats(), turn())

    assert finished == ["turn", "stats"]
