"""Hostile audio through the real Application, the fake Telegram, the fake upstream and ffmpeg:
files that claim to be short, decode to far more than they weigh, or never finish converting,
and many at once. Telegram's limits are relaxed: these tests are about what is heard and said.

`gated_ffmpeg` puts an ffmpeg first on PATH whose decoding runs wait until the test opens it.
"""

from __future__ import annotations

import asyncio
import base64
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import bot.app
from bot.config import Settings
from bot.media.capacity import AudioBudget, ConversionLimit
from tests.e2e.chat import answer_to, last_text, shown
from tests.e2e.harness import running_bot
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.fakes.upstream import FakeUpstream, Fault, ReplyScript, make_wav
from tests.support import GatedFfmpeg, HeardMp3, audio_bomb, heard_mp3, process_exists

pytestmark = pytest.mark.relaxed

CHAT = 20
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) + b"\xff\xd9"
PHOTO_ANSWER = "You said: [photo 640x480]\nwhat is it? [image]"


def heard_audio(body: dict[str, Any]) -> tuple[str, HeardMp3]:
    """The text part of a request's audio turn, and what its MP3 part holds."""
    [user] = [m for m in body["messages"] if m["role"] == "user"][-1:]
    text_part, audio_part = user["content"]
    assert audio_part["input_audio"]["format"] == "mp3"
    return text_part["text"], heard_mp3(base64.b64decode(audio_part["input_audio"]["data"]))


async def answered(telegram: FakeTelegram, chat_id: int, count: int = 1) -> list[SentMessage]:
    await telegram.wait_until(lambda: len(telegram.bot_messages(chat_id)) >= count)
    return telegram.bot_messages(chat_id)


