"""The user side of the fake Telegram: people writing to the bot.

Owns: the messages a test has a user send (`user_sends`, `user_sends_voice`, `_audio`, `_photo`,
`_document`, `_sticker`, `_location`), the chats, users and forum topics they create on the way,
and the entities Telegram adds to incoming text. Each action stores what Telegram would store and
queues the Update the bot would receive. Everything else that happens in a chat (edits, button
presses, groups, chat settings) is in events.py, built on this. Must not handle bot requests; a
test that drives something impossible gets a ValueError at once.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.telegram.media import photo_sizes
from tests.fakes.telegram.rules import utf16_len
from tests.fakes.telegram.state import ChatRecord, JsonDict, TelegramWorld

GROUP_USER_ID = 1001
_COMMAND = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")
_MENTION = re.compile(r"(?<!\w)@[A-Za-z0-9_]{2,32}(?!\w)")


def _utf16_span(text: str, start: int, end: int) -> tuple[int, int]:
    offset = utf16_len(text[:start])
    return offset, utf16_len(text[start:end])


def detect_entities(text: str) -> list[JsonDict]:
    """bot_command and mention entities, which Telegram adds to every incoming text."""
    entities: list[JsonDict] = []
    taken: list[range] = []
    for match in _COMMAND.finditer(text):
        offset, length = _utf16_span(text, match.start(), match.end())
        entities.append({"type": "bot_command", "offset": offset, "length": length})
        taken.append(range(match.start(), match.end()))
    for match in _MENTION.finditer(text):
        if any(match.start() in span for span in taken):
            continue
        offset, length = _utf16_span(text, match.start(), match.end())
        entities.append({"type": "mention", "offset": offset, "length": length})
    return sorted(entities, key=lambda e: e["offset"])


class MessageDriver(TelegramWorld):
    """Users' messages. Media senders take the sender keywords of `user_sends` (user_id,
    first_name, username, language_code, chat_type, chat_title, reply_to_message_id,
    message_thread_id, is_forum) as `**sender`."""

    # --- chats -------------------------------------------------------------------------------

    def _user(
        self, user_id: int, first_name: str, username: str | None, language_code: str | None
    ) -> JsonDict:
        user: JsonDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code  # the IETF tag of the user's app language
        return user

    def _chat_for_user(
        self,
        chat_id: int,
        chat_type: str | None,
        *,
        user_id: int | None,
        first_name: str,
        username: str | None,
        language_code: str | None = None,
        chat_title: str | None = None,
        is_forum: bool = False,
    ) -> tuple[ChatRecord, JsonDict]:
        chat = self.chats.get(chat_id) or self._new_chat(
            chat_id, chat_type, first_name, username, chat_title, is_forum
        )
        if chat.migrated_to is not None:
            raise ValueError(f"chat {chat_id} was migrated to {chat.migrated_to}")
        if chat.type == "private" and user_id not in (None, chat_id):
            raise ValueError("in a private chat the user id is the chat id")
        default_id = chat_id if chat.type == "private" else GROUP_USER_ID
        user = self._user(user_id or default_id, first_name, username, language_code)
        chat.members[user["id"]] = user
        return chat, user

    def _new_chat(
        self,
        chat_id: int,
        chat_type: str | None,
        first_name: str,
        username: str | None,
        title: str | None,
        is_forum: bool,
    ) -> ChatRecord:
        chat_type = chat_type or ("private" if chat_id > 0 else "group")
        if chat_type not in ("private", "group", "supergroup"):
            raise ValueError(f"unsupported chat_type {chat_type!r}")
        if (chat_type == "private") != (chat_id > 0):
            raise ValueError("private chats have positive ids, groups negative ones")
        # Supergroups with topics, and (Bot API 9.3) private chats of a bot with topic mode on.
        if is_forum and chat_type == "group":
            raise ValueError("only supergroups and private chats can have topics")
        private = chat_type == "private"
        chat = ChatRecord(
            id=chat_id,
            type=chat_type,
            title=None if private else title or "Test group",
            first_name=first_name if private else None,
            username=username.lower() if username and private else None,
            is_forum=is_forum,
        )
        self.chats[chat_id] = chat
        return chat

    def _topic(self, chat: ChatRecord, user: JsonDict, thread_id: int | None) -> JsonDict | None:
        """The topic-creation message a forum message replies to, creating the topic if new."""
        if thread_id is None or not chat.is_forum:
            return None
        if thread_id == 1:
            raise ValueError("General topic messages carry no message_thread_id; pass None")
        if thread_id not in chat.topics:
            if (chat.id, thread_id) in self.messages:
                raise ValueError(f"topic id {thread_id} is already a message id in chat {chat.id}")
            chat.topics.add(thread_id)
            chat.last_message_id = max(chat.last_message_id, thread_id)
            created = {"forum_topic_created": {"name": f"Topic {thread_id}", "icon_color": 7322096}}
            self.new_message(chat, user, created, thread_id=thread_id, message_id=thread_id)
        return self.messages[(chat.id, thread_id)]

    def _send_from_user(
        self,
        chat_id: int,
        content: JsonDict,
        *,
        user_id: int | None,
        first_name: str,
        username: str | None,
        chat_type: str | None,
        language_code: str | None = None,
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        is_forum: bool = False,
    ) -> JsonDict:
        chat, user = self._chat_for_user(
            chat_id,
            chat_type,
            user_id=user_id,
            first_name=first_name,
            username=username,
            language_code=language_code,
            chat_title=chat_title,
            is_forum=is_forum,
        )
        reply_to = self._topic(chat, user, message_thread_id)
        if reply_to_message_id is not None:
            reply_to = self.find_message(chat_id, reply_to_message_id)
            if reply_to is None:
                raise ValueError(f"no message {reply_to_message_id} in chat {chat_id} to reply to")
        message = self.new_message(
            chat, user, content, thread_id=message_thread_id, reply_to=reply_to
        )
        self.enqueue_update({"message": message})
        return message

    # --- messages from users -----------------------------------------------------------------

    def user_sends(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str = "Alice",
        username: str | None = None,
        language_code: str | None = None,
        chat_type: str | None = None,
        chat_title: str | None = None,
        entities: list[JsonDict] | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        is_forum: bool = False,
    ) -> JsonDict:
        """A user writes `text`; commands and @mentions get entities unless `entities` is given.

        Group messages are delivered whether or not they address the bot (as for a bot with
        privacy mode off or admin rights), so the bot's own filter is what a test exercises.
        In a forum (`is_forum=True` on first use) a `message_thread_id` creates the topic on
        first use; the message then replies to the topic's creation message, as on Telegram.
        """
        content: JsonDict = {"text": text}
        found = detect_entities(text) if entities is None else entities
        if found:
            content["entities"] = found
        return self._send_from_user(
            chat_id,
            content,
            user_id=user_id,
            first_name=first_name,
            username=username,
            language_code=language_code,
            chat_type=chat_type,
            chat_title=chat_title,
            reply_to_message_id=reply_to_message_id,
            message_thread_id=message_thread_id,
            is_forum=is_forum,
        )

    def user_sends_voice(
        self,
        chat_id: int,
        ogg: bytes,
        *,
        duration: int,
        caption: str | None = None,
        file_size: int | None = None,
        mime_type: str = "audio/ogg",
        **sender: Any,
    ) -> JsonDict:
        """A user records a voice note; its file can be fetched with getFile."""
        stored = self.store_file(ogg, folder="voice", extension="oga", size=file_size)
        voice = self.file_object(stored, duration=duration, mime_type=mime_type)
        return self._send_media(chat_id, {"voice": voice}, caption, sender)

    def user_sends_audio(
        self,
        chat_id: int,
        data: bytes,
        *,
        duration: int,
        title: str | None = None,
        performer: str | None = None,
        caption: str | None = None,
        file_size: int | None = None,
        mime_type: str = "audio/mpeg",
        **sender: Any,
    ) -> JsonDict:
        stored = self.store_file(data, folder="music", extension="mp3", size=file_size)
        audio = self.file_object(stored, duration=duration, mime_type=mime_type)
        audio.update({k: v for k, v in (("title", title), ("performer", performer)) if v})
        return self._send_media(chat_id, {"audio": audio}, caption, sender)

    def user_sends_photo(
        self,
        chat_id: int,
        image: bytes,
        width: int,
        height: int,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
        scaled: dict[str, bytes] | None = None,
        **sender: Any,
    ) -> JsonDict:
        """A user sends a photo: one PhotoSize per stored size, each holding `image` unless
        `scaled` gives other bytes for its label ("s" 90 px, "m" 320 px, "x" the original)."""
        photo = []
        for label, w, h in photo_sizes(width, height):
            data = (scaled or {}).get(label, image)
            stored = self.store_file(data, folder="photos", extension="jpg", variant=f"{w}x{h}")
            photo.append(self.file_object(stored, width=w, height=h))
        content: JsonDict = {"photo": photo}
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self._send_media(chat_id, content, caption, sender)

    def user_sends_document(
        self,
        chat_id: int,
        data: bytes,
        file_name: str,
        mime_type: str,
        *,
        caption: str | None = None,
        file_size: int | None = None,
        **sender: Any,
    ) -> JsonDict:
        extension = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
        stored = self.store_file(data, folder="documents", extension=extension, size=file_size)
        document = self.file_object(stored, file_name=file_name, mime_type=mime_type)
        return self._send_media(chat_id, {"document": document}, caption, sender)

    def user_sends_sticker(self, chat_id: int, *, emoji: str = "👍", **sender: Any) -> JsonDict:
        stored = self.store_file(b"RIFF\x00\x00\x00\x00WEBP", folder="stickers", extension="webp")
        sticker = self.file_object(
            stored, type="regular", width=512, height=512, is_animated=False, is_video=False
        )
        sticker["emoji"] = emoji
        return self._send_media(chat_id, {"sticker": sticker}, None, sender)

    def user_sends_location(
        self, chat_id: int, *, latitude: float = 52.37, longitude: float = 4.89, **sender: Any
    ) -> JsonDict:
        location = {"latitude": latitude, "longitude": longitude}
        return self._send_media(chat_id, {"location": location}, None, sender)

    def _send_media(
        self, chat_id: int, content: JsonDict, caption: str | None, sender: dict[str, Any]
    ) -> JsonDict:
        if caption:
            content["caption"] = caption
            if entities := detect_entities(caption):  # Telegram marks captions like texts
                content["caption_entities"] = entities
        sender.setdefault("user_id", None)
        sender.setdefault("first_name", "Alice")
        sender.setdefault("username", None)
        sender.setdefault("chat_type", None)
        return self._send_from_user(chat_id, content, **sender)
