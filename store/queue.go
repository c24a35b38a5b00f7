package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Queue names one of the store's queues of outgoing messages by the lease
// of the sender that works it, whatever tables stand behind it. Claims,
// their renewal and their release go through the same methods for every
// queue.
type Queue string

// The queues.
const (
	// QueueTelegram is the Telegram dispatcher's: deliveries (posts, and
	// the edits and deletes of sent ones) and replies.
	QueueTelegram Queue = "telegram"
	// QueueEmail is the email sender's: the send log.
	QueueEmail Queue = "email"
)

// claimSQL is, per queue, the statements that give claims back and that
// renew them; each ends in the condition on claimed_by.
var claimSQL = map[Queue]struct{ release, renew []string }{
	QueueTelegram: {
		release: []string{
			`UPDATE deliveries SET state = 'pending', claimed_by = NULL, lease_until = NULL WHERE ` + settled + `state = 'claimed' AND `,
			`UPDATE deliveries SET claimed_by = NULL, lease_until = NULL WHERE todo <> '' AND `,
			`UPDATE delivery_replies SET state = 'pending', claimed_by = NULL, lease_until = NULL WHERE state = 'claimed' AND `,
		},
		renew: []string{
			`UPDATE deliveries SET lease_until = ? WHERE ` + settled + `state = 'claimed' AND `,
			`UPDATE deliveries SET lease_until = ? WHERE todo <> '' AND `,
			`UPDATE delivery_replies SET lease_until = ? WHERE state = 'claimed' AND `,
		},
	},
	QueueEmail: {
		release: []string{`UPDATE send_log SET state = 'pending', claimed_by = NULL, lease_until = NULL WHERE state = 'claimed' AND `},
		renew:   []string{`UPDATE send_log SET lease_until = ? WHERE state = 'claimed' AND `},
	},
}

// ReleaseClaims gives back what holder has claimed in q — every claim of
// anyone when holder is empty, as a sender taking over from one whose
// lease ended does — so that it is claimed again: open rows become
// pending, work left on sent rows claimable.
func (db *DB) ReleaseClaims(ctx context.Context, q Queue, holder string) error {
	stmts, ok := claimSQL[q]
	if !ok {
		return fmt.Errorf("release claims: unknown queue %q", q)
	}
	cond, args := "claimed_by IS NOT NULL", []any(nil)
	if holder != "" {
		cond, args = "claimed_by = ?", []any{holder}
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, s := range stmts.release {
			if _, err := tx.ExecContext(ctx, s+cond, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("release %s claims: %w", q, err)
	}
	return nil
}

// RenewClaims extends until leaseUntil every claim holder has in q.
func (db *DB) RenewClaims(ctx context.Context, q Queue, holder string, leaseUntil time.Time) error {
	stmts, ok := claimSQL[q]
	if !ok {
		return fmt.Errorf("renew claims: unknown queue %q", q)
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, s := range stmts.renew {
			if _, err := tx.ExecContext(ctx, s+"claimed_by = ?", leaseUntil.UnixMilli(), holder); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("renew %s claims: %w", q, err)
	}
	return nil
}
