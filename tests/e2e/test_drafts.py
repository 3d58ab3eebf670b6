"""STREAM_MODE=draft: a private chat's reply streams as a message draft ("Thinking…", then the
text growing), then becomes one or more normal messages; nothing a draft showed is lost when the
reply is stopped, fails, or Telegram refuses drafts (the reply goes on with edits); groups edit.

Flood limits are relaxed and edits paced every 20 ms: these tests are about what is sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.render.convert import split_markdown
from tests.e2e.chat import has_stop_button
from tests.e2e.harness import fast_settings, running_bot
from tests.e2e.stored import stored_messages
from tests.fakes.telegram import ApiCall, FakeTelegram
from tests.fakes.upstream import FakeUpstream, Fault, ReplyScript

pytestmark = pytest.mark.relaxed(stream_mode="draft", draft_stop_after=0)

LONG = " ".join(f"word{i}" for i in range(60))  # about 1.5 s at 8 characters every 0.02 s
SLOW = ReplyScript(LONG, chunk_size=8, chunk_delay=0.02)
SEALED = "⏳"


def texts_drafted(telegram: FakeTelegram, chat_id: int) -> list[str]:
    """What the drafts showed, leaving out "Thinking…" and the ⏳ of a piece being persisted."""
    return [d.text for d in telegram.drafts_in(chat_id) if d.text not in ("", SEALED)]


def calls_in(telegram: FakeTelegram, chat_id: int) -> list[ApiCall]:
    """Every successful call about `chat_id`, in order."""
    return [
        c
        for c in telegram.calls
        if c.params.get("chat_id") == chat_id and c.error is None and not c.dropped
    ]


def after_last_message(telegram: FakeTelegram, chat_id: int) -> list[str]:
    """The methods called for `chat_id` after its last sendMessage."""
    methods = [c.method for c in calls_in(telegram, chat_id)]
    last = len(methods) - 1 - methods[::-1].index("sendMessage")
    return methods[last + 1 :]


async def test_a_reply_shows_thinking_then_a_growing_draft_then_one_message(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings, tmp_path: Path
) -> None:
    upstream.script(SLOW)
    async with running_bot(settings):
        asked = telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: telegram.texts(10) == [LONG], timeout=20)
    drafts = telegram.drafts_in(10)
    assert drafts[0].text == ""  # "Thinking…" first, before any text
    assert {d.draft_id for d in drafts} == {asked["message_id"]}
    grown = texts_drafted(telegram, 10)
    assert len(grown) >= 2
    assert all(LONG.startswith(text) for text in grown)
    assert grown == sorted(grown, key=len)
    # The draft became ⏳ right before the message; no draft call came after it.
    methods = [c.method for c in calls_in(telegram, 10)]
    assert methods[-2:] == ["sendMessageDraft", "sendMessage"]
    assert drafts[-1].text == SEALED
    assert after_last_message(telegram, 10) == []
    assert telegram.calls_to("editMessageText") == []
    assert [c.params["action"] for c in telegram.calls_to("sendChatAction")] == []
    assert telegram.visible_drafts(10) == []
    assert [s.status for s in await stored_messages(tmp_path / "bot.sqlite3", 10)] == [
        "complete",
        "complete",
    ]


async def test_formatting_reaches_every_draft_as_entities(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    bold = "**Bold** then " + " ".join(f"plain{i}" for i in range(40))
    upstream.script(ReplyScript(bold, chunk_size=8, chunk_delay=0.02))
    async with running_bot(settings):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: len(telegram.bot_messages(10)) == 1, timeout=20)
    # As with edits, the bold shows once it is closed; from then on every draft carries it.
    closed = [d for d in telegram.drafts_in(10) if d.text.startswith("Bold then")]
    assert closed
    assert all(d.entities and d.entities[0]["type"] == "bold" for d in closed)
    assert "parse_mode" not in telegram.calls_to("sendMessageDraft")[-1].params
    [message] = telegram.bot_messages(10)
    assert message.entities[0]["type"] == "bold"


async def test_a_long_reply_persists_each_piece_and_keeps_drafting_the_rest(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    paragraph = " ".join(f"w{i:04d}" for i in range(300))  # 1799 characters
    text = "\n\n".join([paragraph] * 5)  # about 9,000: three messages
    upstream.script(ReplyScript(text, chunk_size=200, chunk_delay=0.02))
    async with running_bot(settings):
        telegram.user_sends(10, "question")
        pieces = [p.rendered.text for p in split_markdown(text)]
        assert len(pieces) == 3
        await telegram.wait_until(lambda: telegram.texts(10) == pieces, timeout=30)
    # Split exactly as with edits, and the draft went on with the next piece's text.
    assert any(pieces[1].startswith(t) for t in texts_drafted(telegram, 10))
    assert len({d.draft_id for d in telegram.drafts_in(10)}) == 1
    assert after_last_message(telegram, 10) == []
    assert [c.method for c in calls_in(telegram, 10)].count("sendMessage") == 3


async def test_stop_persists_what_the_draft_showed_marked_stopped(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings, tmp_path: Path
) -> None:
    upstream.script(ReplyScript(LONG, chunk_size=8, chunk_delay=0.1))
    async with running_bot(settings):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: len(texts_drafted(telegram, 10)) >= 2)
        telegram.user_sends(10, "/stop")
        await telegram.wait_until(lambda: bool(telegram.texts(10)))
        await upstream.wait_until(lambda: upstream.disconnects == 1)
    [shown] = telegram.texts(10)
    kept = shown.removesuffix("\n\n⚠️ Stopped.")
    assert kept != shown
    assert LONG.startswith(kept)
    assert all(kept.startswith(seen) for seen in texts_drafted(telegram, 10))  # nothing lost
    assert after_last_message(telegram, 10) == []
    stored = await stored_messages(tmp_path / "bot.sqlite3", 10)
    assert [(s.content, s.status) for s in stored][1:] == [(kept, "stopped")]


async def test_an_upstream_error_persists_the_partial_text_with_its_notice(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(
        ReplyScript(
            LONG, chunk_size=8, chunk_delay=0.05, fault=Fault.CUT_MID_STREAM, after_chunks=6
        )
    )
    async with running_bot(settings):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: bool(telegram.texts(10)), timeout=20)
    [shown] = telegram.texts(10)
    partial = LONG[:48].rstrip()
    assert shown == (
        f"{partial}\n\n⚠️ The AI service sent a reply the bot could not read (stream cut)."
    )
    assert all(partial.startswith(seen) for seen in texts_drafted(telegram, 10))
    assert after_last_message(telegram, 10) == []


async def test_the_draft_is_kept_alive_while_the_model_says_nothing(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(ReplyScript(LONG, fault=Fault.HANG_BEFORE_FIRST_TOKEN))
    settings = fast_settings(
        telegram,
        upstream,
        tmp_path,
        stream_mode="draft",
        draft_keepalive=0.1,
        draft_stop_after=0,
        upstream_first_token_timeout=60,
    )
    async with running_bot(settings):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: len(telegram.drafts_in(10)) >= 3)
        telegram.user_sends(10, "/stop")
        await telegram.wait_until(lambda: bool(telegram.texts(10)))
    thinking = telegram.drafts_in(10)[:3]
    assert [d.text for d in thinking] == ["", "", ""]  # "Thinking…", then the same again
    assert telegram.texts(10) == ["⚠️ Stopped."]
    assert after_last_message(telegram, 10) == []


async def test_a_server_without_drafts_gets_the_reply_by_edits_from_then_on(
    telegram: FakeTelegram,
    upstream: FakeUpstream,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    upstream.script(ReplyScript(LONG, chunk_size=8, chunk_delay=0.05), SLOW)
    async with running_bot(settings):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: len(texts_drafted(telegram, 10)) >= 2)
        seen = texts_drafted(telegram, 10)
        telegram.drafts_refused = True  # as a Bot API server that lacks sendMessageDraft
        await telegram.wait_until(lambda: telegram.texts(10) == [LONG], timeout=20)
        refused = len(telegram.calls_to("sendMessageDraft"))
        telegram.user_sends(11, "another chat, later")
        await telegram.wait_until(lambda: len(telegram.texts(11)) == 1, timeout=20)
    assert telegram.calls_to("sendMessageDraft")[-1].error_code == 404
    assert all(LONG.startswith(text) for text in seen)  # the edits went on from there
    assert telegram.calls_to("editMessageText")
    assert len(telegram.calls_to("sendMessageDraft")) == refused  # the bot stopped asking
    assert [r.getMessage() for r in caplog.records].count(
        "the Bot API server refuses message drafts (Not Found): replies stream with edits"
    ) == 1


async def test_a_chat_that_refuses_drafts_mid_reply_goes_on_with_edits(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(ReplyScript(LONG, chunk_size=8, chunk_delay=0.05), SLOW, SLOW)
    async with running_bot(settings):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: len(texts_drafted(telegram, 10)) >= 2)
        telegram.fail_next(
            "sendMessageDraft", error_code=400, description="Bad Request: TEXTDRAFT_PEER_INVALID"
        )
        await telegram.wait_until(lambda: telegram.texts(10) == [LONG], timeout=20)
        drafted = len(telegram.drafts_in(10))
        telegram.user_sends(10, "again")
        await telegram.wait_until(lambda: telegram.texts(10) == [LONG, LONG], timeout=20)
        telegram.user_sends(11, "another chat")
        await telegram.wait_until(lambda: telegram.texts(11) == [LONG], timeout=20)
    assert [c.error for c in telegram.calls_to("sendMessageDraft") if c.error] == [
        "Bad Request: TEXTDRAFT_PEER_INVALID"
    ]
    assert len(telegram.drafts_in(10)) == drafted  # the chat is remembered as edits-only
    assert texts_drafted(telegram, 11)  # other chats still draft
    assert telegram.calls_to("editMessageText")


async def test_groups_keep_streaming_by_edits(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(SLOW)
    async with running_bot(settings):
        telegram.user_sends(-5, "/ask question", chat_type="supergroup")
        await telegram.wait_until(lambda: telegram.texts(-5) == [LONG], timeout=20)
    assert telegram.calls_to("sendMessageDraft") == []
    assert telegram.calls_to("editMessageText")


async def test_a_reply_still_written_after_a_while_gets_a_stop_message_deleted_at_the_end(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    upstream.script(ReplyScript(LONG, chunk_size=8, chunk_delay=0.1))
    settings = fast_settings(
        telegram, upstream, tmp_path, stream_mode="draft", draft_stop_after=0.3
    )
    async with running_bot(settings):
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: has_stop_button(telegram, 10))
        [stop] = telegram.bot_messages(10)
        before = len(texts_drafted(telegram, 10))
        telegram.press_button(10, stop.message_id, "stop:1")
        await telegram.wait_until(
            lambda: [m.text for m in telegram.bot_messages(10)][-1:] != [stop.text] and stop.deleted
        )
    [shown] = telegram.texts(10)
    assert shown.endswith("\n\n⚠️ Stopped.")
    assert telegram.calls_to("sendMessage")[0].params["disable_notification"] is True
    # The Stop message dismissed the draft, which was shown again right after it.
    methods = [c.method for c in calls_in(telegram, 10)]
    stop_at = methods.index("sendMessage")
    assert methods[stop_at + 1] == "sendMessageDraft"
    assert len(texts_drafted(telegram, 10)) >= before


async def test_a_shutdown_persists_what_the_draft_showed(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings, tmp_path: Path
) -> None:
    upstream.script(ReplyScript(LONG, chunk_size=8, chunk_delay=0.1))
    async with running_bot(settings) as application:
        telegram.user_sends(10, "question")
        await telegram.wait_until(lambda: len(texts_drafted(telegram, 10)) >= 2)
        application.bot_data["services"].conversation.shut_down()  # as SIGTERM does
        await telegram.wait_until(lambda: bool(telegram.texts(10)))
    [shown] = telegram.texts(10)
    partial = shown.removesuffix(
        "\n\n⚠️ The bot restarted, so this reply was cut short. Please ask again."
    )
    assert partial != shown
    assert all(partial.startswith(seen) for seen in texts_drafted(telegram, 10))
    assert after_last_message(telegram, 10) == []
    stored = await stored_messages(tmp_path / "bot.sqlite3", 10)
    assert [(s.content, s.status) for s in stored][1:] == [(partial, "interrupted")]


async def test_a_topic_of_a_private_chat_gets_its_draft_and_message_in_the_topic(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(SLOW)
    async with running_bot(settings):
        telegram.user_sends(10, "question", message_thread_id=7, is_forum=True)
        await telegram.wait_until(lambda: telegram.texts(10) == [LONG], timeout=20)
    drafts = telegram.drafts_in(10)
    assert texts_drafted(telegram, 10)
    assert {d.message_thread_id for d in drafts} == {7}
    assert telegram.bot_messages(10)[0].message_thread_id == 7
    assert telegram.visible_drafts(10, 7) == []
