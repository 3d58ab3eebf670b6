"""A chat's conversations in the store: the /history listing, resuming one, answering the latest
question again (its answers leaving the history, their usage kept), and reading for an export."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation.limits import day_start, month_start, next_day_start
from bot.store import (
    FIRST_QUESTION_CHARS,
    ChatKey,
    ChatStore,
    LatestQuestion,
    UsageTotals,
)
from tests.support import EVENING, FakeClock, query

ALICE = 101
BOB = 202
PRIVATE = ChatKey(ALICE)
GROUP = ChatKey(-500)
TOPIC = ChatKey(-500, 7)


async def exchange(
    store: ChatStore,
    key: ChatKey,
    question: str,
    *,
    user_id: int = ALICE,
    message_id: int | None = None,
    tokens: int = 10,
) -> None:
    await store.add_user_message(key, question, telegram_message_id=message_id, user_id=user_id)
    await store.add_assistant_message(
        key,
        f"answer to {question}",
        model="gpt-test",
        user_id=user_id,
        prompt_tokens=tokens,
        completion_tokens=tokens,
    )


async def contents(store: ChatStore, key: ChatKey) -> list[str]:
    return [turn.content for turn in await store.recent_turns(key, char_budget=100_000)]


# Listing


async def test_conversations_are_listed_most_recently_active_first_with_title_date_and_turns(
    store: ChatStore, clock: FakeClock
) -> None:
    await exchange(store, PRIVATE, "first topic")
    await exchange(store, PRIVATE, "more on it")
    clock.now += 60
    await store.start_conversation(PRIVATE)
    await exchange(store, PRIVATE, "second topic")
    clock.now += 60
    await store.start_conversation(PRIVATE)  # current and empty: not listed

    page = await store.conversation_page(PRIVATE, page=0, size=10)

    assert [(c.first_question, c.turns, c.current) for c in page.conversations] == [
        ("second topic", 1, False),
        ("first topic", 2, False),
    ]
    assert [c.last_message_at - EVENING for c in page.conversations] == [60.0, 0.0]
    assert (page.total, page.current_is_empty) == (2, True)


async def test_a_resumed_conversation_moves_to_the_top_once_it_gets_a_message(
    store: ChatStore, clock: FakeClock
) -> None:
    await exchange(store, PRIVATE, "old")
    await store.start_conversation(PRIVATE)
    await exchange(store, PRIVATE, "new")
    [_, oldest] = (await store.conversation_page(PRIVATE, page=0, size=10)).conversations

    clock.now += 10
    resumed = await store.resume_conversation(PRIVATE, oldest.id)
    await exchange(store, PRIVATE, "old again")
    page = await store.conversation_page(PRIVATE, page=0, size=10)

    assert resumed is not None
    assert resumed.current
    assert [(c.first_question, c.turns, c.current) for c in page.conversations] == [
        ("old", 2, True),
        ("new", 1, False),
    ]
    assert page.current_is_empty is False


async def test_pages_split_the_list_and_count_every_conversation(store: ChatStore) -> None:
    for n in range(7):
        await store.start_conversation(PRIVATE)
        await exchange(store, PRIVATE, f"topic {n}")

    pages = [await store.conversation_page(PRIVATE, page=p, size=3) for p in range(4)]

    assert [[c.first_question for c in p.conversations] for p in pages] == [
        ["topic 6", "topic 5", "topic 4"],
        ["topic 3", "topic 2", "topic 1"],
        ["topic 0"],
        [],
    ]
    assert {p.total for p in pages} == {7}
    assert [c.current for c in pages[0].conversations] == [True, False, False]


async def test_the_title_is_read_from_the_start_of_the_first_question_only(
    store: ChatStore,
) -> None:
    await exchange(store, PRIVATE, "x" * 10_000)

    [listed] = (await store.conversation_page(PRIVATE, page=0, size=5)).conversations

    assert listed.first_question == "x" * FIRST_QUESTION_CHARS


async def test_each_chat_and_topic_lists_only_its_own_conversations(store: ChatStore) -> None:
    await exchange(store, GROUP, "in the group")
    await exchange(store, TOPIC, "in the topic")
    await exchange(store, PRIVATE, "in private")

    listed = {
        key: [
            c.first_question
            for c in (await store.conversation_page(key, page=0, size=5)).conversations
        ]
        for key in (GROUP, TOPIC, PRIVATE, ChatKey(999))
    }

    assert listed == {
        GROUP: ["in the group"],
        TOPIC: ["in the topic"],
        PRIVATE: ["in private"],
        ChatKey(999): [],
    }


# Resuming


async def test_resuming_makes_the_earlier_turns_the_context_again(store: ChatStore) -> None:
    await exchange(store, PRIVATE, "old")
    old = (await store.conversation_page(PRIVATE, page=0, size=1)).conversations[0]
    await store.start_conversation(PRIVATE)
    await exchange(store, PRIVATE, "new")

    await store.resume_conversation(PRIVATE, old.id)
    await store.add_user_message(PRIVATE, "and now?", telegram_message_id=None, user_id=ALICE)

    assert await contents(store, PRIVATE) == ["old", "answer to old", "and now?"]


async def test_resuming_leaves_an_empty_current_conversation_behind_for_good(
    store: ChatStore, database: Path
) -> None:
    await exchange(store, PRIVATE, "old")
    old = (await store.conversation_page(PRIVATE, page=0, size=1)).conversations[0]
    await store.start_conversation(PRIVATE)

    await store.resume_conversation(PRIVATE, old.id)

    assert await query(database, "SELECT id FROM conversations") == [(old.id,)]


async def test_a_conversation_of_another_chat_or_gone_is_not_resumed(store: ChatStore) -> None:
    await exchange(store, GROUP, "the group's")
    theirs = (await store.conversation_page(GROUP, page=0, size=1)).conversations[0]
    await exchange(store, PRIVATE, "mine")

    assert await store.resume_conversation(PRIVATE, theirs.id) is None
    assert await store.resume_conversation(TOPIC, theirs.id) is None
    assert await store.resume_conversation(PRIVATE, 10_000) is None
    assert await store.conversation(PRIVATE, theirs.id) is None
    assert await contents(store, PRIVATE) == ["mine", "answer to mine"]


# Answering again


async def test_answering_again_takes_the_latest_answer_out_of_the_history(
    store: ChatStore,
) -> None:
    await exchange(store, PRIVATE, "one")
    await exchange(store, PRIVATE, "two")

    again = await store.answer_again(PRIVATE, requested_by=ALICE)

    assert again == LatestQuestion("two", replaced=1)
    assert await contents(store, PRIVATE) == ["one", "answer to one", "two"]


async def test_an_edited_latest_question_replaces_the_stored_text(store: ChatStore) -> None:
    await exchange(store, PRIVATE, "one", message_id=1)
    await exchange(store, PRIVATE, "two", message_id=3)

    again = await store.answer_again(PRIVATE, requested_by=ALICE, question=3, text="TWO")

    assert again == LatestQuestion("TWO", replaced=1)
    assert await contents(store, PRIVATE) == ["one", "answer to one", "TWO"]


async def test_only_the_latest_question_is_answered_again_and_only_for_its_asker(
    store: ChatStore,
) -> None:
    await exchange(store, GROUP, "alice's", message_id=1)
    await exchange(store, GROUP, "bob's", user_id=BOB, message_id=3)
    before = await contents(store, GROUP)

    refusals = [
        await store.answer_again(GROUP, requested_by=ALICE, question=1, text="edited"),
        await store.answer_again(GROUP, requested_by=ALICE, asked_by=ALICE),
        await store.answer_again(ChatKey(-999), requested_by=ALICE),
    ]

    assert refusals == ["not latest", "not asker", "no question"]
    assert await contents(store, GROUP) == before


async def test_a_replaced_answer_still_counts_and_answering_again_counts_a_message(
    store: ChatStore,
) -> None:
    await exchange(store, PRIVATE, "one", tokens=10)
    before = await store.usage(ALICE)

    await store.answer_again(PRIVATE, requested_by=ALICE)
    await store.add_assistant_message(
        PRIVATE, "again", model="m", user_id=ALICE, prompt_tokens=5, completion_tokens=5
    )

    assert before == UsageTotals(1, 10, 10)
    assert await store.usage(ALICE) == UsageTotals(2, 15, 15)
    assert await store.usage(ALICE, since=day_start(EVENING)) == UsageTotals(2, 15, 15)
    assert await store.usage(ALICE, since=month_start(EVENING)) == UsageTotals(2, 15, 15)
    assert await store.usage(ALICE, since=next_day_start(EVENING)) == UsageTotals(0, 0, 0)
    assert await store.top_users(since=day_start(EVENING)) == [(ALICE, UsageTotals(2, 15, 15))]


# Export


async def test_an_export_reads_the_current_conversation_or_all_of_them_in_order(
    store: ChatStore,
) -> None:
    await exchange(store, GROUP, "first", user_id=BOB)
    await store.start_conversation(GROUP)
    await exchange(store, GROUP, "second")
    await exchange(store, GROUP, "third")

    current = await store.export(GROUP, everything=False, max_chars=10_000)
    everything = await store.export(GROUP, everything=True, max_chars=10_000)

    def shape(export: object) -> list[tuple[str, list[str]]]:
        assert hasattr(export, "conversations")
        return [
            (c.summary.first_question, [m.content for m in c.messages])
            for c in export.conversations
        ]

    assert shape(current) == [
        ("second", ["second", "answer to second", "third", "answer to third"])
    ]
    assert shape(everything) == [
        ("second", ["second", "answer to second", "third", "answer to third"]),
        ("first", ["first", "answer to first"]),
    ]
    assert (current.complete, everything.complete) == (True, True)
    first = everything.conversations[1].messages[0]
    assert (first.role, first.sender_name, first.status) == ("user", None, "complete")


async def test_an_export_stops_reading_once_past_its_size(store: ChatStore) -> None:
    for n in range(600):
        await store.add_user_message(PRIVATE, f"{n:04d}", telegram_message_id=None, user_id=ALICE)

    export = await store.export(PRIVATE, everything=True, max_chars=1_000)

    [conversation] = export.conversations
    assert (len(conversation.messages), export.complete) == (251, False)


async def test_an_empty_current_conversation_exports_nothing(store: ChatStore) -> None:
    await exchange(store, PRIVATE, "old")
    await store.start_conversation(PRIVATE)

    export = await store.export(PRIVATE, everything=False, max_chars=1_000)

    assert (export.conversations, export.complete) == ((), True)


async def test_a_negative_page_is_refused(store: ChatStore) -> None:
    with pytest.raises(ValueError, match="no page"):
        await store.conversation_page(PRIVATE, page=-1, size=5)
