"""The conversation use case: history window, upstream request, streaming, persistence.

Owns one turn from the user's text to the stored reply: per-chat ordering (one turn at a time
per chat, other chats in parallel), refusing a turn that is too long or over the user's limits
before anything is stored or sent, keeping a message that waits for its turn (in the store's
inbox, so a crash cannot lose it), the context sent upstream, stopping a reply in progress (the
user's /stop or Stop button, or the bot shutting down), whether the reply is spoken (an
audio-capable model and a sink that can speak: then the whole reply is asked for at once, with
the chat's voice, since audio is not streamed), and what is stored when a reply completes, fails
or is stopped — a spoken reply as its transcript, tokens estimated from characters when the
upstream reports no usage. It imports nothing from Telegram: replies go into a `ReplySink`, so
how a reply is shown can change freely.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from bot import __version__
from bot.config import Settings
from bot.errors import UpstreamError
from bot.limits import UsageLimits, estimated_usage, refusal_text, too_long_text
from bot.models import is_audio_model
from bot.store import ChatKey, ChatSettings, ChatStore, Turn
from bot.upstream import AudioReply, ChatRequest, SamplingParams, UpstreamClient, Usage

log = logging.getLogger(__name__)

Status = Literal["complete", "interrupted", "stopped"]

EMPTY_REPLY_NOTICE = "The model returned an empty reply. Try rephrasing your message."
STOPPED_NOTICE = "Stopped."
RESTART_NOTICE = "The bot restarted, so this reply was cut short. Please ask again."
NOT_STARTED_NOTICE = "The bot is restarting and could not answer this. Please send it again."
NO_AUDIO_NOTICE = "The AI service sent no audio this time, so here is the answer as text."
NAME_LIMIT = 64  # OpenAI's limit for a message's `name`


class ReplySink(Protocol):
    """Where a reply goes while it is produced (a live Telegram message, a console, a test)."""

    async def start(self) -> None:
        """The reply is being prepared: show that the bot is working."""

    async def update(self, text: str) -> None:
        """The whole reply so far; called often, must return quickly."""

    async def finish(self, text: str, *, notice: str | None = None) -> None:
        """The final reply, plus a notice (why it is incomplete) when there is one."""


@runtime_checkable
class VoiceSink(ReplySink, Protocol):
    """A sink that can also deliver a spoken reply."""

    async def start_speaking(self) -> None:
        """A spoken reply is being prepared: show that the bot is recording."""

    async def speak(self, audio: AudioReply) -> None:
        """Deliver the spoken reply (WAV and transcript); fall back to text if it must."""


@dataclass(frozen=True, slots=True)
class UserTurn:
    """What the user said, and where it came from."""

    text: str
    telegram_message_id: int | None = None
    user_id: int | None = None
    sender_name: str | None = None  # set in group chats, where the model must tell people apart
    # OpenAI content parts (image_url, input_audio) sent with this turn only, after `text`;
    # the history keeps `text` alone, which then says what was attached ("[photo 1280x720]").
    parts: tuple[Mapping[str, Any], ...] = ()
    # A model for this turn only (a vision or audio model), the chat's own choice unchanged.
    model: str | None = None


# A turn that needs work before it exists (downloading a photo, waiting for an album). It is
# prepared once the chat's earlier turns are done, so a message sent after it cannot overtake it;
# it may raise a BotError instead (a file that can't be read), and then nothing is stored.
PendingTurn = Callable[[], Awaitable[UserTurn]]


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a turn ended: what was stored and shown."""

    text: str
    status: Status
    model: str
    notice: str | None = None
    duplicate: bool = False
    refused: bool = False  # too long or over a limit: nothing was stored or sent upstream


class ChatLocks:
    """One lock per chat, created on demand and dropped when nobody holds or awaits it.

    asyncio.Lock wakes waiters in FIFO order, so turns of one chat run in arrival order.
    """

    def __init__(self) -> None:
        self._locks: dict[ChatKey, asyncio.Lock] = {}
        self._users: dict[ChatKey, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: ChatKey) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                del self._locks[key]

    def busy(self, key: ChatKey) -> bool:
        """Whether a turn of this chat is running or waiting."""
        return key in self._users

    def busy_any(self) -> bool:
        """Whether any chat has a turn running or waiting."""
        return bool(self._users)


