"""Conversations a user comes back to, end to end: /history and resuming one, /export as a
Markdown file, /forget leaving nothing of the chat in the database. The real Application against
the fake Telegram and the fake upstream (which echoes "You said: <text>" unless scripted)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot import i18n
from bot.config import Settings
from bot.handlers.commands import GROUP_COMMANDS
from bot.handlers.conversations import (
    FORGET_ADMINS,
    FORGET_STALE,
    GONE,
    HISTORY_ADMINS,
    STALE,
)
from bot.handlers.export import NOTHING_TO_EXPORT
from bot.store import ChatKey, ChatStore
from tests.e2e.chat import (
    answer_to,
    ask,
    ask_in_group,
    button_data,
    callback_answers,
    exported,
    forge_press,
    last_text,
    press,
)
from tests.e2e.harness import fast_settings, running_bot
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.fakes.upstream import FakeUpstream
from tests.support import file_holds, query, rows_naming

pytestmark = pytest.mark.relaxed

ALICE = 10
GROUP = -100200300
ADMIN = 2001
MEMBER = 1001
IN_GROUP: dict[str, Any] = {"chat_type": "supergroup"}


def keyboard_of(telegram: FakeTelegram, chat_id: int) -> SentMessage:
    """The bot's latest message, which carries a keyboard."""
    message = telegram.bot_messages(chat_id)[-1]
    assert message.reply_markup is not None, message.text
    return message


def button(message: SentMessage, starting: str) -> str:
    """The callback data of the button whose label starts with `starting` (after any mark)."""
    [data] = [
        d for label, d in button_data(message).items() if label.lstrip("✅ ").startswith(starting)
    ]
    return data


async def switched(telegram: FakeTelegram, chat_id: int, keyboard: SentMessage) -> None:
    """Wait until the /history message says which conversation goes on."""
    await telegram.wait_until(lambda: (keyboard.text or "").startswith("Continuing"))


async def answers_reach(telegram: FakeTelegram, count: int) -> None:
    """Wait until the bot has answered `count` button presses."""
    await telegram.wait_until(lambda: len(callback_answers(telegram)) == count)


# /history


