"""gpt-telegram-bot: an OpenAI-compatible chat API, streamed into Telegram."""

import os

# PTB 22 hands out RetryAfter.retry_after as an int with a deprecation warning unless this is
# set; opt in to the timedelta it will use in its next major version.
os.environ.setdefault("PTB_TIMEDELTA", "true")

__version__ = "0.1.0"
