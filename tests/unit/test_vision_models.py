"""Which models read images: VISION_MODELS patterns, and how the setting is read."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.upstream.catalog import is_vision_model

DEFAULT_PATTERNS = Settings.model_fields["vision_models"].default


@pytest.mark.parametrize(
    ("model_id", "vision"),
    [
        ("gpt-4o", True),
        ("gpt-4o-mini", True),
        ("gpt-4o-2024-05-13", True),
        ("gpt-4o-mini-2024-07-18", True),
        ("GPT-4o-Mini", True),
        ("openai/gpt-4o-mini", True),
        ("gpt-4o-audio-preview", False),
        ("gpt-4o-audio-preview-2024-10-01", False),
        ("gpt-4", False),
        ("gpt-3.5-turbo", False),
        ("llama3.2", False),
    ],
)
def test_the_default_vision_models_are_the_gpt_4o_family_without_audio(
    model_id: str, vision: bool
) -> None:
    assert is_vision_model(model_id, DEFAULT_PATTERNS) is vision


def test_vision_models_are_read_as_a_comma_separated_list_of_patterns() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token="1:x",  # type: ignore[arg-type]
        vision_models=" llava*, gpt-4.1 ,",  # type: ignore[arg-type]
    )
    assert settings.vision_models == ("llava*", "gpt-4.1")
    assert [is_vision_model(m, settings.vision_models) for m in ("llava:13b", "gpt-4o")] == [
        True,
        False,
    ]
