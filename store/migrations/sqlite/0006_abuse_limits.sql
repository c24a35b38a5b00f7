-- Limits an outsider cannot multiply: the signup budgets shared by the web
-- form and the bot, and the cap on anonymous clicks per source network.

-- What signups spent, shared by every instance: per requester (key
-- "tg:<Telegram user id>", "ip:<IPv4 address>" or "ip:<IPv6 /64>") how many
-- signups within a window that starts with the first, and per address
-- (key "to:<email subscriber id>") that one signup mail went out. A row is
-- deleted once its window ends, found by expires_at: never a full scan.
CREATE TABLE signup_budgets (
    key        TEXT PRIMARY KEY,
    spent      INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX signup_budgets_expiry ON signup_budgets (expires_at);

-- Anonymous readers (channels, groups, the web) counted per source
-- network (an IPv4 /24, an IPv6 /48), article and UTC day, so that one
-- network counts for at most a few readers of an article a day. network is
-- a hash of the network under a key that changes daily, never the address.
-- Purged with the click rows.
CREATE TABLE click_networks (
    day        INTEGER NOT NULL,
    article_id INTEGER NOT NULL,
    network    TEXT NOT NULL,
    readers    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, article_id, network)
);

-- Clicks of new anonymous readers beyond their network's cap: counted
-- here, never stored as rows, never ranked.
ALTER TABLE click_days ADD COLUMN capped INTEGER NOT NULL DEFAULT 0;
