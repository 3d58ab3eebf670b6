"""The load scenarios: the real bot as a subprocess, the project's fakes in this process.

Owns the four scenarios of issue 9 (`one`, `fifty`, `steady`, `burst`), the definition of
issue 15's `hostile` one (`bench.hostile` runs its strangers, as an `ExtraLoad` beside the
chats, and compares it with its chats alone) and their `--quick` versions, running one of them
end to end and turning what both fakes saw into `Figure`s. A scenario with `help_first` starts
each turn with a /help and times its answer.
It must not change the fakes or anything in `bot/`: the bot runs as `python -m bench.loop_lag`
(which is `python -m bot` plus a loop-lag sampler) against FakeTelegram with Telegram's strict
flood limits and a FakeUpstream subclass.

How "added latency from the upstream's first content to the first visible text" is measured:
`BenchUpstream` waits out the first-token delay itself, notes the time, and only then lets the
fake write its headers, role chunk and first content chunk in the same loop step, so the time
noted is when the first words leave the upstream, not when they were scheduled (a late timer in
this process would otherwise be charged to the bot). The visible side is the fake Telegram's
record of the sendMessage that showed the reply (`SentMessage.sent_at`, taken as the request is
handled). Both run on this process's time.monotonic(). The cost of this choice: the upstream's
response headers come with the first token instead of before it, which the bot can't tell apart
from a server that is slow to answer.

With `stream_mode="draft"` (`--stream-mode draft|both`) the bot runs with STREAM_MODE=draft: a
private chat's visible text is then each sendMessageDraft that showed text (the fake keeps the
time it handled each) and the message that persisted it; "Thinking…" and the ⏳ that ends a draft
count as the first visible sign, not as text. Groups edit in both modes.

Each question carries a marker ("bench chat <id> turn <n>") that the upstream reads back to
stream a reply made from the chat and turn, so concurrency can't mix replies up and "correct"
means: the chat's message for that turn shows exactly the rendered reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

from bench.loop_lag import OUTPUT_ENV, LagSample, LoopLagSampler, read_samples
from bench.measure import (
    Figure,
    RunRecord,
    Target,
    TurnTrace,
    figures,
    read_cpu_seconds,
    read_peak_rss,
    read_rss,
)
from bot.config import Settings
from bot.delivery.draft_calls import STOP_TEXT
from bot.delivery.draft_reply import SEALED
from bot.render.convert import split_markdown
from tests.fakes.telegram import ApiCall, FakeTelegram, FloodLimits, SentMessage
from tests.fakes.upstream import FakeUpstream, JsonDict, ReplyScript

ROOT = Path(__file__).resolve().parent.parent
GLOBAL_RATE = float(Settings.model_fields["global_rate_limit"].default)
CHUNK_SIZE = 5  # characters per streamed chunk: one " w123" word, i.e. one token
IDLE_SETTLE = 1.0  # seconds between the bot's first poll and the idle RSS reading
POLL = 0.05  # seconds between checks of which replies are complete
PROBLEM_LIMIT = 20  # lines of each kind of problem kept in the results

IDLE_RSS_MB = Target("<=", 80)
PEAK_RSS_MB = Target("<=", 150)
LOOP_LAG_P99_MS = Target("<=", 50)
NO_429 = Target("==", 0)

HELP_PAUSE = 1.1  # seconds between /help's answer and the question (the chat's 1 s spacing)

Question = tuple[int, int]  # (chat id, turn)
StreamMode = Literal["edit", "draft"]

# The calls a chat's reply costs: its messages, edits, drafts, "typing…", the Stop message's
# deletion (status reactions are off by default).
REPLY_METHODS = frozenset(
    {"sendMessage", "editMessageText", "sendMessageDraft", "sendChatAction", "deleteMessage"}
)
# What shows the user something is happening: "typing…", a draft ("Thinking…"), a message.
SIGN_METHODS = frozenset({"sendChatAction", "sendMessageDraft", "sendMessage"})

_QUESTION = re.compile(r"bench chat (-?\d+) turn (\d+)")


@dataclass(frozen=True, slots=True)
class ReplyShape:
    """How the upstream answers every question of a scenario."""

    first_token_delay: float  # seconds from the request to the first words
    seconds: float  # then streaming for this long
    tokens_per_second: float

    @property
    def tokens(self) -> int:
        return max(1, round(self.seconds * self.tokens_per_second))


@dataclass(frozen=True, slots=True)
class HostileLoad:
    """Strangers abusing the bot beside the scenario's chats (`bench.hostile` runs them)."""

    texts: int  # one user's texts, sent as fast as the fake takes them ...
    stickers: int  # ... interleaved with this many stickers
    bombs: int  # voice notes from as many other users, each an audio bomb ...
    bomb_seconds: float  # ... decoding to this long at 192 kHz in 8 channels ...
    bomb_claims: int = 5  # ... while its app claims it lasts this many seconds


