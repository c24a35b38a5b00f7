-- Nothing changes on SQLite: PostgreSQL keeps the counters of deliveries
-- and of the send log per statement from now on (see
-- postgres/0015_statement_counters.sql), since it keeps every version of
-- a row a transaction updates; SQLite updates rows in place, and its row
-- triggers cost the same per row however many rows a statement moves.
SELECT 1;
