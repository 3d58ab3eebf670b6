"""The fake Telegram's world: chats, messages, files, pending updates and the call log.

Owns: the records the fake keeps (`ChatRecord`, `SentMessage`, `StoredFile`, `ApiCall`, ...), id
allocation, building Message/Chat/User objects in Telegram's shapes, the update queue, and the
change signal that long polls and `wait_until` sleep on; every update it queues is checked against
the Bot API schema. Must not speak HTTP or validate requests: the driver (user side) and the
method handlers (bot side) build on this.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.telegram.rules import ApiError
from tests.fakes.telegram.schema import BotApiSchema

JsonDict = dict[str, Any]
FIRST_UPDATE_ID = 10_001
# Update types Telegram withholds unless allowed_updates names them.
DRAFT_TTL = 30.0  # seconds a client shows a draft after its last update (Bot API text)
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass
class ApiCall:
    """One request the bot made. `at` is the fake's clock (time.monotonic unless injected);
    `error`/`error_code` are Telegram's description and code when it was rejected."""

    method: str
    params: dict[str, Any]
    at: float
    error: str | None = None
    error_code: int | None = None
    # The bot had already gone when the answer was ready (a long poll PTB cancelled on
    # shutdown): nobody read the error, so it is not a rejection of anything the bot did.
    abandoned: bool = False
    # The fake closed the connection instead of answering (an injected network fault); the
    # call took effect when `error` is None.
    dropped: bool = False


@dataclass
class SentMessage:
    """A message the bot sent, in its current state."""

    chat_id: int
    message_id: int
    kind: str  # "text", "voice", "audio", "photo" or "document"
    sent_at: float
    text: str | None = None
    entities: list[JsonDict] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[JsonDict] = field(default_factory=list)
    reply_markup: JsonDict | None = None
    message_thread_id: int | None = None
    reply_to_message_id: int | None = None
    media: bytes | None = None
    media_params: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)  # every text (or caption) it has had
    edit_times: list[float] = field(default_factory=list)
    deleted: bool = False


@dataclass
class Draft:
    """One sendMessageDraft call: the preview a private chat saw at `at`."""

    chat_id: int
    draft_id: int
    text: str
    entities: list[JsonDict]
    at: float
    message_thread_id: int | None = None

    @property
    def key(self) -> tuple[int, int | None, int]:
        """What a client tells drafts apart by: the chat, its topic, the draft id."""
        return (self.chat_id, self.message_thread_id, self.draft_id)


@dataclass
class ChatRecord:
    id: int
    type: str  # "private", "group" or "supergroup"
    title: str | None = None
    first_name: str | None = None
    username: str | None = None
    is_forum: bool = False
    topics: set[int] = field(default_factory=set)
    members: dict[int, JsonDict] = field(default_factory=dict)  # user id -> User
    admin_ids: list[int] = field(default_factory=list)
    voice_forbidden: bool = False
    bot_blocked: bool = False
    migrated_to: int | None = None
    last_message_id: int = 0

    def as_chat(self) -> JsonDict:
        chat: JsonDict = {"id": self.id, "type": self.type}
        if self.type == "private":
            chat["first_name"] = self.first_name or "User"
            if self.username:
                chat["username"] = self.username
        else:
            chat["title"] = self.title or "Group"
            if self.is_forum:
                chat["is_forum"] = True
        return chat


