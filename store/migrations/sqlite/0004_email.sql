-- The email digest: subscribers with double opt-in, the daily digests and
-- their send log. The send log follows the delivery engine's outbox: one
-- row per message, unique per (digest, medium, recipient), claimed with
-- leases (claimed_by, lease_until), never held in open transactions, so that
-- a crash or a second instance loses and doubles nothing.

CREATE TABLE email_subscribers (
    -- never reused (AUTOINCREMENT): the unsubscribe and preference links
    -- in mails already sent name this id for good
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- as typed; address_key (lower case) is what makes it unique
    address        TEXT NOT NULL,
    address_key    TEXT NOT NULL UNIQUE,
    -- section slugs, comma-separated in ascending order; '' is every
    -- section, including those added later
    sections       TEXT NOT NULL DEFAULT '',
    -- pending: waits for the confirmation; active; paused by the reader;
    -- unsubscribed; bounced: too many permanent refusals of the address
    state          TEXT NOT NULL CHECK (state IN ('pending', 'active', 'paused', 'unsubscribed', 'bounced')),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    confirmed_at   INTEGER,
    -- the last signup request; an unconfirmed one is forgotten 7 days later
    requested_at   INTEGER NOT NULL,
    -- the per-address limit on mails a signup sends: how many since when
    requests       INTEGER NOT NULL DEFAULT 0,
    requests_since INTEGER NOT NULL DEFAULT 0,
    -- permanent refusals (5xx to RCPT TO) since the last successful send
    bounces        INTEGER NOT NULL DEFAULT 0,
    last_bounce    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX email_subscribers_state ON email_subscribers (state, requested_at);

-- One row per local day: whether that day's digest was sent, found nothing
-- new, or was missed (not started before the cut-off hour). The row is the
-- "due" state: a day without one is still due.
CREATE TABLE digests (
    id            INTEGER PRIMARY KEY,
    -- YYYY-MM-DD in the site's time zone
    day           TEXT NOT NULL UNIQUE,
    state         TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'empty', 'missed')),
    subject       TEXT NOT NULL DEFAULT '',
    -- the selection over every section, for the archive page (JSON, with
    -- whether readers' signals ranked it or only recency)
    picks         TEXT NOT NULL DEFAULT '{}',
    window_start  INTEGER NOT NULL,
    window_end    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    emails        INTEGER NOT NULL DEFAULT 0,
    chats         INTEGER NOT NULL DEFAULT 0
);

-- The selection for one distinct set of sections, kept at its first
-- rendering so that a resumed send renders the same digest.
CREATE TABLE digest_editions (
    digest_id INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
    sections  TEXT NOT NULL,
    picks     TEXT NOT NULL,
    PRIMARY KEY (digest_id, sections)
);

-- No CHECK constraints and no foreign keys, as in deliveries: a digest
-- writes one row per subscriber in one statement.
CREATE TABLE send_log (
    id           INTEGER PRIMARY KEY,
    -- digest; confirm: the confirmation link; notice: "already subscribed"
    kind         TEXT NOT NULL,
    -- email: recipient_id is an email_subscribers id; telegram: a chat id
    medium       TEXT NOT NULL,
    digest_id    INTEGER,
    recipient_id INTEGER NOT NULL,
    -- the recipient's sections when the row was made, as in
    -- email_subscribers.sections; '' for Telegram readers, read at hand-off
    sections     TEXT NOT NULL DEFAULT '',
    -- claimed in this order: 0 confirmations and notices, 1 digests
    lane         INTEGER NOT NULL,
    -- pending (due from not_before), claimed; final: sent, bounced, dead,
    -- stale, cancelled
    state        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    not_before   INTEGER NOT NULL,
    claimed_by   TEXT,
    lease_until  INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0,
    error_kind   TEXT NOT NULL DEFAULT '',
    last_error   TEXT NOT NULL DEFAULT '',
    sent_at      INTEGER
);
CREATE UNIQUE INDEX send_log_digest ON send_log (digest_id, medium, recipient_id) WHERE digest_id IS NOT NULL;
CREATE INDEX send_log_due ON send_log (medium, lane, id) WHERE state = 'pending';
CREATE INDEX send_log_claimed ON send_log (claimed_by) WHERE state = 'claimed';
-- A reader's rows, when they leave. recipient_id leads: an index led by
-- medium would tempt the planner away from rowid lookups by id.
CREATE INDEX send_log_recipient ON send_log (recipient_id, medium);
CREATE INDEX send_log_progress ON send_log (digest_id, state);
