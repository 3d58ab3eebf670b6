"""HISTORY_RETENTION_DAYS end to end: the running bot deletes idle conversations' history on its
own, keeps the rest, and a chat whose history went starts afresh."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.store import ChatKey, ChatStore
from tests.e2e.chat import ask
from tests.e2e.harness import make_settings, running_bot
from tests.e2e.stored import Stored, stored_down_to, stored_messages
from tests.fakes.telegram import FakeTelegram
from tests.fakes.upstream import FakeUpstream
from tests.support import FakeClock, query

pytestmark = pytest.mark.relaxed()

DAY = 86_400.0
QUIET, LIVELY = 10, 20


async def talk(store: ChatStore, chat_id: int, text: str) -> None:
    await store.add_user_message(ChatKey(chat_id), text, telegram_message_id=None, user_id=chat_id)
    await store.add_assistant_message(ChatKey(chat_id), f"re: {text}", model="m", user_id=chat_id)


async def test_the_bot_deletes_the_history_of_conversations_idle_longer_than_the_setting(
    telegram: FakeTelegram, upstream: FakeUpstream, tmp_path: Path
) -> None:
    database = tmp_path / "bot.sqlite3"
    clock = FakeClock(now=time.time() - 3 * DAY)
    store = await ChatStore.open(database, clock=clock)
    await talk(store, QUIET, "three days ago")
    await talk(store, LIVELY, "three days ago")
    clock.now += 3 * DAY - 3600
    await talk(store, LIVELY, "an hour ago")
    await store.close()
    settings = make_settings(telegram, upstream, database, history_retention_days=2)

    async with running_bot(settings):
        assert await stored_down_to(database, QUIET, 0) == []
        body = await ask(telegram, upstream, QUIET, "do you remember me?")

    assert body["messages"][1:] == [{"role": "user", "content": "do you remember me?"}]
    assert [row.content for row in await stored_messages(database, LIVELY)] == [
        "three days ago",
        "re: three days ago",
        "an hour ago",
        "re: an hour ago",
    ]
    assert await stored_messages(database, QUIET) == [
        Stored("user", "do you remember me?", "complete", 1),
        Stored("assistant", "You said: do you remember me?", "complete"),
    ]
    assert await query(database, "SELECT user_id, messages FROM usage_archive") == [(QUIET, 1)]