@dataclass(frozen=True, slots=True)
class Scenario:
    """A load: which chats ask what, when, and the targets the issue sets for it."""

    name: str
    chats: int
    reply: ReplyShape
    arrival_rate: float | None = None  # new chats per second; None: all at once
    turns: int = 1  # questions per chat, each once the previous reply is complete
    pause: float = 1.5  # seconds between a complete reply and the chat's next question
    group_every: int = 0  # every n-th chat is a group (0: private chats only)
    targets: Mapping[str, Target] = field(default_factory=dict)
    # Total time must be within this factor of (calls needed / global rate); burst only.
    least_time_factor: float | None = None
    stream_mode: StreamMode = "edit"  # the bot's STREAM_MODE
    help_first: bool = False  # each turn starts with a /help, timed until it is answered
    hostile: HostileLoad | None = None  # run by `bench.hostile`, with and without this load

    @property
    def description(self) -> str:
        arrival = (
            "at once"
            if self.arrival_rate is None
            else f"arriving {self.arrival_rate:g}/s for {self.chats / self.arrival_rate:g} s"
        )
        groups = f", every {self.group_every}th a group" if self.group_every else ""
        turns = f", {self.turns} questions each, one after another" if self.turns > 1 else ""
        helps = ", each after a /help" if self.help_first else ""
        reply = self.reply
        described = (
            f"{self.chats} chat(s) {arrival}{groups}{turns}{helps}; each reply: first words after"
            f" {reply.first_token_delay:g} s, then {reply.tokens} tokens over {reply.seconds:g} s"
            f"; STREAM_MODE={self.stream_mode}"
        )
        hostile = self.hostile
        if hostile is None:
            return described
        return (
            f"{described}; meanwhile one user sends {hostile.texts} texts and {hostile.stickers}"
            f" stickers at once and {hostile.bombs} others each a {hostile.bomb_seconds:g} s audio"
            f" bomb at VOICE_MAX_BYTES (compared with the same chats alone)"
        )

    def chat_ids(self) -> list[int]:
        def chat_id(index: int) -> int:
            group = self.group_every and index % self.group_every == self.group_every - 1
            return -(1_000_000 + index) if group else 1_000_000 + index

        return [chat_id(index) for index in range(self.chats)]

    def arrival(self, index: int) -> float:
        return 0.0 if self.arrival_rate is None else index / self.arrival_rate

    @property
    def deadline(self) -> float:
        """Seconds after which a run is given up, far beyond any sane result."""
        per_turn = self.reply.first_token_delay + self.reply.seconds + self.pause + 5
        if self.help_first:
            per_turn += HELP_PAUSE + 5
        arrivals = self.arrival(self.chats - 1)
        bombs = 15 * self.hostile.bombs if self.hostile else 0  # conversions, a few at a time
        return (
            arrivals
            + self.turns * per_turn
            + 6 * self.chats * self.turns / GLOBAL_RATE
            + 20
            + bombs
        )


