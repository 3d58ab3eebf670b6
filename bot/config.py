"""Settings: every knob the operator can turn, read from the environment and `.env`.

Owns validation of configuration and nothing else; it never opens files or sockets.
The names in DESIGN.md §1 are a public contract: add settings, never rename them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.i18n import LANGUAGES, catalog_for
from bot.types import ShowReasoning

DEFAULT_UPSTREAM = "https://great-blondell-devsdocodeorg-cc6b3578.koyeb.app"
UPSTREAM_CONCURRENCY = 512  # replies streamed at once by default (see upstream/client.py)

IdSet = Annotated[frozenset[int], NoDecode]
Patterns = Annotated[tuple[str, ...], NoDecode]

# getFile serves files up to 20 MB; a cap above it could never be reached.
TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024

# Telegram's rule for setWebhook's secret_token.
WEBHOOK_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
# PTB turns the path into a regular expression; these characters mean nothing special there
# once escaped, and they are all a reverse proxy needs.
WEBHOOK_PATH_PATTERN = re.compile(r"/[A-Za-z0-9_\-./~]*")


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
    # The voice of spoken replies in chats that have not chosen one (/voice).
    default_voice: Literal["alloy", "echo", "fable", "onyx", "nova", "shimmer"] = "alloy"
    # The bot's language for users whose Telegram language it has no catalog for (and chats
    # that chose none with /language): a catalog name or a language code ("de", "pt-br").
    default_language: str = "en"
    # Voice notes and audio files beyond these are refused before downloading (Telegram's own
    # download cap is 20 MB); 5 minutes of 16 kHz WAV is about 13 MB of base64 upstream.
    voice_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0, le=20 * 1024 * 1024)
    voice_max_seconds: int = Field(default=300, gt=0)
    # Voice notes and audio files downloaded and converted at once, across all chats (the rest
    # wait their turn, holding nothing), and the seconds one conversion may take before ffmpeg
    # is stopped and the sender told.
    voice_concurrency: int = Field(default=2, ge=1, le=64)
    voice_convert_timeout: float = Field(default=30.0, gt=0, le=600)
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
    # Replies asked of the upstream at once; the rest wait (with "typing…") before their
    # first-token clock starts. At most half of app.CONCURRENT_UPDATES, so commands never queue.
    upstream_concurrency: int = Field(default=UPSTREAM_CONCURRENCY, ge=1, le=2048)

    # History sent upstream: newest turns first, until this many characters.
    history_char_budget: int = Field(default=12_000, ge=500)
    # Days a conversation may sit idle before its messages are deleted; 0 keeps them forever.
    history_retention_days: int = Field(default=0, ge=0, le=36_500)
    # The upstream's reply-length limit (`max_tokens`) on every request; None sends none.
    max_reply_tokens: int | None = Field(default=None, ge=1)
    system_prompt: str = "You are a helpful assistant."
    # A reasoning model's thinking once the answer begins, in chats that have not chosen
    # (/settings reasoning): folded above the answer, not shown, or shown in full.
    show_reasoning: ShowReasoning = "collapsed"

    # Telegram pacing, in seconds between edits of one live message, and calls per second overall.
    private_edit_interval: float = Field(default=1.0, gt=0)
    group_edit_interval: float = Field(default=3.0, gt=0)
    global_rate_limit: float = Field(default=30.0, gt=0)
    # Seconds of slack on every per-chat interval above, so calls stay a little below Telegram's
    # limits (a call a few milliseconds early costs a multi-second 429). The global window needs
    # none: a call counts in it until 1 s after its response, so the round trip is its slack.
    pacing_margin: float = Field(default=0.05, ge=0, le=1)
    typing_interval: float = Field(default=4.0, gt=0)
    # How private chats (and their topics) see a reply being written: `edit` a message as it
    # grows, or stream it as a message `draft` that becomes a message at the end; groups edit.
    stream_mode: Literal["edit", "draft"] = "edit"
    # Draft mode: seconds without a draft update before it is sent again (a draft lasts 30 s),
    # and seconds into a reply before a small Stop message is shown (0: none, /stop only).
    draft_keepalive: float = Field(default=20.0, gt=0, le=25)
    draft_stop_after: float = Field(default=4.0, ge=0)
    # React to the user's message: 👀 queued, ✍ being answered, removed when done, 😢 failed.
    status_reactions: bool = False
    # Seconds to wait for Telegram's answer to one call before it counts as timed out (retried).
    telegram_timeout: float = Field(default=5.0, gt=0)

    # Webhook mode: with a URL, Telegram POSTs updates to it instead of the bot polling.
    webhook_url: str = ""
    webhook_listen: str = "0.0.0.0"  # behind a proxy on the same host, 127.0.0.1 is safer
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr = SecretStr("")
    webhook_path: str = ""  # empty: the path of WEBHOOK_URL

    # Photos and files in: which models see images, the model that does when the chat's can't,
    # byte caps for downloads, and how long to wait for more photos of an album.
    vision_models: Patterns = ("gpt-4o", "gpt-4o-20*", "gpt-4o-mini", "gpt-4o-mini-20*")
    vision_model: str = "gpt-4o-mini"
    photo_max_bytes: int = Field(default=5_000_000, ge=1, le=TELEGRAM_DOWNLOAD_LIMIT)
    document_max_bytes: int = Field(default=10_000_000, ge=1, le=TELEGRAM_DOWNLOAD_LIMIT)
    album_wait: float = Field(default=1.0, gt=0, le=10)
    # PDF and Word files are read by a worker process each, at most DOCUMENT_CONCURRENCY at once
    # across all chats: it reads at most this many pages and characters of text, uses at most
    # this many bytes of memory (address space; the worker alone needs about 60 MB), and is
    # killed after DOCUMENT_TIMEOUT seconds.
    document_max_pages: int = Field(default=100, ge=1, le=100_000)
    document_max_chars: int = Field(default=100_000, ge=100, le=10_000_000)
    document_max_memory: int = Field(default=256_000_000, ge=100_000_000, le=16_000_000_000)
    document_timeout: float = Field(default=20.0, gt=0, le=600)
    document_concurrency: int = Field(default=2, ge=1, le=64)

    # Per-user limits on turns sent to the model; 0 turns a limit off. ADMIN_USER_IDS are exempt.
    rate_limit_per_minute: int = Field(default=0, ge=0)
    daily_message_quota: int = Field(default=0, ge=0)
    daily_token_quota: int = Field(default=0, ge=0)
    # Characters of one turn's text (the user's words plus any message they reply to, quoted).
    max_message_chars: int = Field(default=8_000, ge=1)
    # Turns that may wait behind a chat's running reply: in one chat, and of one user in all
    # chats. Beyond them a sender is told (once a minute) and nothing more of theirs is queued.
    max_queued_per_chat: int = Field(default=20, ge=1, le=1_000)
    max_queued_per_user: int = Field(default=10, ge=1, le=1_000)
    # /export: the largest Markdown file sent, in bytes (Telegram takes up to 50 MB from bots);
    # a longer history is cut there, the newest conversations kept.
    export_max_bytes: int = Field(default=10_000_000, ge=10_000, le=50_000_000)

    @field_validator("default_voice", "show_reasoning", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("default_language")
    @classmethod
    def _catalog(cls, value: str) -> str:
        catalog = catalog_for(value)
        if catalog is None:
            raise ValueError(f"no catalog for {value!r}; one of: {', '.join(LANGUAGES)}")
        return catalog

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

    @field_validator("vision_models", mode="before")
    @classmethod
    def _pattern_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return value

    @field_validator("max_reply_tokens", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        # `MAX_REPLY_TOKENS=` in .env, as .env.example has it, means "not set".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_api_url", "gpt_api_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.hostname):
            raise ValueError("must be a full URL such as https://bot.example.com/telegram")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret and not WEBHOOK_SECRET_PATTERN.fullmatch(secret):
            raise ValueError("use 1-256 characters from A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @field_validator("webhook_path")
    @classmethod
    def _webhook_path(cls, value: str) -> str:
        if value and not WEBHOOK_PATH_PATTERN.fullmatch(value):
            raise ValueError("must start with / and use only A-Z, a-z, 0-9 and _ - . / ~")
        return value

    @model_validator(mode="after")
    def _webhook_complete(self) -> Self:
        if not self.webhook_url:
            return self
        if not self.webhook_secret.get_secret_value():
            raise ValueError(
                "WEBHOOK_SECRET is required when WEBHOOK_URL is set (environment or .env)"
            )
        token = self.telegram_bot_token.get_secret_value()
        # The part after the colon is the secret half (the part before is the public bot id);
        # a URL ends up in proxy and Telegram logs, so neither may carry it.
        secret_half = token.partition(":")[2] or token
        for name, value in (("WEBHOOK_URL", self.webhook_url), ("WEBHOOK_PATH", self.webhook_path)):
            if secret_half and secret_half in value:
                raise ValueError(f"{name} must not contain the bot token")
        if not WEBHOOK_PATH_PATTERN.fullmatch(self.webhook_listen_path):
            raise ValueError("WEBHOOK_URL: its path must use only A-Z, a-z, 0-9 and _ - . / ~")
        return self

    @property
    def webhook_listen_path(self) -> str:
        """The path the webhook server answers: WEBHOOK_PATH, else the path of WEBHOOK_URL."""
        return self.webhook_path or urlsplit(self.webhook_url).path or "/"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the variable to fix."""


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, turning pydantic's report into one readable line each."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            if not error["loc"]:
                # A rule across settings: its message names the variables itself.
                lines.append(str(error["msg"]).removeprefix("Value error, "))
                continue
            name = str(error["loc"][0]).upper()
            if error["type"] == "missing":
                lines.append(f"{name} is required but not set (environment or .env)")
            else:
                lines.append(f"{name}: {str(error['msg']).removeprefix('Value error, ')}")
        raise ConfigError("; ".join(lines)) from None
