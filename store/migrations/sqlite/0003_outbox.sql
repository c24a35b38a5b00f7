-- The delivery engine: the outbox of one row per (article, chat), the lane
-- of replies the bot queues, the dispatcher's lease and the rate limiter's
-- state. Rows are claimed with leases, never held in open transactions, so
-- that a crash or a second instance loses and doubles nothing.
--
-- deliveries has no CHECK constraints and no foreign key: a fan-out writes
-- 100,000 rows in one statement, and each check costs as much as the row.
-- Its values come only from the store's constants.

CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY,
    article_id    INTEGER NOT NULL,
    -- Telegram's id; channels need not be in chats.
    chat_id       INTEGER NOT NULL,
    -- private, group, supergroup or channel
    kind          TEXT NOT NULL,
    -- claimed in this order: 1 breaking, 2 channels, 3 groups, 4 private
    lane          INTEGER NOT NULL,
    -- pending: due, waiting for a claim; held: waits for not_before (quiet
    -- hours, hourly bundle, retry backoff); claimed: leased by claimed_by
    -- until lease_until. Final: sent, cancelled, stale, dead, retracted.
    state         TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    -- when the reader wants it (the end of quiet hours, the hourly bundle);
    -- staleness counts from here, not from the fan-out.
    due_at        INTEGER NOT NULL,
    not_before    INTEGER NOT NULL,
    -- 1 once Telegram refused the HTML: the resend is plain text.
    plain         INTEGER NOT NULL DEFAULT 0,
    claimed_by    TEXT,
    lease_until   INTEGER,
    attempts      INTEGER NOT NULL DEFAULT 0,
    error_kind    TEXT NOT NULL DEFAULT '',
    last_error    TEXT NOT NULL DEFAULT '',
    message_id    INTEGER,
    -- 1 when the post is a photo or document: a correction edits its caption.
    caption       INTEGER NOT NULL DEFAULT 0,
    -- 1 when the message listed several articles (a coalesced bundle).
    bundled       INTEGER NOT NULL DEFAULT 0,
    sent_at       INTEGER,
    -- the article's revision the message showed; a correction brings it up.
    sent_revision INTEGER NOT NULL DEFAULT 0,
    -- work left on a sent message: edit (a correction) or delete (a retraction)
    todo          TEXT NOT NULL DEFAULT '',
    UNIQUE (article_id, chat_id)
);
-- The claim walks due rows in lane order, oldest article first.
CREATE INDEX deliveries_due ON deliveries (lane, article_id, id) WHERE state = 'pending';
-- Coalescing, cancelling and moving a chat's rows.
CREATE INDEX deliveries_chat ON deliveries (chat_id);
-- Held rows coming due, claims, and the counts for admins. Pending rows
-- are left out: a fan-out does not pay for them here, and the claim is not
-- tempted to use this index and sort every pending row. Few partial indexes
-- and no IN lists in their conditions: each is evaluated for every row of a
-- fan-out.
CREATE INDEX deliveries_state ON deliveries (state, not_before) WHERE state <> 'pending';
CREATE INDEX deliveries_todo ON deliveries (id) WHERE todo <> '';
-- Sends of the last hour for /stats; appended in time order.
CREATE INDEX deliveries_sent ON deliveries (sent_at) WHERE sent_at IS NOT NULL;

-- Answers to readers (command answers, callback answers, keyboard edits):
-- a Bot API method and its parameters, exactly as they will be sent, with
-- chat_id set from the row. Admins' broadcasts use the same table in a lane
-- of their own, behind the fan-outs.
CREATE TABLE delivery_replies (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    -- 0 a reply, 5 a broadcast
    lane        INTEGER NOT NULL DEFAULT 0,
    method      TEXT NOT NULL,
    -- a JSON object of strings
    params      TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'claimed', 'sent', 'cancelled', 'stale', 'dead')),
    created_at  INTEGER NOT NULL,
    not_before  INTEGER NOT NULL,
    claimed_by  TEXT,
    lease_until INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    error_kind  TEXT NOT NULL DEFAULT '',
    last_error  TEXT NOT NULL DEFAULT '',
    message_id  INTEGER,
    sent_at     INTEGER
);
CREATE INDEX delivery_replies_due ON delivery_replies (lane, id) WHERE state = 'pending';
CREATE INDEX delivery_replies_claimed ON delivery_replies (lease_until) WHERE state = 'claimed';
CREATE INDEX delivery_replies_created ON delivery_replies (created_at);

-- One row per dispatcher ('telegram'): exactly one instance holds the lease
-- and sends; the editors' pause of all pushes is kept beside it.
CREATE TABLE delivery_dispatchers (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0,
    paused      INTEGER NOT NULL DEFAULT 0,
    paused_at   INTEGER
);

-- The rate limiter's state that must outlive a restart or a failover: the
-- pauses Telegram asked for with 429 (chat_id 0 is the whole bot) and the
-- next allowed send into groups and channels, whose spacing is minutes.
CREATE TABLE delivery_scopes (
    chat_id      INTEGER PRIMARY KEY,
    next_at      INTEGER NOT NULL DEFAULT 0,
    paused_until INTEGER NOT NULL DEFAULT 0
);
