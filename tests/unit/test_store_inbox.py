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


async def test_an_attachment_waits_as_its_kind_caption_and_what_builds_it_again(
    store: ChatStore,
) -> None:
    recipe = '{"file_id": "AgAD", "name": "notes.md"}'
    assert await store.receive(
        CHAT, "what is it?", telegram_message_id=5, user_id=10, kind="document", attachment=recipe
    )
    assert await store.inbox() == [Received(CHAT, "what is it?", 5, 10, None, "document", recipe)]


async def test_an_albums_later_photos_wait_joined_to_its_first_and_leave_with_it(
    store: ChatStore,
) -> None:
    await store.receive(CHAT, "", telegram_message_id=5, user_id=10, kind="photo")
    assert await store.receive(
        CHAT, "", telegram_message_id=6, user_id=10, kind="photo", joined_to=5
    )
    await store.receive(CHAT, "later", telegram_message_id=7, user_id=10)
    assert [(r.telegram_message_id, r.joined_to) for r in await store.inbox()] == [
        (5, None),
        (6, 5),
        (7, None),
    ]
    assert await store.add_user_message(CHAT, "[photo 2x2]", telegram_message_id=5, user_id=10)
    assert [r.telegram_message_id for r in await store.inbox()] == [7]


async def test_a_photo_is_not_joined_to_a_message_that_no_longer_waits(store: ChatStore) -> None:
    await store.add_user_message(CHAT, "[photo 2x2]", telegram_message_id=5, user_id=10)
    assert not await store.receive(
        CHAT, "", telegram_message_id=6, user_id=10, kind="photo", joined_to=5
    )
    assert await store.inbox() == []


async def test_a_discarded_message_leaves_the_inbox_with_its_joined_rows_and_is_not_stored(
    store: ChatStore,
) -> None:
    await store.receive(CHAT, "", telegram_message_id=5, user_id=10, kind="photo")
    await store.receive(CHAT, "", telegram_message_id=6, user_id=10, kind="photo", joined_to=5)
    await store.receive(CHAT, "keep me", telegram_message_id=7, user_id=10)
    await store.discard(CHAT, 5)
    assert [r.content for r in await store.inbox()] == ["keep me"]
    assert not await store.has_message(CHAT, 5)
