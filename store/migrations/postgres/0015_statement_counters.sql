-- The counters of deliveries and of the send log, kept per statement rather
-- than per row. A statement that moves many rows of one article (a batch of
-- sends acknowledged, an editor cancelling a fan-out of 100,000 rows) would
-- otherwise update the same counter row once per row in one transaction,
-- and PostgreSQL walks every earlier version of that row each time: the
-- cost grows with the square of the rows. One aggregated upsert per
-- statement, from its transition tables, costs one join of the rows it
-- changed. SQLite updates rows in place and keeps its row triggers.

DROP TRIGGER deliveries_final ON deliveries;
DROP FUNCTION nashra_deliveries_final();

CREATE FUNCTION nashra_deliveries_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO article_deliveries (article_id, sent, dead, stale, cancelled, retracted, first_sent_at, last_sent_at)
    SELECT n.article_id, COUNT(*) FILTER (WHERE n.state = 'sent'), COUNT(*) FILTER (WHERE n.state = 'dead'),
           COUNT(*) FILTER (WHERE n.state = 'stale'), COUNT(*) FILTER (WHERE n.state = 'cancelled'),
           COUNT(*) FILTER (WHERE n.state = 'retracted'),
           MIN(n.sent_at) FILTER (WHERE n.state = 'sent'), MAX(n.sent_at) FILTER (WHERE n.state = 'sent')
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.state <> o.state AND n.state IN ('sent', 'dead', 'stale', 'cancelled', 'retracted')
    GROUP BY n.article_id
    ON CONFLICT (article_id) DO UPDATE SET
        sent = article_deliveries.sent + excluded.sent, dead = article_deliveries.dead + excluded.dead,
        stale = article_deliveries.stale + excluded.stale, cancelled = article_deliveries.cancelled + excluded.cancelled,
        retracted = article_deliveries.retracted + excluded.retracted,
        first_sent_at = LEAST(article_deliveries.first_sent_at, excluded.first_sent_at),
        last_sent_at = GREATEST(article_deliveries.last_sent_at, excluded.last_sent_at);
    INSERT INTO delivery_hours (hour, state, n)
    SELECT COALESCE(n.sent_at / 3600000, nashra_hour()), n.state, COUNT(*)
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.state <> o.state AND n.state IN ('sent', 'dead', 'stale', 'cancelled', 'retracted')
    GROUP BY 1, 2
    ON CONFLICT (hour, state) DO UPDATE SET n = delivery_hours.n + excluded.n;
    RETURN NULL;
END $$;
CREATE TRIGGER deliveries_final AFTER UPDATE ON deliveries REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION nashra_deliveries_final();

DROP TRIGGER send_log_final ON send_log;
DROP FUNCTION nashra_send_log_final();

CREATE FUNCTION nashra_send_log_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO digest_sends (digest_id, medium, state, n)
    SELECT n.digest_id, n.medium, n.state, COUNT(*)
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.digest_id IS NOT NULL AND n.state <> o.state AND n.state IN ('sent', 'bounced', 'dead', 'stale', 'cancelled')
    GROUP BY 1, 2, 3
    ON CONFLICT (digest_id, medium, state) DO UPDATE SET n = digest_sends.n + excluded.n;
    RETURN NULL;
END $$;
CREATE TRIGGER send_log_final AFTER UPDATE ON send_log REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION nashra_send_log_final();
