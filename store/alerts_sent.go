package store

import (
	"context"
	"fmt"
	"time"
)

// MarkAlertSent records that an alert reached the admins, so that it is not
// sent again and a new alert about the same subject may be raised.
func (db *DB) MarkAlertSent(ctx context.Context, id int64, now time.Time) error {
	if _, err := db.write.ExecContext(ctx, `UPDATE alerts SET sent_at = ? WHERE id = ? AND sent_at IS NULL`,
		now.UnixMilli(), id); err != nil {
		return fmt.Errorf("mark alert %d sent: %w", id, err)
	}
	return nil
}
