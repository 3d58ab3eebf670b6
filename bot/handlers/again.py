"""Answering the latest question again: /retry, and editing that question.

Owns turning /retry and an edited message into `AnswerAgain` requests, which the conversation
service admits and queues like a turn (ConversationService.answer_again), and what the chat sees
of them: the new answer (to an edit, as a reply to the edited message), the earlier answer to an
edited question marked as replaced, and the short notes when nothing is answered again. /retry
leaves the earlier answer on screen; the history the model sees holds only the new one.

Who may: /retry the asker of the latest question, or an admin (in a private chat, its user);
an edit only its author, who is the asker. Only the latest question of the current conversation
can be edited; edits of older messages, of commands and of captions get one short note, at most
once a minute per user (EDIT_NOTICE_INTERVAL), and change nothing. In groups only edits of
messages addressed to the bot count; the rest are ignored without a word.
"""

from __future__ import annotations

import logging

from telegram import Bot, Message, MessageEntity, Update
from telegram.error import BadRequest, TelegramError

from bot.conversation.limits import Throttle
from bot.conversation.turns import AnswerAgain, Outcome
from bot.delivery import telegram_errors
from bot.delivery.destination import Destination
from bot.delivery.outbox import Outbox
from bot.delivery.voice_reply import VoiceReply
from bot.handlers.addressing import prompt_of, speaks_to_bot
from bot.handlers.chat import ASK_USAGE, Answers, Followup, answers_in, quoted, reply_sink
from bot.handlers.common import answer, chat_key, destination, send_text
from bot.handlers.context import BotContext, Services
from bot.i18n import N_, _
from bot.store import NotAgain

log = logging.getLogger(__name__)

NOTHING_TO_RETRY = N_("There is nothing to answer again: this conversation has no question yet.")
NOT_ASKER = N_(
    "Only the person who asked the last question, or an admin, can have it answered again."
)
ONLY_LATEST = N_(
    "Only your latest question can be edited: I answer it again. To ask about something else, "
    "send it as a new message."
)
EDITED_COMMAND = N_("I don't run edited commands again. Send the command as a new message.")
EDITED_CAPTION = N_(
    "I answer an edited text again, but not an edited caption: send the photo, file or voice "
    "note again with the new caption."
)
# Translators: replaces the text of an answer whose question was edited and answered again.
REPLACED = N_("↩️ Replaced: the question was edited, and the new answer replies to it.")

EDIT_NOTICE_INTERVAL = 60.0
_EDIT_NOTICES = "edit_notices"  # bot_data key of the Throttle for the notes about edits
_RETRY_NOTES: dict[NotAgain, str] = {
    "no question": NOTHING_TO_RETRY,
    "not asker": NOT_ASKER,
    "not latest": NOTHING_TO_RETRY,
}


async def on_retry(update: Update, context: BotContext) -> None:
    """Answer the latest question again; the new answer replaces the old one in the history."""
    message, user = update.effective_message, update.effective_user
    if message is None:
        return
    may_any = await context.services.admins.may_change(
        message.chat, user, sender_chat=message.sender_chat
    )
    if not may_any and user is None:
        await answer(update, context, _(NOT_ASKER))
        return
    user_id = user.id if user else None
    again = AnswerAgain(message.message_id, user_id, asked_by=None if may_any else user_id)
    await _queue(message, context, again, edit=False)


async def on_edited(update: Update, context: BotContext) -> None:
    """Answer an edited latest question again; explain why any other edit changes nothing."""
    message, user = update.edited_message, update.effective_user
    if message is None or user is None or not speaks_to_bot(message, context.bot):
        return
    if message.text is None:
        await _note(context, message, user.id, _(EDITED_CAPTION))
        return
    prompt = _question(message, context.bot.username)
    if prompt is None:
        await _note(context, message, user.id, _(EDITED_COMMAND))
        return
    prompt = quoted(message, prompt, context)
    if not prompt:
        await answer(update, context, _(ASK_USAGE))
        return
    again = AnswerAgain(message.message_id, user.id, question=message.message_id, text=prompt)
    if await _queue(message, context, again, edit=True):
        # The answer being written to the old text, if any, is of no use any more.
        context.services.conversation.stop(
            chat_key(message), telegram_message_id=message.message_id
        )


