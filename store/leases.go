package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Lease is one of the store's leases: the one mechanism behind every "only
// one instance at a time" in nashra — the leader, the Telegram dispatcher,
// the email sender. It says who holds it until when, and whether the
// editors paused the work it guards.
type Lease struct {
	Name   string
	Holder string
	Until  time.Time
	Paused bool
	// PausedAt is when the editors last paused or resumed the work.
	PausedAt time.Time
}

// AcquireLease gives holder the lease name until until, when holder has it
// already or the last holder's lease ended before now, and returns the
// lease after the attempt: the caller has it when Holder is holder.
// previous is whoever held it before, so that a new holder knows it takes
// over.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (l Lease, previous string, err error) {
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO delivery_dispatchers (name) VALUES (?) ON CONFLICT (name) DO NOTHING`, name); err != nil {
			return err
		}
		if l, err = lease(ctx, tx, name); err != nil {
			return err
		}
		// The condition is checked again by the UPDATE itself: on
		// PostgreSQL another instance may take the lease between the read
		// and the write, and only one UPDATE can then match.
		r, err := tx.ExecContext(ctx, `UPDATE delivery_dispatchers SET holder = ?, lease_until = ?
			WHERE name = ? AND (holder = ? OR lease_until <= ?)`, holder, until.UnixMilli(), name, holder, now.UnixMilli())
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			l, err = lease(ctx, tx, name)
			return err
		}
		previous = l.Holder
		l.Holder, l.Until = holder, until.UTC()
		return nil
	})
	if err != nil {
		return Lease{}, "", fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return l, previous, nil
}

// ReleaseLease ends holder's lease name at once, so that the next instance
// need not wait for it to run out.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := db.write.ExecContext(ctx, `UPDATE delivery_dispatchers SET lease_until = 0 WHERE name = ? AND holder = ?`,
		name, holder); err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// SetLeasePaused records the editors' pause (or resume) of the work the
// lease name guards: all pushes, or the email sender.
func (db *DB) SetLeasePaused(ctx context.Context, name string, paused bool, now time.Time) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO delivery_dispatchers (name, paused, paused_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, paused_at = excluded.paused_at`,
		name, paused, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("pause %s: %w", name, err)
	}
	return nil
}

// Lease returns the lease name; one never taken is neither held nor
// paused.
func (db *DB) Lease(ctx context.Context, name string) (Lease, error) {
	l, err := lease(ctx, db.read, name)
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{Name: name}, nil
	}
	if err != nil {
		return Lease{}, fmt.Errorf("read lease %s: %w", name, err)
	}
	return l, nil
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func lease(ctx context.Context, q rowQuerier, name string) (Lease, error) {
	l := Lease{Name: name}
	var until int64
	err := q.QueryRowContext(ctx, `SELECT holder, lease_until, paused, paused_at FROM delivery_dispatchers WHERE name = ?`, name).
		Scan(&l.Holder, &until, &l.Paused, ms(&l.PausedAt))
	l.Until = fromMilli(until)
	return l, err
}
