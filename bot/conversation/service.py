"""The conversation use case: the order of a turn, from the user's message to its chat's turn.

Owns the steps of a turn and their order: on arrival, the backlog caps (reply_jobs.py), then a
redelivery known or the turn admitted and kept in the inbox (arrivals.py), then queued behind the
chat's earlier work (queues.py: the caller returns at once; the chat's own worker runs it); when
its turn comes, built, looked at once more, and handed to answer.py, and what the built turn holds
given back however it ends (`UserTurn.release`: its audio's room in the budget of audio in
flight). Also stopping a reply, and running other work on a chat's history in its place among the
turns (/new, a group's move, switching conversations, forgetting the chat); answering again is
again.py's. Must not answer or store a reply itself. Imports nothing from Telegram: replies go
into a `ReplySink` (sinks.py), how a turn ended to the caller's `TurnWatcher`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bot import __version__
from bot.config import Settings
from bot.conversation.admission import Admission, TurnRefusal
from bot.conversation.again import AnsweringAgain
from bot.conversation.answer import Answerer
from bot.conversation.arrivals import Arrivals
from bot.conversation.generation import Running
from bot.conversation.limits import Reservation, UsageLimits
from bot.conversation.queues import ChatQueues, Job
from bot.conversation.reply_jobs import BacklogCaps, refusal_shown, reply_job
from bot.conversation.sinks import ReplySink
from bot.conversation.turns import (
    AnswerAgain,
    Arrival,
    Origin,
    Outcome,
    PendingTurn,
    TurnWatcher,
    UserTurn,
    Waiter,
)
from bot.store import ChatKey, ChatStore, Received
from bot.upstream.client import UpstreamClient

log = logging.getLogger(__name__)


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
        self._caps = BacklogCaps(settings, self._queues, limits.now)
        self._answerer = Answerer(store, upstream, settings)
        self._again = AnsweringAgain(
            self._queues, self._caps, self._admission, self._answerer, settings.default_model
        )
        self._arrivals = Arrivals(store, self._admission, self._answerer.model_of)

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
        arrival = Arrival.of(key, turn, origin)
        user_id = arrival.origin.user_id
        if self._arrivals.queued(key, arrival):
            return Outcome("", "complete", self._answerer.model_of(arrival.ready), duplicate=True)
        # Before anything is awaited, so a burst of one sender can't all pass the check at once.
        if (refusal := self._caps.refusal(key, user_id)) is not None:
            return await refusal_shown(refusal, sink, self._answerer.model_of(arrival.ready))
        place = self._queues.claim(key, user_id)
        self._arrivals.enter(key, arrival)
        try:
            admitted = await self._arrivals.admit(key, arrival)
        except BaseException:
            self._arrivals.leave(key, arrival)
            place.withdraw()
            raise
        if isinstance(admitted, TurnRefusal | Outcome):
            self._arrivals.leave(key, arrival)
            place.withdraw()
            if isinstance(admitted, Outcome):
                return admitted
            return await refusal_shown(admitted, sink, self._answerer.model_of(arrival.ready))
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
        waiter = Waiter()
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
        arrival = Arrival.of(key, turn, origin)
        reservation = self._admission.hold(arrival.origin.user_id)
        place = self._queues.claim(key, arrival.origin.user_id)
        self._arrivals.enter(key, arrival)
        place.fill(self._job(key, arrival, sink, watcher, reservation))

    async def keep_joined(self, records: tuple[Received, ...]) -> None:
        """Keep messages that joined a waiting turn after it was queued (an album's later
        photos) in the inbox beside it; nothing is kept if that turn no longer waits."""
        for record in records:
            await self._arrivals.keep(record)

    def _job(
        self,
        key: ChatKey,
        arrival: Arrival,
        sink: ReplySink,
        watcher: TurnWatcher | None,
        reservation: Reservation,
    ) -> Job:
        """The turn's job: taken, and what it left behind forgotten if it failed. Dropped unrun,
        it stays in the inbox for the next start."""

        async def answer() -> Outcome:
            return await self._take_turn(key, arrival, sink, reservation)

        async def undo() -> None:
            await self._answerer.forget(key, arrival)

        def release() -> None:
            self._arrivals.leave(key, arrival)
            self._admission.release(reservation)

        return reply_job(answer, sink, watcher, release=release, undo=undo)

    async def _take_turn(
        self, key: ChatKey, arrival: Arrival, sink: ReplySink, reservation: Reservation
    ) -> Outcome:
        if self._answerer.shutdown.is_set():
            return await self._answerer.not_started(key, arrival, sink)
        built = await arrival.build()
        try:
            later = None if arrival.ready is not None else built.text
            refusal = await self._admission.refusal_once_built(later, reservation)
            if refusal is not None:
                await self._answerer.forget(key, arrival)
                return await refusal_shown(refusal, sink, self._answerer.model_of(built))
            return await self._answerer.answer(
                key, arrival, built, sink, lambda: self._admission.settle(reservation)
            )
        finally:
            # Answered, refused, failed, stopped or cancelled: what the turn held is given back.
            if built.release is not None:
                built.release()

    def stop(self, key: ChatKey, *, telegram_message_id: int | None = None) -> bool:
        """Stop the reply being generated in this chat (only if it answers `telegram_message_id`,
        when given); False when there is no such reply."""
        running = self._answerer.running(key)
        if running is None or running.stop.is_set():
            return False
        if telegram_message_id is not None and running.telegram_message_id != telegram_message_id:
            return False
        running.stop.set()
        return True

    def running(self, key: ChatKey) -> Running | None:
        """The turn this chat is generating, if any."""
        return self._answerer.running(key)

    def shut_down(self) -> None:
        """The bot is stopping: end every reply in progress with what it has, marked as cut
        short by the restart; turns waiting behind them are told to send again (and not kept)."""
        self._answerer.shutdown.set()

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

        async def start() -> None:
            await self._store.start_conversation(key)
            if then is not None:
                await then()

        return await self.after_turns(key, start, user_id=user_id)

    async def answer_again(
        self,
        key: ChatKey,
        again: AnswerAgain,
        sink: ReplySink,
        *,
        watcher: TurnWatcher | None = None,
    ) -> Outcome | None:
        """Queue answering the chat's latest question again (/retry, an edit) behind its earlier
        turns, admitted like a turn (the backlog caps, the edited text's length, its user's
        limits: it counts as a message); return at once. None: queued, and `watcher` hears how
        it ended (`Outcome.not_again`: why nothing was answered, nothing shown). An Outcome:
        refused now, and the sink showed why. Not kept across a restart: it can be asked again.
        """
        return await self._again.queue(key, again, sink, watcher)

    async def after_turns(
        self,
        key: ChatKey,
        work: Callable[[], Coroutine[Any, Any, None]],
        *,
        user_id: int | None = None,
    ) -> TurnRefusal | None:
        """Run `work` (making another conversation current, forgetting the chat) once the
        chat's queued turns are done, keeping its place among them; return at once, or the
        refusal when the chat or `user_id` already has too much waiting."""
        if (refusal := self._caps.refusal(key, user_id)) is not None:
            return refusal
        self._queues.claim(key, user_id).fill(Job(work))
        return None

    def waiting_messages(self, key: ChatKey) -> frozenset[int]:
        """The Telegram ids of this chat's messages whose turns are queued or running."""
        return self._arrivals.waiting_messages(key)

    async def about(self) -> str:
        """The upstream's own description, and ours."""
        upstream = await self._upstream.about()
        return f"gpt-telegram-bot {__version__}\n\n{upstream}"
