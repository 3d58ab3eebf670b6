"""A fake Telegram Bot API server for end-to-end tests and the benchmark, speaking real HTTP.

Owns: the aiohttp server on 127.0.0.1 (`/bot{token}/{method}` and `/file/bot{token}/{path}`),
reading requests as the Bot API server does (query string, form, multipart, JSON body), the order
of checks (token, method, parameters, fault injection, flood control, then the method), fault
injection (Telegram errors, dropped connections, answers that never come, each optionally for
one chat only), and the observing API (`calls`, `bot_messages`, `texts`, `wait_until`, ...).
What single methods do lives in methods.py / media_methods.py / bot_methods.py, Telegram's rules
in rules.py / schema.py / flood.py, the world it keeps in state.py, the user side in driving.py /
events.py (media.py reads uploaded bytes), webhook POSTs in webhook.py.

    async with FakeTelegram(limits=FloodLimits.relaxed()) as fake:
        bot = telegram.Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        fake.user_sends(42, "/start")
        await fake.wait_until(lambda: bool(fake.bot_messages(42)))

A method the schema knows but the fake does not implement answers 501, so a test that relies on
it fails loudly instead of passing on a silent fake success.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
from aiohttp import web

from tests.fakes.telegram.bot_methods import BotMethods, command_key
from tests.fakes.telegram.events import TelegramDriver
from tests.fakes.telegram.flood import COUNTED_METHODS, FloodLimiter, FloodLimits
from tests.fakes.telegram.media import UPLOAD_LIMIT
from tests.fakes.telegram.media_methods import MediaMethods
from tests.fakes.telegram.methods import BotRequest
from tests.fakes.telegram.rules import ApiError
from tests.fakes.telegram.schema import BotApiSchema, Upload, form_fields_from_json
from tests.fakes.telegram.state import ApiCall, Draft, JsonDict, SentMessage, WebhookDelivery
from tests.fakes.telegram.webhook import deliver_updates

__all__ = [
    "ApiCall",
    "Draft",
    "FakeTelegram",
    "FloodLimits",
    "SentMessage",
    "WebhookDelivery",
]


FaultKind = Literal["reject", "drop", "lose_answer", "hang"]


@dataclass
class _Fault:
    kind: FaultKind
    remaining: int
    chat_id: int | None = None
    error_code: int = 0
    description: str = ""
    retry_after: int | None = None


class _Dropped(Exception):
    """Close the connection without an answer (raised before the call takes effect)."""


class FakeTelegram(TelegramDriver):
    def __init__(
        self,
        *,
        token: str = "123456:TEST-fake-token",
        username: str = "gpt_test_bot",
        bot_id: int = 123456,
        bot_name: str = "GPT Test Bot",
        limits: FloodLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        webhook_retry_delay: float = 0.2,
    ) -> None:
        super().__init__(
            token=token, username=username, bot_id=bot_id, bot_name=bot_name, clock=clock
        )
        self.schema = BotApiSchema.load()
        self.webhook_retry_delay = webhook_retry_delay  # seconds before a failed POST is retried
        self.downloads: list[str] = []  # file paths fetched from /file/bot{token}/...
        self._limiter = FloodLimiter(limits or FloodLimits(), clock)
        self._handlers = {**MediaMethods(self).table(), **BotMethods(self).table()}
        self._faults: dict[str, list[_Fault]] = {}
        self._api_root: str | None = None
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=UPLOAD_LIMIT + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._on_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._on_file)
        # handler_cancellation: a long poll the bot abandoned must not linger and answer later.
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self._api_root = f"http://127.0.0.1:{port}"
        self._http = aiohttp.ClientSession()
        self._webhook_task = asyncio.create_task(deliver_updates(self, self._http))

    async def stop(self) -> None:
        self.closing = True
        self.notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def api_root(self) -> str:
        """`http://127.0.0.1:PORT`, the bot's TELEGRAM_API_URL."""
        if self._api_root is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._api_root

    @property
    def limits(self) -> FloodLimits:
        return self._limiter.limits

    @property
    def base_url(self) -> str:
        return f"{self.api_root}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.api_root}/file/bot"

    # --- fault injection ---------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next `times` valid calls of `method` (to `chat_id`, if given) fail with this
        Telegram error."""
        fault = _Fault("reject", times, chat_id, error_code, description, retry_after)
        self._add_fault(method, fault)

    def drop_next(
        self,
        method: str,
        *,
        after_processing: bool = False,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Close the connection of the next `times` calls instead of answering (a network
        error for the bot). With `after_processing` the call takes effect first and only its
        answer is lost, so a retry of it meets its own result."""
        self._add_fault(
            method, _Fault("lose_answer" if after_processing else "drop", times, chat_id)
        )

    def hang_next(self, method: str, *, times: int = 1, chat_id: int | None = None) -> None:
        """Never answer the next `times` calls (they take no effect): the bot's request times
        out."""
        self._add_fault(method, _Fault("hang", times, chat_id))

    def _add_fault(self, method: str, fault: _Fault) -> None:
        canonical = self.schema.canonical_method(method)
        if canonical is None:
            raise ValueError(f"{method} is not a Bot API method")
        self._faults.setdefault(canonical, []).append(fault)

    async def _inject_fault(self, method: str, params: dict[str, Any]) -> FaultKind | None:
        """Play the first fault queued for this call, if any; the kind that needs the caller."""
        faults = self._faults.get(method, [])
        fault = next((f for f in faults if f.chat_id in (None, params.get("chat_id"))), None)
        if fault is None:
            return None
        fault.remaining -= 1
        if fault.remaining <= 0:
            faults.remove(fault)
        match fault.kind:
            case "reject":
                retry = fault.retry_after
                parameters = None if retry is None else {"retry_after": retry}
                raise ApiError(fault.error_code, fault.description, parameters)
            case "drop":
                raise _Dropped
            case "hang":
                # Only the client giving up (handler cancellation) ends this.
                await asyncio.Event().wait()
        return fault.kind

    # --- observing ---------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        canonical = self.schema.canonical_method(method) or method
        return [call for call in self.calls if call.method == canonical]

    def bot_messages(self, chat_id: int, *, include_deleted: bool = False) -> list[SentMessage]:
        """Messages the bot sent to `chat_id`, in send order, with their current state."""
        return [
            m
            for m in self.sent_order
            if m.chat_id == chat_id and (include_deleted or not m.deleted)
        ]

    def texts(self, chat_id: int) -> list[str]:
        """The text of each message the bot shows in `chat_id`, in send order ("" for a message
        without text, such as a voice note)."""
        return [m.text or "" for m in self.bot_messages(chat_id)]

    def drafts_in(self, chat_id: int) -> list[Draft]:
        """Every sendMessageDraft call that reached `chat_id`, in order."""
        return [draft for draft in self.drafts if draft.chat_id == chat_id]

    def reactions_on(self, chat_id: int, message_id: int) -> list[list[str]]:
        """Every reaction the bot set on the message, in order ([]: removed)."""
        return [emoji for c, m, emoji in self.reaction_log if (c, m) == (chat_id, message_id)]

    def commands_for(
        self, scope: JsonDict | None = None, language_code: str = ""
    ) -> list[JsonDict]:
        """The command menu the bot set for a scope (default scope if None) and language."""
        return list(self.commands.get(command_key(scope, language_code), []))

    @property
    def rejections(self) -> list[ApiCall]:
        return [call for call in self.calls if call.error is not None and not call.abandoned]

    @property
    def unanswered_callbacks(self) -> list[str]:
        """Ids of button presses the bot has not answered (users see a spinner for those)."""
        return [query for query, answered in self.callback_queries.items() if not answered]

    @property
    def flood_rejections(self) -> int:
        return sum(1 for call in self.calls if call.error_code == 429)

    # The timeout parameter is the documented API that tests call.
    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> None:
        """Return once `predicate()` holds; re-checked on every change (and every 0.1 s, for
        conditions outside the fake); AssertionError with the recent calls on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            signal = self.change_signal()
            if predicate():
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"condition not met within {timeout} s; recent calls:\n{self.summary()}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), min(remaining, 0.1))

    def summary(self, last: int = 20) -> str:
        lines = []
        for call in self.calls[-last:]:
            params = ", ".join(f"{k}={_short(v)}" for k, v in call.params.items())
            outcome = "ok" if call.error is None else f"{call.error_code} {call.error}"
            lines.append(f"  {call.at:.3f} {call.method}({params}) -> {outcome}")
        return "\n".join(lines) or "  (no calls)"

    # --- HTTP --------------------------------------------------------------------------------

    async def _on_api(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        method = self.schema.canonical_method(name)
        call = ApiCall(method or name, {}, self.clock())
        self.calls.append(call)
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if method is None:
                raise ApiError(404, "Not Found")
            fields = await _read_fields(request)
            call.params = {k: v.data if isinstance(v, Upload) else v for k, v in fields.items()}
            result = await self._dispatch(method, fields, call)
        except _Dropped:
            return self._drop(request, call)
        except ApiError as exc:
            call.error, call.error_code = exc.description, exc.error_code
            call.abandoned = request.transport is None or request.transport.is_closing()
            self.notify()
            return web.json_response(exc.payload(), status=exc.error_code)
        if call.dropped:
            return self._drop(request, call)
        self.notify()
        return web.json_response({"ok": True, "result": result})

    def _drop(self, request: web.Request, call: ApiCall) -> web.Response:
        call.dropped = True
        if request.transport is not None:
            request.transport.abort()
        self.notify()
        return web.Response(status=499)  # never delivered: the connection is gone

    async def _dispatch(self, method: str, fields: dict[str, str | Upload], call: ApiCall) -> Any:
        handler = self._handlers.get(method)
        params = self.schema.decode(method, fields, skip_required=handler is None)
        call.params = params
        if handler is None:
            raise ApiError(501, f"Not Implemented: the fake Telegram server has no {method}")
        lose_answer = await self._inject_fault(method, params) == "lose_answer"
        flood_key = self._flood_key(params) if method in COUNTED_METHODS else None
        if flood_key is not None and (wait := self._limiter.retry_after(flood_key)) is not None:
            raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        uploads = {k: v for k, v in fields.items() if isinstance(v, Upload)}
        result = await handler(BotRequest(method, params, uploads))
        if flood_key is not None:
            self._limiter.record(flood_key)
        call.dropped = lose_answer
        return result

    def _flood_key(self, params: dict[str, Any]) -> int | None:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int):
            return chat_id
        name = str(chat_id).removeprefix("@").lower()
        return next((c.id for c in self.chats.values() if c.username == name), None)

    async def _on_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        stored = self.files_by_path.get(request.match_info["file_path"])
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        self.downloads.append(stored.file_path)
        self.notify()
        return web.Response(body=stored.data, content_type="application/octet-stream")


async def _read_fields(request: web.Request) -> dict[str, str | Upload]:
    fields: dict[str, str | Upload] = dict(request.query)
    if not request.body_exists:
        return fields
    try:
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ApiError.bad_request("parameters must be a JSON object")
            fields.update(form_fields_from_json(body))
            return fields
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, "Request Entity Too Large") from None
    except ValueError:
        raise ApiError.bad_request("can't parse JSON object") from None
    for name, value in form.items():
        if isinstance(value, web.FileField):
            data = await asyncio.to_thread(value.file.read)
            fields[name] = Upload(value.filename, value.content_type, data)
        else:
            fields[name] = value if isinstance(value, str) else bytes(value).decode()
    return fields


def _short(value: Any) -> str:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
