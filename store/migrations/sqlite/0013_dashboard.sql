-- The editors' dashboard: sign-in without passwords, and the counters the
-- store keeps so that its pages never scan the big tables.

-- One-time sign-in links the bot hands an admin: only a hash of the token
-- is kept, so that a copy of the database signs nobody in. used_at is set
-- by the one request that may use a link.
CREATE TABLE dashboard_links (
    token_hash TEXT PRIMARY KEY,
    admin_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX dashboard_links_expiry ON dashboard_links (expires_at);

-- Signed-in browsers, by a hash of the cookie's token; revoked_at ends
-- them all for an admin at once (/logout_all).
CREATE TABLE dashboard_sessions (
    token_hash TEXT PRIMARY KEY,
    admin_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX dashboard_sessions_admin ON dashboard_sessions (admin_id);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);

-- Readers who came and went, per hour since the Unix epoch (so that the
-- dashboard can add up the site's local days). scope is a medium —
-- private, group (supergroups too), channel, email — or "section:<slug>"
-- for the follows of a section.
-- Email joins are confirmations, leaves unsubscriptions, bounces addresses
-- marked bounced. Kept by the triggers below, whoever writes: a join's hour
-- is the row's own time, a leave's the writer's updated_at or, for a
-- deletion, the database's clock.
CREATE TABLE audience_hours (
    hour    INTEGER NOT NULL,
    scope   TEXT NOT NULL,
    joins   INTEGER NOT NULL DEFAULT 0,
    leaves  INTEGER NOT NULL DEFAULT 0,
    bounces INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, scope)
);

CREATE TRIGGER chats_joined AFTER INSERT ON chats WHEN NEW.active = 1 BEGIN
    INSERT INTO audience_hours (hour, scope, joins)
    VALUES (NEW.created_at / 3600000, CASE NEW.kind WHEN 'supergroup' THEN 'group' ELSE NEW.kind END, 1)
    ON CONFLICT (hour, scope) DO UPDATE SET joins = joins + 1;
END;
CREATE TRIGGER chats_active AFTER UPDATE OF active ON chats WHEN NEW.active <> OLD.active BEGIN
    INSERT INTO audience_hours (hour, scope, joins, leaves)
    VALUES (NEW.updated_at / 3600000, CASE NEW.kind WHEN 'supergroup' THEN 'group' ELSE NEW.kind END,
            NEW.active = 1, NEW.active = 0)
    ON CONFLICT (hour, scope) DO UPDATE SET joins = joins + excluded.joins, leaves = leaves + excluded.leaves;
END;
CREATE TRIGGER chats_left AFTER DELETE ON chats WHEN OLD.active = 1 BEGIN
    INSERT INTO audience_hours (hour, scope, leaves)
    VALUES (CAST(strftime('%s', 'now') AS INTEGER) / 3600, CASE OLD.kind WHEN 'supergroup' THEN 'group' ELSE OLD.kind END, 1)
    ON CONFLICT (hour, scope) DO UPDATE SET leaves = leaves + 1;
END;

CREATE TRIGGER subscriptions_joined AFTER INSERT ON subscriptions BEGIN
    INSERT INTO audience_hours (hour, scope, joins) VALUES (NEW.created_at / 3600000, 'section:' || NEW.section_slug, 1)
    ON CONFLICT (hour, scope) DO UPDATE SET joins = joins + 1;
END;
CREATE TRIGGER subscriptions_left AFTER DELETE ON subscriptions BEGIN
    INSERT INTO audience_hours (hour, scope, leaves)
    VALUES (CAST(strftime('%s', 'now') AS INTEGER) / 3600, 'section:' || OLD.section_slug, 1)
    ON CONFLICT (hour, scope) DO UPDATE SET leaves = leaves + 1;
END;

CREATE TRIGGER email_joined AFTER INSERT ON email_subscribers WHEN NEW.state = 'active' BEGIN
    INSERT INTO audience_hours (hour, scope, joins) VALUES (NEW.created_at / 3600000, 'email', 1)
    ON CONFLICT (hour, scope) DO UPDATE SET joins = joins + 1;
END;
CREATE TRIGGER email_state AFTER UPDATE OF state ON email_subscribers
WHEN NEW.state <> OLD.state AND (NEW.state IN ('unsubscribed', 'bounced') OR NEW.state = 'active' AND OLD.state = 'pending') BEGIN
    INSERT INTO audience_hours (hour, scope, joins, leaves, bounces)
    VALUES (NEW.updated_at / 3600000, 'email', NEW.state = 'active', NEW.state = 'unsubscribed', NEW.state = 'bounced')
    ON CONFLICT (hour, scope) DO UPDATE SET joins = joins + excluded.joins, leaves = leaves + excluded.leaves,
        bounces = bounces + excluded.bounces;
END;
CREATE TRIGGER email_left AFTER DELETE ON email_subscribers WHEN OLD.state IN ('active', 'paused') BEGIN
    INSERT INTO audience_hours (hour, scope, leaves) VALUES (CAST(strftime('%s', 'now') AS INTEGER) / 3600, 'email', 1)
    ON CONFLICT (hour, scope) DO UPDATE SET leaves = leaves + 1;
END;

-- What became of each article's deliveries, counted when a row reaches a
-- final state (a fan-out's insert costs nothing more), and kept after the
-- rows are purged. Rows still queued are the article's rows less these.
CREATE TABLE article_deliveries (
    article_id    INTEGER PRIMARY KEY,
    sent          INTEGER NOT NULL DEFAULT 0,
    dead          INTEGER NOT NULL DEFAULT 0,
    stale         INTEGER NOT NULL DEFAULT 0,
    cancelled     INTEGER NOT NULL DEFAULT 0,
    retracted     INTEGER NOT NULL DEFAULT 0,
    first_sent_at INTEGER,
    last_sent_at  INTEGER
);
-- The same per hour since the Unix epoch and final state, for "pushes today".
CREATE TABLE delivery_hours (
    hour  INTEGER NOT NULL,
    state TEXT NOT NULL,
    n     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, state)
);

CREATE TRIGGER deliveries_final AFTER UPDATE OF state ON deliveries
WHEN NEW.state <> OLD.state AND NEW.state IN ('sent', 'dead', 'stale', 'cancelled', 'retracted') BEGIN
    INSERT INTO article_deliveries (article_id, sent, dead, stale, cancelled, retracted, first_sent_at, last_sent_at)
    VALUES (NEW.article_id, NEW.state = 'sent', NEW.state = 'dead', NEW.state = 'stale', NEW.state = 'cancelled',
            NEW.state = 'retracted',
            CASE WHEN NEW.state = 'sent' THEN NEW.sent_at END, CASE WHEN NEW.state = 'sent' THEN NEW.sent_at END)
    ON CONFLICT (article_id) DO UPDATE SET
        sent = sent + excluded.sent, dead = dead + excluded.dead, stale = stale + excluded.stale,
        cancelled = cancelled + excluded.cancelled, retracted = retracted + excluded.retracted,
        first_sent_at = COALESCE(min(first_sent_at, excluded.first_sent_at), first_sent_at, excluded.first_sent_at),
        last_sent_at = COALESCE(max(last_sent_at, excluded.last_sent_at), last_sent_at, excluded.last_sent_at);
    INSERT INTO delivery_hours (hour, state, n)
    VALUES (COALESCE(NEW.sent_at, CAST(strftime('%s', 'now') AS INTEGER) * 1000) / 3600000, NEW.state, 1)
    ON CONFLICT (hour, state) DO UPDATE SET n = n + 1;
END;

-- Each digest's mails by final state (sent, bounced, dead, stale,
-- cancelled), counted as the send log's rows reach it.
CREATE TABLE digest_sends (
    digest_id INTEGER NOT NULL,
    medium    TEXT NOT NULL,
    state     TEXT NOT NULL,
    n         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (digest_id, medium, state)
);