SCENARIOS: dict[str, Scenario] = {
    "one": Scenario(
        name="one",
        chats=1,
        turns=5,
        reply=ReplyShape(first_token_delay=0.3, seconds=5.0, tokens_per_second=20),
        targets={
            "first_text_latency_p50_ms": Target("<=", 5),
            "update_gap_longest_s": Target("<=", 1.2),
        },
    ),
    "fifty": Scenario(
        name="fifty",
        chats=50,
        group_every=5,
        reply=ReplyShape(first_token_delay=0.5, seconds=1.5, tokens_per_second=20),
        targets={"time_all_complete_s": Target("<=", 5)},
    ),
    "steady": Scenario(
        name="steady",
        chats=300,
        arrival_rate=5.0,
        group_every=10,
        reply=ReplyShape(first_token_delay=0.5, seconds=10.0, tokens_per_second=20),
        targets={
            "first_text_latency_p99_ms": Target("<=", 250),
            "update_gap_longest_s": Target("<=", 3),
        },
    ),
    "burst": Scenario(
        name="burst",
        chats=1000,
        group_every=10,
        reply=ReplyShape(first_token_delay=0.5, seconds=1.5, tokens_per_second=20),
        least_time_factor=1.2,
    ),
    "hostile": Scenario(
        name="hostile",
        chats=20,
        turns=4,
        arrival_rate=10.0,
        help_first=True,
        reply=ReplyShape(first_token_delay=0.5, seconds=3.0, tokens_per_second=20),
        hostile=HostileLoad(texts=500, stickers=500, bombs=10, bomb_seconds=299.0),
    ),
}


def quick(scenario: Scenario) -> Scenario:
    """A scaled-down version for a smoke test: same shape, seconds instead of minutes."""
    match scenario.name:
        case "one":
            # The pause still exceeds the chat's 1 s spacing, so no first text waits on pacing.
            return replace(scenario, turns=2, pause=1.0, reply=replace(scenario.reply, seconds=1.0))
        case "fifty":
            return replace(scenario, chats=10)
        case "steady":
            return replace(scenario, chats=20, reply=replace(scenario.reply, seconds=3.0))
        case "hostile":
            hostile = HostileLoad(texts=50, stickers=50, bombs=2, bomb_seconds=30.0)
            return replace(scenario, chats=4, turns=1, hostile=hostile)
        case _:
            return replace(scenario, chats=100)


# --- the upstream ------------------------------------------------------------------------------


def question(chat_id: int, turn: int) -> str:
    return f"bench chat {chat_id} turn {turn}"


def reply_text(chat_id: int, turn: int, tokens: int) -> str:
    """The model's answer to one question: recognisable per chat and turn, `tokens` long."""
    words = "".join(f" w{i % 1000:03d}" for i in range(tokens))
    return f"Answer {turn} for chat {chat_id}:{words}"


def question_of(messages: list[JsonDict]) -> Question | None:
    """(chat id, turn) named by the last user message, or None for anything else."""
    users = [m for m in messages if m.get("role") == "user"]
    content = users[-1].get("content") if users else None
    found = _QUESTION.search(content) if isinstance(content, str) else None
    return (int(found[1]), int(found[2])) if found else None


@dataclass(slots=True)
class StreamRecord:
    """What the upstream sent for one question, and when."""

    tokens: int
    first_content_at: float | None = None
    last_content_at: float | None = None


