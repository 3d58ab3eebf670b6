"""Bot API methods that send, edit or delete text messages in the fake Telegram.

Owns: sendMessage, editMessageText/ReplyMarkup/Caption, deleteMessage, sendChatAction,
answerCallbackQuery, sendMessageDraft (the latest draft per chat, topic and id; a switch refuses
them all with 404) and setMessageReaction (standard emoji, one per message), plus the checks
every send shares, in Telegram's order: chat (blocked? migrated?), topic, reply target, content,
keyboard. Parameters arrive typed and complete (the schema layer checked required ones); flood
control and fault injection happen before these run. Media sends build on this in
media_methods.py. Must not speak HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes.telegram.rules import (
    CALLBACK_ANSWER_LIMIT,
    CHAT_ACTIONS,
    ApiError,
    FormattedText,
    check_caption,
    check_draft_text,
    check_message_text,
    check_reply_markup,
)
from tests.fakes.telegram.schema import Upload, reaction_emoji
from tests.fakes.telegram.state import ChatRecord, Draft, JsonDict, SentMessage, TelegramWorld

_PARSE_MODES = frozenset({"html", "markdown", "markdownv2"})
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


@dataclass(frozen=True, slots=True)
class BotRequest:
    method: str
    params: dict[str, Any]
    uploads: dict[str, Upload]


Handler = Callable[[BotRequest], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Placement:
    thread: int | None
    reply_to: JsonDict | None
    keyboard: JsonDict | None


class MessageMethods:
    def __init__(self, world: TelegramWorld) -> None:
        self.world = world

    def table(self) -> dict[str, Handler]:
        return {
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "editMessageCaption": self.edit_message_caption,
            "deleteMessage": self.delete_message,
            "sendChatAction": self.send_chat_action,
            "answerCallbackQuery": self.answer_callback_query,
            "sendMessageDraft": self.send_message_draft,
            "setMessageReaction": self.set_message_reaction,
        }

    # --- shared checks -----------------------------------------------------------------------

    def _target_chat(self, chat_id: int | str) -> ChatRecord:
        chat = self.world.chat(chat_id)
        if chat.bot_blocked:
            if chat.type == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        return chat

    def _placement(self, chat: ChatRecord, params: dict[str, Any]) -> Placement:
        """Where a new message goes: topic, reply target and keyboard, checked in that order."""
        thread = self._thread(chat, params)
        reply_to = self._reply_target(chat, params)
        keyboard = self._keyboard(params)
        return Placement(thread, reply_to, keyboard)

    def _thread(self, chat: ChatRecord, params: dict[str, Any]) -> int | None:
        thread = params.get("message_thread_id")
        if thread is None:
            return None
        # A forum topic exists once a user wrote in it. The General topic (1) never does:
        # sends to General must omit the id.
        if chat.is_forum:
            exists = thread in chat.topics
        else:
            exists = self.world.find_message(chat.id, thread) is not None
        if not exists:
            raise ApiError.bad_request("message thread not found")
        return int(thread)

    def _reply_target(self, chat: ChatRecord, params: dict[str, Any]) -> JsonDict | None:
        reply = params.get("reply_parameters")
        if reply is None and "reply_to_message_id" in params:  # pre-7.0 form, still accepted
            reply = {
                "message_id": int(params["reply_to_message_id"]),
                "allow_sending_without_reply": params.get("allow_sending_without_reply")
                in ("true", "1", True),
            }
        if reply is None:
            return None
        chat_id = chat.id if reply.get("chat_id") is None else self.world.chat(reply["chat_id"]).id
        target = self.world.find_message(chat_id, reply["message_id"])
        if target is None and not reply.get("allow_sending_without_reply"):
            raise ApiError.bad_request("message to be replied not found")
        return target

    def _keyboard(self, params: dict[str, Any]) -> JsonDict | None:
        """The inline keyboard a message will show (other keyboards are not part of it)."""
        markup = params.get("reply_markup")
        if markup is None:
            return None
        check_reply_markup(markup)
        return markup if markup.get("inline_keyboard") else None

    @staticmethod
    def _check_parse_mode(params: dict[str, Any]) -> None:
        # Entities win over parse_mode; markup itself is not parsed (our bot never uses it).
        mode = params.get("parse_mode")
        if mode is not None and str(mode).lower() not in _PARSE_MODES:
            raise ApiError.bad_request("unsupported parse_mode")

    def _deliver(
        self, chat: ChatRecord, content: JsonDict, sent: SentMessage, placement: Placement
    ) -> JsonDict:
        """Store the bot's new message and its `SentMessage` record; return the Message."""
        if placement.keyboard is not None:
            content["reply_markup"] = placement.keyboard
        reply_to = placement.reply_to
        if reply_to is None and placement.thread is not None and chat.is_forum:
            # In a topic every message replies to the topic's creation message.
            reply_to = self.world.messages[(chat.id, placement.thread)]
        message = self.world.new_message(
            chat, self.world.bot_user, content, thread_id=placement.thread, reply_to=reply_to
        )
        sent.message_id = message["message_id"]
        sent.reply_markup = placement.keyboard
        sent.message_thread_id = placement.thread
        if placement.reply_to is not None:
            sent.reply_to_message_id = placement.reply_to["message_id"]
        self.world.sent[(chat.id, sent.message_id)] = sent
        self.world.sent_order.append(sent)
        return message

    # --- text messages -----------------------------------------------------------------------

    async def send_message(self, request: BotRequest) -> JsonDict:
        params = request.params
        chat = self._target_chat(params["chat_id"])
        self._check_parse_mode(params)
        placement = self._placement(chat, params)
        fixed = check_message_text(params.get("text"), params.get("entities"))
        content: JsonDict = {"text": fixed.text}
        if fixed.entities:
            content["entities"] = fixed.entities
        sent = SentMessage(
            chat_id=chat.id,
            message_id=0,
            kind="text",
            sent_at=self.world.clock(),
            text=fixed.text,
            entities=fixed.entities,
            history=[fixed.text],
        )
        return self._deliver(chat, content, sent, placement)

    def _editable(self, params: dict[str, Any]) -> tuple[SentMessage, JsonDict]:
        if "inline_message_id" in params:
            raise ApiError.bad_request("MESSAGE_ID_INVALID")  # the bot has no inline messages
        if "chat_id" not in params or "message_id" not in params:
            raise ApiError.bad_request("message identifier is not specified")
        chat = self._target_chat(params["chat_id"])
        message = self.world.find_message(chat.id, params["message_id"])
        if message is None:
            raise ApiError.bad_request("message to edit not found")
        sent = self.world.sent.get((chat.id, params["message_id"]))
        if sent is None:
            raise ApiError.bad_request("message can't be edited")
        return sent, message

    def _apply_edit(
        self,
        sent: SentMessage,
        message: JsonDict,
        field: str,
        fixed: FormattedText | None,
        keyboard: JsonDict | None,
    ) -> JsonDict:
        text = None if fixed is None else fixed.text
        entities = [] if fixed is None else fixed.entities
        entities_field = "entities" if field == "text" else "caption_entities"
        current = (getattr(sent, field), getattr(sent, entities_field), sent.reply_markup)
        if current == (text, entities, keyboard):
            raise ApiError.bad_request(_NOT_MODIFIED)
        if text != getattr(sent, field):
            sent.history.append(text or "")
        setattr(sent, field, text)
        setattr(sent, entities_field, entities)
        sent.reply_markup = keyboard
        sent.edit_times.append(self.world.clock())
        for key, value in ((field, text), (entities_field, entities), ("reply_markup", keyboard)):
            if value:
                message[key] = value
            else:
                message.pop(key, None)
        message["edit_date"] = max(int(time.time()), message["date"])
        return message

    async def edit_message_text(self, request: BotRequest) -> JsonDict:
        params = request.params
        sent, message = self._editable(params)
        self._check_parse_mode(params)
        if sent.kind != "text":
            raise ApiError.bad_request("there is no text in the message to edit")
        fixed = check_message_text(params.get("text"), params.get("entities"))
        return self._apply_edit(sent, message, "text", fixed, self._keyboard(params))

    async def edit_message_caption(self, request: BotRequest) -> JsonDict:
        params = request.params
        sent, message = self._editable(params)
        self._check_parse_mode(params)
        if sent.kind == "text":
            raise ApiError.bad_request("there is no caption in the message to edit")
        fixed = check_caption(params.get("caption"), params.get("caption_entities"))
        return self._apply_edit(sent, message, "caption", fixed, self._keyboard(params))

    async def edit_message_reply_markup(self, request: BotRequest) -> JsonDict:
        sent, message = self._editable(request.params)
        field = "text" if sent.kind == "text" else "caption"
        entities = sent.entities if field == "text" else sent.caption_entities
        current = getattr(sent, field)
        fixed = None if current is None else FormattedText(current, entities)
        return self._apply_edit(sent, message, field, fixed, self._keyboard(request.params))

    async def delete_message(self, request: BotRequest) -> bool:
        params = request.params
        chat = self.world.chat(params["chat_id"])
        key = (chat.id, params["message_id"])
        if self.world.find_message(*key) is None:
            raise ApiError.bad_request("message to delete not found")
        own = key in self.world.sent
        if not own and chat.type != "private" and self.world.bot_id not in chat.admin_ids:
            raise ApiError.bad_request("message can't be deleted")
        self.world.deleted.add(key)
        if own:
            self.world.sent[key].deleted = True
        return True

    async def send_chat_action(self, request: BotRequest) -> bool:
        params = request.params
        chat = self._target_chat(params["chat_id"])
        self._thread(chat, params)
        if params["action"] not in CHAT_ACTIONS:
            raise ApiError.bad_request("wrong parameter action in request")
        return True

    async def answer_callback_query(self, request: BotRequest) -> bool:
        params = request.params
        query_id = params["callback_query_id"]
        if self.world.callback_queries.get(query_id) is not False:
            raise ApiError.bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(params.get("text") or "") > CALLBACK_ANSWER_LIMIT:
            raise ApiError.bad_request("MESSAGE_TOO_LONG")
        self.world.callback_queries[query_id] = True
        return True

    async def send_message_draft(self, request: BotRequest) -> bool:
        params = request.params
        if self.world.drafts_refused:
            # A Bot API server that lacks the method (older than 9.3) answers as for any
            # unknown method.
            raise ApiError(404, "Not Found")
        chat = self._target_chat(params["chat_id"])
        if chat.type != "private":
            raise ApiError.bad_request("TEXTDRAFT_PEER_INVALID")
        if params["draft_id"] == 0:
            raise ApiError.bad_request("draft_id must be non-zero")
        self._check_parse_mode(params)
        thread = self._thread(chat, params)
        fixed = check_draft_text(params.get("text"), params.get("entities"))
        draft = Draft(
            chat.id, params["draft_id"], fixed.text, fixed.entities, self.world.clock(), thread
        )
        self.world.drafts.append(draft)
        self.world.live_drafts[draft.key] = draft
        return True

    async def set_message_reaction(self, request: BotRequest) -> bool:
        params = request.params
        chat = self._target_chat(params["chat_id"])
        message_id = params["message_id"]
        if self.world.find_message(chat.id, message_id) is None:
            raise ApiError.bad_request("message to react not found")
        reactions = params.get("reaction") or []
        if len(reactions) > 1:  # a bot reacts like a user without Premium
            raise ApiError.bad_request("REACTIONS_TOO_MANY")
        emoji = [_check_reaction(reaction) for reaction in reactions]
        self.world.reactions[(chat.id, message_id)] = emoji
        self.world.reaction_log.append((chat.id, message_id, emoji))
        return True


def _check_reaction(reaction: JsonDict) -> str:
    """The emoji of a ReactionTypeEmoji a bot may set (custom and paid ones need more)."""
    if reaction.get("type") != "emoji":
        raise ApiError.bad_request("REACTION_INVALID")
    emoji = reaction.get("emoji")
    if emoji not in reaction_emoji():
        raise ApiError.bad_request("REACTION_INVALID")
    return str(emoji)
