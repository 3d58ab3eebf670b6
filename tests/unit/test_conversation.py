"""The conversation use case with a real store and the fake upstream over HTTP; no Telegram."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.conversation.answer import EMPTY_REPLY_NOTICE, NO_AUDIO_NOTICE, NOT_STARTED_NOTICE
from bot.conversation.generation import STOPPED_NOTICE
from bot.conversation.service import ConversationService
from bot.conversation.turns import Origin, Outcome, UserTurn
from bot.errors import AttachmentRefused
from bot.store import ChatKey, ChatStore, Received
from bot.types import ImagePart, ShowReasoning
from bot.upstream.types import AudioReply
from tests.fakes.upstream import FakeUpstream, Fault, ReasoningStyle, ReplyScript
from tests.support import RecordingSink

CHAT = ChatKey(42)
USER = 7


class SpeakingSink(RecordingSink):
    """A sink that can also speak: remembers the spoken reply and how it was announced."""

    def __init__(self) -> None:
        super().__init__()
        self.recording = False
        self.spoken: AudioReply | None = None

    async def start_speaking(self) -> None:
        self.recording = True

    async def speak(self, audio: AudioReply) -> None:
        self.spoken = audio


class ThinkingRecorder(RecordingSink):
    """A sink that also takes the reasoning (a `ThinkingSink`): each `think`, in `calls` too."""

    def __init__(self) -> None:
        super().__init__()
        self.thoughts: list[tuple[str, str]] = []

    async def think(self, reasoning: str, *, show: ShowReasoning) -> None:
        self.calls.append("think")
        self.thoughts.append((reasoning, show))


THOUGHT = "The user greets me; a short greeting back will do."


async def test_reply_streams_growing_text_and_finishes_with_the_whole_reply(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    upstream.script(ReplyScript("India is a large country in South Asia."))
    sink = RecordingSink()
    outcome = await service.reply(
        CHAT, UserTurn("Write 10 lines on India", telegram_message_id=1, user_id=USER), sink
    )
    assert sink.started
    assert sink.updates[-1] == "India is a large country in South Asia."
    assert all(b.startswith(a) for a, b in zip(sink.updates, sink.updates[1:], strict=False))
    assert (sink.final, sink.notice) == ("India is a large country in South Asia.", None)
    assert outcome.status == "complete"


async def test_second_message_carries_the_first_exchange_and_the_system_prompt(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    upstream.script(ReplyScript("First answer."), ReplyScript("Shorter."))
    await service.reply(
        CHAT,
        UserTurn("Write 10 lines on India", telegram_message_id=1, user_id=USER),
        RecordingSink(),
    )
    await service.reply(
        CHAT, UserTurn("now shorter", telegram_message_id=2, user_id=USER), RecordingSink()
    )
    sent = upstream.chat_requests()[-1].body["messages"]
    assert sent == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Write 10 lines on India"},
        {"role": "assistant", "content": "First answer."},
        {"role": "user", "content": "now shorter"},
    ]


async def test_attached_parts_go_with_this_turn_only_and_history_keeps_its_text(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    image: ImagePart = {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="},
    }
    upstream.script(ReplyScript("A cat."), ReplyScript("Grey."))
    turn = UserTurn(
        "[photo 2x2]\nWhat is this?",
        telegram_message_id=1,
        user_id=USER,
        parts=(image,),
        model="gpt-4o",
    )
    first = await service.reply(CHAT, turn, RecordingSink())
    await service.reply(
        CHAT, UserTurn("What colour?", telegram_message_id=2, user_id=USER), RecordingSink()
    )
    asked, followed_up = (r.body for r in upstream.chat_requests())
    assert (first.model, asked["model"], followed_up["model"]) == (
        "gpt-4o",
        "gpt-4o",
        "gpt-4o-mini",
    )
    assert asked["messages"][-1] == {
        "role": "user",
        "content": [{"type": "text", "text": "[photo 2x2]\nWhat is this?"}, image],
    }
    assert followed_up["messages"][1:] == [
        {"role": "user", "content": "[photo 2x2]\nWhat is this?"},
        {"role": "assistant", "content": "A cat."},
        {"role": "user", "content": "What colour?"},
    ]


async def test_new_conversation_stops_sending_earlier_turns(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    await service.reply(
        CHAT, UserTurn("remember 7", telegram_message_id=1, user_id=USER), RecordingSink()
    )
    await service.new_conversation(CHAT)
    await service.reply(
        CHAT, UserTurn("what number?", telegram_message_id=2, user_id=USER), RecordingSink()
    )
    sent = upstream.chat_requests()[-1].body["messages"]
    assert sent == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "what number?"},
    ]


async def test_a_redelivered_message_that_was_answered_is_not_answered_again(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    await service.reply(
        CHAT, UserTurn("hello", telegram_message_id=5, user_id=USER), RecordingSink()
    )
    sink = RecordingSink()
    outcome = await service.reply(
        CHAT, UserTurn("hello", telegram_message_id=5, user_id=USER), sink
    )
    assert outcome.duplicate
    assert len(upstream.chat_requests()) == 1
    assert sink.final is None


async def test_a_stream_cut_midway_keeps_the_text_and_says_why(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    upstream.script(ReplyScript("abcdefghijkl", fault=Fault.CUT_MID_STREAM, after_chunks=2))
    sink = RecordingSink()
    outcome = await service.reply(CHAT, UserTurn("go", telegram_message_id=1, user_id=USER), sink)
    assert (outcome.status, sink.final) == ("interrupted", "abcdefgh")
    assert sink.notice is not None
    assert "could not read" in sink.notice


async def test_an_interrupted_reply_is_stored_and_sent_as_context_next_time(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    upstream.script(ReplyScript("abcdefghijkl", fault=Fault.STALL_MID_STREAM, after_chunks=1))
    await service.reply(CHAT, UserTurn("go", telegram_message_id=1, user_id=USER), RecordingSink())
    await service.reply(
        CHAT, UserTurn("continue", telegram_message_id=2, user_id=USER), RecordingSink()
    )
    sent = upstream.chat_requests()[-1].body["messages"]
    assert sent[-2:] == [
        {"role": "assistant", "content": "abcd"},
        {"role": "user", "content": "continue"},
    ]


async def test_upstream_down_gives_a_readable_notice_and_the_next_message_works(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    upstream.script(ReplyScript("", fault=Fault.HTTP_500))
    sink = RecordingSink()
    outcome = await service.reply(CHAT, UserTurn("hi", telegram_message_id=1, user_id=USER), sink)
    assert (outcome.status, sink.final) == ("interrupted", "")
    assert sink.notice == "The AI service had an internal error (500). Please try again."
    second = RecordingSink()
    await service.reply(CHAT, UserTurn("hi again", telegram_message_id=2, user_id=USER), second)
    assert (second.final, second.notice) == ("You said: hi again", None)


async def test_an_empty_model_reply_gives_a_notice(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    upstream.script(ReplyScript(""))
    sink = RecordingSink()
    await service.reply(CHAT, UserTurn("hi", telegram_message_id=1, user_id=USER), sink)
    assert (sink.final, sink.notice) == ("", EMPTY_REPLY_NOTICE)


async def test_stop_ends_the_reply_keeps_its_text_and_closes_the_upstream_request(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    upstream.script(ReplyScript("a" * 400, chunk_size=4, chunk_delay=0.02))
    sink = RecordingSink()
    replying = asyncio.create_task(
        service.reply(CHAT, UserTurn("long", telegram_message_id=1, user_id=USER), sink)
    )
    await sink.first_update.wait()
    assert service.stop(CHAT)
    outcome = await replying
    assert outcome.status == "stopped"
    assert sink.notice == STOPPED_NOTICE
    assert sink.final is not None
    assert 0 < len(sink.final) < 400
    await upstream.wait_until(lambda: upstream.disconnects == 1)
    assert not service.stop(CHAT)


async def test_turns_of_one_chat_are_answered_in_arrival_order(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    upstream.script(ReplyScript("one", chunk_delay=0.05), ReplyScript("two"))
    first, second = RecordingSink(), RecordingSink()
    await asyncio.gather(
        service.reply(CHAT, UserTurn("1", telegram_message_id=1, user_id=USER), first),
        service.reply(CHAT, UserTurn("2", telegram_message_id=2, user_id=USER), second),
    )
    assert [r.body["messages"][-1]["content"] for r in upstream.chat_requests()] == ["1", "2"]
    assert upstream.chat_requests()[1].body["messages"][-2] == {
        "role": "assistant",
        "content": "one",
    }


async def test_a_pending_turn_is_prepared_in_arrival_order_before_a_later_turn(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    async def slow_photo() -> UserTurn:
        await asyncio.sleep(0.1)  # a download
        return UserTurn("[photo 2x2]", telegram_message_id=1, user_id=USER)

    await asyncio.gather(
        service.reply(CHAT, slow_photo, RecordingSink()),
        service.reply(
            CHAT, UserTurn("and now?", telegram_message_id=2, user_id=USER), RecordingSink()
        ),
    )
    actual = [r.body["messages"][-1]["content"] for r in upstream.chat_requests()]
    assert actual == ["[photo 2x2]", "and now?"]


async def test_a_pending_turn_that_is_refused_stores_nothing_and_frees_the_chat(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    async def unreadable() -> UserTurn:
        raise AttachmentRefused("I couldn't read notes.txt as text.")

    sink = RecordingSink()
    with pytest.raises(AttachmentRefused):
        await service.reply(CHAT, unreadable, sink)
    await service.reply(
        CHAT, UserTurn("hello", telegram_message_id=2, user_id=USER), RecordingSink()
    )
    assert sink.started is False
    assert upstream.chat_requests()[-1].body["messages"][1:] == [
        {"role": "user", "content": "hello"}
    ]


async def test_an_audio_model_speaks_with_the_chats_voice_and_history_keeps_the_transcript(
    service: ConversationService, upstream: FakeUpstream, store: ChatStore
) -> None:
    await store.update_preferences(CHAT, model="gpt-4o-audio-preview", voice="onyx")
    upstream.script(ReplyScript("Hello there.", audio_seconds=0.5), ReplyScript("Again."))
    sink = SpeakingSink()
    outcome = await service.reply(
        CHAT, UserTurn("Say hello", telegram_message_id=1, user_id=USER), sink
    )
    await service.reply(
        CHAT, UserTurn("once more", telegram_message_id=2, user_id=USER), SpeakingSink()
    )
    asked, again = (request.body for request in upstream.chat_requests())
    assert (sink.recording, sink.started, sink.final) == (True, False, None)
    assert sink.spoken is not None
    assert sink.spoken.transcript == "Hello there."
    assert sink.spoken.data.startswith(b"RIFF")
    assert (asked["stream"], asked["audio"]) == (False, {"voice": "onyx", "format": "wav"})
    assert again["messages"][-2] == {"role": "assistant", "content": "Hello there."}
    assert outcome.text == "Hello there."


async def test_without_a_voice_the_default_voice_speaks(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    turn = UserTurn(
        "[voice note, 2 s]", telegram_message_id=1, user_id=USER, model="gpt-4o-audio-preview"
    )
    await service.reply(CHAT, turn, SpeakingSink())
    assert upstream.chat_requests()[0].body["audio"] == {"voice": "alloy", "format": "wav"}


async def test_a_sink_that_cannot_speak_gets_the_audio_models_text_streamed(
    service: ConversationService, upstream: FakeUpstream, store: ChatStore
) -> None:
    await store.update_preferences(CHAT, model="gpt-4o-audio-preview")
    upstream.script(ReplyScript("Written words."))
    sink = RecordingSink()
    await service.reply(CHAT, UserTurn("hi", telegram_message_id=1, user_id=USER), sink)
    [request] = upstream.chat_requests()
    assert (request.body["stream"], "audio" in request.body) == (True, False)
    assert sink.final == "Written words."


async def test_an_audio_reply_without_audio_is_finished_as_text_with_a_notice(
    service: ConversationService, upstream: FakeUpstream, store: ChatStore
) -> None:
    await store.update_preferences(CHAT, model="gpt-4o-audio-preview")
    upstream.script(ReplyScript("Only text.", fault=Fault.NO_AUDIO))
    sink = SpeakingSink()
    await service.reply(CHAT, UserTurn("hi", telegram_message_id=1, user_id=USER), sink)
    assert (sink.spoken, sink.final, sink.notice) == (None, "Only text.", NO_AUDIO_NOTICE)


async def test_stopping_a_spoken_reply_finishes_it_as_stopped_and_speaks_nothing(
    service: ConversationService, upstream: FakeUpstream, store: ChatStore
) -> None:
    await store.update_preferences(CHAT, model="gpt-4o-audio-preview")
    upstream.script(ReplyScript("Too late.", first_token_delay=5))
    sink = SpeakingSink()
    replying = asyncio.create_task(
        service.reply(CHAT, UserTurn("hi", telegram_message_id=1, user_id=USER), sink)
    )
    await upstream.wait_until(lambda: len(upstream.chat_requests()) == 1)
    assert service.stop(CHAT)
    outcome = await replying
    assert (outcome.status, sink.spoken, sink.final, sink.notice) == (
        "stopped",
        None,
        "",
        STOPPED_NOTICE,
    )


class Ended:
    """A TurnWatcher that remembers how each turn ended."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self.errors: list[Exception] = []
        self.drops = 0
        self.any = asyncio.Event()

    async def answered(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        self.any.set()

    async def failed(self, error: Exception) -> None:
        self.errors.append(error)
        self.any.set()

    def dropped(self) -> None:
        self.drops += 1


async def test_submit_returns_once_the_turn_is_queued_and_its_worker_answers_it(
    service: ConversationService, upstream: FakeUpstream, store: ChatStore
) -> None:
    upstream.script(ReplyScript("slow", first_token_delay=0.2))
    sink, ended = RecordingSink(), Ended()
    queued = await service.submit(
        CHAT, UserTurn("hi", telegram_message_id=1, user_id=USER), sink, watcher=ended
    )
    assert (queued, sink.calls, service.busy(CHAT)) == (None, [], True)
    assert [r.content for r in await store.inbox()] == ["hi"]  # kept until its turn stores it
    await ended.any.wait()
    assert [o.text for o in ended.outcomes] == ["slow"]
    assert (sink.final, sink.closed, await store.inbox()) == ("slow", True, [])


async def test_a_turn_queued_when_the_bot_stops_is_told_to_send_again_and_not_kept(
    service: ConversationService, upstream: FakeUpstream, store: ChatStore
) -> None:
    upstream.script(ReplyScript("a" * 400, chunk_size=4, chunk_delay=0.02))
    first, second = RecordingSink(), RecordingSink()
    replying = asyncio.create_task(
        service.reply(CHAT, UserTurn("long", telegram_message_id=1, user_id=USER), first)
    )
    await first.first_update.wait()
    waiting = asyncio.create_task(
        service.reply(CHAT, UserTurn("next", telegram_message_id=2, user_id=USER), second)
    )
    await asyncio.sleep(0)  # queued behind the reply
    service.shut_down()
    cut, told = await replying, await waiting

    assert (cut.status, told.notice) == ("interrupted", NOT_STARTED_NOTICE)
    assert (second.calls, second.notice) == (["finish"], NOT_STARTED_NOTICE)
    assert await store.inbox() == []  # not answered after the restart either
    assert not await store.has_message(CHAT, 2)
    assert len(upstream.chat_requests()) == 1


async def test_cancelling_close_stops_every_worker_and_keeps_waiting_turns_for_the_next_start(
    service: ConversationService, upstream: FakeUpstream, store: ChatStore
) -> None:
    upstream.script(ReplyScript("a" * 400, chunk_size=4, chunk_delay=0.05))
    first, ended = RecordingSink(), Ended()
    await service.submit(CHAT, UserTurn("long", telegram_message_id=1, user_id=USER), first)
    await service.submit(
        CHAT, UserTurn("next", telegram_message_id=2, user_id=USER), RecordingSink(), watcher=ended
    )
    await first.first_update.wait()
    closing = asyncio.create_task(service.close())
    await asyncio.sleep(0)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing

    assert (service.busy_any(), ended.drops, first.closed) == (False, 1, True)
    assert [t.get_name() for t in asyncio.all_tasks() if "chat-worker" in t.get_name()] == []
    assert [r.content for r in await store.inbox()] == ["next"]


async def test_a_pending_turn_that_fails_to_build_leaves_the_inbox_and_tells_the_watcher(
    service: ConversationService, store: ChatStore
) -> None:
    async def unreadable() -> UserTurn:
        raise AttachmentRefused("I couldn't read notes.txt as text.")

    ended = Ended()
    kept = Received(CHAT, "caption", 3, USER, None, "document", '{"file_id": "x"}')
    await service.submit(
        CHAT, unreadable, RecordingSink(), origin=Origin(USER, 3, (kept,)), watcher=ended
    )
    assert await store.inbox() == [kept]
    await ended.any.wait()

    assert [str(e) for e in ended.errors] == ["I couldn't read notes.txt as text."]
    assert await store.inbox() == []


async def test_a_message_delivered_twice_while_it_waits_is_queued_once(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    upstream.script(ReplyScript("slow", first_token_delay=0.2))
    turn = UserTurn("hi", telegram_message_id=1, user_id=USER)
    ended = Ended()
    assert await service.submit(CHAT, turn, RecordingSink(), watcher=ended) is None
    again = await service.submit(CHAT, turn, RecordingSink())
    await ended.any.wait()

    assert again is not None
    assert again.duplicate
    assert len(upstream.chat_requests()) == 1


async def test_a_message_an_earlier_run_kept_is_not_queued_again_when_telegram_resends_it(
    service: ConversationService, upstream: FakeUpstream, store: ChatStore
) -> None:
    await store.receive(CHAT, "hi", telegram_message_id=1, user_id=USER)  # queued at start
    again = await service.submit(
        CHAT, UserTurn("hi", telegram_message_id=1, user_id=USER), RecordingSink()
    )

    assert again is not None
    assert again.duplicate
    assert upstream.chat_requests() == []
    assert [r.content for r in await store.inbox()] == ["hi"]


async def test_a_sink_without_think_gets_the_answer_alone_never_the_reasoning(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    upstream.script(ReplyScript("Hello!", reasoning=THOUGHT, reasoning_chunk_size=5))
    sink = RecordingSink()
    outcome = await service.reply(CHAT, UserTurn("hi", telegram_message_id=1, user_id=USER), sink)
    assert sink.updates
    assert all("Hello!".startswith(text) for text in sink.updates)
    assert (sink.final, outcome.text) == ("Hello!", "Hello!")


async def test_a_thinking_sink_gets_the_whole_reasoning_so_far_before_the_answer(
    service: ConversationService, upstream: FakeUpstream, store: ChatStore
) -> None:
    await store.update_preferences(CHAT, show_reasoning="full")
    upstream.script(ReplyScript("Hello!", reasoning=THOUGHT, reasoning_chunk_size=5))
    sink = ThinkingRecorder()
    await service.reply(CHAT, UserTurn("hi", telegram_message_id=1, user_id=USER), sink)
    first_update = sink.calls.index("update")
    assert sink.calls[1:first_update] == ["think"] * len(sink.thoughts)
    assert "think" not in sink.calls[first_update:]
    thoughts = [reasoning for reasoning, _ in sink.thoughts]
    assert all(b.startswith(a) and b != a for a, b in itertools.pairwise(thoughts))
    assert thoughts[-1] == THOUGHT
    assert {show for _, show in sink.thoughts} == {"full"}
    assert (sink.updates[-1], sink.final) == ("Hello!", "Hello!")


async def test_a_reply_found_to_begin_mid_thought_restarts_the_answer_after_its_reasoning(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    # Only `</think>` shows it: the words before it were given as answer, then taken back.
    upstream.script(
        ReplyScript(
            "Hello!",
            reasoning=THOUGHT,
            reasoning_style=ReasoningStyle.CLOSE_TAG_ONLY,
            reasoning_chunk_size=5,
        )
    )
    sink = ThinkingRecorder()
    await service.reply(CHAT, UserTurn("hi", telegram_message_id=1, user_id=USER), sink)
    restart = sink.calls.index("think")
    assert sink.calls[restart + 1] == "update"
    before, after = sink.updates[: restart - 1], sink.updates[restart - 1 :]
    assert before[-1] in THOUGHT
    assert "Hello!".startswith(after[0])
    assert sink.thoughts == [(THOUGHT, "collapsed")]
    assert (after[-1], sink.final) == ("Hello!", "Hello!")


async def test_a_model_known_to_begin_mid_thought_that_answers_straight_away_takes_it_back(
    service: ConversationService, upstream: FakeUpstream
) -> None:
    # Its first reply taught that it begins mid-thought; its second has no thought at all: the
    # words given as reasoning are taken back (empty reasoning) and given as the answer.
    upstream.script(
        ReplyScript("Hello!", reasoning=THOUGHT, reasoning_style=ReasoningStyle.CLOSE_TAG_ONLY),
        ReplyScript("Plain words.", chunk_size=4),
    )
    await service.reply(CHAT, UserTurn("hi", telegram_message_id=1, user_id=USER), RecordingSink())
    sink = ThinkingRecorder()
    await service.reply(CHAT, UserTurn("again", telegram_message_id=2, user_id=USER), sink)
    assert [thought for thought, _ in sink.thoughts[:-1]] == ["Plai", "Plain wo", "Plain words."]
    assert sink.thoughts[-1] == ("", "collapsed")
    assert sink.calls == ["start", "think", "think", "think", "think", "update", "finish"]
    assert (sink.updates, sink.final) == (["Plain words."], "Plain words.")