async def test_an_8_channel_192_khz_flac_reaches_the_model_as_16_khz_mono_of_its_real_length(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        telegram.user_sends_audio(CHAT, audio_bomb(20.0), duration=3, mime_type="audio/flac")
        await answered(telegram, CHAT)
    [request] = upstream.chat_requests()
    text, heard = heard_audio(request.body)
    assert (text, heard.channels, heard.rate) == ("[audio file, 20 s]", 1, 16_000)
    # Decoded, an MP3 starts with its encoder's delay (about 70 ms at 16 kHz).
    assert heard.seconds == pytest.approx(20.0, abs=0.15)


@pytest.mark.relaxed(voice_max_seconds=10)
async def test_audio_really_longer_than_allowed_is_refused_whatever_its_sender_claims(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        telegram.user_sends_audio(CHAT, audio_bomb(60.0), duration=3, mime_type="audio/flac")
        [refusal] = await answered(telegram, CHAT)
        telegram.user_sends_audio(CHAT, audio_bomb(10.4), duration=10, mime_type="audio/flac")
        await answered(telegram, CHAT, 2)
    assert shown(refusal) == (
        "That audio file is longer than 10 s: I can listen to at most 10 s."
        " Please send a shorter one."
    )
    [request] = upstream.chat_requests()
    text, heard = heard_audio(request.body)
    assert (text, heard.channels, heard.rate) == ("[audio file, 10 s]", 1, 16_000)
    assert heard.seconds == pytest.approx(10.4, abs=0.15)


@pytest.mark.relaxed(voice_convert_timeout=0.5)
async def test_a_conversion_over_its_time_limit_is_killed_and_the_sender_told(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings, gated_ffmpeg: GatedFfmpeg
) -> None:
    async with running_bot(settings):
        telegram.user_sends_voice(CHAT, make_wav(2.0), duration=2)
        [told] = await answered(telegram, CHAT)
        after = await answer_to(telegram, CHAT, "still there?")
    assert shown(told) == (
        "Converting that audio took longer than 0.5 s, so I stopped. Please send a shorter"
        " recording, or another format (a voice note always works)."
    )
    [pid] = gated_ffmpeg.started()
    assert not process_exists(pid)
    assert after == "You said: still there?"
    assert len(upstream.chat_requests()) == 1


@pytest.mark.relaxed(voice_concurrency=2)
async def test_over_the_conversion_limit_audio_waits_while_photos_and_texts_are_answered(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings, gated_ffmpeg: GatedFfmpeg
) -> None:
    # As few worker threads as conversions: were a conversion to wait in one, photos (whose
    # images are read in worker threads) would wait behind the audio.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=2))
    voices = (31, 32, 33)
    async with running_bot(settings) as application:
        for chat in voices:
            telegram.user_sends_voice(chat, make_wav(1.0), duration=1)
        await gated_ffmpeg.wait_for_starts(2)
        limit = application.bot_data["services"].audio_slots
        assert isinstance(limit, ConversionLimit)
        await telegram.wait_until(lambda: limit.waiting == 1)
        telegram.user_sends_photo(34, PHOTO, 640, 480, caption="what is it?")
        # The whole answer, not its first words: the audio still waits when it is complete.
        await telegram.wait_until(lambda: last_text(telegram, 34) == PHOTO_ANSWER)
        photo_answers = telegram.texts(34)
        telegram.user_sends(35, "hello")
        await telegram.wait_until(lambda: last_text(telegram, 35) == "You said: hello")
        text_answer = last_text(telegram, 35)
        waiting_then = (len(gated_ffmpeg.started()), limit.running, limit.waiting)
        gated_ffmpeg.open()
        spoken = [(await answered(telegram, chat))[0] for chat in voices]
    assert photo_answers == [PHOTO_ANSWER]
    assert text_answer == "You said: hello"
    assert waiting_then == (2, 2, 1)
    assert [message.kind for message in spoken] == ["voice"] * 3
    assert gated_ffmpeg.most_at_once() == 2
    assert len(gated_ffmpeg.started()) == 3


async def test_audio_in_flight_waits_for_room_and_gives_it_back_however_its_turn_ends(
    telegram: FakeTelegram,
    upstream: FakeUpstream,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    note = make_wav(1.0)  # about 6 KB of MP3 as base64: one fits the budget, two don't
    budget = AudioBudget(8_000)
    monkeypatch.setattr(bot.app, "audio_budget", lambda _: budget)
    upstream.script(
        ReplyScript("", fault=Fault.HANG_BEFORE_FIRST_TOKEN),  # chat 41: stopped
        ReplyScript("Heard you."),  # chat 42: answered
        ReplyScript("", fault=Fault.HTTP_401),  # chat 43: the upstream refuses
        ReplyScript("", fault=Fault.HANG_BEFORE_FIRST_TOKEN),  # chat 44: the bot stops
    )

    def requests() -> int:
        return len(upstream.chat_requests())

    async with running_bot(settings):
        telegram.user_sends_voice(41, note, duration=1)
        await upstream.wait_until(lambda: requests() == 1)
        one_note = budget.held
        telegram.user_sends_voice(42, note, duration=1)
        await telegram.wait_until(lambda: budget.waiting == 1)
        waiting_then = (budget.held, requests())
        telegram.user_sends(41, "/stop")
        [answer] = await answered(telegram, 42)
        await telegram.wait_until(lambda: budget.held == 0)
        telegram.user_sends_voice(43, note, duration=1)
        [refused] = await answered(telegram, 43)
        await telegram.wait_until(lambda: budget.held == 0)
        telegram.user_sends_voice(44, note, duration=1)
        await upstream.wait_until(lambda: requests() == 4)
        held_at_stop = budget.held
    assert 4_000 < one_note < 8_000
    assert waiting_then == (one_note, 1)  # the second note's audio not sent meanwhile
    assert shown(telegram.bot_messages(41)[-1]).endswith("Stopped.")
    assert (answer.kind, answer.caption) == ("voice", "Heard you.")
    assert refused.text is not None
    assert held_at_stop == one_note
    assert (budget.held, budget.waiting) == (0, 0)  # given back when the bot stopped too
