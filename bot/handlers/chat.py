"""Talking to the model: private messages, messages addressed to the bot in groups, and /ask.

Owns turning an addressed message into the user's turn (the prompt without the mention, the
replied-to message quoted unless it is the bot's latest answer, the sender's name in groups) and
`converse`, the way every turn — text, photo, file, voice note — goes to the conversation service
and back into the chat through a VoiceReply. Which messages are addressed is addressing.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram import Message, Update

from bot.conversation.service import Origin, PendingTurn, UserTurn
from bot.delivery.live_reply import LiveReply
from bot.delivery.voice_reply import VoiceReply
from bot.handlers.addressing import prompt_of, quote_of, with_quote
from bot.handlers.common import answer, chat_key, destination
from bot.handlers.context import BotContext
from bot.handlers.stop import stop_data
from bot.store import ChatKey
from bot.types import AttachmentPart

ASK_USAGE = "Usage: /ask <question>"
# chat_data key: forum thread id (0 outside topics) -> that topic's `Answers`. In memory only:
# after a restart a reply to the latest answer is quoted once more, which is harmless.
ANSWERS = "answers_in_context"


@dataclass(slots=True)
class Answers:
    """The bot's answers in one chat or topic whose text the next turn's context will hold:
    the latest finished one, and those still being written (turns run in order, so they finish
    before a turn that replies to them starts)."""

    latest: frozenset[int] = frozenset()
    writing: list[VoiceReply] = field(default_factory=list)

    def hold(self, message_id: int) -> bool:
        """Whether the bot message `message_id` will be in the context anyway."""
        return message_id in self.latest or any(
            message_id in reply.message_ids for reply in self.writing
        )


async def on_text(update: Update, context: BotContext) -> None:
    """Answer a text addressed to the bot with the model's streamed reply."""
    message = update.effective_message
    if message is None:
        return
    prompt = prompt_of(message, context.bot.username)
    usage = f"Yes? Write your question after the mention, e.g. @{context.bot.username} what is 2+2?"
    await _converse(update, message, prompt, context, usage=usage)


async def on_ask(update: Update, context: BotContext) -> None:
    """Answer the question after /ask (or, with nothing after it, the message it replies to)."""
    message = update.effective_message
    if message is None:
        return
    words = (message.text or "").split(None, 1)
    question = words[1].strip() if len(words) == 2 else ""
    await _converse(update, message, question, context, usage=ASK_USAGE)


def forget_latest_reply(context: BotContext, key: ChatKey) -> None:
    """The bot's latest answer in this chat is no longer in the context (a new conversation)."""
    answers = _answers(context, key)
    answers.latest = frozenset()


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
    quote = quote_of(message, context.bot.id)
    if quote is None or (
        quote.author is None and _answers(context, chat_key(message)).hold(quote.message_id)
    ):
        return prompt
    return with_quote(prompt, quote)


def user_turn(
    message: Message,
    text: str,
    *,
    parts: tuple[AttachmentPart, ...] = (),
    model: str | None = None,
) -> UserTurn:
    """The turn `message` makes, with its sender's name in groups."""
    user = message.from_user
    private = message.chat.type == message.chat.PRIVATE
    return UserTurn(
        text=text,
        telegram_message_id=message.message_id,
        user_id=user.id if user else None,
        sender_name=None if private else _sender_name(message),
        parts=parts,
        model=model,
    )


async def converse(message: Message, context: BotContext, turn: UserTurn | PendingTurn) -> None:
    """Stream the model's answer to `turn` into the chat (in groups, as a reply to `message`),
    and note which bot messages the next turn's context will hold."""
    key = chat_key(message)
    answers = _answers(context, key)
    services = context.services
    private = message.chat.type == message.chat.PRIVATE
    written = destination(message, reply=not private)
    sink = VoiceReply(
        context.bot,
        services.outbox,
        LiveReply(
            context.bot,
            services.outbox,
            written,
            typing_interval=services.settings.typing_interval,
            stop_data=stop_data(message.message_id),
        ),
        written,
        # A voice note always answers the message it is about, in private chats too.
        reply_to=message.message_id,
        action_interval=services.settings.typing_interval,
    )
    answers.writing.append(sink)
    try:
        outcome = await services.conversation.reply(key, turn, sink, origin=_origin(message))
    finally:
        answers.writing.remove(sink)
    if outcome.text.strip() and not outcome.duplicate:
        answers.latest = frozenset(sink.message_ids)


def _origin(message: Message) -> Origin:
    user = message.from_user
    return Origin(user.id if user else None, message.message_id)


def _sender_name(message: Message) -> str | None:
    if message.sender_chat is not None:  # an anonymous admin or a linked channel
        return message.sender_chat.title
    return message.from_user.first_name if message.from_user else None


def _answers(context: BotContext, key: ChatKey) -> Answers:
    chat_data = context.chat_data
    if chat_data is None:  # only updates without a chat, which never reach these handlers
        return Answers()
    topics: dict[int, Answers] = chat_data.setdefault(ANSWERS, {})
    return topics.setdefault(key.thread_id, Answers())
