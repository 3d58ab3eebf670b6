"""Which Telegram errors of a draft call mean "no drafts here", and what the bot remembers."""

from __future__ import annotations

import logging

import pytest
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError

from bot.delivery.draft_support import DraftSupport
from bot.delivery.telegram_errors import DraftRefusal, draft_refusal


@pytest.mark.parametrize(
    ("error", "refusal"),
    [
        (InvalidToken("Not Found"), DraftRefusal.SERVER),  # api.telegram.org without the method
        (InvalidToken("Not Found: method not found"), DraftRefusal.SERVER),  # telegram-bot-api
        (BadRequest("Text must be non-empty"), DraftRefusal.SERVER),  # older than Bot API 10.0
        (BadRequest("TEXTDRAFT_PEER_INVALID"), DraftRefusal.CHAT),
        (InvalidToken("Unauthorized"), None),  # a revoked token is not the drafts' business
        (BadRequest("Can't parse entities: unclosed bold"), None),
        (Forbidden("Forbidden: bot was blocked by the user"), None),
        (NetworkError("Bad Gateway"), None),
    ],
)
def test_only_refusals_of_drafts_count_as_refusals(
    error: TelegramError, refusal: DraftRefusal | None
) -> None:
    assert draft_refusal(error) is refusal


def test_a_chat_refusal_is_remembered_for_that_chat_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    support = DraftSupport(max_chats=2)
    refused = BadRequest("TEXTDRAFT_PEER_INVALID")
    with caplog.at_level(logging.WARNING):
        support.refused(1, DraftRefusal.CHAT, refused)
        support.refused(1, DraftRefusal.CHAT, refused)
    assert len(caplog.records) == 1
    assert not support.usable(1)
    assert support.usable(2)


def test_the_remembered_chats_are_bounded_the_oldest_forgotten_first() -> None:
    support = DraftSupport(max_chats=2)
    for chat_id in (1, 2, 3):
        support.refused(chat_id, DraftRefusal.CHAT, BadRequest("TEXTDRAFT_PEER_INVALID"))
    assert [support.usable(chat_id) for chat_id in (1, 2, 3)] == [True, False, False]


def test_a_server_refusal_turns_drafts_off_everywhere() -> None:
    support = DraftSupport()
    support.refused(1, DraftRefusal.SERVER, InvalidToken("Not Found"))
    assert not support.usable(1)
    assert not support.usable(2)
