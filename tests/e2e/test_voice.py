"""Voice both ways through the real Application, the fake Telegram, the fake upstream and ffmpeg.

Pacing is shortened and Telegram's flood limits relaxed: these tests are about what is sent
and heard, not about timing.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from tests.e2e.chat import answer_to, ask, button_data, callback_answers, press, shown
from tests.e2e.harness import running_bot
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.fakes.upstream import FakeUpstream, Fault, ReplyScript, make_wav
from tests.support import HeardMp3, heard_mp3

pytestmark = pytest.mark.relaxed

CHAT = 10
GROUP = -100300400
JOKE = "Why did the scarecrow win an award? Because he was outstanding in his field."
UNREADABLE = (
    "I couldn't play that audio: the file seems damaged or isn't in a format I can read."
    " Please record or send it again."
)


@pytest.fixture(scope="module")
def voice_note() -> bytes:
    """Three seconds of OGG/Opus, as a Telegram client records a voice note."""
    return encoded(make_wav(3.0), "ogg", "-c:a", "libopus")


def encoded(wav: bytes, container: str, *options: str) -> bytes:
    """`wav` encoded by ffmpeg into `container`, as a client app would send it."""
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "wav", "-i", "pipe:0", *options, "-f", container, "-"],
        input=wav,
        capture_output=True,
        check=True,
    ).stdout


def ffprobe(data: bytes) -> dict[str, str]:
    """Codec, container, channels and duration of audio bytes, as ffprobe reads them."""
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,channels,sample_rate:format=format_name,duration",
            "-of",
            "default=noprint_wrappers=1",
            "-",
        ],
        input=data,
        capture_output=True,
        check=True,
        text=False,
    ).stdout.decode()
    return dict(line.split("=", 1) for line in out.split())  # fmt: skip


def bot_messages(telegram: FakeTelegram) -> list[SentMessage]:
    return telegram.bot_messages(CHAT)


async def answered(telegram: FakeTelegram, chat_id: int, count: int) -> list[SentMessage]:
    await telegram.wait_until(lambda: len(telegram.bot_messages(chat_id)) >= count)
    return telegram.bot_messages(chat_id)


def user_message(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return [m for m in messages if m["role"] == "user"][-1]


def mp3_of(part: dict[str, Any]) -> HeardMp3:
    """What an `input_audio` part holds, which must be MP3."""
    assert part["type"] == "input_audio"
    assert part["input_audio"]["format"] == "mp3"
    return heard_mp3(base64.b64decode(part["input_audio"]["data"]))


async def test_an_audio_model_answers_with_a_voice_note_captioned_with_its_transcript(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(ReplyScript(JOKE, audio_seconds=2.0))
    async with running_bot(settings):
        await answer_to(telegram, CHAT, "/model gpt-4o-audio-preview")
        asked = telegram.user_sends(CHAT, "Tell me a joke")
        [_, spoken] = await answered(telegram, CHAT, 2)
        await ask(telegram, upstream, CHAT, "Another one")
    assert spoken.kind == "voice"
    assert spoken.caption == JOKE
    assert spoken.reply_to_message_id == asked["message_id"]
    assert int(spoken.media_params["duration"]) == 2
    assert spoken.media is not None
    probed = ffprobe(spoken.media)
    assert (probed["codec_name"], probed["format_name"], probed["channels"]) == ("opus", "ogg", "1")
    first, second = (call.body for call in upstream.chat_requests())
    assert first["stream"] is False
    assert (first["modalities"], first["audio"]) == (
        ["text", "audio"],
        {"voice": "alloy", "format": "wav"},
    )
    assert second["messages"][-2:] == [
        {"role": "assistant", "content": JOKE},
        {"role": "user", "content": "Another one"},
    ]
    actions = [call.params["action"] for call in telegram.calls_to("sendChatAction")]
    assert actions[0] == "record_voice"
    assert telegram.rejections == []


async def test_a_voice_note_reaches_the_audio_model_as_an_mp3_input_audio_part(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings, voice_note: bytes
) -> None:
    async with running_bot(settings):
        telegram.user_sends_voice(CHAT, voice_note, duration=3)
        [spoken] = await answered(telegram, CHAT, 1)
        await ask(telegram, upstream, CHAT, "and in writing?")
    heard, written = (call.body for call in upstream.chat_requests())
    assert heard["model"] == "gpt-4o-audio-preview"
    text_part, audio_part = user_message(heard["messages"])["content"]
    assert text_part == {"type": "text", "text": "[voice note, 3 s]"}
    heard = mp3_of(audio_part)
    assert (heard.codec, heard.channels, heard.rate) == ("mp3", 1, 16_000)
    # Decoded, an MP3 starts with its encoder's delay (about 70 ms at 16 kHz).
    assert heard.seconds == pytest.approx(3.0, abs=0.15)
    assert spoken.kind == "voice"
    assert spoken.caption == "You said: [voice note, 3 s] [audio]"
    assert written["model"] == "gpt-4o-mini"
    assert written["messages"][1:] == [
        {"role": "user", "content": "[voice note, 3 s]"},
        {"role": "assistant", "content": "You said: [voice note, 3 s] [audio]"},
        {"role": "user", "content": "and in writing?"},
    ]
    assert telegram.downloads == ["voice/file_1.oga"]


async def test_a_text_sent_right_after_a_voice_note_is_answered_after_it(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings, voice_note: bytes
) -> None:
    async with running_bot(settings):
        telegram.user_sends_voice(CHAT, voice_note, duration=3)
        telegram.user_sends(CHAT, "did you hear me?")
        await telegram.wait_until(
            lambda: (
                [shown(m) for m in bot_messages(telegram)][-1:] == ["You said: did you hear me?"]
            )
        )
    heard, question = (user_message(call.body["messages"]) for call in upstream.chat_requests())
    assert heard["content"][0] == {"type": "text", "text": "[voice note, 3 s]"}
    assert question["content"] == "did you hear me?"


async def test_an_audio_file_with_a_caption_is_heard_with_the_caption_as_its_text(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    mp3 = encoded(make_wav(2.0), "mp3")
    async with running_bot(settings):
        telegram.user_sends_audio(CHAT, mp3, duration=2, caption="What note is this?")
        await answered(telegram, CHAT, 1)
    [request] = upstream.chat_requests()
    text_part, audio_part = user_message(request.body["messages"])["content"]
    assert text_part["text"] == "[audio file, 2 s] What note is this?"
    # Two encoders' delays: the file's and the bot's (about 70 ms each).
    assert mp3_of(audio_part).seconds == pytest.approx(2.0, abs=0.2)


async def test_oversized_long_and_corrupt_voice_notes_get_clear_answers_and_go_nowhere(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings, voice_note: bytes
) -> None:
    async with running_bot(settings):
        telegram.user_sends_voice(CHAT, voice_note, duration=3, file_size=11 * 1024 * 1024)
        await answered(telegram, CHAT, 1)
        telegram.user_sends_voice(CHAT, voice_note, duration=301)
        await answered(telegram, CHAT, 2)
        telegram.user_sends_voice(CHAT, b"OggS" + bytes(range(256)) * 8, duration=2)
        await answered(telegram, CHAT, 3)
    assert [shown(m) for m in bot_messages(telegram)] == [
        "That voice note is too large (11.0 MB): I can listen to at most 10 MB.",
        "That voice note is 301 s long: I can listen to at most 300 s. Please send a shorter one.",
        UNREADABLE,
    ]
    assert telegram.downloads == ["voice/file_3.oga"]
    assert upstream.chat_requests() == []


async def test_when_voice_messages_are_forbidden_the_reply_is_an_audio_file_with_the_caption(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings, voice_note: bytes
) -> None:
    async with running_bot(settings):
        await answer_to(telegram, CHAT, "/voice nova")
        telegram.forbid_voice(CHAT)
        asked = telegram.user_sends_voice(CHAT, voice_note, duration=3)
        [_, track] = await answered(telegram, CHAT, 2)
    assert [call.error for call in telegram.calls_to("sendVoice")] == [
        "Bad Request: VOICE_MESSAGES_FORBIDDEN"
    ]
    assert track.kind == "audio"
    assert track.caption == "You said: [voice note, 3 s] [audio]"
    assert track.reply_to_message_id == asked["message_id"]
    assert track.media is not None
    assert ffprobe(track.media)["codec_name"] == "mp3"
    assert upstream.chat_requests()[0].body["audio"] == {"voice": "nova", "format": "wav"}


async def test_a_transcript_longer_than_a_caption_follows_the_voice_note_as_text(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    long = " ".join(["The quick brown fox jumps over the lazy dog."] * 30)
    upstream.script(ReplyScript(long, audio_seconds=1.0))
    async with running_bot(settings):
        await answer_to(telegram, CHAT, "/model gpt-4o-audio-preview")
        telegram.user_sends(CHAT, "Talk for a while")
        [_, spoken, written] = await answered(telegram, CHAT, 3)
    assert (spoken.kind, spoken.caption) == ("voice", None)
    assert (written.kind, written.text) == ("text", long)


async def test_when_the_upstream_sends_no_audio_the_answer_comes_as_text_with_a_notice(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    upstream.script(ReplyScript("Just words.", fault=Fault.NO_AUDIO))
    async with running_bot(settings):
        await answer_to(telegram, CHAT, "/model gpt-4o-audio-preview")
        answer = await answer_to(telegram, CHAT, "Say something")
    assert answer == (
        "Just words.\n\n⚠️ The AI service sent no audio this time, so here is the answer as text."
    )
    assert telegram.calls_to("sendVoice") == []


async def test_without_ffmpeg_a_voice_note_is_answered_with_what_is_missing(
    telegram: FakeTelegram,
    upstream: FakeUpstream,
    settings: Settings,
    voice_note: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = (
        "Voice messages don't work here yet: the program the bot needs for audio (ffmpeg)"
        " isn't installed. Please tell the bot's operator; text messages work as usual."
    )
    monkeypatch.setenv("PATH", str(tmp_path))
    async with running_bot(settings):
        telegram.user_sends_voice(CHAT, voice_note, duration=3)
        [answer] = await answered(telegram, CHAT, 1)
        assert upstream.chat_requests() == []
        await answer_to(telegram, CHAT, "/model gpt-4o-audio-preview")
        telegram.user_sends(CHAT, "speak")
        [*_, written] = await answered(telegram, CHAT, 3)
    assert answer.text == missing
    assert written.text == f"You said: speak\n\n⚠️ {missing}"
    assert telegram.calls_to("sendVoice") == []


async def test_voice_shows_the_voices_as_buttons_and_a_press_sets_one(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        await answer_to(telegram, CHAT, "/voice")
        [keyboard] = bot_messages(telegram)
        labels = list(button_data(keyboard))
        await press(telegram, CHAT, keyboard, "v:shimmer")
    assert labels == ["alloy", "echo", "fable", "onyx", "nova", "shimmer", "✅ Default (alloy)"]
    assert callback_answers(telegram)[-1] == "Voice for this chat: shimmer."
    assert "Voice for this chat: shimmer\n" in (keyboard.text or "")


async def test_voice_with_a_name_sets_the_voice_the_next_spoken_reply_uses(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    async with running_bot(settings):
        refused = await answer_to(telegram, CHAT, "/voice robot")
        chosen = await answer_to(telegram, CHAT, "/voice Echo")
        await answer_to(telegram, CHAT, "/model gpt-4o-audio-preview")
        await answer_to(telegram, CHAT, "hello")
    assert refused == (
        "There is no voice “robot”. Voices: alloy, echo, fable, onyx, nova, shimmer"
        " (or “default”). /voice shows them as buttons."
    )
    assert chosen == "Voice for this chat: echo."
    assert upstream.chat_requests()[-1].body["audio"] == {"voice": "echo", "format": "wav"}


async def test_in_a_group_only_voice_notes_addressed_to_the_bot_are_heard(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings, voice_note: bytes
) -> None:
    group: dict[str, Any] = {"chat_type": "supergroup", "user_id": 1001}
    async with running_bot(settings):
        telegram.user_sends(GROUP, "/ask hi", **group)
        [greeting] = await answered(telegram, GROUP, 1)
        telegram.user_sends_voice(GROUP, voice_note, duration=3, **group)
        telegram.user_sends_voice(
            GROUP, voice_note, duration=3, reply_to_message_id=greeting.message_id, **group
        )
        [_, spoken] = await answered(telegram, GROUP, 2)
        telegram.user_sends_voice(GROUP, voice_note, duration=3, caption="@gpt_test_bot", **group)
        await answered(telegram, GROUP, 3)
    assert spoken.kind == "voice"
    assert len(upstream.chat_requests()) == 3
    assert len(telegram.downloads) == 2


async def test_in_a_group_only_admins_change_the_voice(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings
) -> None:
    member: dict[str, Any] = {"chat_type": "supergroup", "user_id": 1001}
    admin: dict[str, Any] = {"chat_type": "supergroup", "user_id": 2001}
    telegram.add_to_group(GROUP, chat_type="supergroup")
    telegram.set_chat_admins(GROUP, [2001])
    async with running_bot(settings):
        await answered(telegram, GROUP, 1)  # the note the bot posts on joining
        telegram.user_sends(GROUP, "/voice fable", **member)
        refused = shown((await answered(telegram, GROUP, 2))[-1])
        telegram.user_sends(GROUP, "/voice fable", **admin)
        chosen = shown((await answered(telegram, GROUP, 3))[-1])
    assert refused == "Sorry, only this group's admins can change the voice."
    assert chosen == "Voice for this chat: fable."


async def test_a_voice_note_telegram_will_not_hand_over_gets_a_clear_answer(
    telegram: FakeTelegram, upstream: FakeUpstream, settings: Settings, voice_note: bytes
) -> None:
    telegram.fail_next("getFile", error_code=400, description="Bad Request: file is too big")
    telegram.fail_next("getFile", error_code=400, description="Bad Request: invalid file_id")
    async with running_bot(settings):
        telegram.user_sends_voice(CHAT, voice_note, duration=3)
        await answered(telegram, CHAT, 1)
        telegram.user_sends_voice(CHAT, voice_note, duration=3)
        await answered(telegram, CHAT, 2)
    assert [shown(m) for m in bot_messages(telegram)] == [
        "That voice note is too large: I can listen to at most 10 MB.",
        "I couldn't download that audio from Telegram. Please send it again.",
    ]
    assert telegram.downloads == []
    assert upstream.chat_requests() == []
