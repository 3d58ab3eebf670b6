"""Voice conversion benchmark: event-loop lag while replies convert, and one reply's conversion.

Run as `python -m bench.voice_bench [--replies N] [--seconds S] [--runs R]`. A 30-second WAV
reply (the fake upstream's 24 kHz mono tone, the shape the seed's audio model sends) is turned
into an OGG/Opus voice note with `bot.media.audio.wav_to_voice`, exactly as a spoken reply is:

- the time to convert one reply (median and worst of R runs, one at a time), and
- the event-loop lag (how late a 10 ms sleep wakes, `bench.loop_lag.LoopLagSampler`) while N
  replies convert at once, against the target p99 < 50 ms: conversion runs in worker threads
  and ffmpeg processes, so the loop must stay free for every other chat.

Prints one row per figure with its target and ok/MISSED; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass

from bench.loop_lag import LoopLagSampler
from bench.measure import Figure, Target, percentile
from bot.media import audio
from tests.fakes.upstream import make_wav

LAG_TARGET_MS = 50.0


@dataclass(frozen=True, slots=True)
class VoiceBenchResult:
    one_median_s: float
    one_worst_s: float
    together_s: float
    lag_p99_ms: float
    lag_max_ms: float
    samples: int


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=10, help="simultaneous conversions")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each reply")
    parser.add_argument("--runs", type=int, default=5, help="runs of the single conversion")
    args = parser.parse_args()
    if audio.ffmpeg_path() is None:
        print("ffmpeg is not on PATH; the voice benchmark needs it", file=sys.stderr)
        return 2
    result = asyncio.run(run(args.replies, args.seconds, args.runs))
    print(f"voice conversion: WAV -> OGG/Opus, {result.samples} loop-lag samples under load")
    print(f"{'figure':<42}  {'value':>8}  {'target':<8}  verdict")
    missed = False
    for figure in figures(result, args.replies, args.seconds):
        target = str(figure.target) if figure.target else ""
        print(
            f"{figure.label:<42}  {figure.shown():>8} {figure.unit:<2} {target:<8}  "
            f"{figure.verdict}"
        )
        missed = missed or figure.verdict == "MISSED"
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
