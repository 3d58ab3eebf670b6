"""Formatted replies through the fake Telegram, which validates entities as Telegram does."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from bot.config import Settings
from bot.conversation.answer import EMPTY_REPLY_NOTICE
from bot.render.convert import render, utf16_len
from tests.e2e.harness import running_bot
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream, ReplyScript

# Fast edits in these tests: rendering is under test here, not pacing.
pytestmark = pytest.mark.relaxed(private_edit_interval=0.05)

CORPUS_DIR = Path(__file__).parents[1] / "unit" / "corpus"
CORPUS = sorted(CORPUS_DIR.glob("*.md"))


def words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text)


def chat_text(telegram: FakeTelegram, chat_id: int) -> str:
    """Every text the bot shows in the chat, one per line."""
    return "\n".join(telegram.texts(chat_id))


async def test_every_corpus_reply_arrives_formatted_whole_and_without_a_400(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    sources = [path.read_text() for path in CORPUS]
    upstream.script(*(ReplyScript(text, chunk_size=97) for text in sources))
    async with running_bot(settings) as app:
        for chat_id in range(1, len(sources) + 1):
            telegram.user_sends(chat_id, f"corpus {chat_id}")
            await telegram.wait_until(lambda: not app.bot_data["services"].conversation.busy_any())
        await telegram.wait_until(lambda: len(upstream.chat_requests()) == len(sources), timeout=30)
    assert telegram.rejections == []
    for chat_id, source in enumerate(sources, start=1):
        messages = telegram.bot_messages(chat_id)
        assert messages, f"no reply in chat {chat_id}"
        assert all(utf16_len(m.text or "") <= 4096 for m in messages)
        expected = words(render(source).text)
        assert words(chat_text(telegram, chat_id)) == expected, CORPUS[chat_id - 1]
        assert any(m.entities for m in messages)
        # No markup left on screen: a closed **pair** is always turned into bold.
        assert re.search(r"\*\*\w[^*\n]*\w\*\*", chat_text(telegram, chat_id)) is None


async def test_a_long_reply_continues_in_further_messages_losing_nothing(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    source = (CORPUS_DIR / "long_deployment_guide.md").read_text()
    assert len(source) > 9000
    upstream.script(ReplyScript(source, chunk_size=40))
    async with running_bot(settings):
        telegram.user_sends(5, "a long guide please")
        await telegram.wait_until(lambda: len(upstream.chat_requests()) == 1)
        await telegram.wait_until(
            lambda: words(chat_text(telegram, 5))[-3:] == words(source)[-3:], timeout=30
        )
    messages = telegram.bot_messages(5)
    assert len(messages) >= 3
    assert words(chat_text(telegram, 5)) == words(render(source).text)
    assert telegram.rejections == []


async def test_a_hostile_reply_arrives_whole_in_as_few_messages_as_its_text_needs(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    # A list nested one level per two characters, a table one long cell would pad, and
    # hundreds of unclosed delimiters: each renders to text no longer than a few times itself.
    source = "\n\n".join(
        [
            "Steps:\n\n" + "+ " * 1500 + "done",
            "| a | b |\n|---|---|\n| " + "x" * 3000 + " | y |\n" + "| b | c |\n" * 150,
            "\\( a " * 800 + "end",
        ]
    )
    upstream.script(ReplyScript(source, chunk_size=500))
    async with running_bot(settings):
        telegram.user_sends(9, "something hostile")
        await telegram.wait_until(lambda: len(upstream.chat_requests()) == 1)
        await telegram.wait_until(lambda: chat_text(telegram, 9).endswith("( a end"), timeout=30)
    messages = telegram.bot_messages(9)
    assert telegram.rejections == []
    assert all(utf16_len(m.text or "") <= 4096 for m in messages)
    assert words(chat_text(telegram, 9)) == words(render(source).text)
    assert len(messages) <= 10


async def test_every_streamed_edit_is_formatted_and_an_open_code_fence_shows_as_code(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    source = "Here is **bold** text.\n\n```python\nfor i in range(3):\n    print(i)\n```\nDone."
    upstream.script(ReplyScript(source, chunk_size=3, chunk_delay=0.03))
    async with running_bot(settings):
        telegram.user_sends(6, "show me code")
        await telegram.wait_until(lambda: chat_text(telegram, 6).endswith("Done."), timeout=20)
    [reply] = telegram.bot_messages(6)
    assert len(reply.history) >= 4
    for state in reply.history:
        assert "```" not in state
        if "bold text" in state:
            assert "**" not in state
    assert [e["type"] for e in reply.entities] == ["bold", "pre"]
    assert reply.entities[1]["language"] == "python"


async def test_a_formatted_message_refused_by_telegram_is_resent_as_plain_text(
    telegram: FakeTelegram,
    upstream: FakeUpstream,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    upstream.script(ReplyScript("**Hello** world", chunk_size=100))
    telegram.fail_next(
        "sendMessage",
        error_code=400,
        description="Bad Request: can't parse entities: unsupported start tag at byte offset 0",
    )
    with caplog.at_level(logging.WARNING, logger="bot.delivery.live_reply"):
        async with running_bot(settings):
            telegram.user_sends(7, "hi")
            await telegram.wait_until(lambda: chat_text(telegram, 7) == "Hello world")
    [reply] = telegram.bot_messages(7)
    assert (reply.text, reply.entities) == ("Hello world", [])
    assert "Telegram refused formatting" in caplog.text
    assert '"type": "bold"' in caplog.text


async def test_an_empty_model_reply_gives_a_short_notice_instead_of_an_error(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(ReplyScript(""))
    async with running_bot(settings):
        telegram.user_sends(8, "say nothing")
        await telegram.wait_until(lambda: bool(telegram.bot_messages(8)))
    assert chat_text(telegram, 8) == f"⚠️ {EMPTY_REPLY_NOTICE}"
    assert telegram.rejections == []
