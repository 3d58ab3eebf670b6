"""The conversation use case: one turn from the user's message to the stored reply.

Owns the order of a turn — admit it on arrival (admission.py: length, limits counted at once) and
cap the backlog (MAX_QUEUED_PER_CHAT, MAX_QUEUED_PER_USER), keep it while it waits (the store's
inbox), queue it behind the chat's earlier work (queues.py: the caller returns at once; the chat's
own worker runs it), build it, look at it once more, build the request (request.py), generate
(generation.py), store and show the outcome — plus stopping a reply, whether it is spoken (an
audio model and a sink that can speak), and ending every turn's sink however the turn ends (a
failed write included). Imports nothing from Telegram: replies go into a `ReplySink` (sinks.py),
and how a turn ended goes to the caller's `TurnWatcher`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot import __version__
from bot.config import Settings
from bot.conversation.admission import Admission, TurnRefusal
from bot.conversation.generation import Generated, Running, Status, generate
from bot.conversation.limits import (
    TELL_INTERVAL,
    Reservation,
    Throttle,
    UsageLimits,
    estimated_usage,
)
from bot.conversation.queues import ChatQueues, Job
from bot.conversation.request import build_request
from bot.conversation.sinks import ReplySink, VoiceSink
from bot.store import STORE_ERRORS, ChatKey, ChatPreferences, ChatStore, Received
from bot.types import AttachmentPart
from bot.upstream.catalog import is_audio_model
from bot.upstream.client import UpstreamClient
from bot.upstream.types import ChatRequest

log = logging.getLogger(__name__)

EMPTY_REPLY_NOTICE = "The model returned an empty reply. Try rephrasing your message."
NOT_STARTED_NOTICE = "The bot is restarting and could not answer this. Please send it again."
NO_AUDIO_NOTICE = "The AI service sent no audio this time, so here is the answer as text."
NOT_STORED_NOTICE = (
    "The bot's database failed, so this message wasn't answered. Please try again later."
)
REPLY_NOT_STORED_NOTICE = (
    "The bot's database failed, so this reply won't be remembered in the conversation."
)


@dataclass(frozen=True, slots=True)
class UserTurn:
    """What the user said, and where it came from."""

    text: str
    telegram_message_id: int | None = None
    user_id: int | None = None
    sender_name: str | None = None  # set in group chats, where the model must tell people apart
    # OpenAI content parts (image_url, input_audio) sent with this turn only, after `text`;
    # the history keeps `text` alone, which then says what was attached ("[photo 1280x720]").
    parts: tuple[AttachmentPart, ...] = ()
    # A model for this turn only (a vision or audio model), the chat's own choice unchanged.
    model: str | None = None


# A turn that needs work before it exists (downloading a photo, waiting for an album). It is
# built once the chat's earlier turns are done, so a message sent after it cannot overtake it;
# it may raise a BotError instead (a file that can't be read), and then nothing is stored.
PendingTurn = Callable[[], Awaitable[UserTurn]]


@dataclass(frozen=True, slots=True)
class Origin:
    """Who sent a pending turn, known before it is built, and what the inbox keeps of it while
    it waits (its message first, then any joined to it)."""

    user_id: int | None
    telegram_message_id: int | None = None
    kept: tuple[Received, ...] = ()


@dataclass(frozen=True, slots=True)
class _Arrival:
    """A turn as it arrives: a ready turn is a pending one that is already built."""

    origin: Origin
    build: PendingTurn
    ready: UserTurn | None = None  # known whole on arrival

    @classmethod
    def of(cls, key: ChatKey, turn: UserTurn | PendingTurn, origin: Origin | None) -> _Arrival:
        if not isinstance(turn, UserTurn):
            return cls(origin or Origin(None), turn)
        ready = turn

        async def built() -> UserTurn:
            return ready

        kept: tuple[Received, ...] = ()
        if turn.telegram_message_id is not None:
            kept = (
                Received(key, turn.text, turn.telegram_message_id, turn.user_id, turn.sender_name),
            )
        return cls(Origin(turn.user_id, turn.telegram_message_id, kept), built, turn)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a turn ended: what was stored and shown."""

    text: str
    status: Status
    model: str
    notice: str | None = None
    duplicate: bool = False
    refused: bool = False  # too long, over a limit or a cap: nothing was stored or sent upstream


