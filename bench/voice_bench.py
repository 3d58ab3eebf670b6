"""Voice conversion benchmark: replies out (WAV to voice notes), and audio bombs in.

Run as `python -m bench.voice_bench [--replies N] [--seconds S] [--runs R] [--bombs B]
[--bomb-seconds T]`. Two loads, each measured in this process, as the bot would run them:

- Replies out. A 30-second WAV reply (the fake upstream's 24 kHz mono tone, the shape the
  seed's audio model sends) becomes an OGG/Opus voice note with `bot.media.audio.wav_to_voice`:
  the time to convert one (median and worst of R runs), and the event-loop lag (how late a
  10 ms sleep wakes, `bench.loop_lag.LoopLagSampler`) while N convert at once.
- Audio bombs in. Crafted FLACs of silence, 8 channels at 192 kHz (`tests.support.audio_bomb`:
  60 s weigh 32 KB, 299 s 126 KB), are turned into audio for the model as a voice note's turn
  does: in a slot of a `ConversionLimit` of VOICE_CONCURRENCY, by `audio.to_mp3` within the
  default VOICE_MAX_SECONDS and VOICE_CONVERT_TIMEOUT. For one of each, then B of the T-second
  one at once: how much resident memory this process gained at its peak (the kernel's
  high-water mark, reset before each load), the largest ffmpeg child's peak and the most this
  process and its children held together (sampled every 5 ms), and, for the B at once, the
  event-loop lag and how long a job handed to the default worker-thread pool waits to start
  (photos and documents are read in those threads).

Targets: loop lag p99 <= 50 ms under either load; at most 100 MB (MiB, as every memory figure
here) gained by this process for any bomb load; worker-thread wait p99 <= 50 ms while the bombs
convert. Memory figures read /proc, so they need Linux. Prints one row per figure with its
target and ok/MISSED; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.loop_lag import LoopLagSampler
from bench.measure import MIB, Figure, Target, percentile, read_peak_rss, read_rss
from bot.config import Settings
from bot.media import audio, capacity, ffmpeg
from tests.fakes.upstream import make_wav
from tests.support import audio_bomb

LAG_TARGET_MS = 50.0
WORKER_WAIT_TARGET_MS = 50.0
RSS_TARGET_MIB = 100.0
MEMORY_SAMPLE_INTERVAL = 0.005
WORKER_PROBE_INTERVAL = 0.02
SHORT_BOMB_SECONDS = 60.0

Convert = Callable[[bytes], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class VoiceBenchResult:
    one_median_s: float
    one_worst_s: float
    together_s: float
    lag_p99_ms: float
    lag_max_ms: float
    samples: int


@dataclass(frozen=True, slots=True)
class BombResult:
    """One bomb load: memory in MiB, times in seconds; lags and waits only for a load at once."""

    label: str
    gained_mib: float  # this process's peak resident memory, over what it held before
    child_peak_mib: float  # the largest ffmpeg child's peak
    together_peak_mib: float  # this process and its children at once, sampled, over before
    elapsed_s: float
    lags_s: list[float] = field(default_factory=list)
    worker_waits_s: list[float] = field(default_factory=list)


async def convert_one(wav: bytes, runs: int) -> list[float]:
    """Seconds per conversion, one conversion at a time."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        await audio.wav_to_voice(wav)
        timings.append(time.perf_counter() - started)
    return timings


async def convert_together(wav: bytes, replies: int) -> tuple[float, list[float]]:
    """Seconds for `replies` simultaneous conversions, and the loop's lags meanwhile (s)."""
    sampler = LoopLagSampler()
    sampler.start()
    await asyncio.sleep(0.05)  # let the sampler take its first samples before the load
    started_mono = time.monotonic()
    started = time.perf_counter()
    await asyncio.gather(*(audio.wav_to_voice(wav) for _ in range(replies)))
    elapsed = time.perf_counter() - started
    ended_mono = time.monotonic()
    await sampler.stop()
    return elapsed, sampler.lags_between(started_mono, ended_mono)


