"""Answering the latest question again (/retry, an edit) in its place among the chat's turns.

Owns admitting the request like a turn — the backlog caps, the edited text's length, its user's
limits (it counts as a message) — queueing it behind the chat's earlier turns, and looking at it
once more when its turn comes (the daily quota the replies before it may have used up). Not kept
across a restart: it can be asked again. Must not answer or store: answer.py answers it again.
Imports nothing from Telegram.
"""

from __future__ import annotations

from bot.conversation.admission import Admission, TurnRefusal
from bot.conversation.answer import Answerer
from bot.conversation.limits import Reservation
from bot.conversation.queues import ChatQueues
from bot.conversation.reply_jobs import BacklogCaps, refusal_shown, reply_job
from bot.conversation.sinks import ReplySink
from bot.conversation.turns import AnswerAgain, Outcome, TurnWatcher
from bot.store import ChatKey


class AnsweringAgain:
    """Queues answering a chat's latest question again behind the chat's earlier turns."""

    def __init__(
        self,
        queues: ChatQueues,
        caps: BacklogCaps,
        admission: Admission,
        answerer: Answerer,
        model: str,
    ) -> None:
        self._queues = queues
        self._caps = caps
        self._admission = admission
        self._answerer = answerer
        self._model = model  # what a refusal's outcome names: nothing was sent to a model

    async def queue(
        self, key: ChatKey, again: AnswerAgain, sink: ReplySink, watcher: TurnWatcher | None
    ) -> Outcome | None:
        """None: queued, and `watcher` hears how it ended. An Outcome: refused now, and the
        sink showed why."""
        if (refusal := self._caps.refusal(key, again.user_id)) is not None:
            return await refusal_shown(refusal, sink, self._model)
        place = self._queues.claim(key, again.user_id)
        try:
            admitted = await self._admission.admit(again.text, user_id=again.user_id)
        except BaseException:
            place.withdraw()
            raise
        if isinstance(admitted, TurnRefusal):
            place.withdraw()
            return await refusal_shown(admitted, sink, self._model)

        async def answer() -> Outcome:
            return await self._answer(key, again, sink, admitted)

        def release() -> None:
            self._admission.release(admitted)

        place.fill(reply_job(answer, sink, watcher, release=release))
        return None

    async def _answer(
        self, key: ChatKey, again: AnswerAgain, sink: ReplySink, admitted: Reservation
    ) -> Outcome:
        """Its turn has come: answered again unless its user is over a limit by now."""
        refusal = await self._admission.refusal_once_built(None, admitted)
        if refusal is not None:
            return await refusal_shown(refusal, sink, self._model)
        return await self._answerer.answer_again(
            key, again, sink, lambda: self._admission.settle(admitted)
        )
