"""The hostile scenario (issue 15): strangers abusing the bot while other chats converse.

Owns the strangers' load and the comparison it is judged by. One user floods the bot with texts
and stickers, sent as fast as the fake Telegram takes them (item 2 of the issue); as many other
users as there are bombs each send one voice note that weighs VOICE_MAX_BYTES, claims to last a
few seconds and decodes to minutes of 8-channel 192 kHz audio (item 1: `tests.support.audio_bomb`
padded to size). The scenario's own chats converse as in the other scenarios, each turn starting
with a /help timed until it is answered. The fake upstream answers the bombs' audio as late as
a text reply (`BenchUpstream`), so the bot holds each request as long as with a real model.

The scenario runs twice through `scenarios.run_scenario`, each time against a fresh bot: the
chats alone (the baseline), then the same chats with the strangers (`Strangers`, run beside
them as the run's extra load; the load window lasts until every update of theirs has reached the
bot and every bomb has been answered). The figures put the two side by side, with the targets
set on the second run or on the difference. It must not change the fakes or anything in `bot/`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

from bench.measure import MIB, Figure, RunRecord, Target, percentile, present
from bench.scenarios import (
    LOOP_LAG_P99_MS,
    NO_429,
    HostileLoad,
    Scenario,
    ScenarioResult,
    run_scenario,
)
from bot.config import Settings
from tests.fakes.telegram import FakeTelegram
from tests.support import audio_bomb

FLOODER = 3_000_000  # the flooding user's private chat, which is also their user id
FIRST_BOMBER = 4_000_000  # the bomb senders' private chats: this one and the next ones
FLOOD_BATCH = 100  # updates queued between two turns of this process's loop
VOICE_MAX_BYTES = int(Settings.model_fields["voice_max_bytes"].default)
VOICE_CONCURRENCY = int(Settings.model_fields["voice_concurrency"].default)

BOMB_RSS_MB = 100  # what one bomb may add to the bot's RSS (issue 15, item 1) ...
PEAK_RSS_ADDED_MB = Target("<=", BOMB_RSS_MB * VOICE_CONCURRENCY)  # ... so many at a time
HELP_MS = Target("<=", 1000)  # every /help answered within 1 s
# "The usual latency" for the first text: the steady scenario's bound on what the bot adds
# between the upstream's first words and the first text, and the same bound on how much later
# than without the strangers a question's first text comes at p99.
FIRST_TEXT_MS = Target("<=", 250)


class Strangers:
    """The hostile load of one run: call it with the fake Telegram once the bot is polling."""

    def __init__(self, load: HostileLoad, bomb: bytes) -> None:
        self.load = load
        self.bomb = bomb
        self.telegram: FakeTelegram | None = None
        self.flood_sent = 0.0  # seconds it took to queue every update of the flood

    @property
    def bombers(self) -> list[int]:
        return [FIRST_BOMBER + index for index in range(self.load.bombs)]

    async def __call__(self, telegram: FakeTelegram) -> None:
        self.telegram = telegram
        for chat_id in self.bombers:
            telegram.user_sends_voice(
                chat_id, self.bomb, duration=self.load.bomb_claims, mime_type="audio/ogg"
            )
        started = time.monotonic()
        for index in range(max(self.load.texts, self.load.stickers)):
            if index < self.load.texts:
                telegram.user_sends(FLOODER, f"flood {index}", first_name="Mallory")
            if index < self.load.stickers:
                telegram.user_sends_sticker(FLOODER, first_name="Mallory")
            if index % FLOOD_BATCH == FLOOD_BATCH - 1:
                await asyncio.sleep(0)  # as a connection would: the fake serves the bot meanwhile
        self.flood_sent = time.monotonic() - started
        await telegram.wait_until(self._all_taken, timeout=60 + 15 * self.load.bombs)

    def _all_taken(self) -> bool:
        """Every update of the strangers fetched by the bot, and every bomb answered."""
        telegram = self.telegram
        assert telegram is not None
        waiting = {FLOODER, *self.bombers}
        if any(_chat_of(update) in waiting for update in telegram.pending_updates):
            return False
        return all(telegram.bot_messages(chat_id) for chat_id in self.bombers)

    def figures(self) -> list[Figure]:
        """What the strangers got out of the bot (reported, no targets)."""
        telegram = self.telegram
        assert telegram is not None
        answers = [m for chat_id in self.bombers for m in telegram.bot_messages(chat_id)[:1]]
        heard = sum(1 for m in answers if m.text is None)  # a voice note, not a refusal
        # The upstream echoes what it is asked: an answer to the flood reads "You said: flood n".
        flooded = [m.text or "" for m in telegram.bot_messages(FLOODER)]
        answered = sum(1 for text in flooded if text.startswith("You said: flood"))
        return [
            Figure("flood_queued_s", "flood: time to queue every update", self.flood_sent, "s"),
            Figure("flood_answered", "flood: texts answered by the model", answered),
            Figure(
                "flood_notices", "flood: other bot messages to the flooder", len(flooded) - answered
            ),
            Figure("bombs_answered_aloud", "bombs: answered with a voice note", heard),
            Figure("bombs_refused", "bombs: answered with a refusal", len(answers) - heard),
        ]


def _chat_of(update: dict[str, object]) -> object:
    message = update.get("message")
    chat = message.get("chat") if isinstance(message, dict) else None
    return chat.get("id") if isinstance(chat, dict) else None


async def run_hostile(scenario: Scenario, workdir: Path) -> ScenarioResult:
    """The scenario's chats alone, then with the strangers; one table comparing the two."""
    load = scenario.hostile
    if load is None:
        raise ValueError(f"scenario {scenario.name} has no hostile load")
    bomb = await asyncio.to_thread(audio_bomb, load.bomb_seconds, size=VOICE_MAX_BYTES)
    (workdir / "alone").mkdir()
    (workdir / "hostile").mkdir()
    machine = os.getloadavg()[0]
    alone = await run_scenario(replace(scenario, hostile=None), workdir / "alone")
    strangers = Strangers(load, bomb)
    attacked = await run_scenario(scenario, workdir / "hostile", strangers)
    figures = comparison(scenario, alone.record, attacked.record) + strangers.figures()
    # Other work on the machine moves these figures most: say how busy it was.
    figures += [
        Figure("load_average_before", "machine load average (1 min), before", machine),
        Figure("load_average_after", "machine load average (1 min), after", os.getloadavg()[0]),
    ]
    problems = [f"alone: {p}" for p in alone.problems] + [
        f"hostile: {p}" for p in attacked.problems
    ]
    return ScenarioResult(scenario, figures, problems, attacked.record)


