-- The deliveries' counters (article_deliveries, delivery_hours) are kept
-- once per statement by the statements that end rows (store.settle), as
-- PostgreSQL's statement trigger does since 0015: this row trigger ran two
-- upserts for every send acknowledged.
DROP TRIGGER deliveries_final;
