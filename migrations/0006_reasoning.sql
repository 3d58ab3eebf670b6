-- 0006: reasoning models — a reply's reasoning kept apart from its answer, and two chat settings.
--
-- messages.reasoning is what a reasoning model thought before it answered (NULL when it showed
-- none). Only `content` is ever sent upstream again: servers refuse earlier reasoning sent back
-- (DeepSeek answers 400), and it would cost the context window more than the answers do.
ALTER TABLE messages ADD COLUMN reasoning TEXT;

-- How this chat is shown reasoning: 'collapsed', 'hidden' or 'full' (NULL: SHOW_REASONING).
ALTER TABLE chats ADD COLUMN show_reasoning TEXT;
-- The `reasoning_effort` of this chat's requests: 'low', 'medium' or 'high' (NULL: none sent,
-- the model's own default).
ALTER TABLE chats ADD COLUMN reasoning_effort TEXT;
