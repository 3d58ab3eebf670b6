"""Which group messages address the bot, the prompt left once the mention is gone, the quote of
the replied-to message, and the sender names the model sees."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from telegram import Chat, Message, MessageEntity, TextQuote, User

from bot.conversation.request import build_messages, openai_name
from bot.handlers.addressing import (
    Quote,
    asks_in_caption,
    caption_question,
    mentions_bot,
    prompt_of,
    quote_of,
    replied_message,
    replies_to_bot,
    with_quote,
)
from bot.store import Turn

BOT_ID = 123456
BOT_NAME = "gpt_test_bot"
BOT = User(BOT_ID, "GPT Test Bot", is_bot=True, username=BOT_NAME)
ALICE = User(1001, "Alice", is_bot=False)
BOB = User(1002, "Bob", is_bot=False)
GROUP = Chat(-100200300, Chat.SUPERGROUP, title="Test group")
FORUM = Chat(-100200301, Chat.SUPERGROUP, title="Forum", is_forum=True)
WHEN = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def message(
    text: str, *, sender: User = ALICE, chat: Chat = GROUP, message_id: int = 50, **extra: Any
) -> Message:
    """A message whose @mentions carry mention entities, as Telegram adds them."""
    entities = []
    for word in text.split():
        if word.startswith("@"):
            name = word.rstrip("?!.,")
            offset = utf16(text[: text.index(name)])
            entities.append(MessageEntity(MessageEntity.MENTION, offset, utf16(name)))
    return Message(
        message_id, WHEN, chat, from_user=sender, text=text, entities=entities or None, **extra
    )


def bot_message(text: str, message_id: int = 40, chat: Chat = GROUP) -> Message:
    return Message(message_id, WHEN, chat, from_user=BOT, text=text)


def test_a_mention_entity_anywhere_addresses_the_bot_whatever_its_case() -> None:
    actual = [
        mentions_bot(message(text), BOT_NAME, BOT_ID)
        for text in ("@gpt_test_bot hi", "so, @GPT_Test_Bot, what now?", "hi @gpt_test_bot")
    ]
    assert actual == [True, True, True]


def test_a_mention_of_someone_else_or_the_name_without_an_entity_does_not_address_the_bot() -> None:
    other = message("@gpt_test_bot_fan hi @alice")
    plain = Message(1, WHEN, GROUP, from_user=ALICE, text="gpt_test_bot @gpt_test_bot")
    assert [mentions_bot(m, BOT_NAME, BOT_ID) for m in (other, plain)] == [False, False]


def test_a_text_mention_of_the_bot_addresses_it() -> None:
    entity = MessageEntity(MessageEntity.TEXT_MENTION, 0, 3, user=BOT)
    mention = Message(1, WHEN, GROUP, from_user=ALICE, text="GPT, hi", entities=[entity])
    assert mentions_bot(mention, BOT_NAME, BOT_ID) is True


def test_a_mention_in_a_caption_addresses_the_bot() -> None:
    entity = MessageEntity(MessageEntity.MENTION, 5, utf16("@gpt_test_bot"))
    photo = Message(
        1, WHEN, GROUP, from_user=ALICE, caption="what @gpt_test_bot", caption_entities=[entity]
    )
    assert mentions_bot(photo, BOT_NAME, BOT_ID) is True


def test_a_reply_to_the_bots_message_addresses_it_and_a_reply_to_a_person_does_not() -> None:
    to_bot = message("why?", reply_to_message=bot_message("Because."))
    to_bob = message("why?", reply_to_message=message("Because.", sender=BOB, message_id=41))
    assert [replies_to_bot(m, BOT_ID) for m in (to_bot, to_bob)] == [True, False]


def test_a_forum_topic_message_is_not_a_reply_to_the_topics_creation_message() -> None:
    created = Message(
        500,
        WHEN,
        FORUM,
        from_user=BOT,  # even a topic the bot created
        forum_topic_created={"name": "Topic", "icon_color": 7322096},  # type: ignore[arg-type]
        message_thread_id=500,
        is_topic_message=True,
    )
    in_topic = message(
        "hello",
        chat=FORUM,
        message_thread_id=500,
        is_topic_message=True,
        reply_to_message=created,
    )
    assert (replied_message(in_topic), replies_to_bot(in_topic, BOT_ID)) == (None, False)


def test_an_explicit_reply_inside_a_forum_topic_is_a_reply() -> None:
    answer = bot_message("Because.", message_id=501, chat=FORUM)
    in_topic = message(
        "why?", chat=FORUM, message_thread_id=500, is_topic_message=True, reply_to_message=answer
    )
    assert replies_to_bot(in_topic, BOT_ID) is True


def test_the_prompt_loses_the_bots_mention_wherever_it_stands() -> None:
    actual = [
        prompt_of(message(text), BOT_NAME)
        for text in (
            "@gpt_test_bot what is 2+2?",
            "@gpt_test_bot, what is 2+2?",
            "what is 2+2 @gpt_test_bot",
            "tell @GPT_TEST_BOT me a joke",
            "what do you think, @gpt_test_bot?",
        )
    ]
    assert actual == [
        "what is 2+2?",
        "what is 2+2?",
        "what is 2+2",
        "tell me a joke",
        "what do you think,?",
    ]


def test_the_prompt_cuts_the_mention_by_utf16_offsets_after_astral_characters() -> None:
    assert prompt_of(message("🎉🎉 @gpt_test_bot party 🎈"), BOT_NAME) == "🎉🎉 party 🎈"


def test_the_prompt_keeps_other_mentions_and_its_lines() -> None:
    text = "@gpt_test_bot compare\n  @alice's idea\nwith mine"
    assert prompt_of(message(text), BOT_NAME) == "compare\n@alice's idea\nwith mine"


def test_a_mention_alone_leaves_an_empty_prompt() -> None:
    assert prompt_of(message("@gpt_test_bot"), BOT_NAME) == ""


def test_the_quote_of_a_reply_names_its_author_and_is_none_for_the_bot() -> None:
    to_bot = message("why?", reply_to_message=bot_message("Because."))
    to_bob = message("@gpt_test_bot true?", reply_to_message=message("Sky is green.", sender=BOB))
    assert [quote_of(to_bot, BOT_ID), quote_of(to_bob, BOT_ID)] == [
        Quote("Because.", None, 40),
        Quote("Sky is green.", "Bob", 50),
    ]


def test_the_quote_is_only_the_part_the_user_quoted() -> None:
    replied = bot_message("One. Two. Three.")
    asked = message("why two?", reply_to_message=replied, quote=TextQuote("Two.", 5))
    assert quote_of(asked, BOT_ID) == Quote("Two.", None, 40)


def test_a_message_without_an_explicit_reply_has_no_quote() -> None:
    assert quote_of(message("@gpt_test_bot hi"), BOT_ID) is None


def test_a_quote_is_put_before_the_prompt_as_markdown_quote_lines() -> None:
    actual = [
        with_quote("why?", Quote("Because.\n\nReally.", None, 1)),
        with_quote("", Quote("Sky is green.", "Bob", 2)),
    ]
    assert actual == [
        "You wrote earlier:\n> Because.\n>\n> Really.\n\nwhy?",
        "Bob wrote:\n> Sky is green.",
    ]


def test_sender_names_are_cut_to_the_characters_openai_allows() -> None:
    actual = [openai_name(name) for name in ("Alice", "José María", "d'Artagnan", "x" * 70)]
    assert actual == ["Alice", "Jose_Maria", "dArtagnan", "x" * 64]


def test_a_name_in_another_script_gets_a_stable_stand_in_per_person() -> None:
    maria, ivan = openai_name("Мария"), openai_name("Иван")
    assert (maria == openai_name("Мария"), maria == ivan) == (True, False)
    assert maria.startswith("user_")


def test_only_user_turns_with_a_sender_name_carry_a_name_upstream() -> None:
    turns = [
        Turn("user", "hi", "Alice"),
        Turn("assistant", "Hello!", None),
        Turn("user", "and me?", "José"),
        Turn("assistant", "You too!", None),
        Turn("user", "private", None),
    ]
    assert build_messages("Be brief.", turns) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi", "name": "Alice"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "and me?", "name": "Jose"},
        {"role": "assistant", "content": "You too!"},
        {"role": "user", "content": "private"},
    ]


def captioned(caption: str) -> Message:
    """A photo whose caption carries the command and mention entities Telegram adds."""
    entities = []
    if command := re.match(r"/\w+(@\w+)?", caption):
        entities.append(MessageEntity(MessageEntity.BOT_COMMAND, 0, utf16(command[0])))
    if "@gpt_test_bot " in caption[1:]:
        offset = caption.index("@gpt_test_bot", 1)
        entities.append(MessageEntity(MessageEntity.MENTION, offset, utf16("@gpt_test_bot")))
    return Message(
        1, WHEN, GROUP, from_user=ALICE, caption=caption, caption_entities=entities or None
    )


def test_a_caption_starting_with_ask_for_this_bot_or_any_addresses_it() -> None:
    captions = ("/ask what is it", "/ask@GPT_test_bot what", "/ask@other_bot what", "see /ask")
    actual = [asks_in_caption(captioned(c), BOT_NAME) for c in captions]
    assert actual == [True, True, False, False]


def test_a_captions_question_loses_its_ask_and_the_bots_mention() -> None:
    captions = ("/ask what is it", "/ask@gpt_test_bot: what?", "so @gpt_test_bot what", "/ask")
    actual = [caption_question(captioned(c), BOT_NAME) for c in captions]
    assert actual == ["what is it", "what?", "so what", ""]


def test_history_sent_upstream_alternates_roles_leaving_out_unanswered_turns() -> None:
    turns = [
        Turn("assistant", "an answer whose question fell out of the window", None),
        Turn("user", "unanswered: the upstream failed", None),
        Turn("user", "asked again", None),
        Turn("assistant", "Answered.", None),
        Turn("user", "stopped before any words", None),
        Turn("user", "now", None),
    ]
    assert build_messages("", turns) == [
        {"role": "user", "content": "asked again"},
        {"role": "assistant", "content": "Answered."},
        {"role": "user", "content": "now"},
    ]