class TurnWatcher(Protocol):
    """Told how a queued turn ended (the caller returned long before)."""

    async def answered(self, outcome: Outcome) -> None:
        """The turn ended: answered (fully or not), refused once built, or cut by a restart."""

    async def failed(self, error: Exception) -> None:
        """The turn could not be built or answered; `error` says why (a BotError says it to the
        user). Nothing of it is stored."""

    def dropped(self) -> None:
        """The turn never ran: the bot stopped at once. It stays in the inbox for next time."""


class ConversationService:
    """Answers a chat's turns with the upstream model and keeps the history."""

    def __init__(
        self,
        store: ChatStore,
        upstream: UpstreamClient,
        settings: Settings,
        *,
        limits: UsageLimits | None = None,
    ) -> None:
        self._store = store
        self._upstream = upstream
        self._settings = settings
        limits = limits or UsageLimits.from_settings(store, settings)
        self._admission = Admission(settings, limits)
        self._queues = ChatQueues()
        self._backlog_told = Throttle(TELL_INTERVAL, limits.now)
        self._running: dict[ChatKey, Running] = {}
        # The messages whose turns are queued or running, so one delivered again meanwhile (a
        # lost confirmation, or the inbox's leftovers queued at start) is known without a look
        # in the store, before the backlog caps count it.
        self._in_queue: set[tuple[ChatKey, int | None]] = set()
        self._shutdown = asyncio.Event()

    def busy(self, key: ChatKey) -> bool:
        """Whether this chat has a turn running or queued."""
        return self._queues.busy(key)

    def busy_any(self) -> bool:
        """Whether any chat has a turn running or queued."""
        return self._queues.busy_any()

    async def submit(
        self,
        key: ChatKey,
        turn: UserTurn | PendingTurn,
        sink: ReplySink,
        *,
        origin: Origin | None = None,
        watcher: TurnWatcher | None = None,
    ) -> Outcome | None:
        """Admit the user's turn and queue it behind the chat's earlier ones; return at once.

        None: queued. The chat's worker builds it when its turn comes, stores it, streams the
        model's answer into `sink`, stores the answer, and tells `watcher` how it ended.

        An Outcome: nothing was queued. Either the turn was refused — its chat or its user has
        too many turns waiting, it is too long, its user is over a limit — and the sink showed
        why (at most once a minute per user), or Telegram delivered a message already waiting.
        A pending turn is admitted by its `origin` (its length is checked once it is built);
        `origin.kept` is what the inbox keeps of it meanwhile.
        """
        arrival = _Arrival.of(key, turn, origin)
        user_id = arrival.origin.user_id
        queued = self._queued_as(key, arrival)
        if queued[1] is not None and queued in self._in_queue:
            return Outcome("", "complete", self._model_of(arrival.ready), duplicate=True)
        # Before anything is awaited, so a burst of one sender can't all pass the check at once.
        if (refusal := self._over_backlog(key, user_id)) is not None:
            return await self._refusal_shown(refusal, arrival, sink)
        place = self._queues.claim(key, user_id)
        self._in_queue.add(queued)
        try:
            admitted = await self._admit(key, arrival)
        except BaseException:
            self._in_queue.discard(queued)
            place.withdraw()
            raise
        if isinstance(admitted, TurnRefusal | Outcome):
            self._in_queue.discard(queued)
            place.withdraw()
            if isinstance(admitted, Outcome):
                return admitted
            return await self._refusal_shown(admitted, arrival, sink)
        place.fill(self._job(key, arrival, sink, watcher, admitted))
        return None

    async def reply(
        self,
        key: ChatKey,
        turn: UserTurn | PendingTurn,
        sink: ReplySink,
        *,
        origin: Origin | None = None,
    ) -> Outcome:
        """`submit` the turn and wait for its outcome (or the error that stopped it)."""
        waiter = _Waiter()
        refused = await self.submit(key, turn, sink, origin=origin, watcher=waiter)
        return refused if refused is not None else await waiter.outcome()

    async def resume(
        self,
        key: ChatKey,
        turn: UserTurn | PendingTurn,
        sink: ReplySink,
        *,
        origin: Origin | None = None,
        watcher: TurnWatcher | None = None,
    ) -> None:
        """Queue a turn an earlier run admitted and kept in the inbox (the process stopped
        before its turn): no caps or limits are checked again, but it counts against them."""
        arrival = _Arrival.of(key, turn, origin)
        reservation = self._admission.hold(arrival.origin.user_id)
        place = self._queues.claim(key, arrival.origin.user_id)
        self._in_queue.add(self._queued_as(key, arrival))
        place.fill(self._job(key, arrival, sink, watcher, reservation))

    async def keep_joined(self, records: tuple[Received, ...]) -> None:
        """Keep messages that joined a waiting turn after it was queued (an album's later
        photos) in the inbox beside it; nothing is kept if that turn no longer waits."""
        for record in records:
            await self._keep(record)

    @staticmethod
    def _queued_as(key: ChatKey, arrival: _Arrival) -> tuple[ChatKey, int | None]:
        """How the queue knows the arrival's message; a turn without one is never matched."""
        return (key, arrival.origin.telegram_message_id)

    def _over_backlog(self, key: ChatKey, user_id: int | None) -> TurnRefusal | None:
        """Why nothing more may wait in this chat or from this user, or None."""
        chat_cap = self._settings.max_queued_per_chat
        if (waiting := self._queues.waiting(key)) >= chat_cap:
            told = self._backlog_told.ready(key)
            return TurnRefusal(chat_backlog_text(waiting) if told else None)
        user_cap = self._settings.max_queued_per_user
        if user_id is not None and (waiting := self._queues.waiting_for(user_id)) >= user_cap:
            told = self._backlog_told.ready(user_id)
            return TurnRefusal(user_backlog_text(waiting) if told else None)
        return None

    async def _admit(self, key: ChatKey, arrival: _Arrival) -> Reservation | TurnRefusal | Outcome:
        """The arrival's reservation once it is kept in the inbox; why it is refused; or, for a
        message already known, the outcome that says so."""
        message_id = arrival.origin.telegram_message_id
        model = self._model_of(arrival.ready)
        if message_id is not None and await self._store.has_message(key, message_id):
            # Redelivered after a restart: admitted and counted the first time; its turn looks
            # whether it was answered too.
            return Reservation(None)
        text = None if arrival.ready is None else arrival.ready.text
        admitted = await self._admission.admit(text, user_id=arrival.origin.user_id)
        if isinstance(admitted, TurnRefusal):
            return admitted
        kept = arrival.origin.kept
        try:
            if kept and not await self._keep(kept[0]):
                # Already waiting: Telegram delivered it twice, or an earlier run kept it.
                self._admission.release(admitted)
                return Outcome("", "complete", model, duplicate=True)
            for joined in kept[1:]:
                await self._keep(joined)
        except BaseException:
            self._admission.release(admitted)
            raise
        return admitted

    async def _keep(self, record: Received) -> bool:
        """Telegram forgets a message once the bot has it: keep it until its turn stores it."""
        return await self._store.receive(
            record.key,
            record.content,
            telegram_message_id=record.telegram_message_id,
            user_id=record.user_id,
            sender_name=record.sender_name,
            kind=record.kind,
            attachment=record.attachment,
            joined_to=record.joined_to,
        )

    def _job(
        self,
        key: ChatKey,
        arrival: _Arrival,
        sink: ReplySink,
        watcher: TurnWatcher | None,
        reservation: Reservation,
    ) -> Job:
        async def run() -> None:
            await self._run(key, arrival, sink, watcher, reservation)

        def dropped() -> None:
            # The worker was cancelled first: the turn stays in the inbox for the next start.
            self._in_queue.discard(self._queued_as(key, arrival))
            self._admission.release(reservation)
            if watcher is not None:
                watcher.dropped()

        return Job(run, dropped)

    async def _run(
        self,
        key: ChatKey,
        arrival: _Arrival,
        sink: ReplySink,
        watcher: TurnWatcher | None,
        reservation: Reservation,
    ) -> None:
        """The chat's worker takes this turn: answer it, then tell the watcher how it ended."""
        try:
            outcome = await self._take_turn(key, arrival, sink, reservation)
        except Exception as error:
            await self._forget(key, arrival)
            if watcher is None:
                raise
            await watcher.failed(error)
            return
        finally:
            # However the turn ended (a failed write, a cancelled worker): its room under the
            # limits is given back unless it was stored, and the sink's loops end.
            self._in_queue.discard(self._queued_as(key, arrival))
            self._admission.release(reservation)
            await sink.close()
        if watcher is not None:
            await watcher.answered(outcome)

    async def _take_turn(
        self, key: ChatKey, arrival: _Arrival, sink: ReplySink, reservation: Reservation
    ) -> Outcome:
        if self._shutdown.is_set():
            return await self._not_started(key, arrival, sink)
        built = await arrival.build()
        later = None if arrival.ready is not None else built.text
        refusal = await self._admission.refusal_once_built(later, reservation)
        if refusal is not None:
            await self._forget(key, arrival)
            return await self._refusal_shown(refusal, arrival, sink, model=built.model)
        return await self._answer(key, arrival, built, sink, reservation)

    async def _answer(
        self,
        key: ChatKey,
        arrival: _Arrival,
        turn: UserTurn,
        sink: ReplySink,
        reservation: Reservation,
    ) -> Outcome:
        """The chat's turn: store the question, generate the answer, store and show it."""
        if self._shutdown.is_set():
            return await self._not_started(key, arrival, sink)
        try:
            stored = await self._store.add_user_message(
                key,
                turn.text,
                telegram_message_id=turn.telegram_message_id,
                user_id=turn.user_id,
                sender_name=turn.sender_name,
            )
        except STORE_ERRORS:
            log.exception("chat %s: the question could not be stored", key)
            await sink.finish("", notice=NOT_STORED_NOTICE)
            return Outcome("", "interrupted", self._model_of(turn), NOT_STORED_NOTICE)
        # With no await since the write: nobody counts the turn both as stored and reserved.
        self._admission.settle(reservation)
        chat = await self._store.preferences(key)
        model = turn.model or chat.model or self._settings.default_model
        redelivered = stored is None and turn.telegram_message_id is not None
        if redelivered and await self._store.has_reply_to(key, turn.telegram_message_id or 0):
            log.info("chat %s: message %s already answered", key, turn.telegram_message_id)
            return Outcome("", "complete", model, duplicate=True)
        voice = self._voice(chat, model, sink)
        request = await self._request(key, chat, model, turn.parts, voice)
        reply = await self._generate(key, turn, request, sink)
        return await self._store_and_show(key, turn, model, request, reply, sink)

    async def _not_started(self, key: ChatKey, arrival: _Arrival, sink: ReplySink) -> Outcome:
        """Queued when the bot began stopping: not kept, not counted, and the user told."""
        await self._forget(key, arrival)
        await sink.finish("", notice=NOT_STARTED_NOTICE)
        return Outcome("", "interrupted", self._model_of(arrival.ready), NOT_STARTED_NOTICE)

    async def _forget(self, key: ChatKey, arrival: _Arrival) -> None:
        """Take a turn that will not be answered out of the inbox, so no restart answers it."""
        if (message_id := arrival.origin.telegram_message_id) is None:
            return
        try:
            await self._store.discard(key, message_id)
        except STORE_ERRORS:
            log.exception("chat %s: message %s could not leave the inbox", key, message_id)

    async def _generate(
        self, key: ChatKey, turn: UserTurn, request: ChatRequest, sink: ReplySink
    ) -> Generated:
        """Show that the bot is working, then produce the reply; `stop` can end it."""
        if isinstance(sink, VoiceSink) and request.voice is not None:
            await sink.start_speaking()
        else:
            await sink.start()
        running = self._running[key] = Running(
            turn.telegram_message_id, turn.user_id, asyncio.Event(), self._shutdown
        )
        try:
            return await generate(self._upstream, key, request, sink, running)
        finally:
            del self._running[key]

    async def _store_and_show(
        self,
        key: ChatKey,
        turn: UserTurn,
        model: str,
        request: ChatRequest,
        reply: Generated,
        sink: ReplySink,
    ) -> Outcome:
        """Keep the answer (if it has any text) and give the sink its final form."""
        text, status, notice = reply.text, reply.status, reply.notice
        if request.voice is not None and status == "complete" and reply.audio is None:
            notice = NO_AUDIO_NOTICE if text.strip() else None
        stored = True
        if text.strip():
            usage = reply.usage or estimated_usage(request.messages, text)
            try:
                await self._store.add_assistant_message(
                    key,
                    text,
                    model=model,
                    status=status,
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                    user_id=turn.user_id,
                    usage_estimated=reply.usage is None,
                )
            except STORE_ERRORS:
                # The user still gets the whole text, told it won't be remembered.
                log.exception("chat %s: the reply could not be stored", key)
                stored = False
                notice = " ".join(n for n in (notice, REPLY_NOT_STORED_NOTICE) if n)
        elif notice is None and reply.audio is None:
            notice = EMPTY_REPLY_NOTICE
        if (
            isinstance(sink, VoiceSink)
            and reply.audio is not None
            and status == "complete"
            and stored
        ):
            await sink.speak(reply.audio)
        else:
            await sink.finish(text, notice=notice)
        return Outcome(text, status, model, notice)

    async def _refusal_shown(
        self,
        refusal: TurnRefusal,
        arrival: _Arrival,
        sink: ReplySink,
        *,
        model: str | None = None,
    ) -> Outcome:
        if refusal.notice is not None:
            await sink.finish("", notice=refusal.notice)
        model = model or self._model_of(arrival.ready)
        return Outcome("", "complete", model, refusal.notice, refused=True)

    def _model_of(self, turn: UserTurn | None) -> str:
        return (turn.model if turn else None) or self._settings.default_model

    def stop(self, key: ChatKey, *, telegram_message_id: int | None = None) -> bool:
        """Stop the reply being generated in this chat (only if it answers `telegram_message_id`,
        when given); False when there is no such reply."""
        running = self._running.get(key)
        if running is None or running.stop.is_set():
            return False
        if telegram_message_id is not None and running.telegram_message_id != telegram_message_id:
            return False
        running.stop.set()
        return True

    def running(self, key: ChatKey) -> Running | None:
        """The turn this chat is generating, if any."""
        return self._running.get(key)

    def shut_down(self) -> None:
        """The bot is stopping: end every reply in progress with what it has, marked as cut
        short by the restart; turns waiting behind them are told to send again (and not kept)."""
        self._shutdown.set()

    async def close(self) -> None:
        """Wait for every chat's queued work to end (quickly after `shut_down`). If this wait is
        cancelled, the work is cancelled too and awaited: no task outlives the service."""
        try:
            await self._queues.join()
        finally:
            await self._queues.cancel()

    async def migrate_chat(
        self,
        old_chat_id: int,
        new_chat_id: int,
        *,
        then: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Move a group's history to the supergroup it became once the group's queued turns
        are done (the reply in progress moves along with its question), then run `then`.
        Returns at once; the move waits its turn."""

        async def move() -> None:
            await self._store.migrate_chat(old_chat_id, new_chat_id)
            if then is not None:
                await then()

        self._queues.claim(ChatKey(old_chat_id), None).fill(Job(move))

    async def new_conversation(
        self,
        key: ChatKey,
        *,
        user_id: int | None = None,
        then: Callable[[], Awaitable[None]] | None = None,
    ) -> TurnRefusal | None:
        """Start a fresh context once the chat's queued turns are done, then run `then`;
        earlier turns stay stored but are no longer sent upstream. Returns at once, or the
        refusal when the chat or `user_id` already has too much waiting."""
        if (refusal := self._over_backlog(key, user_id)) is not None:
            return refusal

        async def start() -> None:
            await self._store.start_conversation(key)
            if then is not None:
                await then()

        self._queues.claim(key, user_id).fill(Job(start))
        return None

    async def about(self) -> str:
        """The upstream's own description, and ours."""
        upstream = await self._upstream.about()
        return f"gpt-telegram-bot {__version__}\n\n{upstream}"

    async def _request(
        self,
        key: ChatKey,
        chat: ChatPreferences,
        model: str,
        parts: tuple[AttachmentPart, ...] = (),
        voice: str | None = None,
    ) -> ChatRequest:
        turns = await self._store.recent_turns(key, char_budget=self._settings.history_char_budget)
        return build_request(self._settings, chat, model, turns, parts, voice)

    def _voice(self, chat: ChatPreferences, model: str, sink: ReplySink) -> str | None:
        """The voice to answer in, or None for a written (streamed) reply."""
        if not isinstance(sink, VoiceSink) or not is_audio_model(model):
            return None
        return chat.voice or self._settings.default_voice


def user_backlog_text(waiting: int) -> str:
    """What a user reads who has MAX_QUEUED_PER_USER messages waiting already."""
    messages = "message" if waiting == 1 else "messages"
    return (
        f"You have {waiting} {messages} waiting for my answer. I'm not taking new ones until "
        "I've answered those; please send this again then."
    )


def chat_backlog_text(waiting: int) -> str:
    """What a user reads in a chat that has MAX_QUEUED_PER_CHAT messages waiting already."""
    messages = "message in this chat is" if waiting == 1 else "messages in this chat are"
    return (
        f"{waiting} {messages} waiting for my answer. I'm not taking new ones until I've "
        "answered those; please send this again then."
    )


class _Waiter:
    """A TurnWatcher that keeps how the turn ended for `reply`."""

    def __init__(self) -> None:
        self._ended: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

    async def outcome(self) -> Outcome:
        return await self._ended

    async def answered(self, outcome: Outcome) -> None:
        self._ended.set_result(outcome)

    async def failed(self, error: Exception) -> None:
        self._ended.set_exception(error)

    def dropped(self) -> None:
        self._ended.cancel()