def comparison(scenario: Scenario, alone: RunRecord, attacked: RunRecord) -> list[Figure]:
    """The chats' figures without and with the strangers, the targets on the latter."""
    questions = scenario.chats * scenario.turns
    correct = Target("==", questions)
    rows: list[Figure] = []

    def both(
        name: str,
        label: str,
        value: Callable[[RunRecord], float | None],
        unit: str,
        target: Target | None = None,
        target_alone: Target | None = None,
    ) -> tuple[float | None, float | None]:
        before, after = value(alone), value(attacked)
        rows.append(Figure(f"{name}_alone", f"{label}, alone", before, unit, target_alone))
        rows.append(Figure(f"{name}_hostile", f"{label}, hostile", after, unit, target))
        return before, after

    both(
        "first_text_latency_p50_ms", "first text added latency p50", partial(_added_ms, q=50), "ms"
    )
    both(
        "first_text_latency_p99_ms",
        "first text added latency p99",
        partial(_added_ms, q=99),
        "ms",
        FIRST_TEXT_MS,
    )
    before, after = both(
        "question_to_first_text_p50_ms",
        "question to first text p50",
        lambda run: _p_ms([t.answer_latency for t in run.traces], 50),
        "ms",
    )
    before, after = both(
        "question_to_first_text_p99_ms",
        "question to first text p99",
        lambda run: _p_ms([t.answer_latency for t in run.traces], 99),
        "ms",
    )
    rows.append(
        Figure(
            "question_to_first_text_p99_added_ms",
            "  p99 added by the hostile load",
            None if before is None or after is None else after - before,
            "ms",
            FIRST_TEXT_MS,
        )
    )
    for q in (50, 99):
        both(f"help_p{q}_ms", f"/help answered p{q}", partial(_help_ms, q=q), "ms")
    both("help_max_ms", "/help answered, slowest", lambda run: _help_ms(run, 100), "ms", HELP_MS)
    both(
        "replies_correct",
        "replies complete and correct",
        lambda run: sum(t.correct for t in run.traces),
        "",
        correct,
        correct,
    )
    both("flood_429s", "429 responses", lambda run: run.flood_429s, "", NO_429, NO_429)
    before, after = both("peak_rss_mb", "bot peak RSS", lambda run: run.peak_rss / MIB, "MB")
    rows.append(
        Figure(
            "peak_rss_added_mb",
            f"  added by the hostile load (VOICE_CONCURRENCY={VOICE_CONCURRENCY})",
            None if before is None or after is None else after - before,
            "MB",
            PEAK_RSS_ADDED_MB,
        )
    )
    both(
        "loop_lag_p99_ms",
        "bot event-loop lag p99",
        lambda run: _p_ms(run.bot_lags, 99),
        "ms",
        LOOP_LAG_P99_MS,
    )
    both("loop_lag_max_ms", "bot event-loop lag max", lambda run: _p_ms(run.bot_lags, 100), "ms")
    both(
        "bot_cpu_percent",
        "bot CPU, % of one core",
        lambda run: 100 * run.bot_cpu / (run.end - run.start),
        "%",
    )
    both(
        "driver_cpu_percent",
        "benchmark + fakes CPU, % of one core",
        lambda run: 100 * run.driver_cpu / (run.end - run.start),
        "%",
    )
    both(
        "driver_loop_lag_p99_ms",
        "benchmark + fakes event-loop lag p99",
        lambda run: _p_ms(run.driver_lags, 99),
        "ms",
    )
    both(
        "driver_loop_lag_max_ms",
        "benchmark + fakes event-loop lag max",
        lambda run: _p_ms(run.driver_lags, 100),
        "ms",
    )
    both("load_s", "load window", lambda run: run.end - run.start, "s")
    return rows


def _p_ms(seconds: Sequence[float | None], q: float) -> float | None:
    values = present(seconds)
    return 1000 * percentile(values, q) if values else None


def _added_ms(run: RunRecord, q: float) -> float | None:
    return _p_ms([t.added_latency for t in run.traces], q)


def _help_ms(run: RunRecord, q: float) -> float | None:
    return _p_ms(run.help_latencies, q)
