"""The inbox: user messages kept while they wait for their turn, moved out when it starts."""

from __future__ import annotations

from bot.store import ChatKey, ChatStore, Received

CHAT = ChatKey(10)


async def test_received_messages_wait_in_the_inbox_oldest_first(store: ChatStore) -> None:
    assert await store.receive(CHAT, "first", telegram_message_id=5, user_id=10)
    assert await store.receive(
        ChatKey(-7, 3), "hi", telegram_message_id=2, user_id=1, sender_name="Bo"
    )
    assert await store.inbox() == [
        Received(CHAT, "first", 5, 10),
        Received(ChatKey(-7, 3), "hi", 2, 1, "Bo"),
    ]


async def test_a_message_received_twice_is_kept_once(store: ChatStore) -> None:
    assert await store.receive(CHAT, "first", telegram_message_id=5, user_id=10)
    assert not await store.receive(CHAT, "first", telegram_message_id=5, user_id=10)
    assert len(await store.inbox()) == 1


async def test_storing_the_message_takes_it_out_of_the_inbox(store: ChatStore) -> None:
    await store.receive(CHAT, "first", telegram_message_id=5, user_id=10)
    assert await store.add_user_message(CHAT, "first", telegram_message_id=5, user_id=10)
    assert await store.inbox() == []


async def test_a_message_already_stored_is_not_received_again(store: ChatStore) -> None:
    await store.add_user_message(CHAT, "first", telegram_message_id=5, user_id=10)
    assert not await store.receive(CHAT, "first", telegram_message_id=5, user_id=10)
    assert await store.inbox() == []
