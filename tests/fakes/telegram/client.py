"""What the fake Telegram's own tests share: a real `telegram.Bot` pointed at the fake, and a
voice note's worth of OGG/Opus header bytes."""

from __future__ import annotations

import telegram

from tests.fakes.telegram import FakeTelegram

OPUS = b"OggS" + b"\x00" * 24 + b"OpusHead" + b"\x01" * 64


def bot_for(fake: FakeTelegram) -> telegram.Bot:
    return telegram.Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
