-- The Telegram digest is queued once, in the dispatcher's queue: a reply
-- of method 'digest' per chat, in the broadcast lane, rendered for its
-- chat when it is sent. digest_id says whose it is, for the digest's
-- counts. What the send log still held of it moves there.
ALTER TABLE delivery_replies ADD COLUMN digest_id INTEGER;
CREATE INDEX delivery_replies_digest ON delivery_replies (digest_id) WHERE digest_id IS NOT NULL;
INSERT INTO delivery_replies (chat_id, lane, method, params, state, created_at, not_before, digest_id)
SELECT recipient_id, 5, 'digest', '{"digest_id":"' || digest_id || '"}', 'pending', created_at, not_before, digest_id
FROM send_log WHERE medium = 'telegram' AND state IN ('pending', 'claimed') AND digest_id IS NOT NULL;
DELETE FROM send_log WHERE medium = 'telegram' AND state IN ('pending', 'claimed');
