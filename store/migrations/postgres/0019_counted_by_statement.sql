-- Nothing changes on PostgreSQL: its statement trigger (0015) keeps the
-- deliveries' counters. On SQLite this migration drops the row trigger,
-- whose work the statements now do (store.settle). The file keeps the two
-- lists of migrations twins.
SELECT 1;
