"""Event-loop lag: how late a 10 ms sleep wakes up, sampled inside a running event loop.

Owns `LoopLagSampler` (used by the benchmark on its own loop) and `python -m bench.loop_lag`,
which runs the bot exactly as `python -m bot` does but with a sampler on the bot's loop, and
writes the samples to the file named by BENCH_LOOP_LAG_FILE when the bot exits. The sampler is
installed by wrapping the PTB application's post_init/post_shutdown hooks from outside, so the
measurement stays out of the product: nothing in `bot/` knows about it, and it must not change
anything the bot does beyond one extra 10 ms timer.

Samples are (when the sleep started, how late it woke), both in seconds of time.monotonic(),
which on Linux is one clock for every process: the benchmark can cut the samples to its load
window.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import bot.__main__ as bot_entry
from bot.app import build_application
from bot.config import Settings
from bot.handlers.context import BotApplication

INTERVAL = 0.01
OUTPUT_ENV = "BENCH_LOOP_LAG_FILE"


@dataclass(frozen=True, slots=True)
class LagSample:
    at: float
    lag: float


class LoopLagSampler:
    """Sleeps `interval` over and over on the running loop and records how late each wake is."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self.samples: list[LagSample] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="loop-lag-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def lags_between(self, start: float, end: float) -> list[float]:
        """Lags (seconds) of the sleeps that began within [start, end]."""
        return [s.lag for s in self.samples if start <= s.at <= end]

    async def _run(self) -> None:
        while True:
            began = time.monotonic()
            await asyncio.sleep(self.interval)
            # asyncio may run a timer a hair early (clock resolution); that is no lag.
            lag = max(0.0, time.monotonic() - began - self.interval)
            self.samples.append(LagSample(began, lag))


def write_samples(path: Path, samples: list[LagSample]) -> None:
    path.write_text(json.dumps([[s.at, s.lag] for s in samples]))


def read_samples(path: Path) -> list[LagSample]:
    return [LagSample(float(at), float(lag)) for at, lag in json.loads(path.read_text())]


def _with_sampler(sampler: LoopLagSampler) -> None:
    """Make `bot.__main__` build applications that run `sampler` while they are up."""

    def build_sampled(settings: Settings) -> BotApplication:
        application = build_application(settings)
        post_init, post_shutdown = application.post_init, application.post_shutdown

        async def start_sampling(app: BotApplication) -> None:
            sampler.start()
            if post_init is not None:
                await post_init(app)

        async def stop_sampling(app: BotApplication) -> None:
            if post_shutdown is not None:
                await post_shutdown(app)
            await sampler.stop()

        application.post_init = start_sampling
        application.post_shutdown = stop_sampling
        return application

    # bot.__main__ imported the name for itself; rebinding it there is what main() will call.
    vars(bot_entry)["build_application"] = build_sampled


def main() -> int:
    output = Path(os.environ[OUTPUT_ENV])
    sampler = LoopLagSampler()
    _with_sampler(sampler)
    try:
        return bot_entry.main(["run"])
    finally:
        write_samples(output, sampler.samples)


if __name__ == "__main__":
    sys.exit(main())
