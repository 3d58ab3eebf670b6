"""Talking to the model: private messages, messages addressed to the bot in groups, and /ask.

Owns turning an addressed message into the user's turn (the prompt without the mention, the
replied-to message quoted unless it is the bot's latest answer, the sender's name in groups) and
`converse`, the way every turn — text, photo, file, voice note — goes to the conversation service:
the handler queues it and returns at once; the chat's worker answers it into a VoiceReply later,
and a `Followup` hears how it ended (which bot messages the next turn's context holds; a failure
explained in the chat). `TurnContext` is what building a kept turn needs, whether the message
just arrived or waited in the inbox across a restart. Which messages are addressed is
addressing.py's.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot, Message, Update

from bot.conversation.turns import Origin, Outcome, PendingTurn, UserTurn
from bot.delivery.destination import Destination
from bot.delivery.draft_reply import DraftReply
from bot.delivery.live_reply import LiveReply
from bot.delivery.reactions import StatusReaction
from bot.delivery.voice_reply import VoiceReply
from bot.handlers.addressing import Quote, prompt_of, quote_of, with_quote
from bot.handlers.common import answer, chat_key, destination
from bot.handlers.context import BotContext, Services
from bot.handlers.errors import tell_failure
from bot.handlers.kept import sender_name
from bot.handlers.stop import stop_data
from bot.i18n import N_, _
from bot.store import ChatKey, Received
from bot.types import AttachmentPart

ASK_USAGE = N_("Usage: /ask <question>")
# chat_data key: forum thread id (0 outside topics) -> that topic's `Answers`. In memory only:
# after a restart a reply to the latest answer is quoted once more, which is harmless.
ANSWERS = "answers_in_context"


@dataclass(slots=True)
class Answers:
    """The bot's answers in one chat or topic whose text the next turn's context will hold:
    the latest finished one, and those still being written or waiting (turns run in order, so
    they finish before a turn that replies to them starts)."""

    latest: frozenset[int] = frozenset()
    writing: list[VoiceReply] = field(default_factory=list)

    def hold(self, message_id: int) -> bool:
        """Whether the bot message `message_id` will be in the context anyway."""
        return message_id in self.latest or any(
            message_id in reply.message_ids for reply in self.writing
        )


@dataclass(frozen=True, slots=True)
class TurnContext:
    """What building a turn from what the inbox keeps of it needs: the bot (to download), the
    services, where notices about it go, and the chat's answers (for quoting)."""

    bot: Bot
    services: Services
    destination: Destination
    answers: Answers

    def quoted(self, prompt: str, quote: Quote | None) -> str:
        """`prompt` preceded by the message it replies to, unless the context holds that."""
        return quoted_by(prompt, quote, self.answers)


async def on_text(update: Update, context: BotContext) -> None:
    """Answer a text addressed to the bot with the model's streamed reply."""
    message = update.effective_message
    if message is None:
        return
    prompt = prompt_of(message, context.bot.username)
    # Translators: the answer to a bare mention; {bot_username} is the bot's Telegram username.
    usage = _(
        "Yes? Write your question after the mention, e.g. @{bot_username} what is 2+2?"
    ).format(bot_username=context.bot.username)
    await _converse(update, message, prompt, context, usage=usage)


async def on_ask(update: Update, context: BotContext) -> None:
    """Answer the question after /ask (or, with nothing after it, the message it replies to)."""
    message = update.effective_message
    if message is None:
        return
    words = (message.text or "").split(None, 1)
    question = words[1].strip() if len(words) == 2 else ""
    await _converse(update, message, question, context, usage=_(ASK_USAGE))


def forget_latest_reply(context: BotContext, key: ChatKey) -> None:
    """The bot's latest answer in this chat is no longer in the context (a new conversation)."""
    answers_in(context.chat_data, key).latest = frozenset()


async def _converse(
    update: Update, message: Message, prompt: str, context: BotContext, *, usage: str
) -> None:
    prompt = quoted(message, prompt, context)
    if not prompt:
        await answer(update, context, usage)
        return
    await converse(message, context, user_turn(message, prompt))


def quoted(message: Message, prompt: str, context: BotContext) -> str:
    """`prompt` preceded by the message it replies to, unless the context holds that already."""
    answers = answers_in(context.chat_data, chat_key(message))
    return quoted_by(prompt, quote_of(message, context.bot.id), answers)


def quoted_by(prompt: str, quote: Quote | None, answers: Answers) -> str:
    """`prompt` preceded by `quote`, unless it is a bot message the context holds already."""
    if quote is None or (quote.author is None and answers.hold(quote.message_id)):
        return prompt
    return with_quote(prompt, quote)


def user_turn(message: Message, text: str) -> UserTurn:
    """The text turn `message` makes, with its sender's name in groups."""
    user = message.from_user
    private = message.chat.type == message.chat.PRIVATE
    return UserTurn(
        text=text,
        telegram_message_id=message.message_id,
        user_id=user.id if user else None,
        sender_name=None if private else sender_name(message),
    )


