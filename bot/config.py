"""Settings: every knob the operator can turn, read from the environment and `.env`.

Owns validation of configuration and nothing else; it never opens files or sockets.
The names in DESIGN.md §1 are a public contract: add settings, never rename them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_UPSTREAM = "https://great-blondell-devsdocodeorg-cc6b3578.koyeb.app"

IdSet = Annotated[frozenset[int], NoDecode]


class Settings(BaseSettings):
    """The bot's configuration; see `.env.example` for every variable with its default."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    telegram_bot_token: SecretStr
    telegram_api_url: str = "https://api.telegram.org"
    gpt_api_base_url: str = DEFAULT_UPSTREAM
    gpt_api_key: SecretStr = SecretStr("")
    default_model: str = "gpt-4o-mini"
    audio_model: str = "gpt-4o-audio-preview"
    database_path: Path = Path("data/bot.sqlite3")
    allowed_user_ids: IdSet = frozenset()
    allowed_chat_ids: IdSet = frozenset()
    admin_user_ids: IdSet = frozenset()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    # Upstream timeouts, in seconds.
    upstream_connect_timeout: float = Field(default=10.0, gt=0)
    upstream_first_token_timeout: float = Field(default=60.0, gt=0)
    upstream_idle_timeout: float = Field(default=30.0, gt=0)
    upstream_retries: int = Field(default=2, ge=0, le=10)
    upstream_retry_backoff: float = Field(default=0.5, ge=0)

    # History sent upstream: newest turns first, until this many characters.
    history_char_budget: int = Field(default=12_000, ge=500)
    system_prompt: str = "You are a helpful assistant."

    # Telegram pacing, in seconds between edits of one live message, and calls per second overall.
    private_edit_interval: float = Field(default=1.0, gt=0)
    group_edit_interval: float = Field(default=3.0, gt=0)
    global_rate_limit: float = Field(default=30.0, gt=0)
    # Seconds of slack on every interval above and on the 1 s global window, so calls stay a
    # little below Telegram's limits (a call a few milliseconds early costs a multi-second 429).
    pacing_margin: float = Field(default=0.05, ge=0, le=1)
    typing_interval: float = Field(default=4.0, gt=0)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("allowed_user_ids", "allowed_chat_ids", "admin_user_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            return frozenset(int(p) for p in parts if p)
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("telegram_api_url", "gpt_api_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the variable to fix."""


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, turning pydantic's report into one readable line each."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            if error["type"] == "missing":
                lines.append(f"{name} is required but not set (environment or .env)")
            else:
                lines.append(f"{name}: {error['msg']}")
        raise ConfigError("; ".join(lines)) from None