def _question(message: Message, bot_username: str) -> str | None:
    """What an edited text asks, as the message would have asked it; None for a command other
    than /ask (/ask@thisbot)."""
    text = message.text or ""
    first = message.entities[0] if message.entities else None
    if first is None or first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return prompt_of(message, bot_username)
    command, _at, target = message.parse_entity(first).partition("@")
    if command.lower() != "/ask" or (target and target.lower() != bot_username.lower()):
        return None
    return text[first.length :].strip()


async def _queue(message: Message, context: BotContext, again: AnswerAgain, *, edit: bool) -> bool:
    """Queue `again`; its answer streams into the chat when its turn comes (as a reply to the
    edited message, or in groups to /retry). False when it was refused (the chat was told)."""
    key = chat_key(message)
    services = context.services
    private = message.chat.type == message.chat.PRIVATE
    written = destination(message, reply=edit or not private)
    sink = reply_sink(context.bot, services, written, message.message_id)
    answers = answers_in(context.chat_data, key)
    followup = AgainFollowup(
        context.bot,
        services,
        destination(message),
        answers,
        sink,
        context=context,
        edit=edit,
        user_id=again.user_id,
    )
    answers.writing.append(sink)
    refused = await services.conversation.answer_again(key, again, sink, watcher=followup)
    if refused is not None:
        followup.dropped()
    return refused is None


class AgainFollowup(Followup):
    """Hears how answering again ended: says why when nothing was answered; after an edit,
    marks the earlier answer, still on screen, as replaced."""

    def __init__(
        self,
        bot: Bot,
        services: Services,
        dest: Destination,
        answers: Answers,
        sink: VoiceReply,
        *,
        context: BotContext,
        edit: bool,
        user_id: int | None,
    ) -> None:
        super().__init__(bot, services, dest, answers, sink)
        self._context = context
        self._edit = edit
        self._user_id = user_id

    async def answered(self, outcome: Outcome) -> None:
        if outcome.not_again is not None:
            self.dropped()
            if not self._edit:
                await self._say(_(_RETRY_NOTES[outcome.not_again]))
            elif _edit_notes(self._context).ready(self._user_id):
                await self._say(_(ONLY_LATEST))
            return
        # Until the new answer is noted, the latest one is the answer to the unedited question.
        earlier = self._answers.latest
        await super().answered(outcome)
        if self._edit and outcome.replaced and earlier:
            await mark_replaced(self._bot, self._services.outbox, self._dest.chat_id, earlier)

    async def _say(self, text: str) -> None:
        try:
            await send_text(self._bot, self._services.outbox, self._dest, text)
        except TelegramError as exc:
            log.info(
                "chat %s: could not say why nothing was answered again: %s", self._dest.chat_id, exc
            )


async def mark_replaced(
    bot: Bot, outbox: Outbox, chat_id: int, message_ids: frozenset[int]
) -> None:
    """Edit the messages of a replaced answer to say so (a voice note's caption); one that can't
    be edited any more (deleted) is left as it is."""
    for message_id in sorted(message_ids):
        try:
            await _say_replaced(bot, outbox, chat_id, message_id)
        except TelegramError as exc:
            log.info("chat %s: could not mark message %s as replaced: %s", chat_id, message_id, exc)


async def _say_replaced(bot: Bot, outbox: Outbox, chat_id: int, message_id: int) -> None:
    replaced = _(REPLACED)
    try:
        await outbox.call(
            chat_id,
            lambda: bot.edit_message_text(replaced, chat_id=chat_id, message_id=message_id),
        )
    except BadRequest as exc:
        if not telegram_errors.no_text_to_edit(exc):
            raise
        await outbox.call(
            chat_id,
            lambda: bot.edit_message_caption(
                chat_id=chat_id, message_id=message_id, caption=replaced
            ),
        )


def _edit_notes(context: BotContext) -> Throttle:
    throttle = context.bot_data.setdefault(_EDIT_NOTICES, Throttle(EDIT_NOTICE_INTERVAL))
    assert isinstance(throttle, Throttle)
    return throttle


async def _note(context: BotContext, message: Message, user_id: int, text: str) -> None:
    """A note about an edit, unless this user had one within EDIT_NOTICE_INTERVAL."""
    if _edit_notes(context).ready(user_id):
        await send_text(context.bot, context.services.outbox, destination(message), text)
