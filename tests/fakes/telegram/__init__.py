"""The fake Telegram Bot API server (`server.py`) and its parts; its own tests sit beside them."""

from tests.fakes.telegram.server import (
    ApiCall,
    Draft,
    FakeTelegram,
    FloodLimits,
    SentMessage,
    WebhookDelivery,
)

__all__ = ["ApiCall", "Draft", "FakeTelegram", "FloodLimits", "SentMessage", "WebhookDelivery"]