CREATE TRIGGER send_log_final AFTER UPDATE OF state ON send_log
WHEN NEW.digest_id IS NOT NULL AND NEW.state <> OLD.state AND NEW.state IN ('sent', 'bounced', 'dead', 'stale', 'cancelled') BEGIN
    INSERT INTO digest_sends (digest_id, medium, state, n) VALUES (NEW.digest_id, NEW.medium, NEW.state, 1)
    ON CONFLICT (digest_id, medium, state) DO UPDATE SET n = n + 1;
END;

-- What Telegram last said of a channel's subscribers (getChatMemberCount),
-- asked when the bot checks its channels.
CREATE TABLE channel_members (
    chat_id    INTEGER PRIMARY KEY,
    members    INTEGER NOT NULL,
    checked_at INTEGER NOT NULL
);

-- An article's clicks, whatever the day.
CREATE INDEX click_days_article ON click_days (article_id, medium);

-- What existed before the counters did.
INSERT INTO audience_hours (hour, scope, joins)
SELECT created_at / 3600000, CASE kind WHEN 'supergroup' THEN 'group' ELSE kind END, COUNT(*) FROM chats
GROUP BY 1, 2;
INSERT INTO audience_hours (hour, scope, joins)
SELECT created_at / 3600000, 'section:' || section_slug, COUNT(*) FROM subscriptions GROUP BY 1, 2;
INSERT INTO audience_hours (hour, scope, joins)
SELECT COALESCE(confirmed_at, created_at) / 3600000, 'email', COUNT(*) FROM email_subscribers
WHERE state IN ('active', 'paused', 'unsubscribed', 'bounced') GROUP BY 1
ON CONFLICT (hour, scope) DO UPDATE SET joins = joins + excluded.joins;
INSERT INTO audience_hours (hour, scope, leaves, bounces)
SELECT updated_at / 3600000, 'email', SUM(state = 'unsubscribed'), SUM(state = 'bounced') FROM email_subscribers
WHERE state IN ('unsubscribed', 'bounced') GROUP BY 1
ON CONFLICT (hour, scope) DO UPDATE SET leaves = leaves + excluded.leaves, bounces = bounces + excluded.bounces;
INSERT INTO article_deliveries (article_id, sent, dead, stale, cancelled, retracted, first_sent_at, last_sent_at)
SELECT article_id, SUM(state = 'sent'), SUM(state = 'dead'), SUM(state = 'stale'), SUM(state = 'cancelled'),
       SUM(state = 'retracted'), MIN(sent_at), MAX(sent_at)
FROM deliveries WHERE state IN ('sent', 'dead', 'stale', 'cancelled', 'retracted') GROUP BY article_id;
INSERT INTO delivery_hours (hour, state, n)
SELECT COALESCE(sent_at, created_at) / 3600000, state, COUNT(*) FROM deliveries
WHERE state IN ('sent', 'dead', 'stale', 'cancelled', 'retracted') GROUP BY 1, 2;
INSERT INTO digest_sends (digest_id, medium, state, n)
SELECT digest_id, medium, state, COUNT(*) FROM send_log
WHERE digest_id IS NOT NULL AND state IN ('sent', 'bounced', 'dead', 'stale', 'cancelled') GROUP BY 1, 2, 3;
