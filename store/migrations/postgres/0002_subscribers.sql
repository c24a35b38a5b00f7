-- Telegram chats (readers, groups, channels), the sections they follow and
-- the channel mapping; the twin of sqlite/0002_subscribers.sql. Chat ids
-- are Telegram's, never generated.

CREATE TABLE chats (
    id              BIGINT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('private', 'group', 'supergroup', 'channel')),
    title           TEXT NOT NULL DEFAULT '',
    username        TEXT NOT NULL DEFAULT '',
    language        TEXT NOT NULL DEFAULT '',
    -- 0 once Telegram said the bot may no longer write there.
    active          SMALLINT NOT NULL DEFAULT 1,
    inactive_reason TEXT NOT NULL DEFAULT '',
    -- instant, hourly (one bundle an hour) or digest (the daily digest only)
    mode            TEXT NOT NULL DEFAULT 'instant' CHECK (mode IN ('instant', 'hourly', 'digest')),
    -- quiet hours in minutes after local midnight; start = end means none
    quiet_start     INTEGER NOT NULL DEFAULT 1380,
    quiet_end       INTEGER NOT NULL DEFAULT 420,
    -- hold: wait until the quiet hours end; silent: send without a sound
    quiet_mode      TEXT NOT NULL DEFAULT 'hold' CHECK (quiet_mode IN ('hold', 'silent')),
    digest          SMALLINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX chats_kind ON chats (kind, active);

CREATE TABLE subscriptions (
    chat_id      BIGINT NOT NULL REFERENCES chats(id) ON DELETE CASCADE ON UPDATE CASCADE,
    section_slug TEXT NOT NULL REFERENCES sections(slug) ON UPDATE CASCADE,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (chat_id, section_slug)
);
-- Fan-out reads subscriptions by section.
CREATE INDEX subscriptions_section ON subscriptions (section_slug, chat_id);

-- Which channels receive which section. Rows from the configuration have
-- source 'config'; /link and /unlink write 'runtime' rows, which win: an
-- unlinked channel keeps a runtime row with removed = 1 so that the YAML
-- does not bring it back at the next start.
CREATE TABLE section_channels (
    section_slug TEXT NOT NULL REFERENCES sections(slug) ON UPDATE CASCADE,
    channel      TEXT NOT NULL,
    source       TEXT NOT NULL CHECK (source IN ('config', 'runtime')),
    removed      SMALLINT NOT NULL DEFAULT 0,
    -- the numeric id once resolved, and whether the bot may post there
    chat_id      BIGINT,
    can_post     SMALLINT,
    checked_at   BIGINT,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (section_slug, channel)
);

-- Updates already handled, so that neither a restart of long polling nor a
-- webhook retry — on any instance — processes one twice.
CREATE TABLE telegram_updates (
    update_id  BIGINT PRIMARY KEY,
    handled_at BIGINT NOT NULL
);
