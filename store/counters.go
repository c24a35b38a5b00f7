package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/almaalouma/nashra"
)

// settle runs update, a statement on deliveries that may end rows (move
// them to sent, dead, stale, cancelled or retracted), keeps the counters
// the dashboard reads (article_deliveries, kept after the rows are purged,
// and delivery_hours) and returns how many rows the statement changed.
// Every statement that ends delivery rows goes through settle, and its
// WHERE matches only rows whose state it changes (but for a send recorded
// twice, after a takeover sent it twice: it counts twice).
//
// The rows are counted once per statement, never per row: counting per row
// makes an acknowledgement of a thousand sends two thousand upserts. On
// PostgreSQL a statement trigger counts them from its transition tables,
// inside the server (0015); SQLite has only row triggers, which cost a
// third of the claim rate, so on SQLite the statement returns the rows it
// ended and settle adds them up.
func (db *DB) settle(ctx context.Context, tx *sql.Tx, update string, args ...any) (int, error) {
	if db.dialect == postgresDialect {
		r, err := tx.ExecContext(ctx, update, args...)
		if err != nil {
			return 0, err
		}
		n, err := r.RowsAffected()
		return int(n), err
	}
	rows, err := tx.QueryContext(ctx, update+` RETURNING article_id, state, sent_at`, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	type hourState struct {
		hour  int64
		state nashra.DeliveryState
	}
	type tally struct {
		sent, dead, stale, cancelled, retracted int
		firstSent, lastSent                     sql.NullInt64
	}
	articles := map[int64]*tally{}
	hours := map[hourState]int{}
	now := time.Now().UnixMilli()
	changed := 0
	for rows.Next() {
		var articleID int64
		var state nashra.DeliveryState
		var sentAt sql.NullInt64
		if err := rows.Scan(&articleID, &state, &sentAt); err != nil {
			return changed, err
		}
		changed++
		f := articles[articleID]
		if f == nil {
			f = &tally{}
		}
		switch state {
		case nashra.DeliverySent:
			f.sent++
			if !f.firstSent.Valid || sentAt.Int64 < f.firstSent.Int64 {
				f.firstSent = sentAt
			}
			if !f.lastSent.Valid || sentAt.Int64 > f.lastSent.Int64 {
				f.lastSent = sentAt
			}
		case nashra.DeliveryDead:
			f.dead++
		case nashra.DeliveryStale:
			f.stale++
		case nashra.DeliveryCancelled:
			f.cancelled++
		case nashra.DeliveryRetracted:
			f.retracted++
		default:
			continue // not an end
		}
		articles[articleID] = f
		at := now
		if sentAt.Valid {
			at = sentAt.Int64
		}
		hours[hourState{at / hourMillis, state}]++
	}
	if err := rows.Err(); err != nil {
		return changed, err
	}
	rows.Close()
	for id, f := range articles {
		if _, err := tx.ExecContext(ctx, `INSERT INTO article_deliveries
			(article_id, sent, dead, stale, cancelled, retracted, first_sent_at, last_sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (article_id) DO UPDATE SET
			sent = article_deliveries.sent + excluded.sent, dead = article_deliveries.dead + excluded.dead,
			stale = article_deliveries.stale + excluded.stale, cancelled = article_deliveries.cancelled + excluded.cancelled,
			retracted = article_deliveries.retracted + excluded.retracted,
			first_sent_at = CASE WHEN article_deliveries.first_sent_at IS NULL
				OR excluded.first_sent_at < article_deliveries.first_sent_at
				THEN excluded.first_sent_at ELSE article_deliveries.first_sent_at END,
			last_sent_at = CASE WHEN article_deliveries.last_sent_at IS NULL
				OR excluded.last_sent_at > article_deliveries.last_sent_at
				THEN excluded.last_sent_at ELSE article_deliveries.last_sent_at END`,
			id, f.sent, f.dead, f.stale, f.cancelled, f.retracted, f.firstSent, f.lastSent); err != nil {
			return changed, fmt.Errorf("count article %d: %w", id, err)
		}
	}
	for k, n := range hours {
		if _, err := tx.ExecContext(ctx, `INSERT INTO delivery_hours (hour, state, n) VALUES (?, ?, ?)
			ON CONFLICT (hour, state) DO UPDATE SET n = delivery_hours.n + excluded.n`, k.hour, k.state, n); err != nil {
			return changed, fmt.Errorf("count hour: %w", err)
		}
	}
	return changed, nil
}
