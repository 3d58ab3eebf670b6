"""The bot's own words in its readers' languages, through the real Application against the fakes.

Each expectation is the bot's own wording rendered in the reader's language through bot.i18n and
the shipped catalogs (`in_language`), which must differ from the English: a catalog that leaves a
string untranslated fails here, as it does in tests/unit/test_catalogs.py.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from bot import i18n
from bot.config import Settings
from bot.errors import AudioUndecodable, UpstreamHTTPError, UpstreamReportedError
from bot.handlers.access_policy import not_allowed_text
from bot.handlers.commands import (
    COMMANDS,
    GROUP_COMMANDS,
    HELP,
    NOTHING_TO_STOP,
    group_help,
    menu_code,
)
from bot.i18n import _
from bot.store import ChatKey, ChatStore
from tests.e2e.chat import answer_to, button_data, callback_answers, press
from tests.e2e.harness import running_bot
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.fakes.telegram.rules import utf16_len
from tests.fakes.upstream import FakeUpstream, Fault, ReplyScript

CHAT = 10
STRANGER = 20
GROUP = -100500600
ADMIN = 501
MEMBER = 502
IN_GROUP: dict[str, Any] = {"chat_type": "supergroup"}
ONLY_ADMINS = "Sorry, only this group's admins can change the language."


def in_language(language: str, words: Callable[[], str]) -> str:
    """What `words()` (the bot's own wording) says in `language`; it must not be the English."""
    with i18n.using(i18n.SOURCE_LANGUAGE):
        english = words()
    with i18n.using(language):
        said = words()
    assert said != english, f"the {language} catalog leaves {english!r} untranslated"
    return said


def help_in(language: str) -> str:
    return in_language(language, lambda: _(HELP))


def notice(text: str) -> str:
    """A notice as it ends a reply (live_reply.with_notice)."""
    return f"⚠️ {text}"


async def next_message(telegram: FakeTelegram, chat_id: int, before: int) -> SentMessage:
    """The bot's first message in the chat after the `before` it had sent."""
    await telegram.wait_until(lambda: len(telegram.bot_messages(chat_id)) > before, timeout=20)
    return telegram.bot_messages(chat_id)[before]


@pytest.mark.relaxed(allowed_user_ids=frozenset({CHAT}))
async def test_a_russian_user_reads_help_a_refusal_and_an_upstream_error_in_russian(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(ReplyScript("", fault=Fault.HTTP_500))
    async with running_bot(settings):
        help_text = await answer_to(telegram, CHAT, "/help", language_code="ru")
        refusal = await answer_to(telegram, STRANGER, "hello", language_code="ru")
        failed = await answer_to(telegram, CHAT, "question", language_code="ru")
    assert help_text == help_in("ru")
    assert refusal == in_language("ru", lambda: not_allowed_text(STRANGER))
    error = UpstreamHTTPError(500, "Internal Server Error")
    assert failed == notice(in_language("ru", lambda: error.user_message))


@pytest.mark.relaxed
async def test_a_notice_from_the_chats_worker_and_the_voice_path_reach_the_reader_in_their_language(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    # Both are worded by the chat's worker, long after the update's handler returned: a queued
    # turn runs in the language of the update that queued it, whoever's turn ran before.
    upstream.script(
        ReplyScript("slow", first_token_delay=0.5), ReplyScript("", fault=Fault.HTTP_500)
    )
    async with running_bot(settings):
        telegram.user_sends(CHAT, "first", language_code="de")
        telegram.user_sends(CHAT, "second", language_code="uk")
        await telegram.wait_until(lambda: len(telegram.texts(CHAT)) == 2, timeout=20)
        telegram.user_sends_voice(
            CHAT, b"OggS" + bytes(range(256)) * 8, duration=2, language_code="ru"
        )
        unreadable = await next_message(telegram, CHAT, 2)
    error = UpstreamHTTPError(500, "Internal Server Error")
    assert telegram.texts(CHAT)[:2] == [
        "slow",
        notice(in_language("uk", lambda: error.user_message)),
    ]
    assert unreadable.text == in_language("ru", lambda: AudioUndecodable("junk").user_message)


@pytest.mark.relaxed(default_language="es")
async def test_a_regional_code_reads_its_language_and_an_unknown_one_the_default(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        austrian = await answer_to(telegram, CHAT, "/help", language_code="de-AT")
        unknown = await answer_to(telegram, 11, "/help", language_code="xx")
        untold = await answer_to(telegram, 12, "/help")
        english = await answer_to(telegram, 13, "/help", language_code="en-GB")
    assert austrian == help_in("de")
    assert unknown == help_in("es")
    assert untold == help_in("es")
    assert english == HELP


@pytest.mark.relaxed
async def test_language_in_a_group_from_a_member_who_is_no_admin_is_refused_in_their_language(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    telegram.user_sends(GROUP, "hi", user_id=ADMIN, **IN_GROUP)
    telegram.set_chat_admins(GROUP, [ADMIN])
    async with running_bot(settings):
        typed = await answer_to(
            telegram, GROUP, "/language de", user_id=MEMBER, language_code="ru", **IN_GROUP
        )
        await answer_to(
            telegram, GROUP, "/language", user_id=MEMBER, language_code="ru", **IN_GROUP
        )
        keyboard = telegram.bot_messages(GROUP)[-1]
        await press(telegram, GROUP, keyboard, "l:de", user_id=MEMBER)
        help_text = await answer_to(
            telegram, GROUP, "/help", user_id=MEMBER, language_code="ru", **IN_GROUP
        )
    refused = in_language("ru", lambda: _(ONLY_ADMINS))
    assert typed == refused
    assert callback_answers(telegram) == [refused]
    # Nothing changed: the member still reads their own language.
    assert help_text == in_language("ru", lambda: group_help(telegram.username))


@pytest.mark.relaxed
async def test_a_chats_choice_wins_over_each_users_language_until_auto(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    telegram.user_sends(GROUP, "hi", user_id=ADMIN, **IN_GROUP)
    telegram.set_chat_admins(GROUP, [ADMIN])
    admin = {"user_id": ADMIN, "language_code": "en", **IN_GROUP}
    member = {"user_id": MEMBER, "language_code": "ru", **IN_GROUP}
    async with running_bot(settings):
        await answer_to(telegram, GROUP, "/language", **admin)
        keyboard = telegram.bot_messages(GROUP)[-1]
        await press(telegram, GROUP, keyboard, button_data(keyboard)["Deutsch"], user_id=ADMIN)
        chosen_for_member = await answer_to(telegram, GROUP, "/stop", **member)
        chosen_for_admin = await answer_to(telegram, GROUP, "/stop", **admin)
        back = await answer_to(telegram, GROUP, "/language auto", **admin)
        auto_for_member = await answer_to(telegram, GROUP, "/stop", **member)
        auto_for_admin = await answer_to(telegram, GROUP, "/stop", **admin)
        # In a private chat the owner's choice wins over their own Telegram language too.
        private = await answer_to(telegram, CHAT, "/language uk", language_code="ru")
        private_help = await answer_to(telegram, CHAT, "/help", language_code="ru")
    assert callback_answers(telegram) == [
        in_language("de", lambda: _("I'll write in {language} in this chat.")).format(
            language="Deutsch"
        )
    ]
    stopped_nothing = in_language("de", lambda: _(NOTHING_TO_STOP))
    assert (chosen_for_member, chosen_for_admin) == (stopped_nothing, stopped_nothing)
    assert back == "I'll write to each of you in your own Telegram language."
    assert auto_for_member == in_language("ru", lambda: _(NOTHING_TO_STOP))
    assert auto_for_admin == NOTHING_TO_STOP
    assert private == in_language("uk", lambda: _("I'll write in {language} in this chat.")).format(
        language="Українська"
    )
    assert private_help == help_in("uk")


@pytest.mark.relaxed
async def test_each_catalog_publishes_its_command_menus_with_translated_descriptions(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    menus = 3 * (1 + len(i18n.LANGUAGES))
    async with running_bot(settings):
        await telegram.wait_until(lambda: len(telegram.calls_to("setMyCommands")) == menus)
    scopes = {None: COMMANDS, "all_private_chats": COMMANDS, "all_group_chats": GROUP_COMMANDS}
    for scope, commands in scopes.items():
        where = None if scope is None else {"type": scope}
        english = [{"command": name, "description": text} for name, text in commands]
        assert telegram.commands_for(where) == english  # the default: DEFAULT_LANGUAGE's
        assert telegram.commands_for(where, "en") == english
        for language in i18n.LANGUAGES:
            if language == i18n.SOURCE_LANGUAGE:
                continue
            expected = [
                {"command": name, "description": in_language(language, partial(_, text))}
                for name, text in commands
            ]
            assert telegram.commands_for(where, menu_code(language)) == expected, language


@pytest.mark.relaxed
@pytest.mark.parametrize("language", ["ar", "fa"])
async def test_a_right_to_left_reply_keeps_its_formatting_and_notice_where_they_belong(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings, language: str
) -> None:
    # Markdown around right-to-left words, cut by an upstream error: the fake Telegram checks
    # every entity's UTF-16 offsets, and the notice in the reader's language is italic.
    answer = "👋🏽 **مرحبا بك** في `print()` نعم"  # the emoji takes 4 UTF-16 units, 2 characters
    upstream.script(
        ReplyScript(
            answer,
            fault=Fault.ERROR_EVENT,
            after_chunks=len(answer),
            chunk_size=1,
            error_message="boom",
        )
    )
    async with running_bot(settings):
        telegram.user_sends(CHAT, "سلام", language_code=language)
        await telegram.wait_until(
            lambda: any("⚠️" in (m.text or "") for m in telegram.bot_messages(CHAT)), timeout=20
        )
    [reply] = telegram.bot_messages(CHAT)
    assert telegram.rejections == []
    text = reply.text or ""
    spans = {entity["type"]: _utf16_slice(text, entity) for entity in reply.entities}
    said = notice(in_language(language, lambda: UpstreamReportedError("boom").user_message))
    assert spans == {"bold": "مرحبا بك", "code": "print()", "italic": said}
    assert text == f"👋🏽 مرحبا بك في print() نعم\n\n{said}"


def _utf16_slice(text: str, entity: dict[str, object]) -> str:
    """The part of `text` an entity covers, its offset and length counted in UTF-16 units."""
    data = text.encode("utf-16-le")
    offset, length = int(str(entity["offset"])), int(str(entity["length"]))
    assert utf16_len(text) >= offset + length
    return data[2 * offset : 2 * (offset + length)].decode("utf-16-le")


@pytest.mark.relaxed(default_language="es")
async def test_messages_kept_across_a_restart_are_answered_in_the_chats_language_or_the_default(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    # Telegram's language code is not kept with a message: after a restart the chat's own choice
    # is known, else DEFAULT_LANGUAGE. The messages reached an earlier run, which kept them.
    kept = [
        telegram.user_sends(chat, "kept", language_code="ru")["message_id"] for chat in (CHAT, 11)
    ]
    telegram.confirm_updates(telegram.last_update_id + 1)
    store = await ChatStore.open(settings.database_path)
    try:
        await store.set_chat_language(CHAT, "de")
        for chat, message_id in zip((CHAT, 11), kept, strict=True):
            await store.receive(
                ChatKey(chat, 0), "kept", telegram_message_id=message_id, user_id=chat
            )
    finally:
        await store.close()
    upstream.script(ReplyScript("", fault=Fault.HTTP_500), ReplyScript("", fault=Fault.HTTP_500))
    async with running_bot(settings):
        await telegram.wait_until(
            lambda: bool(telegram.texts(CHAT) and telegram.texts(11)), timeout=20
        )
    error = UpstreamHTTPError(500, "Internal Server Error")
    assert telegram.texts(CHAT) == [notice(in_language("de", lambda: error.user_message))]
    assert telegram.texts(11) == [notice(in_language("es", lambda: error.user_message))]


@pytest.mark.relaxed
async def test_forget_deletes_the_chats_language_choice_too(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await answer_to(telegram, CHAT, "/language de", language_code="en")
        chosen = await answer_to(telegram, CHAT, "/stop", language_code="en")
        await answer_to(telegram, CHAT, "/forget", language_code="en")
        confirm = telegram.bot_messages(CHAT)[-1]
        asked = confirm.text
        [forget] = [data for label, data in button_data(confirm).items() if label[0] == "🗑"]
        await press(telegram, CHAT, confirm, forget, user_id=CHAT)
        await telegram.wait_until(lambda: confirm.text != asked and "…" not in (confirm.text or ""))
        after = await answer_to(telegram, CHAT, "/stop", language_code="en")
    assert chosen == in_language("de", lambda: _(NOTHING_TO_STOP))
    # The choice was a setting of the chat: gone with the rest, the user's own language reads.
    assert after == NOTHING_TO_STOP
