"""Per-chat order without holding anyone up: one queue, and one worker task, per busy chat.

Owns the order of a chat's work (turns, and what must wait for them: /new, a group's move to a
supergroup) and the counts the caps read: how many wait in a chat, how many of one user's wait
in all chats. A place is claimed the moment something arrives, before anything is awaited, so
arrival order holds and a burst can't slip past the caps; it is filled (or withdrawn) once the
arrival has been admitted. A chat's worker takes the places in order and runs their jobs; it
exists while the chat has work and ends when the chat is idle. What a job does is the service's.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from bot.store import ChatKey

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    """What a place in a chat's queue runs, and what undoes its admission if it never runs."""

    run: Callable[[], Coroutine[Any, Any, None]]
    dropped: Callable[[], None] = lambda: None
    # The context it was queued in (the reader's language, for one): it runs in that, not in
    # the worker's, which serves whoever queued first.
    context: contextvars.Context = field(default_factory=contextvars.copy_context)


class Place:
    """A place in a chat's queue, claimed on arrival and filled once the arrival is admitted."""

    def __init__(self, user_id: int | None) -> None:
        self.user_id = user_id
        self._job: asyncio.Future[Job | None] = asyncio.get_running_loop().create_future()
        self._abandoned = False

    def fill(self, job: Job) -> None:
        """Queue `job` here; if the queue was given up meanwhile, it is dropped at once."""
        if self._abandoned:
            job.dropped()
        elif not self._job.done():
            self._job.set_result(job)

    def withdraw(self) -> None:
        """Nothing will be queued here (the arrival was refused): the worker moves on."""
        if not self._job.done():
            self._job.set_result(None)

    async def job(self) -> Job | None:
        return await asyncio.shield(self._job)

    def abandon(self) -> None:
        """The worker is gone before reaching this place: drop what it holds, or will hold."""
        self._abandoned = True
        if self._job.done() and not self._job.cancelled() and (job := self._job.result()):
            job.dropped()


@dataclass(slots=True)
class _Chat:
    places: deque[Place] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None


class ChatQueues:
    """The queues of the chats that have work, each drained in order by its own worker."""

    def __init__(self) -> None:
        self._chats: dict[ChatKey, _Chat] = {}
        self._waiting_by_user: Counter[int] = Counter()

    def claim(self, key: ChatKey, user_id: int | None) -> Place:
        """A place at the end of the chat's queue, counted as waiting from now on."""
        chat = self._chats.get(key)
        if chat is None:
            chat = self._chats[key] = _Chat()
            name = f"chat-worker-{key.chat_id}-{key.thread_id}"
            chat.worker = asyncio.create_task(self._work(key, chat), name=name)
        place = Place(user_id)
        chat.places.append(place)
        if user_id is not None:
            self._waiting_by_user[user_id] += 1
        return place

    def waiting(self, key: ChatKey) -> int:
        """How many places of the chat wait (the one running is not counted)."""
        chat = self._chats.get(key)
        return 0 if chat is None else len(chat.places)

    def waiting_for(self, user_id: int) -> int:
        """How many places of this user wait, in all chats."""
        return self._waiting_by_user.get(user_id, 0)

    def busy(self, key: ChatKey) -> bool:
        """Whether the chat has work running or waiting."""
        return key in self._chats

    def busy_any(self) -> bool:
        """Whether any chat has work running or waiting."""
        return bool(self._chats)

    async def join(self) -> None:
        """Wait until every chat's work is done (work queued meanwhile included)."""
        while workers := [chat.worker for chat in self._chats.values() if chat.worker]:
            await asyncio.wait(workers)

    async def cancel(self) -> None:
        """Stop every worker now: the running jobs are cancelled, the waiting ones dropped."""
        workers = [chat.worker for chat in self._chats.values() if chat.worker]
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    async def _work(self, key: ChatKey, chat: _Chat) -> None:
        try:
            while chat.places:
                place = chat.places[0]
                job = await place.job()  # at once, unless it is still being admitted
                chat.places.popleft()
                self._uncount(place)
                if job is None:
                    continue
                try:
                    await asyncio.create_task(job.run(), context=job.context)
                except asyncio.CancelledError:
                    current = asyncio.current_task()
                    if current is not None and current.cancelling():
                        raise  # this worker is being stopped
                    log.error("chat %s: queued work was cancelled from inside", key)
                except Exception:
                    # A job reports its own failures; this is the last resort, so the chat's
                    # later work still runs.
                    log.exception("chat %s: queued work failed", key)
        finally:
            del self._chats[key]
            left, chat.places = list(chat.places), deque()
            for place in left:
                self._uncount(place)
                place.abandon()

    def _uncount(self, place: Place) -> None:
        if place.user_id is None:
            return
        self._waiting_by_user[place.user_id] -= 1
        if self._waiting_by_user[place.user_id] <= 0:
            del self._waiting_by_user[place.user_id]
