package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/almaalouma/nashra"
)

const chatColumns = `id, kind, title, username, language, active, inactive_reason, mode, quiet_start, quiet_end,
	quiet_mode, digest, breaking_sound, bundle, created_at, updated_at`

func scanChat(row interface{ Scan(...any) error }) (nashra.Chat, error) {
	var c nashra.Chat
	err := row.Scan(&c.ID, &c.Kind, &c.Title, &c.Username, &c.Language, &c.Active, &c.InactiveReason,
		&c.Settings.Mode, &c.Settings.QuietStart, &c.Settings.QuietEnd, &c.Settings.QuietMode, &c.Settings.Digest,
		&c.Settings.BreakingSound, &c.Settings.Bundle, ms(&c.CreatedAt), ms(&c.UpdatedAt))
	return c, err
}

// TouchChat records a chat nashra heard from, creating it with the default
// settings or refreshing its title, username and language; a chat that was
// inactive (it had blocked the bot) becomes active again. It returns the
// stored chat and whether it is new.
func (db *DB) TouchChat(ctx context.Context, c nashra.Chat, now time.Time) (nashra.Chat, bool, error) {
	var created bool
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// The insert itself says whether the chat is new: of several
		// updates from one new chat handled at once, one creates it.
		s := nashra.DefaultSettings(c.Kind)
		r, err := tx.ExecContext(ctx, `INSERT INTO chats (id, kind, title, username, language, mode, quiet_start, quiet_end,
			quiet_mode, bundle, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			c.ID, c.Kind, c.Title, c.Username, c.Language, s.Mode, s.QuietStart, s.QuietEnd, s.QuietMode, s.Bundle,
			now.UnixMilli(), now.UnixMilli())
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		if created = n > 0; created || err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE chats SET kind = ?, title = ?, username = ?,
			language = CASE WHEN ? = '' THEN language ELSE ? END, active = 1, inactive_reason = '', updated_at = ?
			WHERE id = ?`, c.Kind, c.Title, c.Username, c.Language, c.Language, now.UnixMilli(), c.ID)
		return err
	})
	if err != nil {
		return nashra.Chat{}, false, fmt.Errorf("touch chat %d: %w", c.ID, err)
	}
	stored, err := db.Chat(ctx, c.ID)
	return stored, created, err
}

// Chat returns one chat, or ErrNotFound.
func (db *DB) Chat(ctx context.Context, id int64) (nashra.Chat, error) {
	c, err := scanChat(db.read.QueryRowContext(ctx, `SELECT `+chatColumns+` FROM chats WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nashra.Chat{}, ErrNotFound
	}
	if err != nil {
		return nashra.Chat{}, fmt.Errorf("read chat %d: %w", id, err)
	}
	return c, nil
}

// SetChatSettings saves a chat's delivery choices. When the mode or the
// quiet hours change, the rows they deferred (quiet hours, the hourly
// bundle) come due now, to be judged again by the new choices: turning
// quiet hours off releases what they hold at once, not at their old end.
// Rows waiting for a retry keep their backoff.
func (db *DB) SetChatSettings(ctx context.Context, id int64, s nashra.ChatSettings, now time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var old nashra.ChatSettings
		err := tx.QueryRowContext(ctx, `SELECT mode, quiet_start, quiet_end, quiet_mode, breaking_sound, bundle FROM chats WHERE id = ?`, id).
			Scan(&old.Mode, &old.QuietStart, &old.QuietEnd, &old.QuietMode, &old.BreakingSound, &old.Bundle)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE chats SET mode = ?, quiet_start = ?, quiet_end = ?, quiet_mode = ?, digest = ?,
			breaking_sound = ?, bundle = ?, updated_at = ? WHERE id = ?`, s.Mode, s.QuietStart, s.QuietEnd, s.QuietMode, s.Digest,
			s.BreakingSound, s.Bundle, now.UnixMilli(), id); err != nil {
			return err
		}
		old.Digest, old.BreakingSound, old.Bundle = s.Digest, s.BreakingSound, s.Bundle
		if old == s {
			return nil
		}
		// A deferral sets due_at to the end of the wait; a retry leaves
		// due_at at the original due time, before its backoff's end.
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET not_before = ?, due_at = ?
			WHERE chat_id = ? AND state = 'held' AND due_at = not_before AND not_before > ?`,
			now.UnixMilli(), now.UnixMilli(), id, now.UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("save settings of chat %d: %w", id, err)
	}
	return nil
}

// SetChatActive marks a chat active again, or inactive with the reason
// Telegram gave (blocked, deactivated, kicked, not found).
func (db *DB) SetChatActive(ctx context.Context, id int64, active bool, reason string, now time.Time) error {
	if active {
		reason = ""
	}
	r, err := db.write.ExecContext(ctx, `UPDATE chats SET active = ?, inactive_reason = ?, updated_at = ? WHERE id = ?`,
		active, reason, now.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("set chat %d active=%v: %w", id, active, err)
	}
	return mustAffect(r, id)
}

// MoveChat gives a chat a new id, as when Telegram upgrades a group to a
// supergroup; its subscriptions follow. When the new id is already known
// (the supergroup wrote first), the old chat's sections are merged into it.
func (db *DB) MoveChat(ctx context.Context, from, to int64, now time.Time) error {
	err := db.moveChat(ctx, from, to, now)
	if db.uniqueViolation(err) {
		// The supergroup was stored between the look and the move, by an
		// update of its own handled at that moment: merge into it.
		err = db.moveChat(ctx, from, to, now)
	}
	if err != nil {
		return fmt.Errorf("move chat %d to %d: %w", from, to, err)
	}
	return nil
}

func (db *DB) moveChat(ctx context.Context, from, to int64, now time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM chats WHERE id = ?`, to).Scan(&n); err != nil {
			return err
		}
		for _, id := range []int64{from, to} {
			if err := logFollowChange(ctx, tx, id, now); err != nil {
				return err
			}
		}
		if n == 0 {
			_, err := tx.ExecContext(ctx, `UPDATE chats SET id = ?, kind = 'supergroup', updated_at = ? WHERE id = ?`, to, now.UnixMilli(), from)
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (chat_id, section_slug, created_at)
			SELECT ?, section_slug, created_at FROM subscriptions WHERE chat_id = ? ON CONFLICT DO NOTHING`, to, from); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO follows (chat_id, thread_id, kind, key, phrase, created_at)
			SELECT ?, thread_id, kind, key, phrase, created_at FROM follows WHERE chat_id = ? ON CONFLICT DO NOTHING`, to, from); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM chats WHERE id = ?`, from)
		return err
	})
}

// DeleteChat forgets a chat and everything kept about it.
func (db *DB) DeleteChat(ctx context.Context, id int64) error {
	// The change's time only says when the log may forget it.
	now := time.Now()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM chats WHERE id = ?`, id); err != nil {
			return err
		}
		return logFollowChange(ctx, tx, id, now)
	})
	if err != nil {
		return fmt.Errorf("delete chat %d: %w", id, err)
	}
	return nil
}

