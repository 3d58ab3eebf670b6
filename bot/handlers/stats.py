"""/stats: a user's own usage today, this month and all time; for the bot's admins, the top users.

Owns how usage is shown. Counting is the store's, on its read connection (a month's top users
aggregate every message of the month; no chat waits for that); periods are UTC days and months
from conversation/limits.py. Usage outlives deleted history (HISTORY_RETENTION_DAYS). The top
users appear only in private chats, so one admin's /stats in a group doesn't show everyone's
usage to the group.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from bot.conversation.limits import Quotas, day_start, month_start
from bot.handlers.common import answer
from bot.handlers.context import BotContext
from bot.store import UsageTotals

TOP_USERS = 10


async def on_stats(update: Update, context: BotContext) -> None:
    """Show the user their usage (and an admin the top users of the month)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    services = context.services
    now = services.limits.now()
    # Read beside the chats' turns (the store's reader), never holding them up.
    today, month, ever = await services.store.usage_report(
        user.id, since=(day_start(now), month_start(now), None)
    )
    lines = [
        "Your usage (days and months begin at 00:00 UTC):",
        f"today: {_totals(today)}",
        f"this month: {_totals(month)}",
        f"all time: {_totals(ever)}",
    ]
    if user.id in services.settings.admin_user_ids:
        lines.append("You are an admin: no limits apply to you.")
    elif limits := _limits(services.limits.quotas, today):
        lines.append(limits)
    if ever.estimated_replies:
        lines.append(
            f"Tokens of {ever.estimated_replies:,} replies are estimated from their length:"
            " the AI service did not report them."
        )
    if user.id in services.settings.admin_user_ids and chat.type == ChatType.PRIVATE:
        top = await services.store.top_users(since=month_start(now), limit=TOP_USERS, by="tokens")
        lines.append("")
        lines.append("Top users this month, by tokens:")
        lines.extend(
            f"{rank}. user {user_id}: {_totals(totals)}"
            for rank, (user_id, totals) in enumerate(top, start=1)
        )
        if not top:
            lines.append("nobody has used the bot this month yet.")
    await answer(update, context, "\n".join(lines))


def _totals(totals: UsageTotals) -> str:
    messages = "message" if totals.messages == 1 else "messages"
    tokens = "token" if totals.tokens == 1 else "tokens"
    return f"{totals.messages:,} {messages}, {totals.tokens:,} {tokens}"


def _limits(quotas: Quotas, today: UsageTotals) -> str | None:
    parts = []
    if quotas.per_minute:
        parts.append(f"{quotas.per_minute} messages a minute")
    if quotas.daily_messages:
        left = max(0, quotas.daily_messages - today.messages)
        parts.append(f"{quotas.daily_messages:,} messages a day ({left:,} left today)")
    if quotas.daily_tokens:
        left = max(0, quotas.daily_tokens - today.tokens)
        parts.append(f"{quotas.daily_tokens:,} tokens a day ({left:,} left today)")
    return f"Your limits: {'; '.join(parts)}." if parts else None
