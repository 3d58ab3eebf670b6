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
from bot.i18n import _, ngettext, number
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
        _("Your usage (days and months begin at 00:00 UTC):"),
        # Translators: {totals} counts messages and tokens: "12 messages, 3,400 tokens".
        _("today: {totals}").format(totals=_totals(today)),
        # Translators: {totals} counts messages and tokens: "12 messages, 3,400 tokens".
        _("this month: {totals}").format(totals=_totals(month)),
        # Translators: {totals} counts messages and tokens: "12 messages, 3,400 tokens".
        _("all time: {totals}").format(totals=_totals(ever)),
    ]
    if user.id in services.settings.admin_user_ids:
        lines.append(_("You are an admin: no limits apply to you."))
    elif limits := _limits(services.limits.quotas, today):
        lines.append(limits)
    if ever.estimated_replies:
        estimated = ngettext(
            "Tokens of {count} reply are estimated from its length:"
            " the AI service did not report them.",
            "Tokens of {count} replies are estimated from their length:"
            " the AI service did not report them.",
            ever.estimated_replies,
        )
        lines.append(estimated.format(count=number(ever.estimated_replies)))
    if user.id in services.settings.admin_user_ids and chat.type == ChatType.PRIVATE:
        top = await services.store.top_users(since=month_start(now), limit=TOP_USERS, by="tokens")
        lines.append("")
        lines.append(_("Top users this month, by tokens:"))
        # Translators: a line of the top users: {rank} is 1, 2, …; {user_id} a Telegram user id;
        # {totals} counts messages and tokens.
        ranked = _("{rank}. user {user_id}: {totals}")
        lines.extend(
            ranked.format(rank=rank, user_id=user_id, totals=_totals(totals))
            for rank, (user_id, totals) in enumerate(top, start=1)
        )
        if not top:
            lines.append(_("nobody has used the bot this month yet."))
    await answer(update, context, "\n".join(lines))


def _totals(totals: UsageTotals) -> str:
    messages = ngettext("{count} message", "{count} messages", totals.messages)
    tokens = ngettext("{count} token", "{count} tokens", totals.tokens)
    # Translators: usage totals: {messages} is e.g. "12 messages", {tokens} e.g. "3,400 tokens".
    return _("{messages}, {tokens}").format(
        messages=messages.format(count=number(totals.messages)),
        tokens=tokens.format(count=number(totals.tokens)),
    )


def _limits(quotas: Quotas, today: UsageTotals) -> str | None:
    parts = []
    if quotas.per_minute:
        per_minute = ngettext(
            "{count} message a minute", "{count} messages a minute", quotas.per_minute
        )
        parts.append(per_minute.format(count=number(quotas.per_minute)))
    if quotas.daily_messages:
        left = max(0, quotas.daily_messages - today.messages)
        # Translators: {left} is how many of the day's messages remain.
        daily = ngettext(
            "{count} message a day ({left} left today)",
            "{count} messages a day ({left} left today)",
            quotas.daily_messages,
        )
        parts.append(daily.format(count=number(quotas.daily_messages), left=number(left)))
    if quotas.daily_tokens:
        left = max(0, quotas.daily_tokens - today.tokens)
        # Translators: {left} is how many of the day's tokens remain.
        daily = ngettext(
            "{count} token a day ({left} left today)",
            "{count} tokens a day ({left} left today)",
            quotas.daily_tokens,
        )
        parts.append(daily.format(count=number(quotas.daily_tokens), left=number(left)))
    # Translators: {limits} lists the limits, separated by semicolons.
    return _("Your limits: {limits}.").format(limits="; ".join(parts)) if parts else None
