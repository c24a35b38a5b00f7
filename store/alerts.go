package store

import (
	"context"
	"fmt"
	"time"

	"github.com/almaalouma/nashra"
)

// RaiseAlert records an alert unless one of the same kind about the same
// subject is still unsent; it reports whether a new one was recorded.
func (db *DB) RaiseAlert(ctx context.Context, a nashra.Alert) (bool, error) {
	r, err := db.write.ExecContext(ctx, `INSERT INTO alerts (kind, subject, message, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (kind, subject) WHERE sent_at IS NULL DO NOTHING`, a.Kind, a.Subject, a.Message, a.CreatedAt.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("raise alert %s: %w", a.Kind, err)
	}
	n, err := r.RowsAffected()
	return n > 0, err
}

// UnsentAlerts returns the alerts not yet delivered to admins, oldest first.
func (db *DB) UnsentAlerts(ctx context.Context) ([]nashra.Alert, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, kind, subject, message, created_at FROM alerts
		WHERE sent_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("unsent alerts: %w", err)
	}
	defer rows.Close()
	var out []nashra.Alert
	for rows.Next() {
		var a nashra.Alert
		var created int64
		if err := rows.Scan(&a.ID, &a.Kind, &a.Subject, &a.Message, &created); err != nil {
			return nil, fmt.Errorf("unsent alerts: %w", err)
		}
		a.CreatedAt = time.UnixMilli(created).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// MarkAlertSent records that an alert reached the admins, so that it is not
// sent again and a new alert about the same subject may be raised.
func (db *DB) MarkAlertSent(ctx context.Context, id int64, now time.Time) error {
	if _, err := db.write.ExecContext(ctx, `UPDATE alerts SET sent_at = ? WHERE id = ? AND sent_at IS NULL`,
		now.UnixMilli(), id); err != nil {
		return fmt.Errorf("mark alert %d sent: %w", id, err)
	}
	return nil
}
