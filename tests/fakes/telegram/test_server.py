"""The fake Telegram server, driven through a real `telegram.Bot`: PTB's wire format is accepted
and Telegram's refusals come back as PTB's own exceptions."""

from __future__ import annotations

import pytest
import telegram
from telegram import MessageEntity
from telegram.constants import ReactionEmoji
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken

from tests.fakes.telegram import FakeTelegram, FloodLimits
from tests.fakes.telegram.client import OPUS, bot_for, buttons, last_error
from tests.support import FakeClock

EMOJI = "😀"


# --- sending and editing ---------------------------------------------------------------------


async def test_send_message_is_recorded_with_text_entities_and_keyboard(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.user_sends(42, "hi")
    sent = await bot.send_message(
        42, f"Hello {EMOJI}!", entities=[MessageEntity("bold", 6, 2)], reply_markup=buttons("a")
    )
    recorded = fake.bot_messages(42)[0]
    assert (sent.message_id, sent.from_user.id if sent.from_user else None) == (2, fake.bot_id)
    assert (recorded.text, recorded.entities, recorded.reply_markup) == (
        f"Hello {EMOJI}!",
        [{"type": "bold", "offset": 6, "length": 2}],
        {"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]},
    )
    assert "parse_mode" not in fake.calls_to("sendMessage")[0].params


async def test_text_of_4097_utf16_units_is_rejected(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.user_sends(42, "hi")
    text = EMOJI * 2048 + "a"  # 2049 characters, 4097 UTF-16 units
    with pytest.raises(BadRequest):
        await bot.send_message(42, text)
    assert last_error(fake) == "Bad Request: message is too long"


async def test_entity_past_the_end_is_rejected_and_one_over_a_surrogate_pair_accepted(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.user_sends(42, "hi")
    await bot.send_message(42, f"hi {EMOJI}", entities=[MessageEntity("italic", 3, 2)])
    with pytest.raises(BadRequest):
        await bot.send_message(42, f"hi {EMOJI}", entities=[MessageEntity("italic", 3, 3)])
    assert last_error(fake) == (
        "Bad Request: entity beginning at UTF-16 offset 3 ends after the end of the text "
        "at UTF-16 offset 6"
    )


async def test_partially_overlapping_entities_are_rejected(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.user_sends(42, "hi")
    overlapping = [MessageEntity("bold", 0, 5), MessageEntity("italic", 3, 5)]
    with pytest.raises(BadRequest):
        await bot.send_message(42, "hello world", entities=overlapping)
    assert last_error(fake) == (
        "Bad Request: can't parse entities: italic entity at UTF-16 offset 3 partially "
        "overlaps bold entity at UTF-16 offset 0"
    )
    assert fake.bot_messages(42) == []


async def test_unchanged_edit_is_not_modified(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.user_sends(42, "hi")
    sent = await bot.send_message(42, "draft", reply_markup=buttons("stop"))
    await bot.edit_message_text("final", 42, sent.message_id)
    with pytest.raises(BadRequest):
        await bot.edit_message_text("final", 42, sent.message_id)
    recorded = fake.bot_messages(42)[0]
    assert (recorded.history, recorded.reply_markup, len(recorded.edit_times)) == (
        ["draft", "final"],
        None,
        1,
    )
    assert str(last_error(fake)).startswith("Bad Request: message is not modified: specified")


async def test_removing_the_keyboard_twice_is_not_modified(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.user_sends(42, "hi")
    sent = await bot.send_message(42, "pick", reply_markup=buttons("a"))
    await bot.edit_message_reply_markup(42, sent.message_id, reply_markup=None)
    with pytest.raises(BadRequest):
        await bot.edit_message_reply_markup(42, sent.message_id)
    recorded = fake.bot_messages(42)[0]
    assert (recorded.reply_markup, recorded.history, len(recorded.edit_times)) == (
        None,
        ["pick"],
        1,
    )


async def test_edit_after_user_deleted_the_message_is_not_found(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.user_sends(42, "hi")
    sent = await bot.send_message(42, "soon gone")
    fake.delete_message(42, sent.message_id)
    with pytest.raises(BadRequest):
        await bot.edit_message_text("edited", 42, sent.message_id)
    assert last_error(fake) == "Bad Request: message to edit not found"
    assert fake.bot_messages(42, include_deleted=True)[0].deleted


async def test_editing_a_users_message_is_refused(fake: FakeTelegram, bot: telegram.Bot) -> None:
    message = fake.user_sends(42, "mine")
    with pytest.raises(BadRequest):
        await bot.edit_message_text("yours", 42, message["message_id"])
    assert last_error(fake) == "Bad Request: message can't be edited"


async def test_reply_to_missing_message_needs_allow_sending_without_reply(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    asked = fake.user_sends(42, "question")
    with pytest.raises(BadRequest):
        await bot.send_message(42, "answer", reply_to_message_id=999)
    assert last_error(fake) == "Bad Request: message to be replied not found"
    await bot.send_message(42, "answer", reply_to_message_id=999, allow_sending_without_reply=True)
    reply = await bot.send_message(42, "answer", reply_to_message_id=asked["message_id"])
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "question"


async def test_unknown_chat_is_not_found(fake: FakeTelegram, bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest):
        await bot.send_message(777, "hello?")
    assert last_error(fake) == "Bad Request: chat not found"


async def test_callback_data_over_64_bytes_is_rejected(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.user_sends(42, "hi")
    with pytest.raises(BadRequest):
        await bot.send_message(42, "pick", reply_markup=buttons("x" * 65))
    assert last_error(fake) == "Bad Request: BUTTON_DATA_INVALID"


# --- chats, topics, users --------------------------------------------------------------------


async def test_general_topic_id_is_rejected_in_a_forum(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    asked = fake.user_sends(
        -1001, "/ask hi", chat_type="supergroup", is_forum=True, message_thread_id=7
    )
    assert (asked["message_thread_id"], asked["is_topic_message"]) == (7, True)
    assert "forum_topic_created" in asked["reply_to_message"]
    with pytest.raises(BadRequest):
        await bot.send_message(-1001, "hello", message_thread_id=1)
    assert last_error(fake) == "Bad Request: message thread not found"
    await bot.send_message(-1001, "hello", message_thread_id=7)
    assert fake.bot_messages(-1001)[0].message_thread_id == 7


async def test_voice_forbidden_by_the_user_is_refused_but_audio_works(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.user_sends(42, "talk to me")
    fake.forbid_voice(42)
    with pytest.raises(BadRequest):
        await bot.send_voice(42, OPUS, duration=2)
    assert last_error(fake) == "Bad Request: VOICE_MESSAGES_FORBIDDEN"
    await bot.send_audio(42, b"ID3\x04" + b"\x00" * 64, duration=2, title="Reply")
    assert [m.kind for m in fake.bot_messages(42)] == ["audio"]


async def test_voice_that_is_not_opus_arrives_as_a_document(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.user_sends(42, "hi")
    message = await bot.send_voice(42, b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 32)
    assert (message.voice, fake.bot_messages(42)[0].kind) == (None, "document")


async def test_blocked_bot_gets_forbidden(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.user_sends(42, "bye")
    fake.block_bot(42)
    with pytest.raises(Forbidden):
        await bot.send_message(42, "still there?")
    assert last_error(fake) == "Forbidden: bot was blocked by the user"


async def test_migrated_group_tells_the_bot_the_new_chat_id(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.add_to_group(-5, title="Old group")
    fake.migrate_group(-5, -1005)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(-5, "hello")
    assert caught.value.new_chat_id == -1005
    await bot.send_message(-1005, "hello again")


async def test_commands_and_mentions_from_users_get_entities(fake: FakeTelegram) -> None:
    message = fake.user_sends(-100, f"/ask@gpt_test_bot {EMOJI} hi @alice_b", chat_type="group")
    assert message["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 17},
        {"type": "mention", "offset": 24, "length": 8},
    ]
    assert message["from"]["id"] != message["chat"]["id"]


async def test_admins_are_reported_creator_first(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.add_to_group(-7)
    fake.set_chat_admins(-7, [10, 11])
    statuses = [m.status for m in await bot.get_chat_administrators(-7)]
    member = await bot.get_chat_member(-7, 12)
    assert (statuses, member.status) == (["creator", "administrator"], "left")


async def test_sent_and_driven_objects_match_the_schema(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.user_sends(
        -1001, "@gpt_test_bot hi", chat_type="supergroup", is_forum=True, message_thread_id=3
    )
    fake.user_sends_voice(42, OPUS, duration=1)
    fake.user_sends_photo(42, b"\xff\xd8", width=800, height=600, caption="look")
    fake.add_to_group(-9)
    sent = await bot.send_message(42, "pick", reply_markup=buttons("a"))
    fake.press_button(42, sent.message_id, "a")
    for update in fake.pending_updates:
        fake.schema.check_object("Update", update)
    assert len(fake.pending_updates) == 6


# --- callbacks, commands, chat actions, drafts -----------------------------------------------


async def test_callback_query_can_be_answered_once(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.user_sends(42, "menu")
    sent = await bot.send_message(42, "pick", reply_markup=buttons("a", "b"))
    query = fake.press_button(42, sent.message_id, "b")
    assert fake.unanswered_callbacks == [query["id"]]
    await bot.answer_callback_query(query["id"], text="Done")
    assert fake.unanswered_callbacks == []
    with pytest.raises(BadRequest):
        await bot.answer_callback_query(query["id"])
    assert last_error(fake) == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )


async def test_commands_are_stored_per_scope_and_validated(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    await bot.set_my_commands([("new", "Start over")])
    await bot.set_my_commands(
        [("ask", "Ask")], scope=telegram.BotCommandScopeAllGroupChats(), language_code="de"
    )
    with pytest.raises(BadRequest):
        await bot.set_my_commands([("New-Chat", "Bad name")])
    assert fake.commands_for() == [{"command": "new", "description": "Start over"}]
    assert [c.command for c in await bot.get_my_commands()] == ["new"]
    assert fake.commands_for({"type": "all_group_chats"}, "de") == [
        {"command": "ask", "description": "Ask"}
    ]
    assert last_error(fake) == "Bad Request: BOT_COMMAND_INVALID"


async def test_chat_action_must_be_a_known_action(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.user_sends(42, "hi")
    assert await bot.send_chat_action(42, "record_voice")
    with pytest.raises(BadRequest):
        await bot.send_chat_action(42, "dancing")
    assert last_error(fake) == "Bad Request: wrong parameter action in request"


async def test_message_drafts_work_in_private_chats_only(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.user_sends(42, "hi")
    fake.user_sends(-3, "/ask hi")
    await bot.send_message_draft(42, draft_id=7, text="Thinking about")
    with pytest.raises(BadRequest):
        await bot.send_message_draft(-3, draft_id=7, text="no")
    assert [d.text for d in fake.drafts_in(42)] == ["Thinking about"]
    assert last_error(fake) == "Bad Request: TEXTDRAFT_PEER_INVALID"


async def test_a_client_shows_the_latest_draft_per_id_until_it_expires() -> None:
    clock = FakeClock(0.0)
    async with (
        FakeTelegram(limits=FloodLimits.relaxed(), clock=clock) as fake,
        bot_for(fake) as bot,
    ):
        fake.user_sends(42, "hi")
        await bot.send_message_draft(42, draft_id=7)  # no text: "Thinking…"
        await bot.send_message_draft(42, draft_id=7, text="Hello")
        await bot.send_message_draft(42, draft_id=8, text="Other")
        assert [(d.draft_id, d.text) for d in fake.visible_drafts(42)] == [
            (7, "Hello"),
            (8, "Other"),
        ]
        assert [d.text for d in fake.drafts_in(42)] == ["", "Hello", "Other"]
        clock.now = 29.0
        await bot.send_message_draft(42, draft_id=8, text="Other, again")
        clock.now = 30.0
        assert [d.text for d in fake.visible_drafts(42)] == ["Other, again"]
        clock.now = 59.0
        assert fake.visible_drafts(42) == []


async def test_a_message_from_the_bot_dismisses_its_drafts_in_that_chat_or_topic(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.user_sends(42, "hi")
    topic = fake.user_sends(42, "in a topic")["message_id"]
    await bot.send_message_draft(42, draft_id=7, text="Hello")
    await bot.send_message_draft(42, draft_id=7, text="In the topic", message_thread_id=topic)
    await bot.send_message(42, "Hello there")
    assert fake.visible_drafts(42) == []
    assert [d.text for d in fake.visible_drafts(42, topic)] == ["In the topic"]


async def test_a_server_without_drafts_answers_404_which_ptb_raises_as_invalid_token(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.user_sends(42, "hi")
    fake.drafts_refused = True
    with pytest.raises(InvalidToken, match=r"^Not Found"):
        await bot.send_message_draft(42, draft_id=7, text="Hello")
    assert fake.calls_to("sendMessageDraft")[0].error_code == 404
    assert fake.visible_drafts(42) == []


async def test_a_reaction_replaces_the_last_and_only_standard_emoji_pass(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    message_id = fake.user_sends(42, "hi")["message_id"]
    await bot.set_message_reaction(42, message_id, ReactionEmoji.EYES)
    await bot.set_message_reaction(42, message_id, [ReactionEmoji.WRITING_HAND])
    await bot.set_message_reaction(42, message_id, [])
    with pytest.raises(BadRequest):
        await bot.set_message_reaction(42, message_id, "✍️")  # not a member: a custom emoji id
    assert last_error(fake) == "Bad Request: REACTION_INVALID"
    with pytest.raises(BadRequest):
        await bot.set_message_reaction(42, message_id, [ReactionEmoji.EYES, ReactionEmoji.FIRE])
    assert fake.reactions_on(42, message_id) == [["👀"], ["✍"], []]
