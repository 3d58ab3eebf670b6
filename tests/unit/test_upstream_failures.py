"""The upstream client against scripted HTTP answers that fail: HTTP errors and what they
carry, transport failures and timeouts, and which of them are retried."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from bot.errors import (
    UpstreamError,
    UpstreamHTTPError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from bot.upstream.client import Timeouts
from bot.upstream.types import Delta
from tests.unit.upstream_answers import (
    HELLO,
    MakeClient,
    Trickle,
    answering,
    chunk,
    collect,
    collect_into,
    event_stream,
    sse,
    trickle,
)

# --- HTTP errors ------------------------------------------------------------------------------


async def test_http_error_carries_the_openai_error_message(make_client: MakeClient) -> None:
    body = {"error": {"message": "The model `x` does not exist", "type": "invalid_request_error"}}
    handler, _ = answering(httpx.Response(404, json=body))
    with pytest.raises(UpstreamHTTPError) as caught:
        await collect(make_client(handler))
    assert (caught.value.status, caught.value.message) == (404, "The model `x` does not exist")


async def test_http_error_without_json_carries_the_body_text_cut_to_200_characters(
    make_client: MakeClient,
) -> None:
    page = "<html>" + "bad gateway " * 40 + "</html>"
    handler, _ = answering(httpx.Response(502, text=page))
    with pytest.raises(UpstreamHTTPError) as caught:
        await collect(make_client(handler, retries=0))
    assert len(caught.value.message) == 200
    assert caught.value.message.startswith("<html>bad gateway bad gateway")


async def test_the_api_key_never_appears_in_an_error_message(make_client: MakeClient) -> None:
    body = {"error": {"message": "Incorrect API key provided: sk-secret-123."}}
    handler, _ = answering(httpx.Response(401, json=body))
    with pytest.raises(UpstreamHTTPError) as caught:
        await collect(make_client(handler, api_key="sk-secret-123"))
    assert caught.value.message == "Incorrect API key provided: ***."
    assert "sk-secret-123" not in str(caught.value)


@pytest.mark.parametrize("status", [200, 401])
async def test_a_whole_reply_never_carries_the_api_key_in_its_error(
    make_client: MakeClient, status: int
) -> None:
    # Spoken replies are asked for whole; some servers answer 200 with an {"error": ...} body.
    body = {"error": {"message": "Incorrect API key provided: sk-secret-123."}}
    handler, _ = answering(httpx.Response(status, json=body))
    with pytest.raises(UpstreamError) as caught:
        await make_client(handler, api_key="sk-secret-123").complete_chat(HELLO)
    assert str(caught.value).endswith("Incorrect API key provided: ***.")
    assert "sk-secret-123" not in caught.value.user_message


async def test_about_never_shows_the_api_key(make_client: MakeClient) -> None:
    handler, _ = answering(httpx.Response(200, json={"service": "x", "your_key": "sk-secret-1"}))
    about = await make_client(handler, api_key="sk-secret-1").about()
    assert about == "service: x\nyour_key: ***"


def in_an_hour() -> str:
    return format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)


@pytest.mark.parametrize(
    ("headers", "low", "high"),
    [
        ({"Retry-After": "7"}, 7.0, 7.0),
        ({"Retry-After": "2.5"}, 2.5, 2.5),
        ({"retry-after-ms": "1500"}, 1.5, 1.5),
        ({"Retry-After": in_an_hour()}, 3000.0, 3600.0),
    ],
)
async def test_retry_after_is_read_from_seconds_milliseconds_or_an_http_date(
    make_client: MakeClient, headers: dict[str, str], low: float, high: float
) -> None:
    handler, _ = answering(httpx.Response(429, headers=headers, json={"error": {"message": "x"}}))
    with pytest.raises(UpstreamHTTPError) as caught:
        await collect(make_client(handler, retries=0))
    assert caught.value.retry_after is not None
    assert low <= caught.value.retry_after <= high


async def test_unreadable_retry_after_is_none(make_client: MakeClient) -> None:
    handler, _ = answering(httpx.Response(429, headers={"Retry-After": "soon"}))
    with pytest.raises(UpstreamHTTPError) as caught:
        await collect(make_client(handler, retries=0))
    assert caught.value.retry_after is None


# --- transport failures and timeouts ----------------------------------------------------------


async def test_refused_connection_raises_unavailable_after_every_retry(
    make_client: MakeClient,
) -> None:
    handler, seen = answering(httpx.ConnectError("Connection refused"))
    with pytest.raises(UpstreamUnavailable) as caught:
        await collect(make_client(handler, retries=2))
    assert len(seen) == 3
    assert "Connection refused" in caught.value.detail


async def test_connect_timeout_raises_connect_phase_timeout(make_client: MakeClient) -> None:
    handler, _ = answering(httpx.ConnectTimeout("timed out"))
    with pytest.raises(UpstreamTimeout) as caught:
        await collect(make_client(handler, retries=0, timeouts=Timeouts(connect=3)))
    assert (caught.value.phase, caught.value.seconds) == ("connect", 3)


async def test_connection_dropped_before_a_response_is_unavailable(
    make_client: MakeClient,
) -> None:
    handler, _ = answering(httpx.RemoteProtocolError("Server disconnected without response"))
    with pytest.raises(UpstreamUnavailable):
        await collect(make_client(handler, retries=0))


async def test_connection_cut_mid_stream_raises_stream_cut(make_client: MakeClient) -> None:
    cut = httpx.RemoteProtocolError("incomplete chunked read")
    handler, _ = answering(trickle(sse(chunk("hi")), then=cut))
    with pytest.raises(UpstreamProtocolError) as caught:
        await collect(make_client(handler))
    assert caught.value.detail == "stream cut"


async def test_no_text_before_the_first_token_timeout_raises_first_token_timeout(
    make_client: MakeClient,
) -> None:
    handler, _ = answering(trickle(sse(chunk("", role="assistant")), 5.0))
    with pytest.raises(UpstreamTimeout) as caught:
        await collect(make_client(handler, timeouts=Timeouts(first_token=0.1)))
    assert caught.value.phase == "first_token"


async def test_slow_response_headers_count_against_the_first_token_timeout(
    make_client: MakeClient,
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return event_stream(b"")

    with pytest.raises(UpstreamTimeout) as caught:
        await collect(make_client(slow, timeouts=Timeouts(first_token=0.1)))
    assert caught.value.phase == "first_token"


async def test_replies_past_the_stream_limit_wait_their_turn_without_timing_out(
    make_client: MakeClient,
) -> None:
    events: list[str] = []

    class Logged(Trickle):
        async def aclose(self) -> None:
            events.append("closed")

    async def handle(request: httpx.Request) -> httpx.Response:
        events.append("opened")
        parts = (sse(chunk("a")), 0.1, sse(chunk("b")), 0.1, sse(chunk("c")), 0.1)
        stream = Logged((*parts, sse(chunk(finish="stop"), "[DONE]")))
        return httpx.Response(200, headers={"Content-Type": "text/event-stream"}, stream=stream)

    # One reply at a time; the second waits about 0.3 s for it, longer than its first token may
    # take: the wait for a turn is not the upstream being slow.
    client = make_client(handle, streams=1, timeouts=Timeouts(first_token=0.2, idle=5))
    first, second = await asyncio.gather(collect(client), collect(client))

    assert first == second == [Delta("a"), Delta("b"), Delta("c"), Delta("", "stop")]
    assert events == ["opened", "closed", "opened", "closed"]


async def test_a_pause_after_text_longer_than_idle_raises_idle_timeout(
    make_client: MakeClient,
) -> None:
    handler, _ = answering(trickle(sse(chunk("hi")), 5.0, sse(chunk(finish="stop"))))
    client = make_client(handler, timeouts=Timeouts(first_token=5, idle=0.1))
    received: list[Delta] = []
    with pytest.raises(UpstreamTimeout) as caught:
        await collect_into(received, client)
    assert (caught.value.phase, received) == ("idle", [Delta("hi")])


async def test_a_slow_consumer_does_not_time_the_upstream_out(make_client: MakeClient) -> None:
    # Short pauses make every read wait, so a deadline counted from the last text would fire.
    pause = 0.001
    parts = (sse(chunk("a")), pause, sse(chunk("b")), pause, sse(chunk(finish="stop"), "[DONE]"))
    handler, _ = answering(trickle(*parts))
    client = make_client(handler, timeouts=Timeouts(idle=0.05))
    received = []
    async for delta in client.stream_chat(HELLO):
        received.append(delta)
        await asyncio.sleep(0.15)
    assert received == [Delta("a"), Delta("b"), Delta("", "stop")]


# --- retries ----------------------------------------------------------------------------------


async def test_503_is_retried_and_the_second_answer_streams(make_client: MakeClient) -> None:
    good = event_stream(sse(chunk("ok"), chunk(finish="stop"), "[DONE]"))
    handler, seen = answering(httpx.Response(503), good)
    assert await collect(make_client(handler)) == [Delta("ok"), Delta("", "stop")]
    assert len(seen) == 2


async def test_429_waits_for_a_short_retry_after_before_retrying(make_client: MakeClient) -> None:
    good = event_stream(sse(chunk("ok"), chunk(finish="stop")))
    handler, seen = answering(httpx.Response(429, headers={"Retry-After": "0.2"}), good)
    started = asyncio.get_running_loop().time()
    await collect(make_client(handler))
    assert len(seen) == 2
    assert asyncio.get_running_loop().time() - started >= 0.2


async def test_429_with_a_retry_after_over_30_seconds_gives_up_at_once(
    make_client: MakeClient,
) -> None:
    handler, seen = answering(httpx.Response(429, headers={"Retry-After": "120"}))
    with pytest.raises(UpstreamHTTPError) as caught:
        await collect(make_client(handler, retries=3))
    assert (len(seen), caught.value.retry_after) == (1, 120.0)


@pytest.mark.parametrize("status", [400, 404, 501])
async def test_a_request_error_or_a_501_is_not_retried(
    make_client: MakeClient, status: int
) -> None:
    handler, seen = answering(httpx.Response(status))
    with pytest.raises(UpstreamHTTPError):
        await collect(make_client(handler, retries=3))
    assert len(seen) == 1


async def test_first_token_timeout_is_not_retried(make_client: MakeClient) -> None:
    handler, seen = answering(trickle(5.0))
    with pytest.raises(UpstreamTimeout):
        await collect(make_client(handler, retries=3, timeouts=Timeouts(first_token=0.05)))
    assert len(seen) == 1


async def test_nothing_is_retried_after_the_first_delta(make_client: MakeClient) -> None:
    cut = httpx.ReadError("connection reset")
    handler, seen = answering(trickle(sse(chunk("partial")), then=cut))
    client = make_client(handler, retries=3)
    received: list[Delta] = []
    with pytest.raises(UpstreamProtocolError):
        await collect_into(received, client)
    assert (len(seen), received) == (1, [Delta("partial")])


async def test_retries_back_off_exponentially(make_client: MakeClient) -> None:
    handler, seen = answering(httpx.ConnectError("refused"))
    started = asyncio.get_running_loop().time()
    with pytest.raises(UpstreamUnavailable):
        await collect(make_client(handler, retries=2, retry_backoff=0.05))
    assert len(seen) == 3
    assert asyncio.get_running_loop().time() - started >= 0.05 + 0.1
