"""The bot's error tree: every failure we expect, as a type, with what the user should read.

    BotError                      anything we anticipated; `user_message` is safe to show
    ├── UpstreamError             the chat API failed
    │   ├── UpstreamUnavailable   connection refused, DNS failure (`dns`), network down
    │   ├── UpstreamTimeout       no answer in time (phase: connect, first_token, idle)
    │   ├── UpstreamHTTPError     4xx/5xx; carries status, the upstream's message, Retry-After,
    │   │   │                     x-should-retry
    │   │   ├── UpstreamContextOverflow    the request is longer than the model's context
    │   │   └── UpstreamParameterRejected  the model refuses parameters of the request (named)
    │   └── UpstreamProtocolError bad JSON, missing choices, a stream cut before [DONE]
    │       ├── UpstreamCut       the connection or the stream ended before the reply did
    │       └── UpstreamReportedError  an {"error"} object inside a 200 body or the stream
    ├── AttachmentRefused         a photo or file the bot cannot read (or download); says why
    ├── AudioError                audio could not be converted (media/audio.py)
    │   ├── FfmpegMissing         ffmpeg is not installed where the bot runs
    │   ├── AudioUndecodable      the input is damaged or in a format ffmpeg cannot decode
    │   └── AudioEncodeFailed     ffmpeg ran but could not produce the voice note or MP3
    └── GenerationStopped         the user pressed /stop

Errors are translated at the edge where they arise (upstream/client.py for httpx); this module
imports nothing from httpx or Telegram. `user_message` is worded when it is read, in the reader's
language (bot/i18n.py).
"""

from __future__ import annotations

from typing import Literal

from bot.i18n import _

TimeoutPhase = Literal["connect", "first_token", "idle"]

# Statuses that mean "too busy or down for now", not "broken": 503 (OpenAI, DeepSeek, Ollama's
# "server busy"), 529 (Anthropic's "Overloaded", kept by gateways in front of it).
OVERLOADED_STATUSES = frozenset({503, 529})
# The request took too long somewhere: 408 (OpenRouter, LiteLLM), 504 (gateways).
TIMED_OUT_STATUSES = frozenset({408, 504})

# Upstream text shown to users is cut to this many characters: it is for reading, not debugging.
SHOWN_DETAIL_LIMIT = 200


def shown(detail: str) -> str:
    """Upstream-supplied text, shortened for a chat message."""
    detail = " ".join(detail.split())
    return detail if len(detail) <= SHOWN_DETAIL_LIMIT else detail[: SHOWN_DETAIL_LIMIT - 1] + "…"


def in_words(seconds: float) -> str:
    """A wait as people say it: "in 20 s", "in 2 min", "in about 1 h"."""
    if seconds < 90:
        # Translators: a wait, completing "Please try again {when}."
        return _("in {seconds} s").format(seconds=max(1, round(seconds)))
    if seconds < 90 * 60:
        # Translators: a wait, completing "Please try again {when}."
        return _("in {minutes} min").format(minutes=round(seconds / 60))
    # Translators: a wait, completing "Please try again {when}."
    return _("in about {hours} h").format(hours=round(seconds / 3600))


class BotError(Exception):
    """An anticipated failure; `user_message` is what the chat is told."""

    @property
    def user_message(self) -> str:
        return _("Something went wrong. Please try again.")


class UpstreamError(BotError):
    """The upstream chat API could not give an answer."""


