-- Clicks on tracked links (/r/<token>) and the site's own most-followed
-- list: what the ranking of the most-followed pieces is made of.

-- One row per unique click: the first click of a reader on an article.
-- reader is "s:<id>" for an email subscriber (unique for good), or
-- "v:<hex>" for an anonymous visitor, a hash of IP and user agent under a
-- key that rotates daily (unique per day). Raw addresses are never stored.
-- Rows older than the retention period are purged; click_days keeps their
-- counts.
CREATE TABLE clicks (
    id         INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL,
    medium     TEXT NOT NULL,
    reader     TEXT NOT NULL,
    -- days since the Unix epoch (UTC): what the purge and click_days use
    day        INTEGER NOT NULL,
    clicked_at INTEGER NOT NULL,
    UNIQUE (article_id, reader)
);
CREATE INDEX clicks_time ON clicks (clicked_at);
CREATE INDEX clicks_day ON clicks (day);

-- Daily counts per article and medium, kept after the rows are purged:
-- uniques are first clicks of a reader, clicks every counted click.
CREATE TABLE click_days (
    article_id INTEGER NOT NULL,
    day        INTEGER NOT NULL,
    medium     TEXT NOT NULL,
    uniques    INTEGER NOT NULL DEFAULT 0,
    clicks     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, article_id, medium)
);

-- The articles of the site's "الأكثر متابعة" block that match stored
-- articles, as last read: each reading replaces the list.
CREATE TABLE site_most_followed (
    article_id INTEGER PRIMARY KEY,
    position   INTEGER NOT NULL,
    listed_at  INTEGER NOT NULL
);