def kept_turn(
    record: Received,
    text: str,
    *,
    parts: tuple[AttachmentPart, ...] = (),
    model: str | None = None,
    release: Callable[[], None] | None = None,
) -> UserTurn:
    """The turn a kept message makes once built: its text, attachments, model and what it
    gives back when it ends."""
    return UserTurn(
        text=text,
        telegram_message_id=record.telegram_message_id,
        user_id=record.user_id,
        sender_name=record.sender_name,
        parts=parts,
        model=model,
        release=release,
    )


def turn_context(message: Message, context: BotContext) -> TurnContext:
    """What building the turn of `message` needs."""
    answers = answers_in(context.chat_data, chat_key(message))
    return TurnContext(context.bot, context.services, destination(message), answers)


def reply_sink(
    bot: Bot,
    services: Services,
    written: Destination,
    answering: int,
    *,
    status: StatusReaction | None = None,
) -> VoiceReply:
    """The reply (or voice note) answering the user's message `answering` at `written`: a
    draft in private chats and their topics with STREAM_MODE=draft (unless Telegram refused
    drafts there), else a live message; `status` is the reaction on `answering`."""
    settings = services.settings
    text: LiveReply | DraftReply
    # Private chats have positive ids; groups, supergroups and channels negative ones.
    if settings.stream_mode == "draft" and written.chat_id > 0:
        drafting = services.drafts.usable(written.chat_id)
    else:
        drafting = False
    if drafting:
        text = DraftReply(
            bot,
            services.outbox,
            written,
            services.drafts,
            # Unique in the chat and the same for the whole reply (see DraftReply).
            draft_id=answering,
            keepalive=settings.draft_keepalive,
            stop_after=settings.draft_stop_after,
            stop_data=stop_data(answering),
            typing_interval=settings.typing_interval,
        )
    else:
        text = LiveReply(
            bot,
            services.outbox,
            written,
            typing_interval=settings.typing_interval,
            stop_data=stop_data(answering),
        )
    return VoiceReply(
        bot,
        services.outbox,
        text,
        written,
        # A voice note always answers the message it is about, in private chats too.
        reply_to=answering,
        action_interval=settings.typing_interval,
        status=status,
    )


async def converse(
    message: Message,
    context: BotContext,
    turn: UserTurn | PendingTurn,
    *,
    kept: tuple[Received, ...] = (),
) -> bool:
    """Queue `turn` behind the chat's earlier ones and return; its answer streams into the chat
    (in groups, as a reply to `message`) when its turn comes. `kept`: what the inbox keeps of a
    pending turn meanwhile. False when it was refused instead (the chat was told why)."""
    key = chat_key(message)
    services = context.services
    private = message.chat.type == message.chat.PRIVATE
    status = services.reactions.for_message(message.chat.id, message.message_id)
    sink = reply_sink(
        context.bot,
        services,
        destination(message, reply=not private),
        message.message_id,
        status=status,
    )
    answers = answers_in(context.chat_data, key)
    followup = Followup(context.bot, services, destination(message), answers, sink, status)
    answers.writing.append(sink)
    user = message.from_user
    origin = Origin(user.id if user else None, message.message_id, kept)
    behind = services.conversation.busy(key)  # another turn of the chat runs or waits
    refused = await services.conversation.submit(key, turn, sink, origin=origin, watcher=followup)
    if refused is not None:
        followup.dropped()
    elif behind:
        status.queued()  # (no effect once its answer is being written)
    return refused is None


class Followup:
    """Hears how a queued turn ended (a conversation.service.TurnWatcher): notes which bot
    messages the next turn's context holds, explains a failure in the chat, and ends the status
    reaction (removed when answered or stopped; 😢 when it failed, was cut or refused)."""

    def __init__(
        self,
        bot: Bot,
        services: Services,
        dest: Destination,
        answers: Answers,
        sink: VoiceReply,
        status: StatusReaction | None = None,
    ) -> None:
        self._bot = bot
        self._status = status
        self._services = services
        self._dest = dest
        self._answers = answers
        self._sink = sink

    async def answered(self, outcome: Outcome) -> None:
        self.dropped()
        if self._status is not None:
            if outcome.refused or outcome.status == "interrupted":
                self._status.failed()
            else:
                self._status.done()
        if outcome.text.strip() and not outcome.duplicate:
            self._answers.latest = frozenset(self._sink.message_ids)

    async def failed(self, error: Exception) -> None:
        self.dropped()
        if self._status is not None:
            self._status.failed()
        await tell_failure(self._bot, self._services.outbox, self._dest, error)

    def dropped(self) -> None:
        if self._sink in self._answers.writing:
            self._answers.writing.remove(self._sink)


def answers_in(chat_data: MutableMapping[Any, Any] | None, key: ChatKey) -> Answers:
    """The bot's answers in the chat (or topic) `key`, kept in the chat's data."""
    if chat_data is None:  # only updates without a chat, which never reach these handlers
        return Answers()
    topics: dict[int, Answers] = chat_data.setdefault(ANSWERS, {})
    return topics.setdefault(key.thread_id, Answers())
