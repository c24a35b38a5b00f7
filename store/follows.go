package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/almaalouma/nashra"
)

// ErrFollowLimit is returned by AddFollow when the chat has as many
// follows, mutes and tags as it may.
var ErrFollowLimit = errors.New("too many follows")

const followColumns = `id, chat_id, thread_id, kind, key, phrase, created_at`

func scanFollow(row interface{ Scan(...any) error }) (nashra.Follow, error) {
	var f nashra.Follow
	var created int64
	err := row.Scan(&f.ID, &f.ChatID, &f.ThreadID, &f.Kind, &f.Key, &f.Phrase, &created)
	f.CreatedAt = time.UnixMilli(created).UTC()
	return f, err
}

// AddFollow stores f for its chat, which must be known, unless the chat
// has a follow of the same kind and key in the same topic already, and
// reports whether it added it. A chat holding limit follows, mutes and tags
// in all its topics gets ErrFollowLimit. The change is logged for the other
// instances (FollowChanges).
func (db *DB) AddFollow(ctx context.Context, f nashra.Follow, limit int, now time.Time) (bool, error) {
	var added bool
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		added = false
		// Touching the chat's row first makes two follows of one chat at
		// the same moment count one after the other on PostgreSQL too.
		r, err := tx.ExecContext(ctx, `UPDATE chats SET updated_at = ? WHERE id = ?`, now.UnixMilli(), f.ChatID)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		var exists, total int
		if err := tx.QueryRowContext(ctx, `SELECT
			COALESCE(SUM(CASE WHEN thread_id = ? AND kind = ? AND key = ? THEN 1 ELSE 0 END), 0), COUNT(*)
			FROM follows WHERE chat_id = ?`, f.ThreadID, f.Kind, f.Key, f.ChatID).Scan(&exists, &total); err != nil {
			return err
		}
		if exists > 0 {
			return nil
		}
		if total >= limit {
			return ErrFollowLimit
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO follows (chat_id, thread_id, kind, key, phrase, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, f.ChatID, f.ThreadID, f.Kind, f.Key, f.Phrase, now.UnixMilli()); err != nil {
			return err
		}
		added = true
		return logFollowChange(ctx, tx, f.ChatID, now)
	})
	if err != nil {
		return false, fmt.Errorf("add follow of chat %d: %w", f.ChatID, err)
	}
	return added, nil
}

// RemoveFollow removes the chat's follow of that kind and key in that
// topic and returns it; ErrNotFound when there was none.
func (db *DB) RemoveFollow(ctx context.Context, chatID, threadID int64, kind nashra.FollowKind, key string, now time.Time) (nashra.Follow, error) {
	f, err := db.removeFollow(ctx, chatID, now, `chat_id = ? AND thread_id = ? AND kind = ? AND key = ?`, chatID, threadID, kind, key)
	if err != nil {
		return f, fmt.Errorf("remove follow of chat %d: %w", chatID, err)
	}
	return f, nil
}

// RemoveFollowByID removes follow id if it is the chat's, and returns it;
// ErrNotFound when the chat has no such follow.
func (db *DB) RemoveFollowByID(ctx context.Context, chatID, id int64, now time.Time) (nashra.Follow, error) {
	f, err := db.removeFollow(ctx, chatID, now, `id = ? AND chat_id = ?`, id, chatID)
	if err != nil {
		return f, fmt.Errorf("remove follow %d of chat %d: %w", id, chatID, err)
	}
	return f, nil
}

// removeFollow deletes the chat's one follow where says and returns it.
func (db *DB) removeFollow(ctx context.Context, chatID int64, now time.Time, where string, args ...any) (nashra.Follow, error) {
	var f nashra.Follow
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		f, err = scanFollow(tx.QueryRowContext(ctx, `SELECT `+followColumns+` FROM follows WHERE `+where, args...))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM follows WHERE id = ?`, f.ID); err != nil {
			return err
		}
		return logFollowChange(ctx, tx, chatID, now)
	})
	if err != nil {
		return nashra.Follow{}, err
	}
	return f, nil
}

// MoveTopicToGeneral moves what a forum topic follows — its follows,
// mutes, tags and sections — and the posts still waiting for it to the
// group's general topic, as when Telegram says the topic was deleted or
// closed. A rule the general topic holds already is dropped from the
// topic. It returns how many follows and sections the topic had: 0 once
// they were moved.
func (db *DB) MoveTopicToGeneral(ctx context.Context, chatID, threadID int64, now time.Time) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `DELETE FROM follows WHERE chat_id = ? AND thread_id = ? AND EXISTS (
			SELECT 1 FROM follows g WHERE g.chat_id = follows.chat_id AND g.thread_id = 0 AND g.kind = follows.kind
			AND g.key = follows.key)`, chatID, threadID)
		if err != nil {
			return err
		}
		dropped, _ := r.RowsAffected()
		r, err = tx.ExecContext(ctx, `UPDATE follows SET thread_id = 0 WHERE chat_id = ? AND thread_id = ?`, chatID, threadID)
		if err != nil {
			return err
		}
		moved, _ := r.RowsAffected()
		r, err = tx.ExecContext(ctx, `UPDATE subscriptions SET thread_id = 0 WHERE chat_id = ? AND thread_id = ?`, chatID, threadID)
		if err != nil {
			return err
		}
		sections, _ := r.RowsAffected()
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET thread_id = 0
			WHERE chat_id = ? AND thread_id = ? AND state IN ('pending', 'held')`, chatID, threadID); err != nil {
			return err
		}
		n = int(dropped + moved + sections)
		if dropped+moved == 0 {
			return nil
		}
		return logFollowChange(ctx, tx, chatID, now)
	})
	if err != nil {
		return 0, fmt.Errorf("move topic %d of chat %d to the general topic: %w", threadID, chatID, err)
	}
	return n, nil
}

