"""Chat events of the fake Telegram: edits, button presses, group membership and chat settings.

Owns: the test-side actions that are not a new user message (`user_edits`, `press_button`,
`add_to_group`, `migrate_group`), messages of the kinds a bot rarely reads (`user_sends_other`:
venues, contacts, polls, dice, videos, video notes, GIFs, games) and the switches that change how
Telegram answers the bot later (`set_chat_admins`, `forbid_voice`, `block_bot`,
`delete_message`). Must not handle bot requests.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from tests.fakes.telegram.driving import GROUP_USER_ID, MessageDriver, detect_entities
from tests.fakes.telegram.schema import BotApiSchema
from tests.fakes.telegram.state import ChatRecord, JsonDict

_query_ids = itertools.count(1)
_MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
_PLACE = {"latitude": 52.37, "longitude": 4.89}
OTHER_KINDS = ("venue", "contact", "poll", "dice", "video", "video_note", "animation", "game")
# Messages whose caption their sender may edit.
CAPTIONED = ("photo", "document", "audio", "voice", "video", "animation")


class TelegramDriver(MessageDriver):
    def _known_chat(self, chat_id: int) -> ChatRecord:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ValueError(f"chat {chat_id} has not appeared yet; let a user write there first")
        return chat

    def _member(self, chat: ChatRecord, user_id: int | None) -> JsonDict:
        if user_id is None:
            user_id = chat.id if chat.type == "private" else GROUP_USER_ID
        return chat.members.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "Alice"}

    def user_edits(self, chat_id: int, message_id: int, new_text: str) -> JsonDict:
        """A user edits one of their own messages: the text of a text message, the caption of
        a photo, file or audio message (as Telegram allows); the bot gets `edited_message`."""
        message = self.find_message(chat_id, message_id)
        if message is None or message["from"].get("is_bot"):
            raise ValueError(f"no user message {message_id} in chat {chat_id}")
        if "text" in message:
            field, entities_field = "text", "entities"
            if not new_text.strip():
                raise ValueError("Telegram does not let a text be edited to nothing")
        elif any(kind in message for kind in CAPTIONED):
            field, entities_field = "caption", "caption_entities"
        else:
            raise ValueError(f"message {message_id} has neither text nor a caption to edit")
        if message.get(field) == new_text:
            raise ValueError("an edit that changes nothing is not sent by Telegram")
        message[field] = new_text
        message.pop(entities_field, None)
        if entities := detect_entities(new_text):
            message[entities_field] = entities
        message["edit_date"] = max(int(time.time()), message["date"])
        self.enqueue_update({"edited_message": dict(message)})
        return message

    def user_sends_other(self, chat_id: int, kind: str, **sender: Any) -> JsonDict:
        """A user sends a message of one of OTHER_KINDS, shaped as Telegram delivers it (a venue
        carries its location too, a GIF its document). Takes the media senders' `**sender`."""
        if kind not in OTHER_KINDS:
            raise ValueError(f"unknown kind {kind!r}; known: {', '.join(OTHER_KINDS)}")
        message = self._send_media(chat_id, self._other_content(kind), None, sender)
        BotApiSchema.load().check_object("Message", message)  # as the real Telegram shapes it
        return message

    def _other_content(self, kind: str) -> JsonDict:
        if kind == "venue":
            venue = {"location": _PLACE, "title": "Cafe", "address": "Main Street 1"}
            return {"venue": venue, "location": _PLACE}
        if kind == "contact":
            return {"contact": {"phone_number": "+31201234567", "first_name": "Bob"}}
        if kind == "poll":
            options = [
                {"persistent_id": f"opt{n}", "text": text, "voter_count": 0}
                for n, text in enumerate(("Tea", "Coffee"))
            ]
            poll = {
                "id": "5001",
                "question": "Tea or coffee?",
                "options": options,
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
                "allows_revoting": False,
                "members_only": False,
            }
            return {"poll": poll}
        if kind == "dice":
            return {"dice": {"emoji": "🎲", "value": 4}}
        if kind == "game":
            stored = self.store_file(b"\xff\xd8\xff", folder="photos", extension="jpg")
            photo = [self.file_object(stored, width=320, height=180)]
            return {"game": {"title": "Snake", "description": "A game", "photo": photo}}
        stored = self.store_file(_MP4, folder=f"{kind}s", extension="mp4")
        if kind == "video_note":
            return {"video_note": self.file_object(stored, length=240, duration=3)}
        video = self.file_object(stored, width=320, height=240, duration=3, mime_type="video/mp4")
        if kind == "animation":
            document = self.file_object(stored, file_name="funny.mp4", mime_type="video/mp4")
            return {"animation": video, "document": document}
        return {"video": video}

    def press_button(
        self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None
    ) -> JsonDict:
        """A user presses the inline button carrying `data` under a bot message."""
        chat = self._known_chat(chat_id)
        sent = self.sent.get((chat_id, message_id))
        if sent is None or sent.deleted:
            raise ValueError(f"no bot message {message_id} in chat {chat_id}")
        rows = (sent.reply_markup or {}).get("inline_keyboard", [])
        if not any(button.get("callback_data") == data for row in rows for button in row):
            raise ValueError(f"message {message_id} has no button with callback_data {data!r}")
        query_id = f"{self.bot_id}{next(_query_ids):08d}"
        self.callback_queries[query_id] = False
        query: JsonDict = {
            "id": query_id,
            "from": self._member(chat, user_id),
            "message": self.messages[(chat_id, message_id)],
            "chat_instance": f"{abs(chat_id) * 7919}",
            "data": data,
        }
        self.enqueue_update({"callback_query": query})
        return query

    def add_to_group(
        self,
        chat_id: int,
        *,
        title: str = "Test group",
        chat_type: str = "group",
        is_forum: bool = False,
        by_user_id: int = GROUP_USER_ID,
    ) -> JsonDict:
        """A user adds the bot to a group: `my_chat_member`, then a `new_chat_members` message."""
        chat = self.chats.get(chat_id) or self._new_chat(
            chat_id, chat_type, "Alice", None, title, is_forum
        )
        adder = self._member(chat, by_user_id)
        chat.members[adder["id"]] = adder
        bot = self.bot_user
        self.enqueue_update(
            {
                "my_chat_member": {
                    "chat": chat.as_chat(),
                    "from": adder,
                    "date": int(time.time()),
                    "old_chat_member": {"status": "left", "user": bot},
                    "new_chat_member": {"status": "member", "user": bot},
                }
            }
        )
        message = self.new_message(chat, adder, {"new_chat_members": [bot]})
        self.enqueue_update({"message": message})
        return message

    def migrate_group(self, old_chat_id: int, new_chat_id: int) -> JsonDict:
        """A group becomes a supergroup; later sends to the old id get 400 with
        `migrate_to_chat_id`, as on Telegram."""
        old = self._known_chat(old_chat_id)
        if old.type != "group" or new_chat_id in self.chats:
            raise ValueError("only a basic group can migrate, to a new chat id")
        new = ChatRecord(
            id=new_chat_id,
            type="supergroup",
            title=old.title,
            members=dict(old.members),
            admin_ids=list(old.admin_ids),
        )
        self.chats[new_chat_id] = new
        actor = self._member(old, None)
        moved = self.new_message(old, actor, {"migrate_to_chat_id": new_chat_id})
        arrived = self.new_message(new, actor, {"migrate_from_chat_id": old_chat_id})
        old.migrated_to = new_chat_id
        self.enqueue_update({"message": moved})
        self.enqueue_update({"message": arrived})
        return moved

    def set_chat_admins(self, chat_id: int, user_ids: list[int]) -> None:
        """Who getChatAdministrators and getChatMember report as administrators."""
        chat = self._known_chat(chat_id)
        chat.admin_ids = list(user_ids)
        for user_id in user_ids:
            chat.members.setdefault(
                user_id, {"id": user_id, "is_bot": False, "first_name": f"Admin {user_id}"}
            )

    def forbid_voice(self, chat_id: int) -> None:
        """The user has forbidden voice messages: sendVoice answers VOICE_MESSAGES_FORBIDDEN."""
        self._known_chat(chat_id).voice_forbidden = True

    def block_bot(self, chat_id: int) -> None:
        """The user blocked the bot (or removed it from the group): every send answers 403."""
        self._known_chat(chat_id).bot_blocked = True
        self.notify()

    def delete_message(self, chat_id: int, message_id: int) -> None:
        """A user deletes a message; later edits of it answer "message to edit not found"."""
        if (chat_id, message_id) not in self.messages:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        self.deleted.add((chat_id, message_id))
        if (sent := self.sent.get((chat_id, message_id))) is not None:
            sent.deleted = True
        self.notify()
