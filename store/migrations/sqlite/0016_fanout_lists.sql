-- The chats an article goes to for what they follow, beyond the first
-- few hundred written at once when it is handed on: one row per list of
-- some thousands of chats, written in the hand-on's transaction and expanded into
-- deliveries one list per transaction, so that a fan-out to tens of
-- thousands of readers never holds the store's writer for long.
CREATE TABLE fanout_lists (
    id         INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    breaking   INTEGER NOT NULL,
    state      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- how many chats list names
    chats      INTEGER NOT NULL,
    -- the reasons, then per chat its id (less the one before), topic and
    -- reason, as varints (store.packFollows)
    list       BLOB NOT NULL
);
CREATE INDEX fanout_lists_article ON fanout_lists (article_id);
