-- What chats follow beyond sections: keywords, the phrases that drop an
-- article from a chat's section pushes, and feed tags; forum topics; and
-- why a delivery was made.

-- One row per rule of a chat, or of one forum topic of it (thread_id 0
-- outside topics). key is the rule's normalised form (keywords.Key): two
-- phrases with the same key are the same rule.
CREATE TABLE follows (
    id         INTEGER PRIMARY KEY,
    chat_id    INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE ON UPDATE CASCADE,
    thread_id  INTEGER NOT NULL DEFAULT 0,
    -- follow: deliver what mentions the phrase; mute: drop it from the
    -- section pushes; tag: deliver what carries the feed tag
    kind       TEXT NOT NULL CHECK (kind IN ('follow', 'mute', 'tag')),
    key        TEXT NOT NULL,
    -- as the reader wrote it, shown back in lists and in "لأنك تتابع"
    phrase     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (chat_id, thread_id, kind, key)
);
-- /stats counts follows by key.
CREATE INDEX follows_key ON follows (kind, key);

-- The chats whose rules changed, in order: every instance keeps the rules
-- in memory and reads the chats named here since the last it read.
CREATE TABLE follow_changes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id    INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX follow_changes_created ON follow_changes (created_at);

-- A section followed inside a forum topic is posted to that topic.
ALTER TABLE subscriptions ADD COLUMN thread_id INTEGER NOT NULL DEFAULT 0;

-- The forum topic the post goes to, and why it went to a chat that does
-- not follow its section: the phrase followed, or '#' and the tag.
ALTER TABLE deliveries ADD COLUMN thread_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN reason TEXT NOT NULL DEFAULT '';
-- The fan-out looks for the few chats that follow a section in a topic.
CREATE INDEX subscriptions_topic ON subscriptions (chat_id) WHERE thread_id <> 0;
