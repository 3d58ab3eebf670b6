"""Forgetting a chat in the store: every row of it goes from every table, its text from the file
itself, its usage stays countable, and other chats and topics keep theirs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.conversation.limits import day_start
from bot.store import ChatForgotten, ChatKey, ChatStore, UsageTotals
from tests.support import FakeClock, file_holds, query, rows_naming

ALICE = 101
BOB = 202
GROUP = ChatKey(-500)
OTHER_TOPIC = ChatKey(-500, 7)
SECRETS = ("pelican-question", "pelican-answer", "pelican-waiting", "pelican-prompt")


async def fill(store: ChatStore, key: ChatKey, mark: str = "pelican") -> None:
    """Two conversations, settings and a waiting message, every text carrying `mark` (and the
    chat's /language choice, for the chat itself)."""
    await store.update_preferences(key, model="gpt-4o", system_prompt=f"{mark}-prompt")
    if key.thread_id == 0:
        await store.set_chat_language(key.chat_id, "de")
    for n in range(3):
        await store.add_user_message(
            key, f"{mark}-question {n}", telegram_message_id=10 + n, user_id=ALICE
        )
        await store.add_assistant_message(
            key, f"{mark}-answer {n} " + "x" * 5_000, model="m", user_id=ALICE, prompt_tokens=7
        )
        await store.start_conversation(key)
    await store.add_user_message(
        key, f"{mark}-question by bob", telegram_message_id=30, user_id=BOB
    )
    await store.receive(key, f"{mark}-waiting", telegram_message_id=40, user_id=ALICE)


async def test_forgetting_a_chat_leaves_no_row_of_it_in_any_table(
    store: ChatStore, database: Path
) -> None:
    await fill(store, GROUP)
    assert await rows_naming(database, GROUP.chat_id, SECRETS) != {}

    forgotten = await store.forget_chat(GROUP)

    assert forgotten == ChatForgotten(conversations=4, messages=7, settings=True, waiting=1)
    assert await rows_naming(database, GROUP.chat_id, SECRETS) == {}


async def test_a_forgotten_chats_text_is_not_left_in_the_file_or_its_log(
    store: ChatStore, database: Path
) -> None:
    await fill(store, GROUP)
    await fill(store, OTHER_TOPIC, mark="heron")
    await store.forget_chat(GROUP)

    # As someone who copied the files of the running bot would read them.
    assert file_holds(database, SECRETS) == []
    assert file_holds(database, ("heron-question 0", "heron-prompt")) == [
        "heron-question 0",
        "heron-prompt",
    ]


async def test_usage_outlives_a_forgotten_chat_for_the_quotas_and_stats(
    store: ChatStore, clock: FakeClock
) -> None:
    await fill(store, GROUP)
    before = (await store.usage(ALICE), await store.usage(BOB))

    await store.forget_chat(GROUP)

    assert before == (UsageTotals(3, 21, 0), UsageTotals(1, 0, 0))
    assert (await store.usage(ALICE), await store.usage(BOB)) == before
    # Archived by UTC day: counted from the day's start on, as the daily quotas count.
    assert await store.usage(ALICE, since=day_start(clock.now)) == before[0]
    assert await store.usage(ALICE, since=clock.now - 60) == UsageTotals(0, 0, 0)
    assert await store.top_users(since=day_start(clock.now)) == [
        (ALICE, before[0]),
        (BOB, before[1]),
    ]


async def test_a_topic_is_forgotten_alone_and_the_chat_goes_on_afresh(store: ChatStore) -> None:
    await fill(store, GROUP)
    await fill(store, OTHER_TOPIC, mark="heron")

    await store.forget_chat(OTHER_TOPIC)
    assert await store.chat_language(GROUP.chat_id) == "de"  # the whole chat's, not the topic's
    await fill(store, OTHER_TOPIC, mark="heron")
    await store.forget_chat(GROUP)
    await store.add_user_message(GROUP, "hello again", telegram_message_id=50, user_id=ALICE)

    assert [t.content for t in await store.recent_turns(GROUP, char_budget=100)] == ["hello again"]
    assert (await store.preferences(GROUP)).model is None
    assert await store.chat_language(GROUP.chat_id) is None
    assert (await store.preferences(OTHER_TOPIC)).system_prompt == "heron-prompt"
    assert [t.content for t in await store.recent_turns(OTHER_TOPIC, char_budget=100)] == [
        "heron-question by bob"
    ]


async def test_messages_waiting_behind_the_forget_stay_in_the_inbox(
    store: ChatStore, database: Path
) -> None:
    await fill(store, GROUP)
    await store.receive(GROUP, "sent after /forget", telegram_message_id=41, user_id=ALICE)

    forgotten = await store.forget_chat(GROUP, keep_waiting=frozenset({41}))

    assert forgotten.waiting == 1
    assert await query(database, "SELECT telegram_message_id FROM inbox") == [(41,)]


async def test_forgetting_a_big_chat_lets_other_chats_write_between_its_batches(
    store: ChatStore,
) -> None:
    for n in range(450):
        await store.add_user_message(GROUP, f"q{n}", telegram_message_id=n, user_id=ALICE)
    forgetting = asyncio.create_task(store.forget_chat(GROUP))
    written = 0
    while not forgetting.done():
        await store.add_user_message(
            ChatKey(ALICE), "meanwhile", telegram_message_id=None, user_id=ALICE
        )
        written += 1

    assert (await forgetting).messages == 450
    assert written >= 4  # one write at least between each of the five batches


async def test_forgetting_a_chat_never_seen_deletes_nothing(store: ChatStore) -> None:
    assert await store.forget_chat(ChatKey(-77)) == ChatForgotten(0, 0, False, 0)
