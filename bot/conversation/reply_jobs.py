"""A reply's work in its chat's queue: the backlog caps it waits under, and its job run to the end.

Owns what a turn and answering again share once admitted: whether the chat or the user already
has too much waiting (the caps MAX_QUEUED_PER_CHAT and MAX_QUEUED_PER_USER, said at most once a
minute), the job a reply's place runs — the watcher told how it ended, its room under the limits
given back and its sink closed, however it ends, or only the room given back if it never runs —
and a refusal shown in the sink. Must not admit, answer or store: service.py and again.py decide
what runs, answer.py answers. Imports nothing from Telegram.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.config import Settings
from bot.conversation.admission import TurnRefusal, chat_backlog_text, user_backlog_text
from bot.conversation.limits import TELL_INTERVAL, Throttle
from bot.conversation.queues import ChatQueues, Job
from bot.conversation.sinks import ReplySink
from bot.conversation.turns import Outcome, TurnWatcher
from bot.store import ChatKey
from bot.types import Clock


class BacklogCaps:
    """How much may wait in one chat, and from one user in all chats."""

    def __init__(self, settings: Settings, queues: ChatQueues, now: Clock) -> None:
        self._settings = settings
        self._queues = queues
        self._told = Throttle(TELL_INTERVAL, now)

    def refusal(self, key: ChatKey, user_id: int | None) -> TurnRefusal | None:
        """Why nothing more may wait in this chat or from this user, or None."""
        chat_cap = self._settings.max_queued_per_chat
        if (waiting := self._queues.waiting(key)) >= chat_cap:
            told = self._told.ready(key)
            return TurnRefusal(chat_backlog_text(waiting) if told else None)
        user_cap = self._settings.max_queued_per_user
        if user_id is not None and (waiting := self._queues.waiting_for(user_id)) >= user_cap:
            told = self._told.ready(user_id)
            return TurnRefusal(user_backlog_text(waiting) if told else None)
        return None


def reply_job(
    answer: Callable[[], Awaitable[Outcome]],
    sink: ReplySink,
    watcher: TurnWatcher | None,
    *,
    release: Callable[[], None],
    undo: Callable[[], Awaitable[None]] | None = None,
) -> Job:
    """The job of an admitted reply's place: `answer()`, then `watcher` told the outcome — or
    the error (`undo()` first; with no watcher the error goes on to the queue's log). However it
    ends (a failed write, a cancelled worker), `release()` gives its room under the limits back
    (harmless once stored) and the sink's loops end. Never run (the worker was cancelled first):
    `release()`, and the watcher told it was dropped."""

    async def run() -> None:
        try:
            outcome = await answer()
        except Exception as error:
            if undo is not None:
                await undo()
            if watcher is None:
                raise
            await watcher.failed(error)
            return
        finally:
            release()
            await sink.close()
        if watcher is not None:
            await watcher.answered(outcome)

    def dropped() -> None:
        release()
        if watcher is not None:
            watcher.dropped()

    return Job(run, dropped)


async def refusal_shown(refusal: TurnRefusal, sink: ReplySink, model: str) -> Outcome:
    """Show why a reply was refused (unless its user was told a moment ago); its outcome."""
    if refusal.notice is not None:
        await sink.finish("", notice=refusal.notice)
    return Outcome("", "complete", model, refusal.notice, refused=True)
