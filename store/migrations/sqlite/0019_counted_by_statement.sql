-- The deliveries' counters (article_deliveries, delivery_hours) are kept by
-- the statements that end rows, once per statement: this row trigger ran
-- two upserts for every send acknowledged.
DROP TRIGGER deliveries_final;
