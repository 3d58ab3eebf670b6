"""The upstream request for one turn: the OpenAI `messages` list and the chat's sampling.

Owns what is sent upstream — the system prompt, the history window with group senders as OpenAI
`name`s (roles alternating, as strict chat templates demand), this turn's attachments as content
parts, the voice when the reply is spoken, the reply length limit (MAX_REPLY_TOKENS), the chat's
reasoning_effort. Earlier replies go back as their answers alone: their reasoning is never in a
`Turn`. Pure: it
reads nothing itself; the service hands in the chat's preferences and recent turns.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from bot.config import Settings
from bot.store import ChatPreferences, Turn
from bot.types import AttachmentPart, ChatMessage, ContentPart
from bot.upstream.types import ChatRequest, ReasoningEffort, SamplingParams

NAME_LIMIT = 64  # OpenAI's limit for a message's `name`


def build_request(
    settings: Settings,
    chat: ChatPreferences,
    model: str,
    turns: list[Turn],
    parts: tuple[AttachmentPart, ...] = (),
    voice: str | None = None,
) -> ChatRequest:
    """The request answering the newest of `turns`, with the chat's own prompt and sampling."""
    system = chat.system_prompt or settings.system_prompt
    return ChatRequest(
        model=model,
        messages=tuple(build_messages(system, turns, parts)),
        params=SamplingParams(
            temperature=chat.temperature,
            top_p=chat.top_p,
            presence_penalty=chat.presence_penalty,
            frequency_penalty=chat.frequency_penalty,
        ),
        voice=voice,
        max_reply_tokens=settings.max_reply_tokens,
        reasoning_effort=reasoning_effort(chat.reasoning_effort),
    )


def reasoning_effort(value: str | None) -> ReasoningEffort | None:
    """The chat's stored effort as the request takes it; None (not sent) for none or unknown."""
    match value:
        case "low" | "medium" | "high":
            return value
    return None


def build_messages(
    system: str, turns: list[Turn], parts: tuple[AttachmentPart, ...] = ()
) -> list[ChatMessage]:
    """The OpenAI `messages` list: the system prompt, then the turns, oldest first.

    A user turn with a sender name (group chats) carries it as the message's `name`, so the model
    can tell the participants apart. `parts` (images, audio) belong to the newest turn, the user's
    own: its content becomes a list, its text first. The turns are those `alternating`.
    """
    messages: list[ChatMessage] = [{"role": "system", "content": system}] if system else []
    for turn in alternating(turns):
        message: ChatMessage = {"role": turn.role, "content": turn.content}
        if turn.role == "user" and turn.sender_name:
            message["name"] = openai_name(turn.sender_name)
        messages.append(message)
    if parts and messages and messages[-1]["role"] == "user":
        text = messages[-1]["content"]
        assert isinstance(text, str)  # only the newest turn gets parts, here
        text_part: list[ContentPart] = [{"type": "text", "text": text}] if text else []
        messages[-1]["content"] = [*text_part, *parts]
    return messages


def alternating(turns: list[Turn]) -> list[Turn]:
    """The turns as user, assistant, user, …, as strict chat templates (Mistral, Llama 2, Gemma
    through vLLM, LM Studio, llama.cpp) require: they refuse anything else, every turn after.

    A user turn that got no answer (the upstream failed before any text, or it was stopped
    before any) is left out when another user turn follows: the user was told it went
    unanswered and usually sends it again, so merging it into the next one would ask twice,
    and answering a question the user may have let go is not what they asked for now. A window
    that begins with an answer whose question fell outside the budget begins after it.
    """
    kept: list[Turn] = []
    for index, turn in enumerate(turns):
        following = turns[index + 1] if index + 1 < len(turns) else None
        if turn.role == "user" and following is not None and following.role == "user":
            continue
        if turn.role == "assistant" and (not kept or kept[-1].role == "assistant"):
            continue
        kept.append(turn)
    return kept


def openai_name(display_name: str) -> str:
    """`display_name` in the characters OpenAI allows in `name` (a-z A-Z 0-9 _ -, at most 64).

    Accents are dropped ("José" -> "Jose") and spaces become underscores; a name with nothing
    left (another script) becomes a stable stand-in, so different people stay different.
    """
    decomposed = unicodedata.normalize("NFKD", display_name.strip())
    underscored = re.sub(r"\s+", "_", decomposed)
    name = re.sub(r"[^A-Za-z0-9_-]", "", underscored)[:NAME_LIMIT]
    if name.strip("_-"):
        return name
    return "user_" + hashlib.sha256(display_name.encode()).hexdigest()[:8]