@dataclass(frozen=True, slots=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    size: int


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One POST of an update to the bot's webhook and what came back."""

    update_id: int
    status: int | None
    body: str
    error: str | None
    at: float


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


class TelegramWorld:
    def __init__(
        self,
        *,
        token: str,
        username: str,
        bot_id: int,
        bot_name: str,
        clock: Callable[[], float],
    ) -> None:
        self.token = token
        self.username = username
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.clock = clock
        self.chats: dict[int, ChatRecord] = {}
        self.messages: dict[tuple[int, int], JsonDict] = {}
        self.deleted: set[tuple[int, int]] = set()
        self.sent: dict[tuple[int, int], SentMessage] = {}
        self.sent_order: list[SentMessage] = []
        self.drafts: list[Draft] = []  # every sendMessageDraft call, in order
        # What a client shows: the latest draft per (chat, topic, draft id), until it expires
        # (DRAFT_TTL seconds after its last update) or the bot sends a message there.
        self.live_drafts: dict[tuple[int, int | None, int], Draft] = {}
        self.drafts_refused = False  # answer sendMessageDraft 404, as a server without it
        # setMessageReaction: what each message shows, and every reaction set, in order.
        self.reactions: dict[tuple[int, int], list[str]] = {}
        self.reaction_log: list[tuple[int, int, list[str]]] = []
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.pending_updates: list[JsonDict] = []
        self.updates_confirmed = 0
        self.allowed_updates: list[str] | None = None
        self.dropped_updates: list[JsonDict] = []  # filtered out by allowed_updates
        self.webhook: WebhookConfig | None = None
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.webhook_retry_delay = 0.2
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.callback_queries: dict[str, bool] = {}  # query id -> answered
        self.calls: list[ApiCall] = []
        self.closing = False
        self._next_update_id = FIRST_UPDATE_ID
        self._next_file = 1
        self._changed = asyncio.Event()

    # --- change signal -----------------------------------------------------------------------

    def notify(self) -> None:
        """Wake everyone waiting for a change (a call, an update, a driver action)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def change_signal(self) -> asyncio.Event:
        """The event the next change sets; take it *before* checking a condition."""
        return self._changed

    # --- users and chats ---------------------------------------------------------------------

    @property
    def bot_user(self) -> JsonDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.username,
        }

    def chat(self, chat_id: int | str) -> ChatRecord:
        """The chat a bot call names, as Telegram resolves it (id or @username)."""
        record: ChatRecord | None = None
        if isinstance(chat_id, int):
            record = self.chats.get(chat_id)
        else:
            name = chat_id.removeprefix("@").lower()
            record = next((c for c in self.chats.values() if (c.username or "") == name), None)
        if record is None:
            raise ApiError.bad_request("chat not found")
        if record.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": record.migrated_to},
            )
        return record

    def next_message_id(self, chat: ChatRecord) -> int:
        chat.last_message_id += 1
        return chat.last_message_id

    # --- messages ----------------------------------------------------------------------------

    def new_message(
        self,
        chat: ChatRecord,
        sender: JsonDict,
        content: JsonDict,
        *,
        thread_id: int | None = None,
        reply_to: JsonDict | None = None,
        message_id: int | None = None,
    ) -> JsonDict:
        """Store and return a Message object in `chat`."""
        if message_id is None:
            message_id = self.next_message_id(chat)
        message: JsonDict = {
            "message_id": message_id,
            "from": sender,
            "chat": chat.as_chat(),
            "date": int(time.time()),
        }
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            if chat.is_forum:
                message["is_topic_message"] = True
        if reply_to is not None:
            # Telegram nests the replied-to message one level deep only.
            message["reply_to_message"] = {
                k: v for k, v in reply_to.items() if k != "reply_to_message"
            }
        message.update(content)
        self.messages[(chat.id, message_id)] = message
        if sender.get("id") == self.bot_id:
            # A client drops the bot's drafts in a chat (or topic) when a message arrives there.
            for key in [k for k in self.live_drafts if k[:2] == (chat.id, thread_id)]:
                del self.live_drafts[key]
        return message

    def visible_drafts(self, chat_id: int, thread_id: int | None = None) -> list[Draft]:
        """The drafts a client shows now in the chat (or topic): not expired, not dismissed."""
        now = self.clock()
        return [
            draft
            for key, draft in self.live_drafts.items()
            if key[:2] == (chat_id, thread_id) and now - draft.at < DRAFT_TTL
        ]

    def find_message(self, chat_id: int, message_id: int) -> JsonDict | None:
        """A message that still exists (not deleted)."""
        if (chat_id, message_id) in self.deleted:
            return None
        return self.messages.get((chat_id, message_id))

    # --- files -------------------------------------------------------------------------------

    def store_file(
        self,
        data: bytes,
        *,
        folder: str,
        extension: str,
        size: int | None = None,
        variant: str = "",
    ) -> StoredFile:
        """Register bytes as a Telegram file; `size` may claim more than `data` holds."""
        number = self._next_file
        self._next_file += 1
        # Same bytes, same unique id, as on Telegram; photo sizes differ by `variant`.
        digest = hashlib.sha1(data + f"{folder}/{variant}".encode()).hexdigest()[:16]
        stored = StoredFile(
            file_id=f"fake-{folder}-{number:06d}",
            file_unique_id=f"u{digest}",
            file_path=f"{folder}/file_{number}.{extension}",
            data=data,
            size=len(data) if size is None else size,
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    @staticmethod
    def file_object(stored: StoredFile, **extra: Any) -> JsonDict:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            **extra,
        }

    # --- updates -----------------------------------------------------------------------------

    def enqueue_update(self, update: JsonDict) -> None:
        """Queue a raw Update for getUpdates or the webhook; assigns update_id if missing.
        AssertionError, queueing nothing, when it is not a valid Update of the Bot API schema:
        the fake sends only what Telegram could."""
        update = copy.deepcopy(update)  # what was sent must not change when the chat does
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        BotApiSchema.load().check_object("Update", update)
        self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        self.pending_updates.append(update)
        self.notify()

    @property
    def last_update_id(self) -> int:
        """The update_id of the newest update queued so far."""
        return self._next_update_id - 1

    def confirm_updates(self, offset: int) -> None:
        """Forget updates below `offset`, as getUpdates does when given an offset."""
        if offset < 0:
            keep = self.pending_updates[offset:]
            dropped = self.pending_updates[: len(self.pending_updates) - len(keep)]
        else:
            keep = [u for u in self.pending_updates if u["update_id"] >= offset]
            dropped = [u for u in self.pending_updates if u["update_id"] < offset]
        if dropped:
            self.updates_confirmed = max(self.updates_confirmed, dropped[-1]["update_id"])
        if offset > 0:
            self.updates_confirmed = max(self.updates_confirmed, offset - 1)
        self.pending_updates = keep

    def deliverable_updates(self) -> list[JsonDict]:
        """Pending updates the bot asked for; Telegram discards the other kinds."""
        wanted = set(self.allowed_updates or ())
        kept: list[JsonDict] = []
        for update in self.pending_updates:
            kinds = set(update) - {"update_id"}
            if kinds & wanted if wanted else not kinds & OPT_IN_UPDATES:
                kept.append(update)
            else:
                self.dropped_updates.append(update)
        self.pending_updates = kept
        return kept