async def run(replies: int, seconds: float, runs: int) -> VoiceBenchResult:
    wav = make_wav(seconds)
    await audio.wav_to_voice(make_wav(0.5))  # warm-up: imports, the first ffmpeg start
    one = await convert_one(wav, runs)
    together, lags = await convert_together(wav, replies)
    return VoiceBenchResult(
        one_median_s=statistics.median(one),
        one_worst_s=max(one),
        together_s=together,
        lag_p99_ms=percentile(lags, 99) * 1000,
        lag_max_ms=max(lags) * 1000,
        samples=len(lags),
    )


# --- audio bombs in ----------------------------------------------------------------------------


def bot_conversion(settings: Settings) -> Convert:
    """Incoming audio converted as a voice note's turn converts it, with `settings`' bounds."""
    limit = capacity.ConversionLimit(settings.voice_concurrency)
    bounds = audio.Bounds(
        seconds=settings.voice_max_seconds + 1, timeout=settings.voice_convert_timeout
    )

    async def convert(data: bytes) -> object:
        async with limit.slot():
            return await audio.to_mp3(data, bounds)

    return convert


class MemoryWatch:
    """Resident memory of this process and its child processes while a load runs.

    This process's peak is the kernel's high-water mark (VmHWM), reset on entry by writing 5 to
    /proc/self/clear_refs; the children (ffmpeg) and the sum are sampled by a thread.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.before = 0
        self.gained = 0
        self.child_peak = 0
        self.together_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="memory-watch", daemon=True)

    def __enter__(self) -> MemoryWatch:
        Path("/proc/self/clear_refs").write_text("5")
        self.before = read_rss(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.gained = read_peak_rss(self.pid) - self.before

    def _sample(self) -> None:
        while not self._stop.wait(MEMORY_SAMPLE_INTERVAL):
            total = read_rss(self.pid)
            for child in _children(self.pid):
                with contextlib.suppress(OSError, ValueError):  # it ended meanwhile
                    total += read_rss(child)
                    self.child_peak = max(self.child_peak, read_peak_rss(child))
            self.together_peak = max(self.together_peak, total - self.before)


def _children(pid: int) -> Iterator[int]:
    """The ffmpeg processes `pid` started: a child not yet past its exec is a copy of this
    process, and its memory is this one's."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:  # the thread ended meanwhile
            continue
        for child in children:
            with contextlib.suppress(OSError):
                if Path(f"/proc/{child}/comm").read_text().strip() == ffmpeg.FFMPEG:
                    yield int(child)


async def probe_workers(waits: list[float], stop: asyncio.Event) -> None:
    """Hand a no-op to the default worker-thread pool every 20 ms; record how long each waited."""
    while not stop.is_set():
        handed = time.perf_counter()
        started = await asyncio.to_thread(time.perf_counter)
        waits.append(started - handed)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), WORKER_PROBE_INTERVAL)


async def bomb_load(label: str, bomb: bytes, count: int, convert: Convert) -> BombResult:
    """Convert `count` copies of `bomb` at once, watching memory (and, for several, the loop
    and the worker threads)."""
    sampler = LoopLagSampler()
    waits: list[float] = []
    stop = asyncio.Event()
    sampler.start()
    probing = asyncio.create_task(probe_workers(waits, stop))
    await asyncio.sleep(0.05)

    async def converted() -> None:
        await convert(bomb)  # and dropped, as a turn drops it once it is sent upstream

    with MemoryWatch() as memory:
        started = time.monotonic()
        await asyncio.gather(*(converted() for _ in range(count)))
        ended = time.monotonic()
    stop.set()
    await probing
    await sampler.stop()
    return BombResult(
        label=label,
        gained_mib=memory.gained / MIB,
        child_peak_mib=memory.child_peak / MIB,
        together_peak_mib=memory.together_peak / MIB,
        elapsed_s=ended - started,
        lags_s=sampler.lags_between(started, ended) if count > 1 else [],
        worker_waits_s=waits if count > 1 else [],
    )


async def run_bombs(bombs: int, bomb_seconds: float, convert: Convert) -> list[BombResult]:
    short, long = audio_bomb(SHORT_BOMB_SECONDS), audio_bomb(bomb_seconds)
    await convert(audio_bomb(1.0))  # warm-up
    loads = [
        (f"one {SHORT_BOMB_SECONDS:g} s bomb ({len(short) // 1024} KB)", short, 1),
        (f"one {bomb_seconds:g} s bomb ({len(long) // 1024} KB)", long, 1),
        (f"{bombs} {bomb_seconds:g} s bombs at once", long, bombs),
    ]
    return [await bomb_load(label, data, count, convert) for label, data, count in loads]