// logFollowChange records that a chat's rules changed, for the instances
// that keep them in memory.
func logFollowChange(ctx context.Context, tx *sql.Tx, chatID int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO follow_changes (chat_id, created_at) VALUES (?, ?)`, chatID, now.UnixMilli())
	return err
}

// ChatFollows returns a chat's follows, mutes and tags in all its topics,
// oldest first.
func (db *DB) ChatFollows(ctx context.Context, chatID int64) ([]nashra.Follow, error) {
	out, err := queryFollows(ctx, db.read, `SELECT `+followColumns+` FROM follows WHERE chat_id = ? ORDER BY id`, chatID)
	if err != nil {
		return nil, fmt.Errorf("follows of chat %d: %w", chatID, err)
	}
	return out, nil
}

// Follow returns follow id, or ErrNotFound.
func (db *DB) Follow(ctx context.Context, id int64) (nashra.Follow, error) {
	f, err := scanFollow(db.read.QueryRowContext(ctx, `SELECT `+followColumns+` FROM follows WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return f, ErrNotFound
	}
	if err != nil {
		return f, fmt.Errorf("follow %d: %w", id, err)
	}
	return f, nil
}

func queryFollows(ctx context.Context, q querier, query string, args ...any) ([]nashra.Follow, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []nashra.Follow
	for rows.Next() {
		f, err := scanFollow(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// AllFollows yields every follow, mute and tag, for the index built at
// start; it reads them as a stream, never all at once. Those of inactive
// chats come too: the fan-out leaves such chats out, and the index need
// not change when a chat blocks the bot and comes back. An error ends the
// sequence.
func (db *DB) AllFollows(ctx context.Context) iter.Seq2[nashra.Follow, error] {
	return func(yield func(nashra.Follow, error) bool) {
		rows, err := db.read.QueryContext(ctx, `SELECT `+followColumns+` FROM follows`)
		if err != nil {
			yield(nashra.Follow{}, fmt.Errorf("read follows: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			f, err := scanFollow(rows)
			if err != nil {
				yield(f, fmt.Errorf("read follows: %w", err))
				return
			}
			if !yield(f, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nashra.Follow{}, fmt.Errorf("read follows: %w", err))
		}
	}
}

// LastFollowChange returns the position of the latest change of follows,
// 0 when none; changes after it come from FollowChanges.
func (db *DB) LastFollowChange(ctx context.Context) (int64, error) {
	var last int64
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM follow_changes`).Scan(&last); err != nil {
		return 0, fmt.Errorf("last follow change: %w", err)
	}
	return last, nil
}

// FollowChanges returns the chats whose follows changed after position
// after, up to limit changes, each chat once, and the position of the
// last change read (after when none).
func (db *DB) FollowChanges(ctx context.Context, after int64, limit int) ([]int64, int64, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, chat_id FROM follow_changes WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, after, fmt.Errorf("follow changes: %w", err)
	}
	defer rows.Close()
	last := after
	seen := map[int64]bool{}
	var chats []int64
	for rows.Next() {
		var chat int64
		if err := rows.Scan(&last, &chat); err != nil {
			return nil, after, fmt.Errorf("follow changes: %w", err)
		}
		if !seen[chat] {
			seen[chat] = true
			chats = append(chats, chat)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, after, fmt.Errorf("follow changes: %w", err)
	}
	return chats, last, nil
}

// ForgetFollowChanges deletes the changes logged before before, which
// every instance has read by then, and returns how many.
func (db *DB) ForgetFollowChanges(ctx context.Context, before time.Time) (int, error) {
	r, err := db.write.ExecContext(ctx, `DELETE FROM follow_changes WHERE created_at < ?`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("forget follow changes: %w", err)
	}
	n, _ := r.RowsAffected()
	return int(n), nil
}

// FollowCount is how many active chats follow one keyword.
type FollowCount struct {
	Phrase string // as the first chat wrote it
	Chats  int
}

// TopFollows returns the keywords (kind follow, or tag) most chats
// follow, most first, up to limit.
func (db *DB) TopFollows(ctx context.Context, kind nashra.FollowKind, limit int) ([]FollowCount, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT MIN(f.phrase), COUNT(DISTINCT f.chat_id) AS n
		FROM follows f JOIN chats c ON c.id = f.chat_id
		WHERE f.kind = ? AND c.active = 1 GROUP BY f.key ORDER BY n DESC, MIN(f.phrase) LIMIT ?`, kind, limit)
	if err != nil {
		return nil, fmt.Errorf("top follows: %w", err)
	}
	defer rows.Close()
	var out []FollowCount
	for rows.Next() {
		var c FollowCount
		if err := rows.Scan(&c.Phrase, &c.Chats); err != nil {
			return nil, fmt.Errorf("top follows: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// FollowedDeliveries counts the articles sent since since to chats that
// got them because of a keyword or tag they follow, not their sections.
func (db *DB) FollowedDeliveries(ctx context.Context, since time.Time) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries
		WHERE sent_at IS NOT NULL AND sent_at >= ? AND reason <> ''`, since.UnixMilli()).Scan(&n); err != nil {
		return 0, fmt.Errorf("count followed deliveries: %w", err)
	}
	return n, nil
}
