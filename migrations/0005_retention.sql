-- 0005: history retention (HISTORY_RETENTION_DAYS) — usage outlives the messages it counted, and
-- deleting a conversation finds the chat that points at it through an index.
--
-- When the messages of an idle conversation are deleted, what they count towards (each user's
-- messages and tokens, for /stats and the quotas) is added to that user's row for the UTC month
-- the messages were written in, in the same transaction. A day is never archived while it is
-- today (a conversation is idle for at least a day before anything of it is deleted), so daily
-- quotas are unaffected; /stats adds the rows of the months it shows.
CREATE TABLE usage_archive (
    user_id           INTEGER NOT NULL,
    -- The first instant of the UTC month, in unix seconds.
    month             REAL NOT NULL,
    messages          INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    -- Replies whose tokens were estimated (messages.usage_estimated = 1).
    estimated_replies INTEGER NOT NULL,
    PRIMARY KEY (user_id, month)
) STRICT, WITHOUT ROWID;

-- /stats for admins: every user's archived usage since a month.
CREATE INDEX usage_archive_month ON usage_archive (month);

-- Deleting a conversation sets chats.current_conversation_id to NULL where it was current
-- (ON DELETE SET NULL): without this index each deletion would read every chat.
CREATE INDEX chats_current_conversation ON chats (current_conversation_id);