class BenchUpstream(FakeUpstream):
    """FakeUpstream answering each marked question with its own reply, timing the first words;
    other requests get the fake's own answers, as late as a reply of the scenario's shape."""

    def __init__(self, shape: ReplyShape) -> None:
        super().__init__()
        self.shape = shape
        self.streams: dict[Question, StreamRecord] = {}

    async def _stream(
        self, request: web.Request, body: JsonDict, script: ReplyScript
    ) -> web.StreamResponse:
        key = question_of(body["messages"])
        if key is None:
            return await super()._stream(request, body, script)
        text = reply_text(*key, self.shape.tokens)
        planned = ReplyScript(
            text, chunk_size=CHUNK_SIZE, chunk_delay=1 / self.shape.tokens_per_second
        )
        record = self.streams[key] = StreamRecord(tokens=math.ceil(len(text) / CHUNK_SIZE))
        await asyncio.sleep(self.shape.first_token_delay)
        record.first_content_at = time.monotonic()
        response = await super()._stream(request, body, planned)
        record.last_content_at = time.monotonic()
        return response

    async def _whole(
        self, request: web.Request, body: JsonDict, script: ReplyScript
    ) -> web.StreamResponse:
        # An answer that comes whole (audio, for a voice note) takes as long as a streamed one:
        # meanwhile the bot holds the request it sent, as it would with a real audio model.
        await asyncio.sleep(self.shape.first_token_delay + self.shape.seconds)
        return await super()._whole(request, body, script)


# --- the bot process ---------------------------------------------------------------------------


class BotProcess:
    """`python -m bench.loop_lag` (the bot plus a lag sampler), logging into `workdir`."""

    def __init__(self, process: asyncio.subprocess.Process, workdir: Path) -> None:
        self.process = process
        self.workdir = workdir

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    async def start(
        cls,
        telegram: FakeTelegram,
        upstream: FakeUpstream,
        workdir: Path,
        stream_mode: StreamMode = "edit",
    ) -> BotProcess:
        # Every setting at its default (the targets are for the defaults), whatever the shell has.
        settings = {name.upper() for name in Settings.model_fields}
        env = {k: v for k, v in os.environ.items() if k.upper() not in settings}
        env.update(
            TELEGRAM_BOT_TOKEN=telegram.token,
            TELEGRAM_API_URL=telegram.api_root,
            GPT_API_BASE_URL=upstream.base_url,
            DATABASE_PATH=str(workdir / "data" / "bot.sqlite3"),
            LOG_LEVEL="WARNING",
            STREAM_MODE=stream_mode,
            PYTHONPATH=str(ROOT),
            **{OUTPUT_ENV: str(workdir / "loop_lag.json")},
        )
        with (workdir / "bot.log").open("wb") as log:
            # cwd outside the repository, so a developer's .env can't change the settings.
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.loop_lag",
                cwd=workdir,
                env=env,
                stdout=log,
                stderr=log,
            )
        return cls(process, workdir)

    async def stop(self) -> list[LagSample]:
        """SIGTERM, as an operator stops it; the loop-lag samples it wrote on the way out."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        path = self.workdir / "loop_lag.json"
        return await asyncio.to_thread(read_samples, path) if path.exists() else []

    def log_problems(self) -> list[str]:
        """The bot's WARNING and ERROR log lines (it logs nothing below WARNING here)."""
        text = (self.workdir / "bot.log").read_text(errors="replace")
        return [line for line in text.splitlines() if "WARNING" in line or "ERROR" in line]


# --- watching the chats ------------------------------------------------------------------------


