-- Core pipeline: sections, their feeds, articles and the alerts admins see.
-- Times are Unix milliseconds (INTEGER) so that SQLite and PostgreSQL share
-- the same SQL; NULL means "never".

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE sections (
    slug     TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    -- 0 when the section left the configuration: its subscribers stay, dormant.
    active   INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE feeds (
    id              INTEGER PRIMARY KEY,
    section_slug    TEXT NOT NULL REFERENCES sections(slug) ON UPDATE CASCADE,
    url             TEXT NOT NULL UNIQUE,
    active          INTEGER NOT NULL DEFAULT 1,
    etag            TEXT NOT NULL DEFAULT '',
    last_modified   TEXT NOT NULL DEFAULT '',
    next_check_at   INTEGER NOT NULL DEFAULT 0,
    checked_at      INTEGER,
    last_success_at INTEGER,
    last_new_at     INTEGER,
    -- set by the first successful poll: what it found is marked seen, not new.
    baselined_at    INTEGER,
    error_count     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    last_error_at   INTEGER,
    last_status     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX feeds_due ON feeds (active, next_check_at);

CREATE TABLE articles (
    id            INTEGER PRIMARY KEY,
    guid          TEXT NOT NULL UNIQUE,
    link          TEXT NOT NULL UNIQUE,
    title         TEXT NOT NULL,
    summary       TEXT NOT NULL DEFAULT '',
    content       TEXT NOT NULL DEFAULT '',
    image_url     TEXT NOT NULL DEFAULT '',
    author        TEXT NOT NULL DEFAULT '',
    categories    TEXT NOT NULL DEFAULT '[]',
    published_at  INTEGER,
    updated_at    INTEGER,
    first_seen_at INTEGER NOT NULL,
    -- incremented when the title or summary changes after first sight.
    revision      INTEGER NOT NULL DEFAULT 0,
    revised_at    INTEGER,
    -- seen: known before it could be news; new: waiting to be handed on;
    -- held: stopped by the flood guard; excluded: never pushed; handed: the
    -- delivery engine has it.
    state         TEXT NOT NULL CHECK (state IN ('seen', 'new', 'held', 'excluded', 'handed'))
);
CREATE INDEX articles_state ON articles (state, first_seen_at);
CREATE INDEX articles_recent ON articles (first_seen_at);

CREATE TABLE article_sections (
    article_id   INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    section_slug TEXT NOT NULL REFERENCES sections(slug) ON UPDATE CASCADE,
    PRIMARY KEY (article_id, section_slug)
);
CREATE INDEX article_sections_section ON article_sections (section_slug, article_id);

CREATE TABLE alerts (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    -- one open alert per subject: a feed failing for days is one alert.
    subject    TEXT NOT NULL,
    message    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    sent_at    INTEGER
);
CREATE UNIQUE INDEX alerts_open ON alerts (kind, subject) WHERE sent_at IS NULL;
