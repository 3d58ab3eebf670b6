"""The model catalogue: which models a chat may choose, suggestions, and the cached listing.

The catalogue is driven through the real upstream client against the fake upstream (real HTTP),
with a hand-turned clock for the cache.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import UpstreamError
from bot.upstream.catalog import (
    CACHE_SECONDS,
    ChatModel,
    ModelCatalog,
    chat_models_of,
    close_matches,
    is_audio_model,
    is_chat_model,
    lookup,
)
from bot.upstream.client import UpstreamClient
from bot.upstream.types import ModelInfo
from tests.fakes.upstream import FakeUpstream
from tests.support import FakeClock

SEED_CHAT_MODELS = (
    "gpt-3.5-turbo",
    "gpt-3.5-turbo-0125",
    "gpt-3.5-turbo-0301",
    "gpt-3.5-turbo-0613",
    "gpt-3.5-turbo-1106",
    "gpt-4",
    "gpt-4o",
    "gpt-4o-2024-05-13",
    "gpt-4o-audio-preview",
    "gpt-4o-audio-preview-2024-10-01",
    "gpt-4o-mini",
    "gpt-4o-mini-2024-07-18",
)


def models_requests(upstream: FakeUpstream) -> int:
    return sum(1 for r in upstream.requests if r.path in ("/models", "/v1/models"))


@pytest.mark.parametrize(
    "model_id",
    [
        "text-embedding-3-small",
        "text-embedding-ada-002",
        "nomic-embed-text",
        "omni-moderation-latest",
        "text-moderation-stable",
        "tts-1-hd",
        "gpt-4o-mini-tts",
        "whisper-1",
        "gpt-4o-mini-transcribe",
        "dall-e-3",
        "gpt-image-1",
        "gpt-4o-realtime-preview",
    ],
)
def test_embedding_moderation_speech_and_image_models_are_not_for_chat(model_id: str) -> None:
    assert is_chat_model(model_id) is False


@pytest.mark.parametrize(
    "model_id",
    ["gpt-4o-mini", "gpt-4o-audio-preview", "llama3.2", "openai/gpt-4o-mini", "Qwen/Qwen2.5-7B"],
)
def test_chat_models_are_offered(model_id: str) -> None:
    assert is_chat_model(model_id) is True


def test_a_model_is_audio_capable_when_its_id_says_audio() -> None:
    assert [is_audio_model(m) for m in ("gpt-4o-audio-preview", "gpt-audio", "gpt-4o")] == [
        True,
        True,
        False,
    ]


def test_chat_models_of_a_listing_are_filtered_deduplicated_and_sorted() -> None:
    listing = [
        ModelInfo("gpt-4o"),
        ModelInfo("text-embedding-3-large"),
        ModelInfo("gpt-4o-audio-preview"),
        ModelInfo("gpt-4o"),
        ModelInfo("  "),
        ModelInfo("gpt-3.5-turbo"),
    ]
    assert chat_models_of(listing) == (
        ChatModel("gpt-3.5-turbo", audio=False),
        ChatModel("gpt-4o", audio=False),
        ChatModel("gpt-4o-audio-preview", audio=True),
    )


def test_lookup_finds_the_exact_id_then_one_that_differs_only_in_case() -> None:
    models = (ChatModel("gpt-4o", False), ChatModel("Llama-3", False))
    assert lookup(models, "gpt-4o") == models[0]
    assert lookup(models, "llama-3") == models[1]
    assert lookup(models, " GPT-4O ") == models[0]
    assert lookup(models, "gpt-5") is None


def test_lookup_refuses_to_guess_between_ids_that_differ_only_in_case() -> None:
    models = (ChatModel("Model-A", False), ChatModel("model-a", False))
    assert lookup(models, "MODEL-A") is None


def test_close_matches_list_ids_containing_the_text_then_similar_ones() -> None:
    assert close_matches("4o-mini", SEED_CHAT_MODELS) == ["gpt-4o-mini", "gpt-4o-mini-2024-07-18"]
    assert close_matches("gpt-5", SEED_CHAT_MODELS) == ["gpt-4", "gpt-4o"]


def test_close_matches_of_nothing_alike_are_empty() -> None:
    assert close_matches("zebra", SEED_CHAT_MODELS) == []
    assert close_matches("   ", SEED_CHAT_MODELS) == []


async def test_the_catalogue_lists_exactly_the_upstreams_chat_models(
    upstream_client: UpstreamClient,
) -> None:
    models = await ModelCatalog(upstream_client).chat_models()
    assert [m.id for m in models] == list(SEED_CHAT_MODELS)
    assert [m.id for m in models if m.audio] == [
        "gpt-4o-audio-preview",
        "gpt-4o-audio-preview-2024-10-01",
    ]


async def test_an_openai_style_upstream_is_listed_from_v1_models() -> None:
    async with FakeUpstream(models=("gpt-4o", "whisper-1"), models_path="/v1/models") as fake:
        client = UpstreamClient(fake.base_url, retries=0)
        try:
            models = await ModelCatalog(client).chat_models()
        finally:
            await client.aclose()
    assert models == (ChatModel("gpt-4o", audio=False),)


async def test_the_listing_is_cached_until_the_ttl_has_passed(
    upstream: FakeUpstream, upstream_client: UpstreamClient
) -> None:
    clock = FakeClock()
    catalog = ModelCatalog(upstream_client, clock=clock)
    first = await catalog.chat_models()
    clock.now += CACHE_SECONDS - 1
    assert await catalog.chat_models() == first
    assert models_requests(upstream) == 1
    clock.now += 1
    await catalog.chat_models()
    assert models_requests(upstream) == 2


async def test_callers_arriving_together_share_one_listing(
    upstream: FakeUpstream, upstream_client: UpstreamClient
) -> None:
    catalog = ModelCatalog(upstream_client)
    results = await asyncio.gather(*(catalog.chat_models() for _ in range(10)))
    assert models_requests(upstream) == 1
    assert all(result == results[0] for result in results)


async def test_a_first_listing_that_fails_raises_the_upstream_error() -> None:
    async with FakeUpstream(models_path="/nowhere") as fake:
        client = UpstreamClient(fake.base_url, retries=0)
        try:
            with pytest.raises(UpstreamError):
                await ModelCatalog(client).chat_models()
        finally:
            await client.aclose()


async def test_a_failed_refresh_keeps_the_previous_list(
    upstream: FakeUpstream, upstream_client: UpstreamClient
) -> None:
    clock = FakeClock()
    catalog = ModelCatalog(upstream_client, clock=clock)
    before = await catalog.chat_models()
    await upstream.stop()
    clock.now += CACHE_SECONDS
    assert await catalog.chat_models() == before