class Screen:
    """Which of the bot's messages answers which question; completion as it happens.

    Every reply fits in one message, so a chat's n-th bot message answers its n-th question (the
    Stop message of a draft-mode reply aside); with `help_first`, its 2n-th message answers the
    n-th /help and the 2n+1-th the n-th question. `asked` notes when each question was sent and
    the id of its message (a draft-mode reply's draft id); `help_asked` when each /help was sent.
    """

    def __init__(
        self, telegram: FakeTelegram, expected: Mapping[Question, str], *, help_first: bool = False
    ) -> None:
        self._telegram = telegram
        self._expected = expected
        self._per_turn = 2 if help_first else 1
        self._seen = 0
        self._by_chat: dict[int, list[SentMessage]] = {}
        self._waiting: dict[Question, asyncio.Future[None]] = {}
        self.asked: dict[Question, tuple[float, int]] = {}
        self.help_asked: dict[Question, float] = {}

    def scan(self) -> None:
        """Take in the messages the bot sent since the last scan."""
        sent = self._telegram.sent_order
        for message in sent[self._seen :]:
            if message.text != STOP_TEXT:
                self._by_chat.setdefault(message.chat_id, []).append(message)
        self._seen = len(sent)

    def message(self, key: Question) -> SentMessage | None:
        return self._nth(key[0], (key[1] + 1) * self._per_turn - 1)

    def help_answer(self, key: Question) -> SentMessage | None:
        """The bot's answer to the /help that began turn `key` (with `help_first`)."""
        return self._nth(key[0], key[1] * self._per_turn) if self._per_turn == 2 else None

    def help_latencies(self) -> list[float]:
        """Seconds from each /help to the message answering it, for those answered."""
        answers = ((at, self.help_answer(key)) for key, at in self.help_asked.items())
        return [answer.sent_at - at for at, answer in answers if answer is not None]

    def _nth(self, chat_id: int, index: int) -> SentMessage | None:
        messages = self._by_chat.get(chat_id, [])
        return messages[index] if index < len(messages) else None

    def complete(self, key: Question) -> bool:
        message = self.message(key)
        return message is not None and message.text == self._expected[key]

    def wait(self, key: Question) -> asyncio.Future[None]:
        future = self._waiting[key] = asyncio.get_running_loop().create_future()
        return future

    async def watch(self) -> None:
        """Resolve `wait()` futures as replies complete, checking every POLL seconds."""
        while True:
            self.scan()
            for key in [k for k in self._waiting if self._done(k)]:
                self._waiting.pop(key).set_result(None)
            await asyncio.sleep(POLL)

    def wait_help(self, key: Question) -> asyncio.Future[None]:
        """A future resolved once the /help of turn `key` is answered."""
        return self.wait((key[0], -1 - key[1]))  # negative turns stand for the /help

    def _done(self, key: Question) -> bool:
        if key[1] < 0:
            return self.help_answer((key[0], -1 - key[1])) is not None
        return self.complete(key)


# --- running a scenario ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    scenario: Scenario
    figures: list[Figure]
    problems: list[str]  # the bot's warnings and errors, replies that never completed
    record: RunRecord  # what the figures were made from


# More load, run beside the scenario's chats for the load window: given the fake Telegram once
# the bot is polling, it returns when its part of the load is done.
ExtraLoad = Callable[[FakeTelegram], Coroutine[Any, Any, None]]


@dataclass(slots=True)
class _Load:
    """The load window and the readings taken at its edges."""

    start: float
    idle_rss: int
    end: float = 0.0
    peak_rss: int = 0
    bot_cpu: float = 0.0
    driver_cpu: float = 0.0


