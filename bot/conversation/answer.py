"""Answering one turn once its chat's turn has come: store the question, generate, store and show.

Owns what happens between a built turn and its outcome — the question stored (the turn's
reservation settled with it), a redelivered answered message recognised, the request built
(request.py) with the chat's preferences and history, the reply generated (generation.py) and
stoppable meanwhile, with its reasoning shown as the chat chose — asked again with half the
history while the model says the context is too long, down to the turn alone — the answer stored
(its reasoning beside it, never in it) and the sink given its final form, and the notices for
each way that can end (a failed write included); and answering the latest question again
(/retry, an edit), its earlier answers leaving the history first, through the same steps. Must
not queue, admit or refuse: service.py has decided that the turn runs. Imports nothing from
Telegram.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable

from bot.config import Settings
from bot.conversation.generation import Generated, Running, generate
from bot.conversation.limits import estimated_usage
from bot.conversation.request import build_request
from bot.conversation.sinks import ReplySink, VoiceSink
from bot.conversation.turns import AnswerAgain, Arrival, Outcome, UserTurn
from bot.errors import UpstreamContextOverflow
from bot.i18n import N_, _
from bot.store import STORE_ERRORS, ChatKey, ChatPreferences, ChatStore
from bot.types import ShowReasoning
from bot.upstream.catalog import is_audio_model
from bot.upstream.client import UpstreamClient
from bot.upstream.types import ChatRequest

log = logging.getLogger(__name__)

# Notices end a reply; each is worded in its reader's language when the turn ends (the turn runs
# in the language its update was handled in: bot/i18n.py).
EMPTY_REPLY_NOTICE = N_("The model returned an empty reply. Try rephrasing your message.")
NOT_STARTED_NOTICE = N_("The bot is restarting and could not answer this. Please send it again.")
NO_AUDIO_NOTICE = N_("The AI service sent no audio this time, so here is the answer as text.")
NOT_STORED_NOTICE = N_(
    "The bot's database failed, so this message wasn't answered. Please try again later."
)
REPLY_NOT_STORED_NOTICE = N_(
    "The bot's database failed, so this reply won't be remembered in the conversation."
)
HISTORY_SHORTENED_NOTICE = N_(
    "This conversation is longer than the model can read at once, so its oldest messages were "
    "left out of this answer. /new starts a fresh conversation."
)


class Answerer:
    """Answers turns whose time has come, one per chat at a time (the queues see to that)."""

    def __init__(self, store: ChatStore, upstream: UpstreamClient, settings: Settings) -> None:
        self._store = store
        self._upstream = upstream
        self._settings = settings
        self._running: dict[ChatKey, Running] = {}
        self.shutdown = asyncio.Event()

    def running(self, key: ChatKey) -> Running | None:
        """The turn this chat is generating, if any."""
        return self._running.get(key)

    def model_of(self, turn: UserTurn | None) -> str:
        return (turn.model if turn else None) or self._settings.default_model

    async def answer(
        self,
        key: ChatKey,
        arrival: Arrival,
        turn: UserTurn,
        sink: ReplySink,
        stored_question: Callable[[], None],
    ) -> Outcome:
        """The chat's turn: store the question (then `stored_question()`: it is no longer only
        reserved), generate the answer, store and show it."""
        if self.shutdown.is_set():
            return await self.not_started(key, arrival, sink)
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
            await sink.finish("", notice=_(NOT_STORED_NOTICE))
            return Outcome("", "interrupted", self.model_of(turn), _(NOT_STORED_NOTICE))
        # With no await since the write: nobody counts the turn both as stored and reserved.
        stored_question()
        chat = await self._store.preferences(key)
        model = turn.model or chat.model or self._settings.default_model
        redelivered = stored is None and turn.telegram_message_id is not None
        if redelivered and await self._store.has_reply_to(key, turn.telegram_message_id or 0):
            log.info("chat %s: message %s already answered", key, turn.telegram_message_id)
            return Outcome("", "complete", model, duplicate=True)
        voice = self._voice(chat, model, sink)
        request, reply = await self._generate(key, turn, chat, model, voice, sink)
        return await self._store_and_show(key, turn, model, request, reply, sink)

    async def answer_again(
        self,
        key: ChatKey,
        again: AnswerAgain,
        sink: ReplySink,
        counted: Callable[[], None],
    ) -> Outcome:
        """Answer the chat's latest question again (/retry, or its text edited): its answers
        leave the history (then `counted()`: the request is stored as a message), and a new one
        is generated and stored. Nothing is shown when it can't be (`Outcome.not_again`)."""
        default = self._settings.default_model
        if self.shutdown.is_set():
            await sink.finish("", notice=_(NOT_STARTED_NOTICE))
            return Outcome("", "interrupted", default, _(NOT_STARTED_NOTICE))
        try:
            latest = await self._store.answer_again(
                key,
                requested_by=again.user_id,
                question=again.question,
                text=again.text,
                asked_by=again.asked_by,
            )
        except STORE_ERRORS:
            log.exception("chat %s: the latest question could not be taken up again", key)
            await sink.finish("", notice=_(NOT_STORED_NOTICE))
            return Outcome("", "interrupted", default, _(NOT_STORED_NOTICE))
        if isinstance(latest, str):
            return Outcome("", "complete", default, refused=True, not_again=latest)
        counted()
        chat = await self._store.preferences(key)
        model = chat.model or default
        turn = UserTurn(latest.text, again.telegram_message_id, again.user_id)
        voice = self._voice(chat, model, sink)
        request, reply = await self._generate(key, turn, chat, model, voice, sink)
        outcome = await self._store_and_show(key, turn, model, request, reply, sink)
        return dataclasses.replace(outcome, replaced=latest.replaced)

    async def not_started(self, key: ChatKey, arrival: Arrival, sink: ReplySink) -> Outcome:
        """Queued when the bot began stopping: not kept, not counted, and the user told."""
        await self.forget(key, arrival)
        await sink.finish("", notice=_(NOT_STARTED_NOTICE))
        return Outcome("", "interrupted", self.model_of(arrival.ready), _(NOT_STARTED_NOTICE))

    async def forget(self, key: ChatKey, arrival: Arrival) -> None:
        """Take a turn that will not be answered out of the inbox, so no restart answers it."""
        if (message_id := arrival.origin.telegram_message_id) is None:
            return
        try:
            await self._store.discard(key, message_id)
        except STORE_ERRORS:
            log.exception("chat %s: message %s could not leave the inbox", key, message_id)

    async def _generate(
        self,
        key: ChatKey,
        turn: UserTurn,
        chat: ChatPreferences,
        model: str,
        voice: str | None,
        sink: ReplySink,
    ) -> tuple[ChatRequest, Generated]:
        """Show that the bot is working, then produce the reply, its reasoning shown as the chat
        chose; `stop` can end it.

        While the model says the request is longer than its context, and nothing was shown yet,
        ask again with half the history (by characters), down to this turn alone; only that one
        overflowing reaches the user."""
        if isinstance(sink, VoiceSink) and voice is not None:
            await sink.start_speaking()
        else:
            await sink.start()
        running = self._running[key] = Running(
            turn.telegram_message_id, turn.user_id, asyncio.Event(), self.shutdown
        )
        budget, shortened = self._settings.history_char_budget, False
        show_reasoning = self._show_reasoning(chat)
        try:
            while True:
                turns = await self._store.recent_turns(key, char_budget=budget)
                request = build_request(self._settings, chat, model, turns, turn.parts, voice)
                reply = await generate(
                    self._upstream, key, request, sink, running, show_reasoning=show_reasoning
                )
                overflowed = isinstance(reply.error, UpstreamContextOverflow) and not (
                    reply.text or reply.reasoning
                )
                if not overflowed or len(turns) <= 1:
                    break
                # Each window holds fewer turns than the last (the newest is always in), so this
                # ends, after about log2(budget / turn) requests the server refuses at once.
                budget = sum(len(t.content) for t in turns) // 2
                shortened = True
                log.info(
                    "chat %s: context too long for %s; %d characters of history", key, model, budget
                )
        finally:
            del self._running[key]
        if shortened and reply.status == "complete" and reply.notice is None:
            reply = dataclasses.replace(reply, notice=_(HISTORY_SHORTENED_NOTICE))
        return request, reply

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
            notice = _(NO_AUDIO_NOTICE) if text.strip() else None
        stored = True
        if text.strip():
            # Reasoning tokens are completion tokens: an estimate counts the reasoning too.
            usage = reply.usage or estimated_usage(request.messages, text + reply.reasoning)
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
                    reasoning=reply.reasoning.strip() or None,
                )
            except STORE_ERRORS:
                # The user still gets the whole text, told it won't be remembered.
                log.exception("chat %s: the reply could not be stored", key)
                stored = False
                notice = " ".join(n for n in (notice, _(REPLY_NOT_STORED_NOTICE)) if n)
        elif notice is None and reply.audio is None:
            notice = _(EMPTY_REPLY_NOTICE)
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

    def _show_reasoning(self, chat: ChatPreferences) -> ShowReasoning:
        """How this chat sees reasoning: its own choice, else SHOW_REASONING."""
        match chat.show_reasoning:
            case "collapsed" | "hidden" | "full":
                return chat.show_reasoning
        return self._settings.show_reasoning

    def _voice(self, chat: ChatPreferences, model: str, sink: ReplySink) -> str | None:
        """The voice to answer in, or None for a written (streamed) reply."""
        if not isinstance(sink, VoiceSink) or not is_audio_model(model):
            return None
        return chat.voice or self._settings.default_voice
