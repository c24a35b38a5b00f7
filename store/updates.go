package store

import (
	"context"
	"fmt"
	"time"
)

// ClaimUpdate records that a Telegram update is being handled and reports
// false when it was already, so that a restart of long polling or a
// webhook retry never handles one twice.
func (db *DB) ClaimUpdate(ctx context.Context, updateID int, now time.Time) (bool, error) {
	r, err := db.write.ExecContext(ctx, `INSERT INTO telegram_updates (update_id, handled_at) VALUES (?, ?)
		ON CONFLICT DO NOTHING`, updateID, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("claim update %d: %w", updateID, err)
	}
	n, err := r.RowsAffected()
	return n > 0, err
}

// LastUpdateID returns the highest update id handled, zero when none: long
// polling resumes after it.
func (db *DB) LastUpdateID(ctx context.Context) (int, error) {
	var id int
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(update_id), 0) FROM telegram_updates`).Scan(&id); err != nil {
		return 0, fmt.Errorf("last update id: %w", err)
	}
	return id, nil
}

// ForgetUpdates drops the record of updates handled before cutoff, keeping
// the newest so that LastUpdateID stays right.
func (db *DB) ForgetUpdates(ctx context.Context, cutoff time.Time) error {
	_, err := db.write.ExecContext(ctx, `DELETE FROM telegram_updates WHERE handled_at < ?
		AND update_id < (SELECT MAX(update_id) FROM telegram_updates)`, cutoff.UnixMilli())
	if err != nil {
		return fmt.Errorf("forget updates: %w", err)
	}
	return nil
}
