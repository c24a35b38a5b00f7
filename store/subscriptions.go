package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// Subscribe adds sections to a chat's subscriptions and returns those that
// were not there before.
func (db *DB) Subscribe(ctx context.Context, chatID int64, slugs []string, now time.Time) ([]string, error) {
	return db.SubscribeIn(ctx, chatID, 0, slugs, now)
}

// SubscribeIn adds sections to a chat's subscriptions in a forum topic
// (threadID 0: outside topics) and returns those that were not there
// before, or that went to another topic: a chat gets a section's posts in
// one place.
func (db *DB) SubscribeIn(ctx context.Context, chatID, threadID int64, slugs []string, now time.Time) ([]string, error) {
	var added []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		added = added[:0]
		for _, s := range slugs {
			r, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (chat_id, section_slug, created_at, thread_id) VALUES (?, ?, ?, ?)
				ON CONFLICT (chat_id, section_slug) DO UPDATE SET thread_id = excluded.thread_id
				WHERE subscriptions.thread_id <> excluded.thread_id`, chatID, s, now.UnixMilli(), threadID)
			if err != nil {
				return err
			}
			if n, _ := r.RowsAffected(); n > 0 {
				added = append(added, s)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe chat %d: %w", chatID, err)
	}
	return added, nil
}

// Unsubscribe removes sections from a chat's subscriptions (all of them when
// slugs is nil) and returns those that were there.
func (db *DB) Unsubscribe(ctx context.Context, chatID int64, slugs []string) ([]string, error) {
	var removed []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		current, err := subscriptionsTx(ctx, tx, chatID)
		if err != nil {
			return err
		}
		removed = removed[:0]
		for _, s := range current {
			if slugs != nil && !slices.Contains(slugs, s) {
				continue
			}
			// Removed here only if this DELETE removed it, not another
			// one at the same moment.
			r, err := tx.ExecContext(ctx, `DELETE FROM subscriptions WHERE chat_id = ? AND section_slug = ?`, chatID, s)
			if err != nil {
				return err
			}
			if n, _ := r.RowsAffected(); n > 0 {
				removed = append(removed, s)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("unsubscribe chat %d: %w", chatID, err)
	}
	return removed, nil
}

// Subscriptions returns the sections a chat follows, in configured order.
func (db *DB) Subscriptions(ctx context.Context, chatID int64) ([]string, error) {
	out, err := subscriptionsTx(ctx, db.read, chatID)
	if err != nil {
		return nil, fmt.Errorf("subscriptions of chat %d: %w", chatID, err)
	}
	return out, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func subscriptionsTx(ctx context.Context, q querier, chatID int64) ([]string, error) {
	return texts(ctx, q, `SELECT s.section_slug FROM subscriptions s JOIN sections c ON c.slug = s.section_slug
		WHERE s.chat_id = ? ORDER BY c.position`, chatID)
}
