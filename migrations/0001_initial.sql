-- 0001: chats with their settings, conversations, messages.
--
-- Rules for every migration file (enforced by bot/store.py's runner):
--   * named NNNN_name.sql, numbered contiguously from 0001, never edited once released;
--   * no BEGIN/COMMIT and no PRAGMA journal_mode: the runner wraps each file in one transaction
--     together with `PRAGMA user_version = N`, so a failing file leaves no trace;
--   * foreign keys are ON while it runs.
--
-- Times are unix seconds (REAL, UTC). Tables are STRICT so a wrong type fails loudly.

-- One row per chat, or per forum topic of a chat: thread_id 0 means "no topic".
-- A NULL setting means "use the bot's default", so changing a default reaches every chat that
-- never chose otherwise.
CREATE TABLE chats (
    chat_id                 INTEGER NOT NULL,
    thread_id               INTEGER NOT NULL DEFAULT 0,
    model                   TEXT,
    voice                   TEXT,
    temperature             REAL,
    top_p                   REAL,
    presence_penalty        REAL,
    frequency_penalty       REAL,
    system_prompt           TEXT,
    -- The conversation /new started last; the only one whose turns go upstream.
    current_conversation_id INTEGER REFERENCES conversations (id) ON DELETE SET NULL,
    created_at              REAL NOT NULL,
    updated_at              REAL NOT NULL,
    PRIMARY KEY (chat_id, thread_id)
) STRICT;

-- ON UPDATE CASCADE lets a group that becomes a supergroup move to its new chat id with one
-- UPDATE of chats; deletes are refused while history exists, so nothing vanishes by accident.
CREATE TABLE conversations (
    id         INTEGER PRIMARY KEY,
    chat_id    INTEGER NOT NULL,
    thread_id  INTEGER NOT NULL,
    started_at REAL NOT NULL,
    FOREIGN KEY (chat_id, thread_id) REFERENCES chats (chat_id, thread_id) ON UPDATE CASCADE
) STRICT;

CREATE INDEX conversations_chat ON conversations (chat_id, thread_id);

-- The parent key of messages' foreign key below: it ties a message's chat columns to its
-- conversation's, so they can never disagree and follow a chat id migration by cascade.
CREATE UNIQUE INDEX conversations_identity ON conversations (id, chat_id, thread_id);

-- chat_id and thread_id are copied from the conversation (and kept equal by the foreign key)
-- so that "this Telegram message of this chat is stored once" is a plain unique index.
CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY,
    conversation_id     INTEGER NOT NULL,
    chat_id             INTEGER NOT NULL,
    thread_id           INTEGER NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content             TEXT NOT NULL,
    -- Who wrote a user message, for groups where several people talk to the bot.
    sender_name         TEXT,
    -- The Telegram user: the sender of a user message, the asker of an assistant reply.
    user_id             INTEGER,
    model               TEXT,
    -- The user's Telegram message id; a redelivered update finds it and is not stored twice.
    telegram_message_id INTEGER,
    status              TEXT NOT NULL DEFAULT 'complete'
                        CHECK (status IN ('complete', 'interrupted', 'stopped')),
    prompt_tokens       INTEGER,
    completion_tokens   INTEGER,
    created_at          REAL NOT NULL,
    FOREIGN KEY (conversation_id, chat_id, thread_id)
        REFERENCES conversations (id, chat_id, thread_id) ON UPDATE CASCADE
) STRICT;

-- The context window: newest turns of one conversation first, read a page at a time.
CREATE INDEX messages_context ON messages (conversation_id, id);

CREATE UNIQUE INDEX messages_telegram_dedup
    ON messages (chat_id, thread_id, telegram_message_id)
    WHERE telegram_message_id IS NOT NULL;

-- /stats: one user's messages and tokens over a period.
CREATE INDEX messages_usage ON messages (user_id, created_at);
