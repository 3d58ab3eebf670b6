"""Showing a reply in Telegram: the live message, spoken replies, and pacing every call.

live_reply.py   one message that grows as the answer streams, then its final form; a reasoning
                model's thinking line, then its reasoning above the answer
voice_reply.py  a voice note answering the user, else the text through a live reply
outbox.py       every send or edit: RetryAfter, retries, spare-capacity "typing…"
scheduler.py    one queue for all chats: which call goes next, and when
pacing.py       the pure timing rules (per chat, bot-wide)
telegram_io.py  Bot API requests on a thread of their own, each held until its call's moment
"""
