"""The conversation use case: the order of a turn, from the user's message to its chat's turn.

Owns admitting a turn on arrival (admission.py: length, limits counted at once; the backlog caps
MAX_QUEUED_PER_CHAT and MAX_QUEUED_PER_USER), keeping it while it waits (the store's inbox),
queueing it behind the chat's earlier work (queues.py: the caller returns at once; the chat's own
worker runs it), building it and looking at it once more, then handing it to answer.py; plus
stopping a reply, and ending every turn's sink and giving back what its built turn holds
(`UserTurn.release`: its audio's room in the budget of audio in flight) however the turn ends;
answering the latest question again (admitted and queued like a turn); and running other work on
a chat's history in its place among the turns (/new, switching conversations, forgetting the
chat). Imports nothing from Telegram: replies go into a `ReplySink` (sinks.py), how a turn ended
to the caller's `TurnWatcher`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot import __version__
from bot.config import Settings
from bot.conversation.admission import (
    Admission,
    TurnRefusal,
    chat_backlog_text,
    user_backlog_text,
)
from bot.conversation.answer import Answerer
from bot.conversation.generation import Running
from bot.conversation.limits import TELL_INTERVAL, Reservation, Throttle, UsageLimits
from bot.conversation.queues import ChatQueues, Job
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
        self._backlog_told = Throttle(TELL_INTERVAL, limits.now)
        self._answerer = Answerer(store, upstream, settings)
        # The messages whose turns are queued or running, so one delivered again meanwhile (a
        # lost confirmation, or the inbox's leftovers queued at start) is known without a look
        # in the store, before the backlog caps count it.
        self._in_queue: set[tuple[ChatKey, int | None]] = set()

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
        queued = self._queued_as(key, arrival)
        if queued[1] is not None and queued in self._in_queue:
            return Outcome("", "complete", self._answerer.model_of(arrival.ready), duplicate=True)
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
        self._in_queue.add(self._queued_as(key, arrival))
        place.fill(self._job(key, arrival, sink, watcher, reservation))

    async def keep_joined(self, records: tuple[Received, ...]) -> None:
        """Keep messages that joined a waiting turn after it was queued (an album's later
        photos) in the inbox beside it; nothing is kept if that turn no longer waits."""
        for record in records:
            await self._keep(record)

    @staticmethod
    def _queued_as(key: ChatKey, arrival: Arrival) -> tuple[ChatKey, int | None]:
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

    async def _admit(self, key: ChatKey, arrival: Arrival) -> Reservation | TurnRefusal | Outcome:
        """The arrival's reservation once it is kept in the inbox; why it is refused; or, for a
        message already known, the outcome that says so."""
        message_id = arrival.origin.telegram_message_id
        model = self._answerer.model_of(arrival.ready)
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
        arrival: Arrival,
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
        arrival: Arrival,
        sink: ReplySink,
        watcher: TurnWatcher | None,
        reservation: Reservation,
    ) -> None:
        """The chat's worker takes this turn: answer it, then tell the watcher how it ended."""
        try:
            outcome = await self._take_turn(key, arrival, sink, reservation)
        except Exception as error:
            await self._answerer.forget(key, arrival)
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
                return await self._refusal_shown(refusal, arrival, sink, model=built.model)
            return await self._answerer.answer(
                key, arrival, built, sink, lambda: self._admission.settle(reservation)
            )
        finally:
            # Answered, refused, failed, stopped or cancelled: what the turn held is given back.
            if built.release is not None:
                built.release()

    async def _refusal_shown(
        self,
        refusal: TurnRefusal,
        arrival: Arrival,
        sink: ReplySink,
        *,
        model: str | None = None,
    ) -> Outcome:
        if refusal.notice is not None:
            await sink.finish("", notice=refusal.notice)
        model = model or self._answerer.model_of(arrival.ready)
        return Outcome("", "complete", model, refusal.notice, refused=True)

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
        if (refusal := self._over_backlog(key, user_id)) is not None:
            return refusal

        async def start() -> None:
            await self._store.start_conversation(key)
            if then is not None:
                await then()

        self._queues.claim(key, user_id).fill(Job(start))
        return None

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
        if (refusal := self._over_backlog(key, again.user_id)) is not None:
            return await self._again_refused(refusal, sink)
        place = self._queues.claim(key, again.user_id)
        try:
            admitted = await self._admission.admit(again.text, user_id=again.user_id)
        except BaseException:
            place.withdraw()
            raise
        if isinstance(admitted, TurnRefusal):
            place.withdraw()
            return await self._again_refused(admitted, sink)

        async def run() -> None:
            try:
                refusal = await self._admission.refusal_once_built(None, admitted)
                if refusal is not None:
                    outcome = await self._again_refused(refusal, sink)
                else:
                    outcome = await self._answerer.answer_again(
                        key, again, sink, lambda: self._admission.settle(admitted)
                    )
            except Exception as error:
                if watcher is None:
                    raise
                await watcher.failed(error)
                return
            finally:
                self._admission.release(admitted)
                await sink.close()
            if watcher is not None:
                await watcher.answered(outcome)

        def dropped() -> None:
            self._admission.release(admitted)
            if watcher is not None:
                watcher.dropped()

        place.fill(Job(run, dropped))
        return None

    async def _again_refused(self, refusal: TurnRefusal, sink: ReplySink) -> Outcome:
        if refusal.notice is not None:
            await sink.finish("", notice=refusal.notice)
        model = self._settings.default_model
        return Outcome("", "complete", model, refusal.notice, refused=True)

    async def after_turns(
        self,
        key: ChatKey,
        work: Callable[[], Awaitable[None]],
        *,
        user_id: int | None = None,
    ) -> TurnRefusal | None:
        """Run `work` (making another conversation current, forgetting the chat) once the
        chat's queued turns are done, keeping its place among them; return at once, or the
        refusal when the chat or `user_id` already has too much waiting."""
        if (refusal := self._over_backlog(key, user_id)) is not None:
            return refusal
        self._queues.claim(key, user_id).fill(Job(work))
        return None

    def waiting_messages(self, key: ChatKey) -> frozenset[int]:
        """The Telegram ids of this chat's messages whose turns are queued or running."""
        return frozenset(
            message_id
            for queued, message_id in self._in_queue
            if queued == key and message_id is not None
        )

    async def about(self) -> str:
        """The upstream's own description, and ours."""
        upstream = await self._upstream.about()
        return f"gpt-telegram-bot {__version__}\n\n{upstream}"
