"""Many chats at once through the real Application, under a bot-wide limit of 5 calls a second.

The fake Telegram enforces that limit (and the per-chat ones) exactly; the bot is configured for
it, so every reply must complete without a single 429 while the chats compete for the window.
Replies beyond UPSTREAM_CONCURRENCY wait their turn without holding up anything else.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from bot.store import ChatKey, ChatStore
from bot.store.writer_lock import when_work_began
from tests.e2e.harness import make_settings, running_bot
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream, Fault, ReplyScript

RATE = 5
pytestmark = pytest.mark.flood_limits(global_per_second=RATE)
PRIVATE_CHATS = [2001 + i for i in range(8)]
GROUPS = [-1002001, -1002002]
REPLY = " ".join(f"word{i}" for i in range(30))
CHUNK = 8  # characters per streamed chunk


async def test_ten_chats_share_five_calls_a_second_and_every_reply_completes_without_a_429(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    chats = PRIVATE_CHATS + GROUPS
    # Each reply streams in 25 chunks over 2.5 s: far more edits are wanted than 5 a second allow.
    upstream.script(*[ReplyScript(REPLY, chunk_size=CHUNK, chunk_delay=0.1) for _ in chats])
    settings = make_settings(telegram, upstream, tmp_path / "bot.sqlite3", global_rate_limit=RATE)
    async with running_bot(settings):
        for chat in PRIVATE_CHATS:
            telegram.user_sends(chat, "tell me")
        for group in GROUPS:
            telegram.user_sends(group, "/ask tell me", chat_type="supergroup", chat_title="G")
        await telegram.wait_until(
            lambda: all(telegram.texts(chat) == [REPLY] for chat in chats),
            timeout=40,
        )
    assert telegram.flood_rejections == 0
    assert telegram.rejections == []
    for chat in chats:
        [message] = telegram.bot_messages(chat)
        assert all(REPLY.startswith(state) for state in message.history)
        assert message.history == sorted(message.history, key=len)  # never an older text
    # Five first texts fill the window; the others waited for it, and show what had streamed by
    # the time they could go, not the first chunk they were queued with.
    firsts = sorted((telegram.bot_messages(chat)[0] for chat in chats), key=lambda m: m.sent_at)
    assert all(len(m.history[0]) > CHUNK for m in firsts[RATE:])


async def test_a_reply_past_the_upstream_concurrency_waits_its_turn_while_commands_still_work(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    first, waiting, other = PRIVATE_CHATS[:3]
    upstream.script(ReplyScript(REPLY, chunk_size=CHUNK, fault=Fault.STALL_MID_STREAM))
    settings = make_settings(
        telegram,
        upstream,
        tmp_path / "bot.sqlite3",
        global_rate_limit=RATE,
        upstream_concurrency=1,
        upstream_first_token_timeout=0.5,
        upstream_idle_timeout=30,
    )
    async with running_bot(settings):
        telegram.user_sends(first, "a reply that stalls")
        await telegram.wait_until(lambda: bool(telegram.bot_messages(first)))
        telegram.user_sends(waiting, "my turn next")
        telegram.user_sends(other, "/help")
        await telegram.wait_until(lambda: bool(telegram.bot_messages(other)))
        await asyncio.sleep(1.0)  # twice the first-token timeout: waiting must not count
        assert len(upstream.chat_requests()) == 1  # the one reply slot is still taken
        telegram.user_sends(first, "/stop")
        await telegram.wait_until(lambda: telegram.texts(waiting) == ["You said: my turn next"])

    assert telegram.texts(first)[0].endswith("⚠️ Stopped.")
    assert [r.body["messages"][-1]["content"] for r in upstream.chat_requests()] == [
        "a reply that stalls",
        "my turn next",
    ]


async def test_a_turns_writes_carry_the_moment_its_update_arrived_in_arrival_order(
    telegram: FakeTelegram,
    upstream: FakeUpstream,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The store's writer goes to the oldest work first (bot/store/writer_lock.py): that works
    # only if each update's handlers note when it arrived and its queued turn, answered later by
    # the chat's worker, still carries that moment when it stores the question and the answer.
    stamps: list[tuple[str, int, float | None]] = []
    user_message = ChatStore.add_user_message
    assistant_message = ChatStore.add_assistant_message

    async def add_user_message(self: ChatStore, key: ChatKey, *args: Any, **kwargs: Any) -> Any:
        stamps.append(("question", key.chat_id, when_work_began()))
        return await user_message(self, key, *args, **kwargs)

    async def add_assistant_message(self: ChatStore, key: ChatKey, *a: Any, **kw: Any) -> Any:
        stamps.append(("answer", key.chat_id, when_work_began()))
        return await assistant_message(self, key, *a, **kw)

    monkeypatch.setattr(ChatStore, "add_user_message", add_user_message)
    monkeypatch.setattr(ChatStore, "add_assistant_message", add_assistant_message)
    first, second = PRIVATE_CHATS[:2]
    settings = make_settings(telegram, upstream, tmp_path / "bot.sqlite3")
    async with running_bot(settings):
        before = time.monotonic()
        telegram.user_sends(first, "one")
        await telegram.wait_until(lambda: telegram.texts(first) == ["You said: one"])
        telegram.user_sends(second, "two")
        await telegram.wait_until(lambda: telegram.texts(second) == ["You said: two"])
    by_chat = {chat: [s for kind, c, s in stamps if c == chat] for chat in (first, second)}
    assert [kind for kind, _, _ in stamps] == ["question", "answer"] * 2
    [(asked_first, answered_first), (asked_second, answered_second)] = by_chat.values()
    assert asked_first is not None
    assert asked_second is not None
    assert (answered_first, answered_second) == (asked_first, asked_second)
    assert before <= asked_first < asked_second
