-- 0004: the inbox keeps photos, files and audio too, so a crash loses no kind of waiting turn.
--
-- A text waits as its text (`content`, as before). A photo, document, voice note or audio file
-- waits as what it takes to build the turn again after a restart: `kind`, the caption (with the
-- bot's mention removed) in `content`, and in `attachment` a JSON object the handlers write and
-- read back (Telegram's file ids and sizes, the file's name, the message replied to). The files
-- themselves are downloaded again by their ids; nothing of them is stored here.
--
-- The later photos of an album wait in rows of their own with `joined_to` naming the album's
-- first photo: they leave the inbox together with it, and are answered as one turn with it.
ALTER TABLE inbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'text'
    CHECK (kind IN ('text', 'photo', 'document', 'audio'));
ALTER TABLE inbox ADD COLUMN attachment TEXT;
ALTER TABLE inbox ADD COLUMN joined_to INTEGER;

CREATE INDEX inbox_joined ON inbox (chat_id, thread_id, joined_to) WHERE joined_to IS NOT NULL;
