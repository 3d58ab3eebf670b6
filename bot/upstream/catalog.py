"""The model catalogue: which of the upstream's models a chat may choose, cached for a few minutes.

Owns the listing cache (a TTL on an injected clock, one refresh at a time, the last good list
kept when a refresh fails), the filter that keeps chat models (no embedding, moderation, speech,
transcription, realtime or image models), audio and vision detection and close-match
suggestions. It asks the upstream for its models and nothing else: no Telegram, no store, no
chat settings here.
"""

from __future__ import annotations

import asyncio
import difflib
import fnmatch
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.errors import UpstreamError
from bot.types import Clock
from bot.upstream.types import ModelInfo

log = logging.getLogger(__name__)


# Models come and go rarely; a few minutes keeps /model snappy and the listing load tiny.
CACHE_SECONDS = 300.0
SUGGESTIONS = 5

# Words in an id that mark a model the chat completions endpoint cannot serve.
_NOT_CHAT_WORDS = frozenset(
    {"embed", "embedding", "embeddings", "moderation", "tts", "whisper", "dall", "image"}
    | {"transcribe", "realtime"}
)
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class ChatModel:
    """A model a chat may choose; `audio` when it understands and speaks audio."""

    id: str
    audio: bool


class ModelSource(Protocol):
    """Where the listing comes from: `UpstreamClient` in the bot."""

    async def list_models(self) -> list[ModelInfo]: ...


def is_chat_model(model_id: str) -> bool:
    """Whether a model id names something that answers chat completions."""
    return not any(word in _NOT_CHAT_WORDS for word in _WORD.findall(model_id.lower()))


def is_audio_model(model_id: str) -> bool:
    """Whether a chat model takes and gives audio (OpenAI names all of them "...audio...")."""
    return "audio" in model_id.lower()


def is_vision_model(model_id: str, patterns: Iterable[str]) -> bool:
    """Whether a model reads images: its id, or the part after a provider prefix
    ("openai/gpt-4o"), matches one of `patterns` (shell-style, `*` for any text, any case)."""
    names = {model_id.casefold(), model_id.rsplit("/", 1)[-1].casefold()}
    return any(fnmatch.fnmatchcase(name, p.casefold()) for name in names for p in patterns)


def chat_models_of(listing: Iterable[ModelInfo]) -> tuple[ChatModel, ...]:
    """The chat models of an upstream listing, each once, sorted by id for stable pages."""
    ids = sorted({info.id for info in listing if info.id.strip() and is_chat_model(info.id)})
    return tuple(ChatModel(model_id, is_audio_model(model_id)) for model_id in ids)


def lookup(models: Sequence[ChatModel], wanted: str) -> ChatModel | None:
    """The model called `wanted`: its exact id, else the one id equal ignoring case."""
    wanted = wanted.strip()
    for model in models:
        if model.id == wanted:
            return model
    folded = [model for model in models if model.id.casefold() == wanted.casefold()]
    return folded[0] if len(folded) == 1 else None


def close_matches(wanted: str, ids: Sequence[str], limit: int = SUGGESTIONS) -> list[str]:
    """Ids a user may have meant by `wanted`: those containing it first, then similar ones."""
    folded = wanted.strip().casefold()
    if not folded:
        return []
    by_fold = {model_id.casefold(): model_id for model_id in ids}
    containing = [model_id for model_id in ids if folded in model_id.casefold()]
    similar = [
        by_fold[match]
        for match in difflib.get_close_matches(folded, list(by_fold), n=limit, cutoff=0.6)
    ]
    return list(dict.fromkeys([*containing, *similar]))[:limit]


class ModelCatalog:
    """The upstream's chat models, listed at most once per `ttl` seconds."""

    def __init__(
        self, source: ModelSource, *, ttl: float = CACHE_SECONDS, clock: Clock = time.monotonic
    ) -> None:
        self._source = source
        self._ttl = ttl
        self._clock = clock
        self._models: tuple[ChatModel, ...] | None = None
        self._expires = 0.0
        self._refreshing = asyncio.Lock()

    async def chat_models(self) -> tuple[ChatModel, ...]:
        """The chat models, from the cache while it is fresh.

        Raises the upstream's error only when there is no earlier list to fall back on: a list a
        few minutes old is more useful than no list while the upstream hiccups.
        """
        if self._models is not None and self._clock() < self._expires:
            return self._models
        # Everyone who finds the cache stale waits for one listing instead of sending their own.
        async with self._refreshing:
            if self._models is not None and self._clock() < self._expires:
                return self._models
            try:
                listing = await self._source.list_models()
            except UpstreamError as exc:
                if self._models is None:
                    raise
                log.warning("listing models failed (%s); keeping the previous list", exc)
                return self._models
            self._models = chat_models_of(listing)
            self._expires = self._clock() + self._ttl
            return self._models
