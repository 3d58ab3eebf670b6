"""bot.media.audio with the real ffmpeg: the output is checked by ffprobe and the wave module."""

from __future__ import annotations

import io
import json
import subprocess
import tempfile
import wave
from pathlib import Path

import pytest

from bot.errors import AudioUndecodable, FfmpegMissing
from bot.media import audio
from tests.fakes.upstream import make_wav

PROBE = ("ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams")


def probe(data: bytes) -> tuple[str, str, int, int, float]:
    """(codec, container, channels, sample rate, duration) of audio bytes, read by ffprobe."""
    # From a file, not a pipe: ffprobe needs to seek to the end of an OGG to know its duration.
    with tempfile.NamedTemporaryFile() as file:
        file.write(data)
        file.flush()
        out = subprocess.run(
            [*PROBE, file.name],
            capture_output=True,
            check=True,
        ).stdout
    info = json.loads(out)
    [stream] = info["streams"]
    return (
        stream["codec_name"],
        info["format"]["format_name"],
        int(stream["channels"]),
        int(stream["sample_rate"]),
        float(info["format"]["duration"]),
    )


def stereo_wav(seconds: float, rate: int = 44_100) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\x10\x00\xf0\xff" * int(seconds * rate))
    return buffer.getvalue()


@pytest.mark.parametrize("seconds", [0.6, 7.0, 30.0])
async def test_a_wav_becomes_a_mono_48_khz_opus_voice_note_of_the_same_length(
    seconds: float,
) -> None:
    note = await audio.wav_to_voice(make_wav(seconds))
    codec, container, channels, rate, duration = probe(note.ogg)
    assert (codec, container, channels, rate) == ("opus", "ogg", 1, 48_000)
    assert duration == pytest.approx(seconds, rel=0.05)
    assert note.duration == pytest.approx(seconds, rel=0.01)
    assert note.whole_seconds == max(1, round(seconds))


async def test_a_voice_note_is_about_32_kbit_per_second() -> None:
    note = await audio.wav_to_voice(make_wav(30.0))
    kbit_per_second = len(note.ogg) * 8 / 30.0 / 1000
    assert 16 < kbit_per_second < 48


async def test_a_stereo_wav_becomes_a_mono_voice_note() -> None:
    note = await audio.wav_to_voice(stereo_wav(2.0))
    assert probe(note.ogg)[2:4] == (1, 48_000)


async def test_an_ogg_voice_note_round_trips_to_16_bit_mono_wav_of_the_same_length() -> None:
    note = await audio.wav_to_voice(make_wav(5.0))
    heard = await audio.to_wav(note.ogg)
    with wave.open(io.BytesIO(heard.wav), "rb") as wav:
        shape = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
        frames = wav.getnframes()
    assert shape == (1, 2, 16_000)
    assert frames / 16_000 == pytest.approx(5.0, rel=0.05)
    assert heard.duration == pytest.approx(5.0, rel=0.05)


async def test_a_wav_becomes_an_mp3_for_send_audio() -> None:
    mp3 = await audio.wav_to_mp3(make_wav(2.0))
    codec, _, channels, _, duration = probe(mp3)
    assert (codec, channels) == ("mp3", 1)
    assert duration == pytest.approx(2.0, rel=0.05)


@pytest.mark.parametrize(
    "data",
    [b"", b"OggS" + bytes(range(256)) * 4, b"not audio at all " * 50],
    ids=["empty", "broken-ogg", "text"],
)
async def test_undecodable_input_is_a_typed_error(data: bytes) -> None:
    with pytest.raises(AudioUndecodable):
        await audio.to_wav(data)


async def test_a_broken_wav_reply_is_a_typed_error() -> None:
    with pytest.raises(AudioUndecodable):
        await audio.wav_to_voice(b"RIFF\x00\x00\x00\x00WAVEjunk")


async def test_without_ffmpeg_on_path_every_conversion_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert audio.ffmpeg_path() is None
    with pytest.raises(FfmpegMissing):
        await audio.wav_to_voice(make_wav(1.0))
    with pytest.raises(FfmpegMissing):
        await audio.to_wav(b"OggS")
    assert "ffmpeg" in FfmpegMissing().user_message
