"""ChatStore on a real SQLite file: settings, the history window, redelivered updates, a group
that becomes a supergroup, usage, and that the hot queries use their indexes (the file itself
and its migrations: test_store_file.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.store import (
    _RECENT_TURNS_PAGE,
    _USAGE,
    ChatKey,
    ChatPreferences,
    ChatStore,
    Turn,
    UsageTotals,
)
from tests.support import FakeClock, query

ALICE = 101
BOB = 202
CAROL = 303
PRIVATE = ChatKey(ALICE)
GROUP = ChatKey(-500)


async def alice_says(
    store: ChatStore, key: ChatKey, text: str, message_id: int | None = None
) -> None:
    await store.add_user_message(key, text, telegram_message_id=message_id, user_id=ALICE)


async def bot_answers(store: ChatStore, key: ChatKey, text: str) -> None:
    await store.add_assistant_message(key, text, model="gpt-test", user_id=ALICE)


# Settings


async def test_an_unknown_chat_has_default_settings_and_gets_no_row(
    store: ChatStore, database: Path
) -> None:
    assert await store.preferences(PRIVATE) == ChatPreferences()
    assert await query(database, "SELECT COUNT(*) FROM chats") == [(0,)]


async def test_update_settings_changes_only_the_named_fields(store: ChatStore) -> None:
    await store.update_preferences(PRIVATE, model="gpt-4o", temperature=1)

    updated = await store.update_preferences(PRIVATE, voice="nova")

    expected = ChatPreferences(model="gpt-4o", voice="nova", temperature=1.0)
    assert (updated, await store.preferences(PRIVATE)) == (expected, expected)


async def test_update_settings_with_none_resets_a_field_to_the_default(store: ChatStore) -> None:
    await store.update_preferences(PRIVATE, model="gpt-4o", system_prompt="Be brief.")

    assert await store.update_preferences(PRIVATE, model=None) == ChatPreferences(
        system_prompt="Be brief."
    )


async def test_settings_of_a_forum_topic_are_its_own(store: ChatStore) -> None:
    await store.update_preferences(ChatKey(GROUP.chat_id, thread_id=7), model="topic-model")

    assert await store.preferences(GROUP) == ChatPreferences()


async def test_update_settings_refuses_an_unknown_field(store: ChatStore) -> None:
    with pytest.raises(ValueError, match="unknown chat setting 'bot_token'"):
        await store.update_preferences(PRIVATE, bot_token="123:abc")


async def test_update_settings_refuses_a_value_of_the_wrong_type(store: ChatStore) -> None:
    with pytest.raises(TypeError, match="temperature must be a number, got str"):
        await store.update_preferences(PRIVATE, temperature="hot")


# The history window


async def test_recent_turns_takes_the_newest_whole_turns_that_fit_oldest_first(
    store: ChatStore,
) -> None:
    await alice_says(store, PRIVATE, "a" * 10)
    await bot_answers(store, PRIVATE, "b" * 10)
    await alice_says(store, PRIVATE, "c" * 10)
    await bot_answers(store, PRIVATE, "d" * 10)

    assert await store.recent_turns(PRIVATE, char_budget=25) == [
        Turn("user", "c" * 10),
        Turn("assistant", "d" * 10),
    ]


async def test_recent_turns_includes_a_turn_that_fills_the_budget_exactly(
    store: ChatStore,
) -> None:
    await alice_says(store, PRIVATE, "a" * 10)
    await bot_answers(store, PRIVATE, "b" * 10)

    assert len(await store.recent_turns(PRIVATE, char_budget=20)) == 2


async def test_recent_turns_always_includes_the_newest_turn_even_over_budget(
    store: ChatStore,
) -> None:
    await alice_says(store, PRIVATE, "short")
    await alice_says(store, PRIVATE, "x" * 500)

    assert await store.recent_turns(PRIVATE, char_budget=10) == [Turn("user", "x" * 500)]


async def test_recent_turns_of_an_unknown_chat_is_empty(store: ChatStore) -> None:
    assert await store.recent_turns(PRIVATE, char_budget=1_000) == []


async def test_recent_turns_pages_through_a_long_conversation(store: ChatStore) -> None:
    for number in range(150):
        await alice_says(store, PRIVATE, f"m{number}")

    turns = await store.recent_turns(PRIVATE, char_budget=100_000)

    assert [turn.content for turn in turns] == [f"m{number}" for number in range(150)]


async def test_recent_turns_keeps_group_sender_names(store: ChatStore) -> None:
    await store.add_user_message(
        GROUP, "hi bot", telegram_message_id=1, user_id=BOB, sender_name="Bob"
    )

    assert await store.recent_turns(GROUP, char_budget=100) == [Turn("user", "hi bot", "Bob")]


async def test_recent_turns_query_searches_the_context_index(
    store: ChatStore, database: Path
) -> None:
    await alice_says(store, PRIVATE, "hello")

    plan = await query(database, f"EXPLAIN QUERY PLAN {_RECENT_TURNS_PAGE}", (1, 2**62, 64))

    assert [row[3] for row in plan] == [
        "SEARCH messages USING INDEX messages_context (conversation_id=? AND id<?)"
    ]


async def test_usage_query_searches_the_usage_index_and_the_archives_key(
    store: ChatStore, database: Path
) -> None:
    await alice_says(store, PRIVATE, "hello")

    plan = await query(database, f"EXPLAIN QUERY PLAN {_USAGE}", (ALICE, 0.0, ALICE, 0.0))

    searches = [row[3] for row in plan if row[3].startswith(("SEARCH", "SCAN"))]
    assert searches == [
        "SEARCH messages USING INDEX messages_usage (user_id=? AND created_at>?)",
        "SEARCH usage_archive USING PRIMARY KEY (user_id=? AND month>?)",
        "SCAN (subquery-2)",  # the two rows the searches yield
    ]


async def test_new_conversation_hides_old_turns_but_keeps_them_stored(
    store: ChatStore, database: Path
) -> None:
    await alice_says(store, PRIVATE, "old question")
    await bot_answers(store, PRIVATE, "old answer")

    await store.start_conversation(PRIVATE)
    hidden = await store.recent_turns(PRIVATE, char_budget=1_000)
    await alice_says(store, PRIVATE, "new question")

    assert hidden == []
    assert await store.recent_turns(PRIVATE, char_budget=1_000) == [Turn("user", "new question")]
    assert await query(database, "SELECT content FROM messages ORDER BY id") == [
        ("old question",),
        ("old answer",),
        ("new question",),
    ]


# Redelivered updates


async def test_a_redelivered_telegram_message_is_stored_once(
    store: ChatStore, database: Path
) -> None:
    first = await store.add_user_message(PRIVATE, "hi", telegram_message_id=42, user_id=ALICE)
    again = await store.add_user_message(PRIVATE, "hi", telegram_message_id=42, user_id=ALICE)

    assert (isinstance(first, int), again) == (True, None)
    assert await query(database, "SELECT COUNT(*) FROM messages") == [(1,)]


async def test_the_same_telegram_id_in_another_chat_or_without_id_is_not_a_duplicate(
    store: ChatStore,
) -> None:
    stored = [
        await store.add_user_message(PRIVATE, "a", telegram_message_id=42, user_id=ALICE),
        await store.add_user_message(GROUP, "b", telegram_message_id=42, user_id=BOB),
        await store.add_user_message(PRIVATE, "c", telegram_message_id=None, user_id=ALICE),
        await store.add_user_message(PRIVATE, "d", telegram_message_id=None, user_id=ALICE),
    ]

    assert None not in stored


async def test_duplicates_are_recognised_after_a_restart(database: Path) -> None:
    store = await ChatStore.open(database)
    await alice_says(store, PRIVATE, "hi", message_id=42)
    await store.close()

    store = await ChatStore.open(database)
    try:
        assert (
            await store.add_user_message(PRIVATE, "hi", telegram_message_id=42, user_id=ALICE)
            is None
        )
    finally:
        await store.close()


async def test_has_reply_to_is_false_until_an_answer_is_stored(store: ChatStore) -> None:
    await alice_says(store, PRIVATE, "question", message_id=42)
    before = await store.has_reply_to(PRIVATE, 42)
    await bot_answers(store, PRIVATE, "answer")

    assert (before, await store.has_reply_to(PRIVATE, 42)) == (False, True)
    assert await store.has_reply_to(PRIVATE, 43) is False


async def test_history_and_settings_survive_close_and_reopen(database: Path) -> None:
    store = await ChatStore.open(database)
    await store.update_preferences(PRIVATE, model="gpt-4o")
    await alice_says(store, PRIVATE, "remember me")
    await store.close()

    store = await ChatStore.open(database)
    try:
        assert await store.preferences(PRIVATE) == ChatPreferences(model="gpt-4o")
        assert await store.recent_turns(PRIVATE, char_budget=100) == [Turn("user", "remember me")]
    finally:
        await store.close()


# Group -> supergroup


async def test_migrate_chat_moves_history_and_settings_of_every_topic(store: ChatStore) -> None:
    old, topic = ChatKey(-100), ChatKey(-100, thread_id=3)
    await store.update_preferences(old, model="gpt-4o")
    await alice_says(store, old, "in the group")
    await alice_says(store, topic, "in a topic")

    await store.migrate_chat(-100, -1_000_100)

    assert await store.preferences(ChatKey(-1_000_100)) == ChatPreferences(model="gpt-4o")
    assert await store.recent_turns(ChatKey(-1_000_100), char_budget=100) == [
        Turn("user", "in the group")
    ]
    assert await store.recent_turns(ChatKey(-1_000_100, 3), char_budget=100) == [
        Turn("user", "in a topic")
    ]
    assert (await store.preferences(old), await store.recent_turns(old, char_budget=100)) == (
        ChatPreferences(),
        [],
    )
    assert await store.integrity_ok() is True


async def test_migrate_chat_into_a_chat_already_seen_keeps_the_old_history_and_settings(
    store: ChatStore,
) -> None:
    old, new = ChatKey(-100), ChatKey(-1_000_100)
    await store.update_preferences(old, model="old-model")
    await alice_says(store, old, "old question", message_id=5)
    await bot_answers(store, old, "old answer")
    await store.update_preferences(new, model="new-model", voice="nova")
    await alice_says(store, new, "first supergroup message", message_id=5)

    await store.migrate_chat(-100, -1_000_100)

    assert await store.preferences(new) == ChatPreferences(model="old-model", voice="nova")
    assert await store.recent_turns(new, char_budget=1_000) == [
        Turn("user", "old question"),
        Turn("assistant", "old answer"),
        Turn("user", "first supergroup message"),
    ]
    assert await store.integrity_ok() is True


async def test_a_migrated_chat_accepts_message_ids_the_old_group_used(store: ChatStore) -> None:
    await alice_says(store, ChatKey(-100), "in the group", message_id=7)
    await store.migrate_chat(-100, -1_000_100)

    stored = await store.add_user_message(
        ChatKey(-1_000_100), "in the supergroup", telegram_message_id=7, user_id=ALICE
    )

    assert stored is not None


# Usage


async def test_usage_counts_a_users_messages_and_reply_tokens_since_a_time(
    store: ChatStore, clock: FakeClock
) -> None:
    for now, prompt, completion in ((100.0, 10, 20), (200.0, 5, 7)):
        clock.now = now
        await alice_says(store, PRIVATE, "question")
        await store.add_assistant_message(
            PRIVATE,
            "answer",
            model="gpt-test",
            prompt_tokens=prompt,
            completion_tokens=completion,
            user_id=ALICE,
        )
    await store.add_user_message(GROUP, "not alice", telegram_message_id=None, user_id=BOB)

    assert await store.usage(ALICE) == UsageTotals(2, 15, 27)
    assert await store.usage(ALICE, since=150.0) == UsageTotals(1, 5, 7)
    assert await store.usage(CAROL) == UsageTotals(0, 0, 0)


async def test_top_users_ranks_by_messages_then_tokens_and_respects_the_limit(
    store: ChatStore, clock: FakeClock
) -> None:
    for user_id, count in ((ALICE, 1), (BOB, 3), (CAROL, 1)):
        for _ in range(count):
            await store.add_user_message(GROUP, "q", telegram_message_id=None, user_id=user_id)
    await store.add_assistant_message(
        GROUP, "a", model="gpt-test", prompt_tokens=4, completion_tokens=6, user_id=CAROL
    )
    clock.now += 100
    await store.add_user_message(GROUP, "late", telegram_message_id=None, user_id=ALICE)

    assert await store.top_users(since=None, limit=2) == [
        (BOB, UsageTotals(3, 0, 0)),
        (ALICE, UsageTotals(2, 0, 0)),
    ]
    assert await store.top_users(since=clock.now - 50) == [(ALICE, UsageTotals(1, 0, 0))]
