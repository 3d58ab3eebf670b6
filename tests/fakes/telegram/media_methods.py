"""Bot API methods that send files: sendVoice, sendAudio, sendPhoto, sendDocument.

Owns: what Telegram makes of an upload or a file_id (a voice note only from OGG/Opus, MP3 or M4A,
otherwise a document; a photo only from an image it can read), storing sent bytes so getFile and
downloads work, and recording media sends as `SentMessage`s. Shares chat, topic, reply and
keyboard checks with `MessageMethods`. Must not speak HTTP.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.telegram.media import image_size, photo_sizes, sniff_audio
from tests.fakes.telegram.methods import BotRequest, Handler, MessageMethods
from tests.fakes.telegram.rules import ApiError, check_caption
from tests.fakes.telegram.schema import Upload
from tests.fakes.telegram.state import JsonDict, SentMessage

# Parameters every send takes; whatever else a media send carries is kept as media_params.
_COMMON = frozenset(
    {
        "chat_id",
        "message_thread_id",
        "caption",
        "caption_entities",
        "parse_mode",
        "reply_markup",
        "reply_parameters",
        "disable_notification",
        "protect_content",
        "business_connection_id",
        "message_effect_id",
        "allow_paid_broadcast",
    }
)


class MediaMethods(MessageMethods):
    def table(self) -> dict[str, Handler]:
        media = dict.fromkeys(
            ("sendVoice", "sendAudio", "sendPhoto", "sendDocument"), self.send_media
        )
        return {**super().table(), **media}

    async def send_media(self, request: BotRequest) -> JsonDict:
        params = request.params
        field = request.method.removeprefix("send").lower()
        chat = self._target_chat(params["chat_id"])
        self._check_parse_mode(params)
        placement = self._placement(chat, params)
        caption = check_caption(params.get("caption"), params.get("caption_entities"))
        if field == "voice" and chat.voice_forbidden:
            raise ApiError.bad_request("VOICE_MESSAGES_FORBIDDEN")
        data, upload = self._media_bytes(request, field)
        kind, content = self._media_content(field, data, upload, params)
        if caption is not None:
            content["caption"] = caption.text
            if caption.entities:
                content["caption_entities"] = caption.entities
        sent = SentMessage(
            chat_id=chat.id,
            message_id=0,
            kind=kind,
            sent_at=self.world.clock(),
            caption=None if caption is None else caption.text,
            caption_entities=[] if caption is None else caption.entities,
            media=data,
            media_params={k: v for k, v in params.items() if k not in _COMMON | {field}},
            history=["" if caption is None else caption.text],
        )
        return self._deliver(chat, content, sent, placement)

    def _media_bytes(self, request: BotRequest, field: str) -> tuple[bytes, Upload | None]:
        value = request.params[field]
        if isinstance(value, bytes):
            return value, request.uploads.get(field)
        if value.startswith(("http://", "https://")):
            raise ApiError(501, f"Not Implemented: the fake does not download {field} URLs")
        stored = self.world.files.get(value)
        if stored is None:
            raise ApiError.bad_request("wrong file identifier/HTTP URL specified")
        return stored.data, None

    def _media_content(
        self, field: str, data: bytes, upload: Upload | None, params: dict[str, Any]
    ) -> tuple[str, JsonDict]:
        world = self.world
        if field == "photo":
            size = image_size(data)
            if size is None:
                raise ApiError.bad_request("IMAGE_PROCESS_FAILED")
            photo = []
            for _label, width, height in photo_sizes(*size):
                stored = world.store_file(
                    data, folder="photos", extension="jpg", variant=f"{width}x{height}"
                )
                photo.append(world.file_object(stored, width=width, height=height))
            return "photo", {"photo": photo}
        audio = sniff_audio(data)
        # Telegram shows what it cannot play as a voice note or track as a plain document.
        if field == "voice" and audio.plays_as_voice:
            stored = world.store_file(data, folder="voice", extension=audio.extension)
            voice = world.file_object(
                stored, duration=params.get("duration", 0), mime_type=audio.mime_type
            )
            return "voice", {"voice": voice}
        if field == "audio" and audio.name in ("mp3", "m4a"):
            stored = world.store_file(data, folder="music", extension=audio.extension)
            track = world.file_object(
                stored, duration=params.get("duration", 0), mime_type=audio.mime_type
            )
            track.update({k: params[k] for k in ("title", "performer") if k in params})
            return "audio", {"audio": track}
        file_name = upload.filename if upload is not None else f"{field}.{audio.extension}"
        mime = upload.content_type if upload is not None else audio.mime_type
        stored = world.store_file(data, folder="documents", extension=audio.extension)
        return "document", {
            "document": world.file_object(stored, file_name=file_name, mime_type=mime)
        }