def bomb_figures(results: list[BombResult]) -> list[Figure]:
    rss = Target("<=", RSS_TARGET_MIB)
    lag, wait = Target("<=", LAG_TARGET_MS), Target("<=", WORKER_WAIT_TARGET_MS)
    figures = []
    for number, result in enumerate(results, 1):
        key = f"bomb{number}_"
        figures += [
            Figure(key + "gained_mib", f"{result.label}: bot RSS", result.gained_mib, "MB", rss),
            Figure(key + "child_mib", "  largest ffmpeg child", result.child_peak_mib, "MB"),
            Figure(key + "sum_mib", "  bot + children", result.together_peak_mib, "MB"),
            Figure(key + "elapsed_s", "  all converted", result.elapsed_s, "s"),
        ]
        if result.lags_s:
            lags_ms = [seconds * 1000 for seconds in result.lags_s]
            waits_ms = [seconds * 1000 for seconds in result.worker_waits_s]
            figures += [
                Figure(key + "lag_p99_ms", "  loop lag p99", percentile(lags_ms, 99), "ms", lag),
                Figure(key + "lag_max_ms", "  loop lag max", max(lags_ms), "ms"),
                Figure(
                    key + "worker_p99_ms",
                    "  worker-thread wait p99",
                    percentile(waits_ms, 99),
                    "ms",
                    wait,
                ),
                Figure(key + "worker_max_ms", "  worker-thread wait max", max(waits_ms), "ms"),
            ]
    return figures


def figures(result: VoiceBenchResult, replies: int, seconds: float) -> list[Figure]:
    reply = f"{seconds:g} s reply"
    return [
        Figure("convert_one_median_s", f"convert one {reply}, median", result.one_median_s, "s"),
        Figure("convert_one_worst_s", f"convert one {reply}, worst", result.one_worst_s, "s"),
        Figure("convert_together_s", f"{replies} at once, all done", result.together_s, "s"),
        Figure(
            "loop_lag_p99_ms",
            f"loop lag p99 while {replies} convert",
            result.lag_p99_ms,
            "ms",
            Target("<=", LAG_TARGET_MS),
        ),
        Figure("loop_lag_max_ms", "loop lag max meanwhile", result.lag_max_ms, "ms"),
    ]


def print_table(title: str, rows: list[Figure]) -> bool:
    """Print the figures under `title`; whether any missed its target."""
    print(title)
    print(f"{'figure':<46}  {'value':>8}  {'target':<8}  verdict")
    missed = False
    for figure in rows:
        target = str(figure.target) if figure.target else ""
        print(
            f"{figure.label:<46}  {figure.shown():>8} {figure.unit:<2} {target:<8}  "
            f"{figure.verdict}"
        )
        missed = missed or figure.verdict == "MISSED"
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=10, help="simultaneous conversions")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each reply")
    parser.add_argument("--runs", type=int, default=5, help="runs of the single conversion")
    parser.add_argument("--bombs", type=int, default=10, help="audio bombs converted at once")
    parser.add_argument("--bomb-seconds", type=float, default=299.0, help="length of each bomb")
    args = parser.parse_args()
    if ffmpeg.ffmpeg_path() is None:
        print("ffmpeg is not on PATH; the voice benchmark needs it", file=sys.stderr)
        return 2
    result = asyncio.run(run(args.replies, args.seconds, args.runs))
    title = f"voice conversion: WAV -> OGG/Opus, {result.samples} loop-lag samples under load"
    missed = print_table(title, figures(result, args.replies, args.seconds))
    settings = Settings(telegram_bot_token="1:bench", _env_file=None)  # type: ignore[arg-type,call-arg]
    bombs = asyncio.run(run_bombs(args.bombs, args.bomb_seconds, bot_conversion(settings)))
    print()
    title = (
        f"audio bombs in: 8-channel 192 kHz FLACs, VOICE_CONCURRENCY={settings.voice_concurrency},"
        f" VOICE_MAX_SECONDS={settings.voice_max_seconds}"
    )
    missed = print_table(title, bomb_figures(bombs)) or missed
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
