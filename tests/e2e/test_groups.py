"""Groups and forum topics through the real Application, the fake Telegram and the fake upstream.

The fake delivers every group message (as Telegram does when privacy mode is off or the bot is an
admin), so what is answered here is decided by the bot's own addressing rule. Pacing is shortened
and flood limits relaxed except in the pacing test, which runs with Telegram's real numbers.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest

from bot import i18n
from bot.config import Settings
from bot.delivery.pacing import SAFETY_MARGIN
from bot.handlers.commands import GROUP_COMMANDS, group_help
from bot.handlers.groups import usage_note
from bot.store import ChatKey, ChatStore
from tests.e2e.chat import settled
from tests.e2e.harness import make_settings, running_bot
from tests.fakes.telegram import FakeTelegram, FloodLimits
from tests.fakes.upstream import FakeUpstream, ReplyScript

pytestmark = pytest.mark.relaxed

GROUP = -100200300
BASIC_GROUP = -4001
SUPERGROUP = -100400100
BOT_NAME = "gpt_test_bot"
BOB = 1002
IN_GROUP: dict[str, Any] = {"chat_type": "supergroup"}


async def say(telegram: FakeTelegram, chat_id: int, text: str, reply: str, **kwargs: Any) -> int:
    """A user writes in the chat; once the bot's answer is whole (it ends with `reply`; quotes
    are rendered as Telegram block quotes, so their text shows without "> "), its message id."""
    before = len(telegram.bot_messages(chat_id))
    telegram.user_sends(chat_id, text, **kwargs)
    await telegram.wait_until(
        lambda: (
            len(telegram.texts(chat_id)) == before + 1
            and str(telegram.texts(chat_id)[-1]).endswith(reply)
        )
    )
    return telegram.bot_messages(chat_id)[-1].message_id


async def test_an_unaddressed_group_message_is_ignored_and_never_sent_upstream(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        telegram.user_sends(GROUP, "hello everyone", **IN_GROUP)
        telegram.user_sends(GROUP, "gpt_test_bot is a bot", entities=[], **IN_GROUP)
        await say(telegram, GROUP, "/ask ping", "You said: ping", **IN_GROUP)
    assert telegram.texts(GROUP) == ["You said: ping"]
    [request] = upstream.chat_requests()
    assert [m["content"] for m in request.body["messages"]] == ["You are a test.", "ping"]


async def test_ask_ask_at_the_bot_a_mention_and_a_reply_to_the_bot_are_each_answered(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings) as application:
        await say(telegram, GROUP, "/ask one", "You said: one", **IN_GROUP)
        await say(telegram, GROUP, f"/ask@{BOT_NAME} two", "You said: two", **IN_GROUP)
        answer = await say(
            telegram, GROUP, f"and @{BOT_NAME} three", "You said: and three", **IN_GROUP
        )
        await settled(telegram, application)
        await say(telegram, GROUP, "four", "You said: four", reply_to_message_id=answer, **IN_GROUP)
    asked = [m["message_id"] for m in telegram.messages.values() if m["chat"]["id"] == GROUP]
    replied_to = [m.reply_to_message_id for m in telegram.bot_messages(GROUP)]
    assert replied_to == [asked[0], asked[2], asked[4], asked[6]]


async def test_commands_for_another_bot_are_ignored(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        telegram.user_sends(GROUP, "/ask@other_bot hi", **IN_GROUP)
        telegram.user_sends(GROUP, "/help@other_bot", **IN_GROUP)
        telegram.user_sends(GROUP, "/new@other_bot", **IN_GROUP)
        await say(telegram, GROUP, f"/ask@{BOT_NAME} mine", "You said: mine", **IN_GROUP)
    assert telegram.texts(GROUP) == ["You said: mine"]
    assert len(upstream.chat_requests()) == 1


async def test_a_reply_to_an_older_answer_or_to_a_person_is_quoted_for_the_model(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings) as application:
        first = await say(telegram, GROUP, "/ask first", "You said: first", **IN_GROUP)
        latest = await say(telegram, GROUP, "/ask second", "You said: second", **IN_GROUP)
        await settled(telegram, application)
        await say(telegram, GROUP, "and?", "and?", reply_to_message_id=latest, **IN_GROUP)
        await say(telegram, GROUP, "why?", "why?", reply_to_message_id=first, **IN_GROUP)
        claim = telegram.user_sends(GROUP, "The sky is green.", user_id=BOB, first_name="Bob")
        to_claim: dict[str, Any] = {"reply_to_message_id": claim["message_id"], **IN_GROUP}
        await say(telegram, GROUP, f"@{BOT_NAME} is that right?", "is that right?", **to_claim)
        await say(telegram, GROUP, "/ask", "The sky is green.", **to_claim)
    asked = [r.body["messages"][-1]["content"] for r in upstream.chat_requests()]
    assert asked == [
        "first",
        "second",
        "and?",  # replies to the latest answer, which the history holds
        "You wrote earlier:\n> You said: first\n\nwhy?",
        "Bob wrote:\n> The sky is green.\n\nis that right?",
        "Bob wrote:\n> The sky is green.",
    ]


async def test_a_bare_mention_is_answered_with_how_to_ask(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        usage = f"Yes? Write your question after the mention, e.g. @{BOT_NAME} what is 2+2?"
        await say(telegram, GROUP, f"@{BOT_NAME}", usage, **IN_GROUP)
    assert len(telegram.texts(GROUP)) == 1
    assert upstream.chat_requests() == []


async def test_every_way_of_addressing_the_bot_works_in_a_private_chat_too(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await say(telegram, 10, f"@{BOT_NAME} hi", "You said: hi")
        answer = await say(telegram, 10, f"/ask@{BOT_NAME} there", "You said: there")
        await say(telegram, 10, "plain", "You said: plain")
        await say(telegram, 10, "again?", "again?", reply_to_message_id=answer)
    asked = [r.body["messages"][-1]["content"] for r in upstream.chat_requests()]
    assert asked == ["hi", "there", "plain", "You wrote earlier:\n> You said: there\n\nagain?"]
    assert all("name" not in m for r in upstream.chat_requests() for m in r.body["messages"])


async def test_group_turns_carry_each_senders_name_for_the_model(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await say(telegram, GROUP, "/ask hi", "You said: hi", first_name="Alice", **IN_GROUP)
        jose: dict[str, Any] = {"user_id": BOB, "first_name": "José María", **IN_GROUP}
        await say(telegram, GROUP, "/ask hola", "You said: hola", **jose)
    messages = upstream.chat_requests()[-1].body["messages"]
    assert [(m["role"], m.get("name"), m["content"]) for m in messages] == [
        ("system", None, "You are a test."),
        ("user", "Alice", "hi"),
        ("assistant", None, "You said: hi"),
        ("user", "Jose_Maria", "hola"),
    ]


async def test_each_forum_topic_keeps_its_own_history_and_answers_in_its_topic(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    forum: dict[str, Any] = {"chat_type": "supergroup", "is_forum": True}
    async with running_bot(settings):
        five: dict[str, Any] = {"message_thread_id": 500, **forum}
        seven: dict[str, Any] = {"message_thread_id": 700, **forum}
        await say(telegram, GROUP, "/ask remember five", "You said: remember five", **five)
        await say(telegram, GROUP, "/ask remember seven", "You said: remember seven", **seven)
        await say(telegram, GROUP, "/ask in general", "You said: in general", **forum)
        await say(telegram, GROUP, f"@{BOT_NAME} what?", "You said: what?", **five)
    contents = [m["content"] for m in upstream.chat_requests()[-1].body["messages"]]
    assert contents == [
        "You are a test.",
        "remember five",
        "You said: remember five",
        "what?",
    ]
    threads = [m.message_thread_id for m in telegram.bot_messages(GROUP)]
    assert threads == [500, 700, None, 500]
    sends = telegram.calls_to("sendMessage")
    assert [c.params.get("message_thread_id") for c in sends] == [500, 700, None, 500]


async def test_the_bot_posts_a_usage_note_once_when_added_and_help_explains_privacy_mode(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    telegram.add_to_group(GROUP, chat_type="supergroup")
    async with running_bot(settings):
        await telegram.wait_until(lambda: len(telegram.texts(GROUP)) == 1)
        await say(telegram, GROUP, "/help", group_help(BOT_NAME), **IN_GROUP)
    assert telegram.texts(GROUP) == [usage_note(BOT_NAME), group_help(BOT_NAME)]
    assert "privacy mode" in group_help(BOT_NAME)
    assert upstream.chat_requests() == []


async def test_group_menus_show_what_works_in_groups(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        # Three menus for the default language, then three for each catalog's own.
        menus = 3 * (1 + len(i18n.LANGUAGES))
        await telegram.wait_until(lambda: len(telegram.calls_to("setMyCommands")) == menus)
    menu = telegram.commands_for({"type": "all_group_chats"})
    private = telegram.commands_for({"type": "all_private_chats"})
    assert [(c["command"], c["description"]) for c in menu] == list(GROUP_COMMANDS)
    assert private == telegram.commands_for()


async def test_migration_to_a_supergroup_keeps_the_history_and_settings(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    basic: dict[str, Any] = {"chat_type": "group"}
    async with running_bot(settings):
        remember = "/ask remember the basics"
        await say(telegram, BASIC_GROUP, remember, "You said: remember the basics", **basic)
        telegram.set_chat_admins(BASIC_GROUP, [1001])
        hot = "temperature set to 0.5."
        await say(telegram, BASIC_GROUP, "/settings temperature 0.5", hot, **basic)
        telegram.migrate_group(BASIC_GROUP, SUPERGROUP)
        await history_moved(settings.database_path, SUPERGROUP)
        await say(telegram, SUPERGROUP, "/ask and now?", "You said: and now?", **IN_GROUP)
    body = upstream.chat_requests()[-1].body
    assert [m["content"] for m in body["messages"]] == [
        "You are a test.",
        "remember the basics",
        "You said: remember the basics",
        "and now?",
    ]
    assert body["temperature"] == 0.5
    assert telegram.texts(SUPERGROUP) == ["You said: and now?"]


async def history_moved(database: Path, chat_id: int) -> None:
    """Wait until the bot has moved a migrated group's history to `chat_id`."""
    store = await ChatStore.open(database)
    try:
        for _ in range(250):
            if await store.recent_turns(ChatKey(chat_id), char_budget=1000):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"no history under {chat_id} after 5 s")
    finally:
        await store.close()


