-- 0007: the language a chat chose for the bot's own words with /language.
--
-- One row per chat (a group's topics share it); no row: each user reads the bot in their own
-- Telegram language. Apart from `chats`, whose rows are per topic and made only once something
-- is stored, so choosing a language creates no conversation place.
CREATE TABLE chat_languages (
    chat_id    INTEGER PRIMARY KEY,
    language   TEXT NOT NULL,
    updated_at REAL NOT NULL
) STRICT;
