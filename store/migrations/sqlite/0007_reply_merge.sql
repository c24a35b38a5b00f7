-- What a reply answers, for the dispatcher and the bot: queued replies to
-- one chat with the same merge_key replace each other (the newest wins),
-- and the bot counts a chat's recent answers of one kind to keep a reader
-- who floods it to a few. Empty: the reply is never merged (a digest, a
-- notice to admins).
ALTER TABLE delivery_replies ADD COLUMN merge_key TEXT NOT NULL DEFAULT '';
CREATE INDEX delivery_replies_merge ON delivery_replies (chat_id, merge_key, created_at) WHERE merge_key <> '';