async def test_resuming_an_earlier_conversation_sends_its_turns_and_not_the_newer_ones(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await ask(telegram, upstream, ALICE, "tell me about herons")
        await ask(telegram, upstream, ALICE, "and their nests?")
        await answer_to(telegram, ALICE, "/new")
        await ask(telegram, upstream, ALICE, "now about pelicans")
        await answer_to(telegram, ALICE, "/history")
        keyboard = keyboard_of(telegram, ALICE)
        listed = list(button_data(keyboard))
        await press(telegram, ALICE, keyboard, button(keyboard, "tell me about herons"))
        await switched(telegram, ALICE, keyboard)
        body = await ask(telegram, upstream, ALICE, "how tall are they?")

    assert [label.split(" · ")[0] for label in listed] == [
        "✅ now about pelicans",
        "tell me about herons",
    ]
    assert [label.split(" · ")[2] for label in listed] == ["1 turn", "2 turns"]
    assert callback_answers(telegram) == ["Switching to “tell me about herons”…"]
    assert (keyboard.text or "").startswith("Continuing “tell me about herons”")
    # Listed by their newest message: the resumed one moves up with its next message.
    assert [label.split(" · ")[0] for label in button_data(keyboard)] == [
        "now about pelicans",
        "✅ tell me about herons",
    ]
    assert body["messages"] == [
        {"role": "system", "content": "You are a test."},
        {"role": "user", "content": "tell me about herons"},
        {"role": "assistant", "content": "You said: tell me about herons"},
        {"role": "user", "content": "and their nests?"},
        {"role": "assistant", "content": "You said: and their nests?"},
        {"role": "user", "content": "how tall are they?"},
    ]


async def test_history_comes_in_pages_and_out_of_date_buttons_change_nothing(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    store = await ChatStore.open(settings.database_path)
    for n in range(10):
        await store.start_conversation(ChatKey(ALICE))
        await store.add_user_message(
            ChatKey(ALICE), f"topic {n}", telegram_message_id=None, user_id=ALICE
        )
        await store.add_assistant_message(ChatKey(ALICE), f"on topic {n}", model="gpt-4o-mini")
    await store.close()
    async with running_bot(settings):
        await answer_to(telegram, ALICE, "/history")
        keyboard = keyboard_of(telegram, ALICE)
        first_page = list(button_data(keyboard))
        await press(telegram, ALICE, keyboard, button(keyboard, "More"))
        await telegram.wait_until(lambda: "Page 2 of 2" in (keyboard.text or ""))
        second_page = list(button_data(keyboard))
        # One at a time: presses are handled concurrently, so their answers could come in any
        # order.
        for answered, data in enumerate(("h:p:7", "h:c:9999:0", "h:x:1"), start=2):
            forge_press(telegram, ALICE, keyboard.message_id, data)
            await answers_reach(telegram, answered)
        body = await ask(telegram, upstream, ALICE, "still here?")

    assert [label.split(" · ")[0] for label in first_page] == [
        "✅ topic 9",
        *(f"topic {n}" for n in range(8, 1, -1)),
        "More ▶",
    ]
    assert [label.split(" · ")[0] for label in second_page] == ["topic 1", "topic 0", "◀ Back"]
    assert callback_answers(telegram)[1:] == [STALE, GONE, STALE]
    assert [m["content"] for m in body["messages"][1:]] == ["topic 9", "on topic 9", "still here?"]
    assert telegram.unanswered_callbacks == []


async def test_in_a_group_only_admins_list_and_switch_its_conversations(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    telegram.add_to_group(GROUP, chat_type="supergroup")
    telegram.set_chat_admins(GROUP, [ADMIN])
    async with running_bot(settings):
        await ask_in_group(telegram, GROUP, "first", user_id=MEMBER)
        await answer_to(telegram, GROUP, "/new", user_id=ADMIN, **IN_GROUP)
        await ask_in_group(telegram, GROUP, "second", user_id=MEMBER)
        refused = await answer_to(telegram, GROUP, "/history", user_id=MEMBER, **IN_GROUP)
        await answer_to(telegram, GROUP, "/history", user_id=ADMIN, **IN_GROUP)
        keyboard = keyboard_of(telegram, GROUP)
        await press(telegram, GROUP, keyboard, button(keyboard, "first"), user_id=MEMBER)
        await press(telegram, GROUP, keyboard, button(keyboard, "first"), user_id=ADMIN)
        await switched(telegram, GROUP, keyboard)
        await ask_in_group(telegram, GROUP, "third", user_id=MEMBER)

    assert refused == HISTORY_ADMINS
    assert callback_answers(telegram) == [HISTORY_ADMINS, "Switching to “first”…"]
    assert [m["content"] for m in upstream.chat_requests()[-1].body["messages"][1:]] == [
        "first",
        "You said: first",
        "third",
    ]


async def test_each_forum_topic_lists_and_resumes_its_own_conversations(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    telegram.add_to_group(GROUP, chat_type="supergroup", is_forum=True)
    telegram.set_chat_admins(GROUP, [ADMIN])
    admin = {"user_id": ADMIN, **IN_GROUP}
    async with running_bot(settings):
        await ask_in_group(telegram, GROUP, "about boats", user_id=ADMIN, message_thread_id=500)
        await ask_in_group(telegram, GROUP, "about trains", user_id=ADMIN, message_thread_id=700)
        await answer_to(telegram, GROUP, "/history", message_thread_id=700, **admin)
        keyboard = keyboard_of(telegram, GROUP)

    assert keyboard.message_thread_id == 700
    assert [label.split(" · ")[0] for label in button_data(keyboard)] == ["✅ about trains"]


# /export


async def test_export_sends_every_turn_of_the_conversation_in_order_as_markdown(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await ask(telegram, upstream, ALICE, "old conversation")
        await answer_to(telegram, ALICE, "/new")
        for question in ("one", "two", "three"):
            await ask(telegram, upstream, ALICE, question)
        document = await exported(telegram, ALICE, "/export")
        [sent] = [m for m in telegram.bot_messages(ALICE) if m.kind == "document"]
        file_name = telegram.messages[(ALICE, sent.message_id)]["document"]["file_name"]

    assert document.startswith("# one\n")
    assert "- Model: gpt-4o-mini" in document
    assert "- 3 turns (the current conversation)" in document
    turns = re.findall(
        r"\*\*(You|Assistant \(gpt-4o-mini\))\*\* · [0-9-]+ [0-9:]+ UTC\n\n(.+)\n", document
    )
    assert turns == [
        ("You", "one"),
        ("Assistant (gpt-4o-mini)", "You said: one"),
        ("You", "two"),
        ("Assistant (gpt-4o-mini)", "You said: two"),
        ("You", "three"),
        ("Assistant (gpt-4o-mini)", "You said: three"),
    ]
    assert "old conversation" not in document
    assert re.fullmatch(r"conversation-\d{4}-\d\d-\d\d\.md", file_name)
    assert sent.caption == "“one”: 3 turns."


async def test_export_all_holds_every_conversation_and_group_senders_by_name(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    telegram.add_to_group(GROUP, chat_type="supergroup")
    telegram.set_chat_admins(GROUP, [ADMIN])
    async with running_bot(settings):
        await ask_in_group(telegram, GROUP, "older", user_id=MEMBER, first_name="Bob")
        await answer_to(telegram, GROUP, "/new", user_id=ADMIN, **IN_GROUP)
        await ask_in_group(telegram, GROUP, "newer", user_id=ADMIN, first_name="Carol")
        document = await exported(telegram, GROUP, "/export all", user_id=MEMBER, **IN_GROUP)

    assert document.startswith("# Conversations (2)\n")
    assert [line for line in document.split("\n") if line.startswith("## ")] == [
        "## newer",
        "## older",
    ]
    assert "**Carol** · " in document
    assert "**Bob** · " in document
    assert document.index("newer") < document.index("older")


async def test_an_export_past_its_size_limit_is_cut_and_says_so(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = fast_settings(telegram, upstream, tmp_path, export_max_bytes=10_000)
    async with running_bot(settings):
        for n in range(6):
            await ask(telegram, upstream, ALICE, f"{n} " + " ".join(["long words"] * 200))
        document = await exported(telegram, ALICE, "/export")
        [sent] = [m for m in telegram.bot_messages(ALICE) if m.kind == "document"]

    assert len(document.encode()) <= 10_000
    assert document.rstrip().endswith("Older messages are not in it.*")
    assert "0 long words" in document
    assert "5 long words" not in document
    assert (sent.caption or "").endswith(
        "Cut at the size limit of 10 KB: older messages are left out."
    )


async def test_an_empty_conversation_has_nothing_to_export(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        answer = await answer_to(telegram, ALICE, "/export")
    assert answer == NOTHING_TO_EXPORT
    assert telegram.calls_to("sendDocument") == []


# /forget


async def test_forget_leaves_no_row_of_the_chat_in_any_table_and_says_what_went(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    secrets = ("heron-question", "heron-prompt", "You said: heron-question")
    telegram.add_to_group(GROUP, chat_type="supergroup")
    telegram.set_chat_admins(GROUP, [ADMIN])
    admin = {"user_id": ADMIN, **IN_GROUP}
    async with running_bot(settings):
        await answer_to(telegram, GROUP, "/system heron-prompt", **admin)
        await ask_in_group(telegram, GROUP, "heron-question 1", user_id=MEMBER)
        await answer_to(telegram, GROUP, "/new", **admin)
        await ask_in_group(telegram, GROUP, "heron-question 2", user_id=MEMBER)
        assert await rows_naming(settings.database_path, GROUP, secrets) != {}
        refused = await answer_to(telegram, GROUP, "/forget", user_id=MEMBER, **IN_GROUP)
        await answer_to(telegram, GROUP, "/forget", **admin)
        confirm = keyboard_of(telegram, GROUP)
        await press(telegram, GROUP, confirm, button(confirm, "🗑"), user_id=MEMBER)
        await press(telegram, GROUP, confirm, button(confirm, "🗑"), user_id=ADMIN)
        await telegram.wait_until(lambda: (confirm.text or "").startswith("Done"))
        rows = await rows_naming(settings.database_path, GROUP, secrets)
        in_file = file_holds(settings.database_path, secrets)
        await ask_in_group(telegram, GROUP, "hello again", user_id=MEMBER)

    assert refused == FORGET_ADMINS
    assert callback_answers(telegram) == [FORGET_ADMINS, "Forgetting this chat…"]
    assert confirm.text == (
        "Done: I deleted 2 conversations (4 messages) and this chat's settings. How many "
        "messages and tokens each person used (/stats, limits) stays, without any text."
    )
    assert confirm.reply_markup is None
    assert (rows, in_file) == ({}, [])
    assert upstream.chat_requests()[-1].body["messages"] == [
        {"role": "system", "content": "You are a test."},
        {"role": "user", "content": "hello again", "name": "Alice"},
    ]


async def test_in_a_private_chat_only_the_users_usage_counts_stay(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await ask(telegram, upstream, ALICE, "pelican-question")
        await answer_to(telegram, ALICE, "/forget")
        confirm = keyboard_of(telegram, ALICE)
        await press(telegram, ALICE, confirm, button(confirm, "🗑"))
        await telegram.wait_until(lambda: (confirm.text or "").startswith("Done"))
        rows = await rows_naming(settings.database_path, ALICE, ("pelican-question",))
        counts = await query(
            settings.database_path,
            "SELECT messages, prompt_tokens > 0, completion_tokens > 0 FROM usage_archive",
        )

    # The user's id is the chat's id here: their usage for the day, numbers without any text.
    assert rows == {"usage_archive.user_id": 1}
    assert counts == [(1, 1, 1)]


async def test_a_forget_button_works_once_and_cancel_deletes_nothing(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await ask(telegram, upstream, ALICE, "keep me")
        await answer_to(telegram, ALICE, "/forget")
        first = keyboard_of(telegram, ALICE)
        await answer_to(telegram, ALICE, "/forget")
        second = keyboard_of(telegram, ALICE)
        await press(telegram, ALICE, first, button(first, "🗑"))  # superseded by the second
        await press(telegram, ALICE, second, button(second, "Cancel"))
        await press(telegram, ALICE, second, button(second, "🗑"))  # used already
        body = await ask(telegram, upstream, ALICE, "still there?")

    assert callback_answers(telegram) == [FORGET_STALE, "Nothing was deleted.", FORGET_STALE]
    assert second.text == "Nothing was deleted."
    assert [m["content"] for m in body["messages"][1:]] == [
        "keep me",
        "You said: keep me",
        "still there?",
    ]


async def test_forgetting_a_topic_leaves_the_other_topics_alone(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    telegram.add_to_group(GROUP, chat_type="supergroup", is_forum=True)
    telegram.set_chat_admins(GROUP, [ADMIN])
    admin = {"user_id": ADMIN, **IN_GROUP}
    async with running_bot(settings):
        await ask_in_group(telegram, GROUP, "boats", user_id=ADMIN, message_thread_id=500)
        await ask_in_group(telegram, GROUP, "trains", user_id=ADMIN, message_thread_id=700)
        await answer_to(telegram, GROUP, "/forget", message_thread_id=500, **admin)
        confirm = keyboard_of(telegram, GROUP)
        await press(telegram, GROUP, confirm, button(confirm, "🗑"), user_id=ADMIN)
        await telegram.wait_until(lambda: (confirm.text or "").startswith("Done"))
        await ask_in_group(telegram, GROUP, "more", user_id=ADMIN, message_thread_id=700)
        stored = await query(settings.database_path, "SELECT thread_id, content FROM messages")

    assert (confirm.text or "").startswith("Done: I deleted 1 conversation (2 messages)")
    assert {thread for thread, _ in stored} == {700}
    assert [m["content"] for m in upstream.chat_requests()[-1].body["messages"][1:]] == [
        "trains",
        "You said: trains",
        "more",
    ]


async def test_menus_list_the_conversation_commands_where_they_work(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        # Three menus (every chat, private chats, groups) for the default and each catalog.
        menus = 3 * (1 + len(i18n.LANGUAGES))
        await telegram.wait_until(lambda: len(telegram.calls_to("setMyCommands")) == menus)
        help_text = await answer_to(telegram, ALICE, "/help")
    wanted = {"history", "retry", "export", "forget"}
    for scope in (None, {"type": "all_private_chats"}, {"type": "all_group_chats"}):
        assert wanted <= {c["command"] for c in telegram.commands_for(scope)}
    assert wanted <= {name for name, _ in GROUP_COMMANDS}
    for command in wanted:
        assert f"/{command}" in help_text
    assert last_text(telegram, ALICE) == help_text