async def run_scenario(
    scenario: Scenario, workdir: Path, extra: ExtraLoad | None = None
) -> ScenarioResult:
    """Run `scenario` against a fresh bot process in `workdir` and measure it; `extra` runs
    beside the chats, and the load window lasts until both are done."""
    expected = {
        (chat_id, turn): _rendered(reply_text(chat_id, turn, scenario.reply.tokens))
        for chat_id in scenario.chat_ids()
        for turn in range(scenario.turns)
    }
    async with (
        FakeTelegram(limits=FloodLimits()) as telegram,
        BenchUpstream(scenario.reply) as upstream,
    ):
        bot = await BotProcess.start(telegram, upstream, workdir, scenario.stream_mode)
        screen = Screen(telegram, expected, help_first=scenario.help_first)
        driver_lag = LoopLagSampler()
        try:
            await telegram.wait_until(lambda: bool(telegram.calls_to("getUpdates")), timeout=60)
            await asyncio.sleep(IDLE_SETTLE)
            load = await _load(scenario, telegram, bot, screen, driver_lag, extra)
        finally:
            await driver_lag.stop()
            bot_lags = await bot.stop()
        screen.scan()
        traces = tuple(_trace(key, screen, upstream, telegram) for key in expected)
        reply_calls = [c for c in telegram.calls if c.error is None and c.method in REPLY_METHODS]
        sent = [
            c
            for c in telegram.calls
            if c.error is None and c.method in ("sendMessage", "editMessageText")
        ]
        run = RunRecord(
            traces=traces,
            start=load.start,
            end=load.end,
            flood_429s=telegram.flood_rejections,
            other_rejections=sum(1 for c in telegram.rejections if c.error_code != 429),
            calls_made=len(sent),
            idle_rss=load.idle_rss,
            peak_rss=load.peak_rss,
            bot_cpu=load.bot_cpu,
            driver_cpu=load.driver_cpu,
            bot_lags=tuple(s.lag for s in bot_lags if load.start <= s.at <= load.end),
            driver_lags=tuple(driver_lag.lags_between(load.start, load.end)),
            chunk_size=CHUNK_SIZE,
            chunk_interval=1 / scenario.reply.tokens_per_second,
            global_rate=GLOBAL_RATE,
            call_times=tuple(c.at for c in sent),
            reply_calls=len(reply_calls),
            help_latencies=tuple(screen.help_latencies()),
        )
    unfinished = [
        f"chat {t.chat_id} turn {t.turn}: no complete reply" for t in traces if not t.correct
    ]
    problems = _capped(bot.log_problems()) + _capped(unfinished)
    return ScenarioResult(scenario, figures(run, _targets(scenario)), problems, run)


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= PROBLEM_LIMIT:
        return lines
    return [*lines[:PROBLEM_LIMIT], f"... and {len(lines) - PROBLEM_LIMIT} more"]


def _targets(scenario: Scenario) -> dict[str, Target]:
    """The scenario's own targets plus those every run must meet."""
    questions = scenario.chats * scenario.turns
    targets = {
        "flood_429s": NO_429,
        "replies_correct": Target("==", questions),
        "idle_rss_mb": IDLE_RSS_MB,
        "peak_rss_mb": PEAK_RSS_MB,
        "loop_lag_p99_ms": LOOP_LAG_P99_MS,
    }
    if scenario.least_time_factor is not None:
        # Every reply fits one message, so one sendMessage each is the least Telegram needs.
        least = questions / GLOBAL_RATE
        targets["time_all_complete_s"] = Target("<=", round(least * scenario.least_time_factor, 2))
    return targets | dict(scenario.targets)


def _rendered(markdown: str) -> str:
    pieces = split_markdown(markdown)
    if len(pieces) != 1:
        raise ValueError("benchmark replies must fit in one Telegram message")
    return pieces[0].rendered.text


async def _load(
    scenario: Scenario,
    telegram: FakeTelegram,
    bot: BotProcess,
    screen: Screen,
    driver_lag: LoopLagSampler,
    extra: ExtraLoad | None,
) -> _Load:
    load = _Load(start=time.monotonic(), idle_rss=read_rss(bot.pid))
    bot_cpu = read_cpu_seconds(bot.pid)
    driver_cpu = read_cpu_seconds(os.getpid())
    driver_lag.start()
    watcher = asyncio.create_task(screen.watch(), name="bench-screen")
    try:
        async with asyncio.timeout(scenario.deadline), asyncio.TaskGroup() as chats:
            for index, chat_id in enumerate(scenario.chat_ids()):
                start = load.start + scenario.arrival(index)
                chats.create_task(_chat(scenario, telegram, screen, chat_id, start))
            if extra is not None:
                chats.create_task(extra(telegram))
    except TimeoutError:
        pass  # the replies that never completed show up in the figures and problems
    finally:
        load.end = time.monotonic()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    load.bot_cpu = read_cpu_seconds(bot.pid) - bot_cpu
    load.driver_cpu = read_cpu_seconds(os.getpid()) - driver_cpu
    load.peak_rss = read_peak_rss(bot.pid)
    return load