// ChatCounts are the figures admins see in /stats.
type ChatCounts struct {
	Readers, ActiveReaders, Inactive, Groups, Channels int
	// BySection counts active chats subscribed to each section.
	BySection map[string]int
}

// CountChats returns the chat figures for /stats and the dashboard. It
// reads only indexes: the chats by kind and state, the subscriptions by
// section, less those of the few inactive chats (a join of every
// subscription with its chat reads a row per subscription).
func (db *DB) CountChats(ctx context.Context) (ChatCounts, error) {
	c := ChatCounts{BySection: map[string]int{}}
	rows, err := db.read.QueryContext(ctx, `SELECT kind, active, COUNT(*) FROM chats GROUP BY kind, active`)
	if err != nil {
		return c, fmt.Errorf("count chats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind nashra.ChatKind
		var active bool
		var n int
		if err := rows.Scan(&kind, &active, &n); err != nil {
			return c, fmt.Errorf("count chats: %w", err)
		}
		switch {
		case !active:
			c.Inactive += n
		case kind == nashra.ChatGroup || kind == nashra.ChatSupergroup:
			c.Groups += n
		case kind == nashra.ChatChannel:
			c.Channels += n
		}
		if kind == nashra.ChatPrivate {
			c.Readers += n
			if active {
				c.ActiveReaders += n
			}
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("count chats: %w", err)
	}
	rows.Close()
	count := func(sign int, query string) error {
		rows, err := db.read.QueryContext(ctx, query)
		if err != nil {
			return fmt.Errorf("count subscriptions: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var slug string
			var n int
			if err := rows.Scan(&slug, &n); err != nil {
				return fmt.Errorf("count subscriptions: %w", err)
			}
			c.BySection[slug] += sign * n
		}
		return rows.Err()
	}
	if err := count(1, `SELECT section_slug, COUNT(*) FROM subscriptions GROUP BY section_slug`); err != nil {
		return c, err
	}
	// CROSS JOIN keeps SQLite's order: the inactive chats first, found in
	// chats_kind, then their subscriptions.
	err = count(-1, `SELECT s.section_slug, COUNT(*) FROM chats c CROSS JOIN subscriptions s
		WHERE s.chat_id = c.id AND c.kind IN ('private', 'group', 'supergroup', 'channel') AND c.active = 0
		GROUP BY s.section_slug`)
	return c, err
}

func mustAffect(r sql.Result, id int64) error {
	n, err := r.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("chat %d: %w", id, ErrNotFound)
	}
	return nil
}
