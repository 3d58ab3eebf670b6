"""`python -m bot check`: verify a configuration without chatting, one line per check.

Owns the checks (Telegram token, upstream and DEFAULT_MODEL among its models, ffmpeg, database,
how updates arrive) and what each line says, secrets redacted (logs.redact) since the lines are
printed, each as soon as its check ends. Whatever a check meets — a server answering 200 with a
body nobody expected included — is a failing line, never a traceback. It changes nothing that
a running bot relies on (the database is only opened and migrated, as the bot itself
would; the webhook is only read, never set or deleted).
The ffmpeg check converts a moment of silence both ways, as voice replies and voice notes will,
so an ffmpeg without the Opus encoder fails here rather than in a chat.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from telegram import Bot, WebhookInfo
from telegram.error import TelegramError

from bot.config import Settings
from bot.errors import AudioError, UpstreamError
from bot.logs import redact, secrets_of
from bot.media import audio, ffmpeg
from bot.store import ChatStore
from bot.upstream.client import UpstreamClient
from bot.webhook import OFFICIAL_API, describe_webhook, webhook_problems

CHECK_TIMEOUT = 15.0


class CheckFailed(RuntimeError):
    """A check found a problem; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def _bot(settings: Settings) -> Bot:
    api = settings.telegram_api_url
    return Bot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
    )


async def check_telegram(settings: Settings) -> str:
    async with _bot(settings) as bot:
        me = await bot.get_me()
    return f"token valid, bot @{me.username}"


async def check_upstream(settings: Settings) -> str:
    client = UpstreamClient.from_settings(settings)
    try:
        models = await client.list_models()
    finally:
        await client.aclose()
    ids = [m.id for m in models]
    if settings.default_model not in ids:
        raise CheckFailed(
            f"{len(ids)} models listed; DEFAULT_MODEL {settings.default_model!r} is not among "
            "them, so chats that have not chosen a model would get errors"
        )
    return f"{len(ids)} models listed, {settings.default_model} available"


async def check_ffmpeg(settings: Settings) -> str:
    path = await asyncio.to_thread(ffmpeg.ffmpeg_path)
    if path is None:
        raise FileNotFoundError("ffmpeg not found on PATH (voice notes need it)")
    note = await audio.wav_to_voice(_silence(0.5))
    bounds = audio.Bounds(settings.voice_max_seconds, settings.voice_convert_timeout)
    await audio.to_mp3(note.ogg, bounds)
    return f"{path}, converts WAV to OGG/Opus voice notes, and those to MP3"


def _silence(seconds: float, rate: int = 16_000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(2 * int(seconds * rate)))
    return buffer.getvalue()


async def check_database(settings: Settings) -> str:
    store = await ChatStore.open(settings.database_path)
    try:
        version = await store.schema_version()
        healthy = await store.integrity_ok()
    finally:
        await store.close()
    folder = settings.database_path.parent
    # Writable means a file can be created next to the database (WAL needs that too).
    await asyncio.to_thread(_probe_writable, folder)
    if not healthy:
        raise RuntimeError("integrity check failed")
    return f"{settings.database_path} writable, schema version {version}"


def _probe_writable(folder: Path) -> None:
    tempfile.TemporaryFile(dir=folder).close()


async def check_webhook(settings: Settings) -> str:
    if not settings.webhook_url:
        detail = "WEBHOOK_URL not set: the bot polls with getUpdates"
        info = await _current_webhook(settings)
        if info is not None and info.url:
            detail += f"; it deletes Telegram's webhook {info.url} on start"
        return detail
    problems = webhook_problems(settings.webhook_url)
    if problems and settings.telegram_api_url == OFFICIAL_API:
        raise CheckFailed("; ".join(problems))
    detail = describe_webhook(settings)
    if problems:
        detail += f" (api.telegram.org would refuse it: {'; '.join(problems)}; a self-hosted "
        detail += "Bot API server accepts it only with --local)"
    info = await _current_webhook(settings)
    if info is None:
        return detail
    if info.url != settings.webhook_url:
        return f"{detail}; Telegram's webhook is {info.url or 'not set'} until the bot starts"
    if info.last_error_message:
        return f"{detail}; Telegram's last delivery error: {info.last_error_message}"
    return f"{detail}; {info.pending_update_count} updates pending at Telegram"


async def _current_webhook(settings: Settings) -> WebhookInfo | None:
    """What Telegram has set now (read-only); None when it can't be asked."""
    try:
        async with _bot(settings) as bot:
            return await bot.get_webhook_info()
    except TelegramError:
        return None  # the telegram check already says why


CHECKS: tuple[tuple[str, Callable[[Settings], Awaitable[str]]], ...] = (
    ("telegram", check_telegram),
    ("upstream", check_upstream),
    ("ffmpeg", check_ffmpeg),
    ("database", check_database),
    ("webhook", check_webhook),
)


async def run_checks(
    settings: Settings, report: Callable[[CheckResult], None] | None = None
) -> list[CheckResult]:
    """Run every check, handing each result to `report` as soon as it is known; failures are
    reported, never raised. What a result says is redacted: Telegram's and the upstream's words
    may quote a secret (PTB's InvalidToken quotes the token it was given)."""
    secrets = secrets_of(settings)
    results = []
    for name, check in CHECKS:
        try:
            ok, detail = True, await asyncio.wait_for(check(settings), CHECK_TIMEOUT)
        except Exception as exc:
            # Anything at all: a library meeting a body it did not expect (PTB given a 200
            # that is no Bot API answer raises KeyError or TypeError) is a failing line too.
            ok, detail = False, _describe(exc)
        result = CheckResult(name, ok, redact(detail, secrets))
        results.append(result)
        if report is not None:
            report(result)
    return results


def _describe(exc: BaseException) -> str:
    if isinstance(exc, UpstreamError | AudioError | CheckFailed):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return f"no answer within {CHECK_TIMEOUT:g} s"
    if isinstance(exc, TelegramError | OSError):
        return f"{type(exc).__name__}: {exc}"
    return f"unexpected answer ({type(exc).__name__}: {exc})"
