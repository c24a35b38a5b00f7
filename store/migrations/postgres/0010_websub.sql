-- The PostgreSQL twin of sqlite/0010_websub.sql: how the site tells nashra
-- of new articles without waiting for a poll:
-- the WebSub hub each feed names, nashra's subscriptions to it, and the
-- publish pings each feed was asked for by.

-- What a feed's last full answer said of its hub (Link headers, or
-- <atom:link rel="hub"> in the feed): the hub, and the topic (rel="self")
-- to subscribe to; both empty when the feed names none. And the publish
-- pings that asked for the feed.
CREATE TABLE feed_push (
    feed_id       BIGINT PRIMARY KEY REFERENCES feeds(id),
    hub           TEXT NOT NULL DEFAULT '',
    topic         TEXT NOT NULL DEFAULT '',
    discovered_at BIGINT,
    last_ping_at  BIGINT,
    pings         INTEGER NOT NULL DEFAULT 0
);

-- nashra's subscriptions to WebSub hubs, one per callback: callback is the
-- random last segment of the callback URL, which names the subscription a
-- hub's request is for and which nobody can guess.
CREATE TABLE websub_subscriptions (
    callback        TEXT PRIMARY KEY,
    feed_id         BIGINT NOT NULL REFERENCES feeds(id),
    hub             TEXT NOT NULL,
    topic           TEXT NOT NULL,
    -- the subscription's own key for X-Hub-Signature.
    secret          TEXT NOT NULL,
    -- requested: subscribe asked, never verified; active: verified (past
    -- lease_until it has lapsed); denied: the hub refused; unsubscribing:
    -- unsubscribe asked.
    state           TEXT NOT NULL CHECK (state IN ('requested', 'active', 'denied', 'unsubscribing')),
    -- the mode of the request the hub has yet to verify ('subscribe' or
    -- 'unsubscribe'), '' when none: any other verification is refused.
    pending         TEXT NOT NULL DEFAULT '',
    requested_at    BIGINT,
    lease_seconds   INTEGER NOT NULL DEFAULT 0,
    lease_until     BIGINT,
    verified_at     BIGINT,
    last_push_at    BIGINT,
    pushes          INTEGER NOT NULL DEFAULT 0,
    -- the strongest signature method the hub used: a weaker one is refused.
    signature       TEXT NOT NULL DEFAULT '',
    -- digests of the last bodies accepted, space-separated: a replay is refused.
    recent          TEXT NOT NULL DEFAULT '',
    -- a scheduled poll found articles the hub had not announced; cleared by
    -- the next push.
    missed_at       BIGINT,
    -- the hub was judged to have stopped delivering: polls tighten.
    silent_since    BIGINT,
    -- failed requests to the hub in a row, and when to try again.
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL
);
CREATE INDEX websub_subscriptions_feed ON websub_subscriptions (feed_id);
