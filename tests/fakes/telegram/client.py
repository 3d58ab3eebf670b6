"""What the fake Telegram's own tests share: a real `telegram.Bot` pointed at the fake, a
keyboard to send, the last error the fake answered, and a voice note's worth of OGG/Opus header
bytes."""

from __future__ import annotations

import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from tests.fakes.telegram import FakeTelegram

OPUS = b"OggS" + b"\x00" * 24 + b"OpusHead" + b"\x01" * 64


def bot_for(fake: FakeTelegram) -> telegram.Bot:
    return telegram.Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)


def buttons(*data: str) -> InlineKeyboardMarkup:
    """One row of buttons, each labelled with its callback data."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d) for d in data]])


def last_error(fake: FakeTelegram) -> str | None:
    """Telegram's description of the latest call the fake rejected; None before any."""
    return fake.rejections[-1].error if fake.rejections else None