async def _chat(
    scenario: Scenario, telegram: FakeTelegram, screen: Screen, chat_id: int, start: float
) -> None:
    """One chat's questions: the first at `start`, each next one after a complete reply."""
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    for turn in range(scenario.turns):
        if turn:
            await asyncio.sleep(scenario.pause)
        if scenario.help_first:
            await _help(telegram, screen, (chat_id, turn))
            await asyncio.sleep(HELP_PAUSE)
        done = screen.wait((chat_id, turn))
        asked_at = time.monotonic()
        if chat_id < 0:
            text = f"/ask {question(chat_id, turn)}"
            sent = telegram.user_sends(chat_id, text, chat_title="Bench", user_id=member(chat_id))
        else:
            sent = telegram.user_sends(chat_id, question(chat_id, turn))
        screen.asked[(chat_id, turn)] = (asked_at, sent["message_id"])
        await done


def member(group_id: int) -> int:
    """The user who asks in a group: one of its own, as in life (one user asking in a hundred
    groups at once would meet MAX_QUEUED_PER_USER, and the benchmark would measure refusals)."""
    return -group_id


async def _help(telegram: FakeTelegram, screen: Screen, key: Question) -> None:
    """Send /help in the chat of `key` and wait for its answer."""
    answered = screen.wait_help(key)
    screen.help_asked[key] = time.monotonic()
    if key[0] < 0:
        telegram.user_sends(key[0], "/help", chat_title="Bench", user_id=member(key[0]))
    else:
        telegram.user_sends(key[0], "/help")
    await answered


def _trace(
    key: Question, screen: Screen, upstream: BenchUpstream, telegram: FakeTelegram
) -> TurnTrace:
    message = screen.message(key)
    stream = upstream.streams.get(key)
    asked_at, asked_id = screen.asked.get(key, (None, 0))
    # Each draft that showed this reply's text (its draft id is the question's message id).
    drafts = [
        d
        for d in telegram.drafts_in(key[0])
        if d.draft_id == asked_id and d.text and d.text != SEALED.text
    ]
    visible = (message.sent_at, *message.edit_times) if message else ()
    # The fake keeps a text only when it changed; an edit that changed nothing would break
    # this pairing with `visible`, and TurnTrace.text_ages() then skips the trace.
    shown = tuple(len(shown) for shown in message.history) if message else ()
    return TurnTrace(
        chat_id=key[0],
        turn=key[1],
        first_content_at=stream.first_content_at if stream else None,
        last_content_at=stream.last_content_at if stream else None,
        tokens=stream.tokens if stream else 0,
        visible=(*(d.at for d in drafts), *visible),
        shown=(*(len(d.text) for d in drafts), *shown),
        edits=len(message.edit_times) if message else 0,
        correct=screen.complete(key),
        asked_at=asked_at,
        first_sign_at=_first_sign(telegram.calls, key[0], asked_at),
        drafts=len(drafts),
    )


def _first_sign(calls: list[ApiCall], chat_id: int, asked_at: float | None) -> float | None:
    """When the chat first showed something after the question: "typing…", a draft, a message
    (a chat's questions come one after another, so the first such call after it is its own)."""
    if asked_at is None:
        return None
    return next(
        (
            c.at
            for c in calls
            if c.at >= asked_at
            and c.error is None
            and c.method in SIGN_METHODS
            and c.params.get("chat_id") == chat_id
        ),
        None,
    )


def figures_as_json(result: ScenarioResult) -> dict[str, Any]:
    return {
        "description": result.scenario.description,
        "figures": {
            f.name: {
                "label": f.label,
                "value": f.value,
                "unit": f.unit,
                "target": str(f.target) if f.target else None,
                "verdict": f.verdict or None,
            }
            for f in result.figures
        },
        "problems": result.problems,
    }
