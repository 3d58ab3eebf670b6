"""Shapes shared across the packages: the injectable clock and the OpenAI message parts.

Owns type aliases only — no behaviour, no imports from the rest of the bot — so any module may
import it without pulling in another stage of the data path. The message shapes follow OpenAI's
CreateChatCompletionRequest (ChatCompletionRequestMessage and its content parts).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, NotRequired, TypedDict

# Seconds on some clock (time.monotonic, time.time, or a test's); injected so timing logic is
# testable without sleeping.
Clock = Callable[[], float]

Role = Literal["system", "user", "assistant"]

# How a reasoning model's thinking is shown once the answer begins (SHOW_REASONING, and each
# chat's /settings reasoning): folded above the answer, not at all, or in full.
ShowReasoning = Literal["collapsed", "hidden", "full"]


class TextPart(TypedDict):
    type: Literal["text"]
    text: str


class ImageURL(TypedDict):
    url: str  # here always a data: URL with the image itself, base64


class ImagePart(TypedDict):
    type: Literal["image_url"]
    image_url: ImageURL


class InputAudio(TypedDict):
    data: str  # base64
    format: Literal["wav", "mp3"]


class AudioPart(TypedDict):
    type: Literal["input_audio"]
    input_audio: InputAudio


# What a user turn may carry besides its text (sent with that turn only).
AttachmentPart = ImagePart | AudioPart
ContentPart = TextPart | AttachmentPart


class ChatMessage(TypedDict):
    """One entry of the request's `messages`."""

    role: Role
    content: str | list[ContentPart]
    name: NotRequired[str]  # a group's sender, in the characters OpenAI allows
