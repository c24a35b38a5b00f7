-- The deliveries' counters (article_deliveries, delivery_hours) are kept by
-- the statements that end rows, as on SQLite, rather than by a trigger
-- that ran on every update of the table.
DROP TRIGGER deliveries_final ON deliveries;
DROP FUNCTION nashra_deliveries_final();
