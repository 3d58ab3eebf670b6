-- 0002: token estimates, and an index for the busiest users of a period.
--
-- An assistant reply whose upstream sent no `usage` gets its tokens estimated from characters
-- (about four to a token); usage_estimated = 1 marks those rows so /stats can say so.
ALTER TABLE messages ADD COLUMN usage_estimated INTEGER NOT NULL DEFAULT 0
    CHECK (usage_estimated IN (0, 1));

-- /stats for admins: every user's messages and tokens since a time, read from the index alone.
CREATE INDEX messages_period
    ON messages (created_at, user_id, role, prompt_tokens, completion_tokens, usage_estimated);
