"""The conversation use case: one turn from the user's message to the stored reply.

Owns the order of a turn — admit it (admission.py), keep it while it waits (the store's inbox),
take the chat's turn (locks.py), build the request (request.py), generate (generation.py), store
and show the outcome — plus stopping a reply and whether it is spoken (an audio model and a sink
that can speak). Imports nothing from Telegram: replies go into a `ReplySink` (sinks.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot import __version__
from bot.config import Settings
from bot.conversation.admission import Admission, TurnRefusal
from bot.conversation.generation import Generated, Running, Status, generate
from bot.conversation.limits import UsageLimits, estimated_usage
from bot.conversation.locks import ChatLocks
from bot.conversation.request import build_request
from bot.conversation.sinks import ReplySink, VoiceSink
from bot.store import ChatKey, ChatPreferences, ChatStore
from bot.types import AttachmentPart
from bot.upstream.catalog import is_audio_model
from bot.upstream.client import UpstreamClient
from bot.upstream.types import ChatRequest

log = logging.getLogger(__name__)

EMPTY_REPLY_NOTICE = "The model returned an empty reply. Try rephrasing your message."
NOT_STARTED_NOTICE = "The bot is restarting and could not answer this. Please send it again."
NO_AUDIO_NOTICE = "The AI service sent no audio this time, so here is the answer as text."


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
# prepared once the chat's earlier turns are done, so a message sent after it cannot overtake it;
# it may raise a BotError instead (a file that can't be read), and then nothing is stored.
PendingTurn = Callable[[], Awaitable[UserTurn]]


@dataclass(frozen=True, slots=True)
class Origin:
    """Who sent a pending turn, known before it is built."""

    user_id: int | None
    telegram_message_id: int | None = None


@dataclass(frozen=True, slots=True)
class _Arrival:
    """A turn as it arrives: a ready turn is a pending one that is already built."""

    origin: Origin
    build: PendingTurn
    ready: UserTurn | None = None  # known whole on arrival: admitted, and kept while it waits

    @classmethod
    def of(cls, turn: UserTurn | PendingTurn, origin: Origin | None) -> _Arrival:
        if not isinstance(turn, UserTurn):
            return cls(origin or Origin(None), turn)
        ready = turn

        async def built() -> UserTurn:
            return ready

        return cls(Origin(turn.user_id, turn.telegram_message_id), built, turn)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a turn ended: what was stored and shown."""

    text: str
    status: Status
    model: str
    notice: str | None = None
    duplicate: bool = False
    refused: bool = False  # too long or over a limit: nothing was stored or sent upstream


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
        self._admission = Admission(store, settings, limits)
        self._locks = ChatLocks()
        self._running: dict[ChatKey, Running] = {}
        self._shutdown = asyncio.Event()

    def busy(self, key: ChatKey) -> bool:
        """Whether this chat has a turn running or queued."""
        return self._locks.busy(key)

    def busy_any(self) -> bool:
        """Whether any chat has a turn running or queued."""
        return self._locks.busy_any()

    async def reply(
        self,
        key: ChatKey,
        turn: UserTurn | PendingTurn,
        sink: ReplySink,
        *,
        origin: Origin | None = None,
    ) -> Outcome:
        """Store the user's turn, stream the model's answer into `sink`, store the answer.

        A turn that is too long or over the user's limits is refused before anything is stored
        or sent: a ready turn on arrival (not after the turns queued before it), a pending one
        once it is built — and, given its `origin`, on arrival too if its user is already over
        a limit, so no file is downloaded for a turn that can't go on. The sink shows why.
        """
        arrival = _Arrival.of(turn, origin)
        if refused := await self._admit_on_arrival(key, arrival, sink):
            return refused
        await self._keep_while_waiting(key, arrival)
        async with self._locks.hold(key):
            built = await arrival.build()
            if arrival.ready is None and (refused := await self._admit(key, built, sink)):
                return refused
            return await self._answer(key, built, sink)

    async def _admit_on_arrival(
        self, key: ChatKey, arrival: _Arrival, sink: ReplySink
    ) -> Outcome | None:
        """A ready turn is admitted whole; a pending one only looked at against its user's
        limits as they stand (counting nothing, since the turn may never exist)."""
        if arrival.ready is not None:
            return await self._admit(key, arrival.ready, sink)
        refusal = await self._admission.early_refusal(
            key,
            user_id=arrival.origin.user_id,
            telegram_message_id=arrival.origin.telegram_message_id,
        )
        return await self._refusal_shown(refusal, None, sink)

    async def _admit(self, key: ChatKey, turn: UserTurn, sink: ReplySink) -> Outcome | None:
        """The outcome of a refused turn, after showing why; None when the turn may go on."""
        refusal = await self._admission.refusal(
            key, turn.text, user_id=turn.user_id, telegram_message_id=turn.telegram_message_id
        )
        return await self._refusal_shown(refusal, turn.model, sink)

    async def _refusal_shown(
        self, refusal: TurnRefusal | None, model: str | None, sink: ReplySink
    ) -> Outcome | None:
        if refusal is None:
            return None
        if refusal.notice is not None:
            await sink.finish("", notice=refusal.notice)
        model = model or self._settings.default_model
        return Outcome("", "complete", model, refusal.notice, refused=True)

    async def _keep_while_waiting(self, key: ChatKey, arrival: _Arrival) -> None:
        """Telegram forgets a message before its turn comes: keep a ready one until then."""
        turn = arrival.ready
        if turn is None or not turn.telegram_message_id or not self._locks.busy(key):
            return
        await self._store.receive(
            key,
            turn.text,
            telegram_message_id=turn.telegram_message_id,
            user_id=turn.user_id,
            sender_name=turn.sender_name,
        )

    async def _answer(self, key: ChatKey, turn: UserTurn, sink: ReplySink) -> Outcome:
        """The chat's turn: store the question, generate the answer, store and show it."""
        stored = await self._store.add_user_message(
            key,
            turn.text,
            telegram_message_id=turn.telegram_message_id,
            user_id=turn.user_id,
            sender_name=turn.sender_name,
        )
        chat = await self._store.preferences(key)
        model = turn.model or chat.model or self._settings.default_model
        redelivered = stored is None and turn.telegram_message_id is not None
        if redelivered and await self._store.has_reply_to(key, turn.telegram_message_id or 0):
            log.info("chat %s: message %s already answered", key, turn.telegram_message_id)
            return Outcome("", "complete", model, duplicate=True)
        if self._shutdown.is_set():
            # Queued behind a reply when the bot began stopping: stored, and the user told.
            await sink.finish("", notice=NOT_STARTED_NOTICE)
            return Outcome("", "interrupted", model, NOT_STARTED_NOTICE)
        voice = self._voice(chat, model, sink)
        request = await self._request(key, chat, model, turn.parts, voice)
        reply = await self._generate(key, turn, request, sink)
        return await self._store_and_show(key, turn, model, request, reply, sink)

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
        if text.strip():
            usage = reply.usage or estimated_usage(request.messages, text)
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
        elif notice is None and reply.audio is None:
            notice = EMPTY_REPLY_NOTICE
        if isinstance(sink, VoiceSink) and reply.audio is not None and status == "complete":
            await sink.speak(reply.audio)
        else:
            await sink.finish(text, notice=notice)
        return Outcome(text, status, model, notice)

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
        short by the restart; turns waiting behind them are stored and told to send again."""
        self._shutdown.set()

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """Move a group's history to the supergroup it became, once its reply in progress (if
        any) is stored, so that reply moves along with its question."""
        async with self._locks.hold(ChatKey(old_chat_id)):
            await self._store.migrate_chat(old_chat_id, new_chat_id)

    async def new_conversation(self, key: ChatKey) -> None:
        """Start a fresh context; earlier turns stay stored but are no longer sent upstream."""
        async with self._locks.hold(key):
            await self._store.start_conversation(key)

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
