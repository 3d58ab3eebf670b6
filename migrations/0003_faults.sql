-- 0003: the inbox — user messages received from Telegram but not yet taken up by their turn.
--
-- Telegram forgets an update once the bot asks for the next ones, which happens while earlier
-- messages of a chat are still being answered. A message waiting for its turn is written here
-- at once, so a crash cannot lose it; when its turn starts it moves to `messages` in the same
-- transaction. Rows left over at start-up are answered then.
CREATE TABLE inbox (
    chat_id             INTEGER NOT NULL,
    thread_id           INTEGER NOT NULL,
    telegram_message_id INTEGER NOT NULL,
    content             TEXT NOT NULL,
    user_id             INTEGER,
    sender_name         TEXT,
    received_at         REAL NOT NULL,
    PRIMARY KEY (chat_id, thread_id, telegram_message_id)
) STRICT;
