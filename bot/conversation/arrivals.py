"""Which arrivals are here already, and keeping each new one until its turn stores it.

Owns telling a message Telegram delivers again from a new one — its turn queued or running (known
at once, before the backlog caps count it), its question stored (redelivered after a restart:
admitted the first time), or its message already in the store's inbox (delivered twice, or kept
by an earlier run) — and admitting a new one (admission.py) as it is kept in the inbox. Must not
queue, answer or show anything: service.py claims the arrival's place, fills it and shows a
refusal. Imports nothing from Telegram.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.conversation.admission import Admission, TurnRefusal
from bot.conversation.limits import Reservation
from bot.conversation.turns import Arrival, Outcome, UserTurn
from bot.store import ChatKey, ChatStore, Received


class Arrivals:
    """The messages whose turns are queued or running, and the inbox that keeps them."""

    def __init__(
        self, store: ChatStore, admission: Admission, model_of: Callable[[UserTurn | None], str]
    ) -> None:
        self._store = store
        self._admission = admission
        self._model_of = model_of
        # The messages whose turns are queued or running, so one delivered again meanwhile (a
        # lost confirmation, or the inbox's leftovers queued at start) is known without a look
        # in the store, before the backlog caps count it.
        self._in_queue: set[tuple[ChatKey, int | None]] = set()

    def queued(self, key: ChatKey, arrival: Arrival) -> bool:
        """Whether the arrival's message already has a turn queued or running."""
        entry = _entry(key, arrival)
        return entry[1] is not None and entry in self._in_queue

    def enter(self, key: ChatKey, arrival: Arrival) -> None:
        """The arrival's turn is being queued: a redelivery of its message is known from now."""
        self._in_queue.add(_entry(key, arrival))

    def leave(self, key: ChatKey, arrival: Arrival) -> None:
        """The arrival's turn ended, or it was refused."""
        self._in_queue.discard(_entry(key, arrival))

    def waiting_messages(self, key: ChatKey) -> frozenset[int]:
        """The Telegram ids of this chat's messages whose turns are queued or running."""
        return frozenset(
            message_id
            for queued, message_id in self._in_queue
            if queued == key and message_id is not None
        )

    async def admit(self, key: ChatKey, arrival: Arrival) -> Reservation | TurnRefusal | Outcome:
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
            if kept and not await self.keep(kept[0]):
                # Already waiting: Telegram delivered it twice, or an earlier run kept it.
                self._admission.release(admitted)
                return Outcome("", "complete", model, duplicate=True)
            for joined in kept[1:]:
                await self.keep(joined)
        except BaseException:
            self._admission.release(admitted)
            raise
        return admitted

    async def keep(self, record: Received) -> bool:
        """Telegram forgets a message once the bot has it: keep it until its turn stores it.
        False, keeping nothing, when it is kept or stored already, or the message it joined no
        longer waits."""
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


def _entry(key: ChatKey, arrival: Arrival) -> tuple[ChatKey, int | None]:
    """How the queue knows the arrival's message; a turn without one is never matched."""
    return (key, arrival.origin.telegram_message_id)
