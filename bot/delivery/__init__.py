"""Showing a reply in Telegram: the live message or draft, spoken replies, status reactions, and
pacing every call.

reply_text.py   a reply's text as messages: pieces of 4096 units, its notice, what is finished;
                a reasoning model's thinking and its reasoning laid out above the answer
live_reply.py   one message that grows as the answer streams, then its final form; a reasoning
                model's thinking line, then its reasoning above the answer
draft_reply.py  a private chat's message draft that grows, then its messages (STREAM_MODE=draft);
                a reasoning model's thinking line and reasoning as in a live reply
draft_calls.py  a draft reply's Telegram calls (draft, message, Stop message), with their fallbacks
draft_support.py  where drafts may be used, learnt from Telegram's refusals
voice_reply.py  a voice note answering the user, else the text through a live reply or draft
reactions.py    the status reaction on the message being answered (STATUS_REACTIONS)
outbox.py       every send or edit: RetryAfter, retries, spare-capacity "typing…"
scheduler.py    one queue for all chats: which call goes next, and when
pacing.py       the pure timing rules (per chat, bot-wide)
telegram_io.py  Bot API requests on a thread of their own, each held until its call's moment
"""
