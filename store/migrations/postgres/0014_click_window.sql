-- The twin of sqlite/0014_click_window.sql: the ranking's window read from
-- the index alone.
CREATE INDEX clicks_window ON clicks (clicked_at, article_id, medium);
