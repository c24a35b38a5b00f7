-- The editors' dashboard: sign-in without passwords, and the counters the
-- store keeps so that its pages never scan the big tables; the twin of
-- sqlite/0011_dashboard.sql, where the tables are explained.

CREATE TABLE dashboard_links (
    token_hash TEXT PRIMARY KEY,
    admin_id   BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX dashboard_links_expiry ON dashboard_links (expires_at);

CREATE TABLE dashboard_sessions (
    token_hash TEXT PRIMARY KEY,
    admin_id   BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX dashboard_sessions_admin ON dashboard_sessions (admin_id);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);

CREATE TABLE audience_hours (
    hour    INTEGER NOT NULL,
    scope   TEXT NOT NULL,
    joins   INTEGER NOT NULL DEFAULT 0,
    leaves  INTEGER NOT NULL DEFAULT 0,
    bounces INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, scope)
);

CREATE FUNCTION nashra_audience(h BIGINT, s TEXT, j INTEGER, l INTEGER, b INTEGER) RETURNS void LANGUAGE sql AS $$
    INSERT INTO audience_hours (hour, scope, joins, leaves, bounces) VALUES (h, s, j, l, b)
    ON CONFLICT (hour, scope) DO UPDATE SET joins = audience_hours.joins + excluded.joins,
        leaves = audience_hours.leaves + excluded.leaves, bounces = audience_hours.bounces + excluded.bounces;
$$;

CREATE FUNCTION nashra_hour() RETURNS BIGINT LANGUAGE sql AS $$
    SELECT (EXTRACT(EPOCH FROM now()) / 3600)::bigint;
$$;

CREATE FUNCTION nashra_medium(kind TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE kind WHEN 'supergroup' THEN 'group' ELSE kind END;
$$;

CREATE FUNCTION nashra_chats_audience() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM nashra_audience(NEW.created_at / 3600000, nashra_medium(NEW.kind), 1, 0, 0);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM nashra_audience(NEW.updated_at / 3600000, nashra_medium(NEW.kind),
            (NEW.active = 1)::int, (NEW.active = 0)::int, 0);
    ELSE
        PERFORM nashra_audience(nashra_hour(), nashra_medium(OLD.kind), 0, 1, 0);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER chats_joined AFTER INSERT ON chats FOR EACH ROW WHEN (NEW.active = 1)
    EXECUTE FUNCTION nashra_chats_audience();
CREATE TRIGGER chats_active AFTER UPDATE OF active ON chats FOR EACH ROW WHEN (NEW.active <> OLD.active)
    EXECUTE FUNCTION nashra_chats_audience();
CREATE TRIGGER chats_left AFTER DELETE ON chats FOR EACH ROW WHEN (OLD.active = 1)
    EXECUTE FUNCTION nashra_chats_audience();

CREATE FUNCTION nashra_subscriptions_audience() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM nashra_audience(NEW.created_at / 3600000, 'section:' || NEW.section_slug, 1, 0, 0);
    ELSE
        PERFORM nashra_audience(nashra_hour(), 'section:' || OLD.section_slug, 0, 1, 0);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER subscriptions_joined AFTER INSERT ON subscriptions FOR EACH ROW
    EXECUTE FUNCTION nashra_subscriptions_audience();
CREATE TRIGGER subscriptions_left AFTER DELETE ON subscriptions FOR EACH ROW
    EXECUTE FUNCTION nashra_subscriptions_audience();

CREATE FUNCTION nashra_email_audience() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM nashra_audience(NEW.created_at / 3600000, 'email', 1, 0, 0);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM nashra_audience(NEW.updated_at / 3600000, 'email', (NEW.state = 'active')::int,
            (NEW.state = 'unsubscribed')::int, (NEW.state = 'bounced')::int);
    ELSE
        PERFORM nashra_audience(nashra_hour(), 'email', 0, 1, 0);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER email_joined AFTER INSERT ON email_subscribers FOR EACH ROW WHEN (NEW.state = 'active')
    EXECUTE FUNCTION nashra_email_audience();
CREATE TRIGGER email_state AFTER UPDATE OF state ON email_subscribers FOR EACH ROW
    WHEN (NEW.state <> OLD.state AND (NEW.state IN ('unsubscribed', 'bounced') OR NEW.state = 'active' AND OLD.state = 'pending'))
    EXECUTE FUNCTION nashra_email_audience();
CREATE TRIGGER email_left AFTER DELETE ON email_subscribers FOR EACH ROW WHEN (OLD.state IN ('active', 'paused'))
    EXECUTE FUNCTION nashra_email_audience();

CREATE TABLE article_deliveries (
    article_id    BIGINT PRIMARY KEY,
    sent          INTEGER NOT NULL DEFAULT 0,
    dead          INTEGER NOT NULL DEFAULT 0,
    stale         INTEGER NOT NULL DEFAULT 0,
    cancelled     INTEGER NOT NULL DEFAULT 0,
    retracted     INTEGER NOT NULL DEFAULT 0,
    first_sent_at BIGINT,
    last_sent_at  BIGINT
);
CREATE TABLE delivery_hours (
    hour  INTEGER NOT NULL,
    state TEXT NOT NULL,
    n     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, state)
);

