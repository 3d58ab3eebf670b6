"""Telegram faults through the real Application: the reply still arrives whole, or stops quietly.

Each test injects one failure into the fake Telegram (flood limit, timeout, dropped connection,
lost answer, deleted message, blocked bot, migrated group) and checks what the chat shows and
what the database holds afterwards.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import make_settings, running_bot
from tests.e2e.stored import Stored, stored_eventually, stored_messages
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream, ReplyScript

LONG = " ".join(f"word{i}" for i in range(30))  # about 3 s at 8 characters every 0.1 s
SLOW = ReplyScript(LONG, chunk_size=8, chunk_delay=0.1)
SHORT = "Short and sweet."
CHANGES = ("sendMessage", "editMessageText", "editMessageReplyMarkup")


async def test_a_flood_limit_in_one_chat_holds_only_that_chat_and_the_final_text_follows(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(SLOW, SLOW)
    telegram.fail_next(
        "editMessageText",
        error_code=429,
        description="Too Many Requests: retry after 2",
        retry_after=2,
        chat_id=10,
    )
    database = tmp_path / "bot.sqlite3"
    async with running_bot(make_settings(telegram, upstream, database)):
        telegram.user_sends(10, "first")
        telegram.user_sends(20, "second")
        await telegram.wait_until(
            lambda: telegram.texts(10) == [LONG] and telegram.texts(20) == [LONG],
            timeout=30,
        )
    [flood] = [c for c in telegram.calls if c.error_code == 429]
    hold = (flood.at, flood.at + 2)
    changes = [c for c in telegram.calls if c.method in CHANGES and c.error is None]
    in_hold = [c.params["chat_id"] for c in changes if hold[0] < c.at < hold[1]]
    assert 10 not in in_hold  # the chat was left alone for retry_after seconds
    assert 20 in in_hold  # while the other chat went on
    assert [s.status for s in await stored_messages(database, 10)] == ["complete", "complete"]


async def test_a_timed_out_call_is_retried_and_the_reply_arrives_once(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(ReplyScript(SHORT))
    telegram.hang_next("sendMessage", chat_id=10)
    database = tmp_path / "bot.sqlite3"
    async with running_bot(make_settings(telegram, upstream, database, telegram_timeout=0.5)):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: telegram.texts(10) == [SHORT])
    assert len(telegram.calls_to("sendMessage")) == 2  # the one that timed out, the retry
    assert telegram.texts(10) == [SHORT]
    assert await stored_messages(database, 10) == [
        Stored("user", "question", "complete", 1),
        Stored("assistant", SHORT, "complete"),
    ]


async def test_a_dropped_connection_is_retried_and_the_reply_arrives_once(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(ReplyScript(SHORT))
    telegram.drop_next("sendMessage", chat_id=10)
    database = tmp_path / "bot.sqlite3"
    async with running_bot(make_settings(telegram, upstream, database)):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: telegram.texts(10) == [SHORT])
    assert [c.dropped for c in telegram.calls_to("sendMessage")] == [True, False]
    assert telegram.texts(10) == [SHORT]


async def test_an_edit_whose_answer_was_lost_is_not_modified_on_retry_and_that_is_fine(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    # Two chunks: the first text is sent, then the one edit, the final text, whose answer is
    # lost; the reply has ended, so the retry carries the same text and meets "not modified".
    upstream.script(ReplyScript(LONG, chunk_size=len(LONG) // 2 + 1, chunk_delay=0.3))
    telegram.drop_next("editMessageText", after_processing=True, chat_id=10)
    database = tmp_path / "bot.sqlite3"
    async with running_bot(make_settings(telegram, upstream, database)):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: telegram.texts(10) == [LONG], timeout=30)
    assert [c.error for c in telegram.rejections] == [
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message"
    ]
    assert telegram.texts(10) == [LONG]  # no warning, no second message
    assert (await stored_messages(database, 10))[-1] == Stored("assistant", LONG, "complete")


async def test_a_new_message_whose_answer_was_lost_is_sent_again_and_its_copy_is_inert(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    # Telegram shows the first text, but its answer never reaches the bot: to the bot that is
    # the same as a message that never arrived, so it sends it again.
    upstream.script(SLOW)
    telegram.drop_next("sendMessage", after_processing=True, chat_id=10)
    database = tmp_path / "bot.sqlite3"
    async with running_bot(make_settings(telegram, upstream, database)):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: telegram.texts(10)[-1:] == [LONG], timeout=30)
    copy, reply = telegram.bot_messages(10)
    assert [c.dropped for c in telegram.calls_to("sendMessage")] == [True, False]
    assert copy.text is not None
    assert LONG.startswith(copy.text)  # the first words, as they were then
    assert copy.history == [copy.text]  # never edited again
    assert (copy.reply_markup, reply.reply_markup) == (None, None)
    assert any(edit.params.get("reply_markup") for edit in telegram.calls_to("editMessageText"))
    assert await stored_messages(database, 10) == [
        Stored("user", "question", "complete", 1),
        Stored("assistant", LONG, "complete"),
    ]


async def test_a_continuation_whose_answer_was_lost_leaves_a_copy_without_a_stop_button(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    # A reply of three messages, still streaming when its second message is sent.
    text = " ".join(f"word{i}" for i in range(1500))  # about 11,000 characters
    upstream.script(ReplyScript(text, chunk_size=200, chunk_delay=0.1))
    database = tmp_path / "bot.sqlite3"
    async with running_bot(make_settings(telegram, upstream, database)):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: len(telegram.bot_messages(10)) == 1)
        telegram.drop_next("sendMessage", after_processing=True, chat_id=10)
        await telegram.wait_until(lambda: telegram.texts(10)[-1].endswith("word1499"), timeout=30)
    first, copy, *rest = telegram.bot_messages(10)
    lost, *_ = [c for c in telegram.calls_to("sendMessage") if c.dropped]
    assert lost.params["text"] == copy.text
    assert copy.history == [copy.text]
    assert [m.reply_markup for m in telegram.bot_messages(10)] == [None] * (2 + len(rest))
    shown = " ".join(m.text or "" for m in (first, *rest))
    assert shown.split() == text.split()  # the reply itself is whole, once
    assert (await stored_messages(database, 10))[-1] == Stored("assistant", text, "complete")


async def test_a_live_message_the_user_deleted_continues_in_a_new_message(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(SLOW)
    database = tmp_path / "bot.sqlite3"
    async with running_bot(make_settings(telegram, upstream, database)):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: len(telegram.bot_messages(10)) == 1)
        [first] = telegram.bot_messages(10)
        telegram.delete_message(10, first.message_id)
        await telegram.wait_until(lambda: telegram.texts(10) == [LONG], timeout=30)
    assert len(telegram.bot_messages(10, include_deleted=True)) == 2
    assert (await stored_messages(database, 10))[-1] == Stored("assistant", LONG, "complete")


async def test_a_user_who_blocks_the_bot_mid_reply_is_left_alone_and_the_reply_is_stored(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(SLOW)
    database = tmp_path / "bot.sqlite3"
    async with running_bot(make_settings(telegram, upstream, database)):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: len(telegram.bot_messages(10)) == 1)
        telegram.block_bot(10)
        stored = await stored_eventually(database, 10, 2)
        await telegram.wait_until(lambda: any(c.error_code == 403 for c in telegram.calls))
    to_chat = [c for c in telegram.calls if c.params.get("chat_id") == 10]
    [refused] = [c for c in to_chat if c.error_code == 403]
    assert to_chat[-1] is refused  # nothing more was tried: no retries, no error message
    assert stored == [
        Stored("user", "question", "complete", 1),
        Stored("assistant", LONG, "complete"),
    ]


async def test_a_group_that_becomes_a_supergroup_mid_reply_gets_the_rest_there(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(SLOW)
    database = tmp_path / "bot.sqlite3"
    settings = make_settings(telegram, upstream, database, group_edit_interval=0.5)
    supergroup = -1_000_000_005
    async with running_bot(settings):
        telegram.user_sends(-5, "/ask question", chat_type="group")
        await telegram.wait_until(lambda: len(telegram.bot_messages(-5)) == 1)
        telegram.migrate_group(-5, supergroup)
        await telegram.wait_until(lambda: telegram.texts(supergroup) == [LONG], timeout=30)
        stored = await stored_eventually(database, supergroup, 2)
    [partial] = telegram.texts(-5)
    # What was shown before the migration stays in the old group, cut where it was.
    assert LONG.startswith(partial)
    assert partial != LONG
    assert [(s.role, s.content, s.status) for s in stored] == [
        ("user", "question", "complete"),
        ("assistant", LONG, "complete"),
    ]
    assert await stored_messages(database, -5) == []
