"""bot.media.audio with the real ffmpeg: the output is checked by ffprobe and the wave module;
the bounds of a run (duration, output, time, how many at once) with crafted files and an ffmpeg
held at a gate (`gated_ffmpeg`)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import tempfile
import wave
from pathlib import Path

import pytest

from bot.errors import AudioUndecodable, FfmpegMissing
from bot.media import audio, capacity, ffmpeg
from tests.fakes.upstream import make_wav
from tests.support import GatedFfmpeg, audio_bomb, heard_mp3, process_exists

PROBE = ("ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams")
FIVE_MINUTES = audio.Bounds(seconds=300, timeout=30)


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
    heard = await audio.to_wav(note.ogg, FIVE_MINUTES)
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
        await audio.to_wav(data, FIVE_MINUTES)


async def test_a_broken_wav_reply_is_a_typed_error() -> None:
    with pytest.raises(AudioUndecodable):
        await audio.wav_to_voice(b"RIFF\x00\x00\x00\x00WAVEjunk")


async def test_without_ffmpeg_on_path_every_conversion_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert ffmpeg.ffmpeg_path() is None
    with pytest.raises(FfmpegMissing):
        await audio.wav_to_voice(make_wav(1.0))
    with pytest.raises(FfmpegMissing):
        await audio.to_wav(b"OggS", FIVE_MINUTES)
    assert "ffmpeg" in FfmpegMissing().user_message


def wav_shape(heard: audio.PcmAudio) -> tuple[int, int, int, float]:
    """(channels, bytes per sample, rate, seconds) of converted audio, read by the wave module."""
    with wave.open(io.BytesIO(heard.wav), "rb") as wav:
        rate = wav.getframerate()
        return (wav.getnchannels(), wav.getsampwidth(), rate, wav.getnframes() / rate)


def private_folders(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.glob("bot-audio-*"))


async def test_an_8_channel_192_khz_flac_becomes_16_khz_mono_of_its_real_length() -> None:
    heard = await audio.to_wav(audio_bomb(20.0), audio.Bounds(seconds=20, timeout=30))
    assert wav_shape(heard) == (1, 2, 16_000, 20.0)
    assert heard.duration == 20.0


async def test_an_audio_bomb_padded_to_a_size_weighs_that_and_decodes_to_the_same_audio() -> None:
    bounds = audio.Bounds(seconds=20, timeout=30)
    padded = audio_bomb(3.0, size=1024 * 1024)
    assert len(padded) == 1024 * 1024
    assert (await audio.to_wav(padded, bounds)).wav == (
        await audio.to_wav(audio_bomb(3.0), bounds)
    ).wav


def test_an_audio_bomb_is_not_padded_below_its_own_size() -> None:
    with pytest.raises(ValueError, match="can't pad"):
        audio_bomb(3.0, size=1000)


async def test_audio_longer_than_its_bound_is_refused_as_too_long() -> None:
    with pytest.raises(audio.AudioTooLong) as refused:
        await audio.to_wav(audio_bomb(60.0), audio.Bounds(seconds=5, timeout=30))
    assert refused.value.limit == 5
    assert "longer than 5 s" in refused.value.user_message


async def test_audio_within_its_bound_by_less_than_the_overrun_is_heard_in_full() -> None:
    heard = await audio.to_wav(audio_bomb(5.0), audio.Bounds(seconds=5, timeout=30))
    assert wav_shape(heard)[2:] == (16_000, 5.0)


async def test_output_over_its_byte_cap_is_refused_as_too_long() -> None:
    half_a_second = audio.INPUT_BYTES_PER_SECOND // 2
    bounds = audio.Bounds(seconds=300, timeout=30, output_bytes=half_a_second)
    with pytest.raises(audio.AudioTooLong):
        await audio.to_wav(make_wav(3.0), bounds)


async def test_a_conversion_over_its_timeout_is_killed_and_leaves_no_file(
    gated_ffmpeg: GatedFfmpeg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(audio.AudioTimedOut) as timed_out:
        await audio.to_wav(make_wav(1.0), audio.Bounds(seconds=300, timeout=0.5))
    [pid] = gated_ffmpeg.started()
    assert not process_exists(pid)
    assert private_folders(tmp_path) == []
    assert timed_out.value.user_message == (
        "Converting that audio took longer than 0.5 s, so I stopped. Please send a shorter"
        " recording, or another format (a voice note always works)."
    )


async def test_a_cancelled_conversion_kills_ffmpeg_and_leaves_no_file(
    gated_ffmpeg: GatedFfmpeg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    converting = asyncio.create_task(audio.to_wav(make_wav(1.0), FIVE_MINUTES))
    await gated_ffmpeg.wait_for_starts(1)
    assert len(private_folders(tmp_path)) == 1
    converting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await converting
    [pid] = gated_ffmpeg.started()
    assert not process_exists(pid)
    assert private_folders(tmp_path) == []


async def test_a_finished_conversion_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    await audio.to_wav(make_wav(1.0), FIVE_MINUTES)
    with pytest.raises(AudioUndecodable):
        await audio.to_wav(b"not audio at all " * 50, FIVE_MINUTES)
    await audio.wav_to_voice(make_wav(1.0))
    assert private_folders(tmp_path) == []


async def test_with_a_limit_of_one_a_second_conversion_waits_for_the_first(
    gated_ffmpeg: GatedFfmpeg,
) -> None:
    limit = capacity.ConversionLimit(1)

    async def convert() -> audio.PcmAudio:
        async with limit.slot():
            return await audio.to_wav(make_wav(1.0), FIVE_MINUTES)

    first = asyncio.create_task(convert())
    await gated_ffmpeg.wait_for_starts(1)
    second = asyncio.create_task(convert())
    await asyncio.sleep(0)  # the second runs up to its wait for a slot
    assert (limit.running, limit.waiting, len(gated_ffmpeg.started())) == (1, 1, 1)
    gated_ffmpeg.open()
    heard = await asyncio.gather(first, second)
    assert [wav_shape(h)[3] for h in heard] == [1.0, 1.0]
    assert gated_ffmpeg.most_at_once() == 1
    assert (limit.running, limit.waiting) == (0, 0)


def test_a_conversion_limit_allows_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least one"):
        capacity.ConversionLimit(0)


async def test_audio_for_the_model_is_mono_16_khz_mp3_of_its_real_length() -> None:
    bounds = audio.Bounds(seconds=30, timeout=30)
    heard = await audio.to_mp3(audio_bomb(20.0), bounds)
    shape = heard_mp3(heard.mp3)
    assert (shape.codec, shape.channels, shape.rate) == ("mp3", 1, 16_000)
    # Decoded, an MP3 starts with its encoder's delay (about 70 ms); `duration` leaves it out.
    assert shape.seconds == pytest.approx(20.0, abs=0.15)
    assert heard.duration == pytest.approx(20.0, abs=0.04)
    assert len(heard.mp3) == pytest.approx(
        len((await audio.to_wav(audio_bomb(20.0), bounds)).wav) / 8, rel=0.02
    )


async def test_mp3_for_the_model_longer_than_its_bound_is_refused_as_too_long() -> None:
    with pytest.raises(audio.AudioTooLong):
        await audio.to_mp3(audio_bomb(60.0), audio.Bounds(seconds=5, timeout=30))
    heard = await audio.to_mp3(audio_bomb(4.95), audio.Bounds(seconds=5, timeout=30))
    assert heard.duration == pytest.approx(4.95, abs=0.04)


async def test_a_running_ffmpeg_has_the_lowest_cpu_priority(gated_ffmpeg: GatedFfmpeg) -> None:
    converting = asyncio.create_task(audio.to_mp3(make_wav(1.0), FIVE_MINUTES))
    await gated_ffmpeg.wait_for_starts(1)
    [pid] = gated_ffmpeg.started()
    # The priority is set once the process has started: wait for it (20 s at most).
    for _ in range(2000):
        if os.getpriority(os.PRIO_PROCESS, pid) == ffmpeg.FFMPEG_NICENESS:
            break
        await asyncio.sleep(0.01)
    niceness = os.getpriority(os.PRIO_PROCESS, pid)
    gated_ffmpeg.open()
    await converting
    assert (ffmpeg.FFMPEG_NICENESS, niceness) == (19, 19)


# --- the budget of audio in flight -----------------------------------------------------------


async def test_audio_holds_within_the_budget_are_granted_at_once_and_counted() -> None:
    budget = capacity.AudioBudget(100)
    releases = [await budget.hold(size) for size in (30, 30, 40)]
    assert (budget.held, budget.waiting) == (100, 0)
    for release in releases:
        release()
    assert (budget.held, budget.waiting) == (0, 0)


async def test_a_hold_that_does_not_fit_waits_until_room_is_given_back() -> None:
    budget = capacity.AudioBudget(100)
    first = await budget.hold(70)
    second = asyncio.create_task(budget.hold(50))
    await asyncio.sleep(0)
    assert (second.done(), budget.held, budget.waiting) == (False, 70, 1)
    first()
    release = await second
    assert (budget.held, budget.waiting) == (50, 0)
    release()
    release()  # given back once, however often it is called
    assert budget.held == 0


async def test_holds_are_granted_first_come_first_served() -> None:
    budget = capacity.AudioBudget(100)
    first = await budget.hold(60)
    large = asyncio.create_task(budget.hold(80))
    await asyncio.sleep(0)
    small = asyncio.create_task(budget.hold(10))  # it would fit, but the large one came first
    await asyncio.sleep(0)
    assert (large.done(), small.done(), budget.waiting) == (False, False, 2)
    first()
    await asyncio.gather(large, small)
    assert budget.held == 90


async def test_a_hold_larger_than_the_budget_waits_until_nothing_else_is_held() -> None:
    budget = capacity.AudioBudget(100)
    other = await budget.hold(1)
    huge = asyncio.create_task(budget.hold(10_000))
    await asyncio.sleep(0)
    assert not huge.done()
    other()
    release = await huge
    assert budget.held == 100
    release()
    assert budget.held == 0


async def test_a_cancelled_wait_holds_nothing_and_lets_the_next_one_go() -> None:
    budget = capacity.AudioBudget(100)
    first = await budget.hold(60)
    blocked = asyncio.create_task(budget.hold(80))
    behind = asyncio.create_task(budget.hold(40))
    await asyncio.sleep(0)
    blocked.cancel()
    release = await behind  # the cancelled one no longer stands in its way
    assert (budget.held, budget.waiting) == (100, 0)
    first()
    release()
    assert budget.held == 0


async def test_a_hold_granted_to_a_caller_cancelled_meanwhile_is_given_back() -> None:
    budget = capacity.AudioBudget(100)
    first = await budget.hold(60)
    waiting = asyncio.create_task(budget.hold(80))
    await asyncio.sleep(0)
    first()  # grants the waiting one, which has not run since
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert (budget.held, budget.waiting) == (0, 0)


def test_an_audio_budget_allows_at_least_one_byte() -> None:
    with pytest.raises(ValueError, match="at least one byte"):
        capacity.AudioBudget(0)