@dataclass(frozen=True, slots=True)
class _Refused:
    notice: str | None  # None: the user was told a moment ago, stay silent


@dataclass(slots=True)
class _Progress:
    text: str = ""
    usage: Usage | None = None
    audio: AudioReply | None = None


@dataclass(frozen=True, slots=True)
class Running:
    """The turn a chat is generating: whose message it answers, and the switch that ends it."""

    telegram_message_id: int | None
    user_id: int | None
    stop: asyncio.Event
    shutdown: asyncio.Event


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
        self._limits = limits or UsageLimits.from_settings(store, settings)
        self._locks = ChatLocks()
        self._running: dict[ChatKey, Running] = {}
        self._shutdown = asyncio.Event()

    def busy(self, key: ChatKey) -> bool:
        """Whether this chat has a turn running or queued."""
        return self._locks.busy(key)

    def busy_any(self) -> bool:
        """Whether any chat has a turn running or queued."""
        return self._locks.busy_any()

    async def reply(self, key: ChatKey, turn: UserTurn | PendingTurn, sink: ReplySink) -> Outcome:
        """Store the user's turn, stream the model's answer into `sink`, store the answer.

        A turn that is too long or over the user's limits is refused before anything is stored
        or sent: a ready turn on arrival (not after the turns queued before it), a pending one
        once it is built. The sink shows why.
        """
        if isinstance(turn, UserTurn) and (refused := await self._refused(key, turn, sink)):
            return refused
        if isinstance(turn, UserTurn) and turn.telegram_message_id and self._locks.busy(key):
            # Telegram forgets this message before its turn comes: keep it until then.
            await self._store.receive(
                key,
                turn.text,
                telegram_message_id=turn.telegram_message_id,
                user_id=turn.user_id,
                sender_name=turn.sender_name,
            )
        async with self._locks.hold(key):
            if not isinstance(turn, UserTurn):
                turn = await turn()
                if refused := await self._refused(key, turn, sink):
                    return refused
            stored = await self._store.add_user_message(
                key,
                turn.text,
                telegram_message_id=turn.telegram_message_id,
                user_id=turn.user_id,
                sender_name=turn.sender_name,
            )
            chat = await self._store.settings(key)
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
            if isinstance(sink, VoiceSink) and voice is not None:
                await sink.start_speaking()
            else:
                await sink.start()
            progress, status, notice = await self._generate(key, turn, request, sink)
            text = progress.text
            if voice is not None and status == "complete" and progress.audio is None:
                notice = NO_AUDIO_NOTICE if text.strip() else None
            if text.strip():
                usage = progress.usage or estimated_usage(request.messages, text)
                await self._store.add_assistant_message(
                    key,
                    text,
                    model=model,
                    status=status,
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                    user_id=turn.user_id,
                    usage_estimated=progress.usage is None,
                )
            elif notice is None and progress.audio is None:
                notice = EMPTY_REPLY_NOTICE
            if isinstance(sink, VoiceSink) and progress.audio is not None and status == "complete":
                await sink.speak(progress.audio)
            else:
                await sink.finish(text, notice=notice)
            return Outcome(text, status, model, notice)

    async def _refused(self, key: ChatKey, turn: UserTurn, sink: ReplySink) -> Outcome | None:
        """The outcome of a refused turn, after showing why; None when the turn may go on."""
        refusal = await self._refusal(key, turn)
        if refusal is None:
            return None
        if refusal.notice is not None:
            await sink.finish("", notice=refusal.notice)
        model = turn.model or self._settings.default_model
        return Outcome("", "complete", model, refusal.notice, refused=True)

    async def _refusal(self, key: ChatKey, turn: UserTurn) -> _Refused | None:
        if turn.telegram_message_id is not None and await self._store.has_message(
            key, turn.telegram_message_id
        ):
            return None  # redelivered after a restart: admitted and counted the first time
        limit = self._settings.max_message_chars
        if len(turn.text) > limit:
            return _Refused(too_long_text(len(turn.text), limit))
        over = await self._limits.admit(turn.user_id)
        if over is None:
            return None
        log.info("user %s is over the %s limit until %.0f", turn.user_id, over.kind, over.retry_at)
        return _Refused(refusal_text(over, self._limits.now()) if over.tell else None)

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
        chat: ChatSettings,
        model: str,
        parts: tuple[Mapping[str, Any], ...] = (),
        voice: str | None = None,
    ) -> ChatRequest:
        turns = await self._store.recent_turns(key, char_budget=self._settings.history_char_budget)
        system = chat.system_prompt or self._settings.system_prompt
        return ChatRequest(
            model=model,
            messages=tuple(build_messages(system, turns, parts)),
            params=SamplingParams(
                temperature=chat.temperature,
                top_p=chat.top_p,
                presence_penalty=chat.presence_penalty,
                frequency_penalty=chat.frequency_penalty,
            ),
            voice=voice,
        )

    def _voice(self, chat: ChatSettings, model: str, sink: ReplySink) -> str | None:
        """The voice to answer in, or None for a written (streamed) reply."""
        if not isinstance(sink, VoiceSink) or not is_audio_model(model):
            return None
        return chat.voice or self._settings.default_voice

    async def _generate(
        self, key: ChatKey, turn: UserTurn, request: ChatRequest, sink: ReplySink
    ) -> tuple[_Progress, Status, str | None]:
        """Stream the answer until it ends, fails or is stopped; never raises upstream errors."""
        progress = _Progress()
        running = self._running[key] = Running(
            turn.telegram_message_id, turn.user_id, asyncio.Event(), self._shutdown
        )
        work = (
            self._stream(request, sink, progress)
            if request.voice is None
            else self._complete(request, progress)
        )
        streaming = asyncio.create_task(work)
        stopping = asyncio.create_task(running.stop.wait())
        shutting_down = asyncio.create_task(running.shutdown.wait())
        try:
            await asyncio.wait(
                {streaming, stopping, shutting_down}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stopping.cancel()
            shutting_down.cancel()
            if not streaming.done():
                streaming.cancel()
            await asyncio.wait({streaming})  # let it wind down; its outcome is read below
            del self._running[key]
        if streaming.cancelled():
            if running.stop.is_set():
                return progress, "stopped", STOPPED_NOTICE
            return progress, "interrupted", RESTART_NOTICE
        error = streaming.exception()
        if error is None:
            return progress, "complete", None
        if isinstance(error, UpstreamError):
            log.warning("chat %s: %s", key, error)
            return progress, "interrupted", error.user_message
        raise error

    async def _stream(self, request: ChatRequest, sink: ReplySink, progress: _Progress) -> None:
        async for delta in self._upstream.stream_chat(request):
            if delta.usage is not None:
                progress.usage = delta.usage
            if delta.text:
                progress.text += delta.text
                await sink.update(progress.text)

    async def _complete(self, request: ChatRequest, progress: _Progress) -> None:
        """Ask for the whole reply at once (audio is never streamed) and keep what came back."""
        completion = await self._upstream.complete_chat(request)
        progress.text = completion.text
        progress.usage = completion.usage
        progress.audio = completion.audio


def build_messages(
    system: str, turns: list[Turn], parts: tuple[Mapping[str, Any], ...] = ()
) -> list[Mapping[str, Any]]:
    """The OpenAI `messages` list: the system prompt, then the turns, oldest first.

    A user turn with a sender name (group chats) carries it as the message's `name`, so the model
    can tell the participants apart. `parts` (images, audio) belong to the newest turn, the user's
    own: its content becomes a list, its text first.
    """
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for turn in turns:
        message: dict[str, Any] = {"role": turn.role, "content": turn.content}
        if turn.role == "user" and turn.sender_name:
            message["name"] = openai_name(turn.sender_name)
        messages.append(message)
    if parts and messages and messages[-1]["role"] == "user":
        text = messages[-1]["content"]
        text_part = [{"type": "text", "text": text}] if text else []
        messages[-1]["content"] = [*text_part, *parts]
    return list(messages)


def openai_name(display_name: str) -> str:
    """`display_name` in the characters OpenAI allows in `name` (a-z A-Z 0-9 _ -, at most 64).

    Accents are dropped ("José" -> "Jose") and spaces become underscores; a name with nothing
    left (another script) becomes a stable stand-in, so different people stay different.
    """
    decomposed = unicodedata.normalize("NFKD", display_name.strip())
    underscored = re.sub(r"\s+", "_", decomposed)
    name = re.sub(r"[^A-Za-z0-9_-]", "", underscored)[:NAME_LIMIT]
    if name.strip("_-"):
        return name
    return "user_" + hashlib.sha256(display_name.encode()).hexdigest()[:8]