CREATE FUNCTION nashra_deliveries_final() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sent_at BIGINT := CASE WHEN NEW.state = 'sent' THEN NEW.sent_at END;
BEGIN
    INSERT INTO article_deliveries (article_id, sent, dead, stale, cancelled, retracted, first_sent_at, last_sent_at)
    VALUES (NEW.article_id, (NEW.state = 'sent')::int, (NEW.state = 'dead')::int, (NEW.state = 'stale')::int,
            (NEW.state = 'cancelled')::int, (NEW.state = 'retracted')::int, sent_at, sent_at)
    ON CONFLICT (article_id) DO UPDATE SET
        sent = article_deliveries.sent + excluded.sent, dead = article_deliveries.dead + excluded.dead,
        stale = article_deliveries.stale + excluded.stale, cancelled = article_deliveries.cancelled + excluded.cancelled,
        retracted = article_deliveries.retracted + excluded.retracted,
        first_sent_at = LEAST(article_deliveries.first_sent_at, excluded.first_sent_at),
        last_sent_at = GREATEST(article_deliveries.last_sent_at, excluded.last_sent_at);
    INSERT INTO delivery_hours (hour, state, n)
    VALUES (COALESCE(NEW.sent_at / 3600000, nashra_hour()), NEW.state, 1)
    ON CONFLICT (hour, state) DO UPDATE SET n = delivery_hours.n + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER deliveries_final AFTER UPDATE OF state ON deliveries FOR EACH ROW
    WHEN (NEW.state <> OLD.state AND NEW.state IN ('sent', 'dead', 'stale', 'cancelled', 'retracted'))
    EXECUTE FUNCTION nashra_deliveries_final();

CREATE TABLE digest_sends (
    digest_id BIGINT NOT NULL,
    medium    TEXT NOT NULL,
    state     TEXT NOT NULL,
    n         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (digest_id, medium, state)
);

CREATE FUNCTION nashra_send_log_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO digest_sends (digest_id, medium, state, n) VALUES (NEW.digest_id, NEW.medium, NEW.state, 1)
    ON CONFLICT (digest_id, medium, state) DO UPDATE SET n = digest_sends.n + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER send_log_final AFTER UPDATE OF state ON send_log FOR EACH ROW
    WHEN (NEW.digest_id IS NOT NULL AND NEW.state <> OLD.state AND NEW.state IN ('sent', 'bounced', 'dead', 'stale', 'cancelled'))
    EXECUTE FUNCTION nashra_send_log_final();

CREATE TABLE channel_members (
    chat_id    BIGINT PRIMARY KEY,
    members    INTEGER NOT NULL,
    checked_at BIGINT NOT NULL
);

CREATE INDEX click_days_article ON click_days (article_id, medium);

INSERT INTO audience_hours (hour, scope, joins)
SELECT created_at / 3600000, nashra_medium(kind), COUNT(*) FROM chats GROUP BY 1, 2;
INSERT INTO audience_hours (hour, scope, joins)
SELECT created_at / 3600000, 'section:' || section_slug, COUNT(*) FROM subscriptions GROUP BY 1, 2;
INSERT INTO audience_hours (hour, scope, joins)
SELECT COALESCE(confirmed_at, created_at) / 3600000, 'email', COUNT(*) FROM email_subscribers
WHERE state IN ('active', 'paused', 'unsubscribed', 'bounced') GROUP BY 1
ON CONFLICT (hour, scope) DO UPDATE SET joins = audience_hours.joins + excluded.joins;
INSERT INTO audience_hours (hour, scope, leaves, bounces)
SELECT updated_at / 3600000, 'email', COUNT(*) FILTER (WHERE state = 'unsubscribed'), COUNT(*) FILTER (WHERE state = 'bounced')
FROM email_subscribers WHERE state IN ('unsubscribed', 'bounced') GROUP BY 1
ON CONFLICT (hour, scope) DO UPDATE SET leaves = audience_hours.leaves + excluded.leaves,
    bounces = audience_hours.bounces + excluded.bounces;
INSERT INTO article_deliveries (article_id, sent, dead, stale, cancelled, retracted, first_sent_at, last_sent_at)
SELECT article_id, COUNT(*) FILTER (WHERE state = 'sent'), COUNT(*) FILTER (WHERE state = 'dead'),
       COUNT(*) FILTER (WHERE state = 'stale'), COUNT(*) FILTER (WHERE state = 'cancelled'),
       COUNT(*) FILTER (WHERE state = 'retracted'), MIN(sent_at), MAX(sent_at)
FROM deliveries WHERE state IN ('sent', 'dead', 'stale', 'cancelled', 'retracted') GROUP BY article_id;
INSERT INTO delivery_hours (hour, state, n)
SELECT COALESCE(sent_at, created_at) / 3600000, state, COUNT(*) FROM deliveries
WHERE state IN ('sent', 'dead', 'stale', 'cancelled', 'retracted') GROUP BY 1, 2;
INSERT INTO digest_sends (digest_id, medium, state, n)
SELECT digest_id, medium, state, COUNT(*) FROM send_log
WHERE digest_id IS NOT NULL AND state IN ('sent', 'bounced', 'dead', 'stale', 'cancelled') GROUP BY 1, 2, 3;