class UpstreamUnavailable(UpstreamError):
    """The upstream could not be reached at all."""

    def __init__(self, detail: str, *, dns: bool = False) -> None:
        super().__init__(f"upstream unreachable: {detail}")
        self.detail = detail
        self.dns = dns  # the host name did not resolve

    @property
    def user_message(self) -> str:
        if self.dns:
            return _(
                "The AI service's address can't be found (DNS). Please try again later; "
                "if it keeps happening, tell the bot's operator."
            )
        return _("The AI service can't be reached right now. Please try again in a minute.")


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer within the configured time."""

    def __init__(self, phase: TimeoutPhase, seconds: float) -> None:
        super().__init__(f"upstream timed out ({phase}, {seconds:g} s)")
        self.phase: TimeoutPhase = phase
        self.seconds = seconds

    @property
    def user_message(self) -> str:
        if self.phase == "idle":
            return _(
                "The AI service stopped sending for {seconds} s, so the reply was cut."
            ).format(seconds=f"{self.seconds:g}")
        if self.phase == "first_token":
            return _(
                "The AI service did not start answering within {seconds} s. Please try again."
            ).format(seconds=f"{self.seconds:g}")
        return _("The AI service did not accept the connection in time. Please try again.")


class UpstreamHTTPError(UpstreamError):
    """The upstream answered with an HTTP error status."""

    def __init__(
        self,
        status: int,
        message: str,
        retry_after: float | None = None,
        *,
        should_retry: bool | None = None,
    ) -> None:
        super().__init__(f"upstream HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.retry_after = retry_after
        # The server's own `x-should-retry: true|false` (OpenAI, Anthropic); None when unsaid.
        self.should_retry = should_retry

    @property
    def user_message(self) -> str:
        if self.status == 429:
            if not self.retry_after:
                return _("The AI service is rate-limiting requests. Please try again in a moment.")
            # Translators: {when} is a wait such as "in 20 s", "in 2 min" or "in about 1 h".
            return _("The AI service is rate-limiting requests. Please try again {when}.").format(
                when=in_words(self.retry_after)
            )
        if self.status == 401:
            return _(
                "The AI service refused the bot's credentials. Please tell the bot's operator."
            )
        if self.status == 403:
            # Translators: {detail} is the AI service's own (usually English) explanation.
            return _(
                "The AI service denied access ({detail}). Please tell the bot's operator."
            ).format(detail=shown(self.message))
        if self.status == 404:
            # Translators: {detail} is the AI service's own (usually English) explanation.
            return _("The AI service does not know this model or endpoint ({detail}).").format(
                detail=shown(self.message)
            )
        if self.status in OVERLOADED_STATUSES:
            # Translators: {status} is an HTTP status code such as 503.
            return _(
                "The AI service is overloaded or unavailable right now ({status}). "
                "Please try again in a minute."
            ).format(status=self.status)
        if self.status in TIMED_OUT_STATUSES:
            # Translators: {status} is an HTTP status code such as 504.
            return _("The AI service timed out ({status}). Please try again.").format(
                status=self.status
            )
        if self.status >= 500:
            # Translators: {status} is an HTTP status code such as 502.
            return _("The AI service had an internal error ({status}). Please try again.").format(
                status=self.status
            )
        # Translators: {detail} is the AI service's own (usually English) explanation.
        return _("The AI service rejected the request: {detail}").format(detail=shown(self.message))


class UpstreamContextOverflow(UpstreamHTTPError):
    """The request is longer than the model can read (its context window), by the server's own
    words. The conversation retries with less history; only a turn that overflows on its own
    reaches the user with this message."""

    @property
    def user_message(self) -> str:
        return _(
            "Your message is too long for this model: even without the earlier conversation "
            "it is more than the model can read at once. Please send a shorter message, or "
            "choose a model with a larger context with /model."
        )


class UpstreamParameterRejected(UpstreamHTTPError):
    """The model refuses parameters of the request (`params`, as the request names them);
    `use_instead` is the parameter the server asks for in their place, when it names one
    (`max_completion_tokens` for `max_tokens`). The client leaves them out and asks again."""

    def __init__(
        self,
        status: int,
        message: str,
        params: tuple[str, ...],
        *,
        use_instead: str | None = None,
    ) -> None:
        super().__init__(status, message)
        self.params = params
        self.use_instead = use_instead


class UpstreamProtocolError(UpstreamError):
    """The upstream answered, but not in the format the API promises."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"upstream protocol error: {detail}")
        self.detail = detail

    @property
    def user_message(self) -> str:
        # Translators: {detail} is a technical description of what was wrong, in English.
        return _("The AI service sent a reply the bot could not read ({detail}).").format(
            detail=shown(self.detail)
        )


class UpstreamCut(UpstreamProtocolError):
    """The connection broke, or the stream ended without its end, before the reply was whole.
    Before the first words nothing was shown, so the client asks again."""


class UpstreamReportedError(UpstreamProtocolError):
    """The upstream answered 200 and then reported an error object instead of (more) text."""

    @property
    def user_message(self) -> str:
        # Translators: {detail} is the AI service's own (usually English) error message.
        return _("The AI service reported an error: {detail}").format(detail=shown(self.detail))


class AudioError(BotError):
    """Audio could not be converted; nothing about the conversation is wrong."""

    @property
    def user_message(self) -> str:
        return _("Sorry, I couldn't process the audio.")


class FfmpegMissing(AudioError):
    """ffmpeg (which every audio conversion needs) is not on PATH."""

    def __init__(self) -> None:
        super().__init__("ffmpeg not found on PATH")

    @property
    def user_message(self) -> str:
        return _(
            "Voice messages don't work here yet: the program the bot needs for audio (ffmpeg)"
            " isn't installed. Please tell the bot's operator; text messages work as usual."
        )


class AudioUndecodable(AudioError):
    """The input is not audio ffmpeg can decode (damaged, empty, or another kind of file)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"undecodable audio: {detail}")
        self.detail = detail

    @property
    def user_message(self) -> str:
        return _(
            "I couldn't play that audio: the file seems damaged or isn't in a format I can"
            " read. Please record or send it again."
        )


class AudioEncodeFailed(AudioError):
    """ffmpeg ran but could not encode (an ffmpeg built without libopus, say)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"audio encoding failed: {detail}")
        self.detail = detail

    @property
    def user_message(self) -> str:
        return _("I couldn't turn the answer into a voice message, so here it is as text.")


class GenerationStopped(BotError):
    """The user stopped the reply in progress."""

    @property
    def user_message(self) -> str:
        # Translators: ends a reply the user stopped while it was being written.
        return _("Stopped.")


class AttachmentRefused(BotError):
    """A photo or document that can't be read; `reason` tells the user why and what works."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def user_message(self) -> str:
        return self.reason