async def test_group_edits_wait_3_s_across_replies_first_and_final_texts_1_s_no_flood_limit(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    one, two = "One " * 45, "Two " * 45
    # 45 chunks 0.2 s apart: each reply streams for about 9 s, both at once.
    upstream.script(
        ReplyScript(one, chunk_size=4, chunk_delay=0.2),
        ReplyScript(two, chunk_size=4, chunk_delay=0.2),
    )
    forum: dict[str, Any] = {"chat_type": "supergroup", "is_forum": True}
    async with FakeTelegram(limits=FloodLimits()) as telegram:
        settings = make_settings(telegram, upstream, tmp_path / "bot.sqlite3")
        async with running_bot(settings):
            telegram.user_sends(GROUP, "/ask one", message_thread_id=500, **forum)
            telegram.user_sends(GROUP, "/ask two", message_thread_id=700, **forum)
            finals = [one.strip(), two.strip()]
            await telegram.wait_until(
                lambda: sorted(str(t) for t in telegram.texts(GROUP)) == finals, timeout=35
            )
    changes = [
        c
        for c in telegram.calls
        if c.method in ("sendMessage", "editMessageText") and c.params.get("chat_id") == GROUP
    ]
    # Every call waits about a second after the group's previous one; an intermediate edit
    # (neither a first text nor a final one) waits the group interval.
    margin = SAFETY_MARGIN - 0.01
    gaps = [(b, b.at - a.at) for a, b in itertools.pairwise(changes)]
    assert min(gap for _, gap in gaps) >= settings.private_edit_interval + margin
    intermediate = [
        gap
        for call, gap in gaps
        if call.method == "editMessageText" and call.params["text"] not in finals
    ]
    assert intermediate
    assert min(intermediate) >= settings.group_edit_interval + margin
    assert len(changes) >= 5
    assert telegram.flood_rejections == 0
    assert telegram.rejections == []
    sends = [c for c in changes if c.method == "sendMessage"]
    assert sorted(c.params["message_thread_id"] for c in sends) == [500, 700]
    assert sends[1].at < changes[-2].at  # the second reply began while the first still streamed
