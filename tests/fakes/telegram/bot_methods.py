"""Bot API methods about the bot itself: identity, updates, webhook, commands, files, chats.

Owns: getMe, getUpdates (long polling, offsets, allowed_updates, the 409s Telegram gives a second
poller or a poller with a webhook set), setWebhook/deleteWebhook/getWebhookInfo, the command menu
per scope and language, getFile, getChat, getChatMember, getChatAdministrators, close and logOut.
Delivering updates to a webhook is the server's job; this module only keeps its configuration.
Unlike real Telegram, setWebhook accepts http://127.0.0.1 (any loopback host, any port) so tests
can run the bot's webhook server without TLS; every other URL meets Telegram's rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.telegram.media import DOWNLOAD_LIMIT
from tests.fakes.telegram.methods import BotRequest, Handler
from tests.fakes.telegram.rules import ApiError, check_bot_commands
from tests.fakes.telegram.state import ChatRecord, JsonDict, TelegramWorld, WebhookConfig

_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LANGUAGE = re.compile(r"[a-z]{2}")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_WEBHOOK_PORTS = frozenset({443, 80, 88, 8443})
_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
}


class BotMethods:
    def __init__(self, world: TelegramWorld) -> None:
        self.world = world
        self._poll_generation = 0

    def table(self) -> dict[str, Handler]:
        return {
            "getMe": self.get_me,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "getFile": self.get_file,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getChatAdministrators": self.get_chat_administrators,
            "close": self.accept,
            "logOut": self.accept,
        }

    async def accept(self, request: BotRequest) -> bool:
        return True

    async def get_me(self, request: BotRequest) -> JsonDict:
        return {
            **self.world.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # --- updates and webhook -----------------------------------------------------------------

    async def get_updates(self, request: BotRequest) -> list[JsonDict]:
        params, world = request.params, self.world
        if world.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if "allowed_updates" in params:
            world.allowed_updates = list(params["allowed_updates"])
        if params.get("offset") is not None:
            world.confirm_updates(params["offset"])
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        self._poll_generation += 1
        generation = self._poll_generation
        world.notify()  # an older long poll, if any, now ends with 409
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(int(params.get("timeout", 0)), 0)
        while True:
            signal = world.change_signal()
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            updates = world.deliverable_updates()[:limit]
            remaining = deadline - loop.time()
            if updates or remaining <= 0 or world.closing:
                return updates
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), remaining)

    async def set_webhook(self, request: BotRequest) -> bool:
        params, world = request.params, self.world
        url = urlsplit(params["url"])
        # The one concession to tests: a receiver on this machine may use plain HTTP on any port.
        # Real Telegram refuses that (https only, ports 443/80/88/8443, no reserved addresses).
        local = url.scheme == "http" and url.hostname in _LOOPBACK
        if url.scheme != "https" and not local:
            raise ApiError.bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if not local and (url.port or 443) not in _WEBHOOK_PORTS:
            raise ApiError.bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = params.get("secret_token")
        if secret is not None and not _SECRET.fullmatch(secret):
            raise ApiError.bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            world.pending_updates.clear()
        if "allowed_updates" in params:
            world.allowed_updates = list(params["allowed_updates"])
        world.webhook = WebhookConfig(
            url=params["url"],
            secret_token=secret,
            max_connections=min(max(int(params.get("max_connections", 40)), 1), 100),
            allowed_updates=world.allowed_updates,
        )
        self._poll_generation += 1
        world.notify()
        return True

    async def delete_webhook(self, request: BotRequest) -> bool:
        if request.params.get("drop_pending_updates"):
            self.world.pending_updates.clear()
        self.world.webhook = None
        self.world.notify()
        return True

    async def get_webhook_info(self, request: BotRequest) -> JsonDict:
        hook = self.world.webhook
        info: JsonDict = {
            "url": "" if hook is None else hook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.deliverable_updates()),
        }
        if hook is not None:
            info.update(ip_address="127.0.0.1", max_connections=hook.max_connections)
            if hook.allowed_updates:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    # --- command menu ------------------------------------------------------------------------

    def _command_key(self, params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if "chat_id" in scope:
            self.world.chat(scope["chat_id"])
        language = params.get("language_code", "")
        if language and not _LANGUAGE.fullmatch(language):
            raise ApiError.bad_request("invalid language code specified")
        return command_key(scope, language)

    async def set_my_commands(self, request: BotRequest) -> bool:
        commands = request.params["commands"]
        check_bot_commands(commands)
        key = self._command_key(request.params)
        if commands:
            self.world.commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.world.commands.pop(key, None)
        return True

    async def get_my_commands(self, request: BotRequest) -> list[JsonDict]:
        return list(self.world.commands.get(self._command_key(request.params), []))

    async def delete_my_commands(self, request: BotRequest) -> bool:
        self.world.commands.pop(self._command_key(request.params), None)
        return True

    # --- files and chats ---------------------------------------------------------------------

    async def get_file(self, request: BotRequest) -> JsonDict:
        stored = self.world.files.get(request.params["file_id"])
        if stored is None:
            raise ApiError.bad_request("invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            raise ApiError.bad_request("file is too big")
        return self.world.file_object(stored, file_path=stored.file_path)

    async def get_chat(self, request: BotRequest) -> JsonDict:
        chat = self.world.chat(request.params["chat_id"])
        return {
            **chat.as_chat(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _member(self, chat: ChatRecord, user_id: int) -> JsonDict:
        """A ChatMember: the first listed admin is the creator, the rest administrators."""
        if user_id == self.world.bot_id:
            user = self.world.bot_user
        else:
            user = chat.members.get(user_id) or {
                "id": user_id,
                "is_bot": False,
                "first_name": "User",
            }
        if chat.admin_ids and user_id == chat.admin_ids[0] and user_id != self.world.bot_id:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if user_id in chat.admin_ids:
            return {"status": "administrator", "user": user, **_ADMIN_RIGHTS}
        if user_id in chat.members or user_id == self.world.bot_id or chat.type == "private":
            return {"status": "member", "user": user}
        return {"status": "left", "user": user}

    async def get_chat_member(self, request: BotRequest) -> JsonDict:
        chat = self.world.chat(request.params["chat_id"])
        return self._member(chat, request.params["user_id"])

    async def get_chat_administrators(self, request: BotRequest) -> list[JsonDict]:
        chat = self.world.chat(request.params["chat_id"])
        if chat.type == "private":
            raise ApiError.bad_request("there are no administrators in the private chat")
        return [self._member(chat, user_id) for user_id in chat.admin_ids]


def command_key(scope: JsonDict | None, language_code: str) -> tuple[str, str]:
    """How the fake files a command list: the scope as canonical JSON, and the language."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code
