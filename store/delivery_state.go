package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"
)

// Dispatcher is the state of one dispatcher: who holds its lease, and
// whether the editors paused it.
type Dispatcher struct {
	Name       string
	Holder     string
	LeaseUntil time.Time
	Paused     bool
	// PausedAt is when the editors last paused or resumed it.
	PausedAt time.Time
}

// NewHolder names this process in the store's leases: host, pid and a
// random suffix, so that a restarted process is a new holder.
func NewHolder() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// AcquireDispatcher gives holder the lease on the dispatcher name until
// until, when holder has it already or the last holder's lease ended before
// now, and returns the state after the attempt; the caller has the lease
// when Holder is holder. previous is whoever held it before, so that a new
// holder knows it takes over.
func (db *DB) AcquireDispatcher(ctx context.Context, name, holder string, now, until time.Time) (d Dispatcher, previous string, err error) {
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO delivery_dispatchers (name) VALUES (?) ON CONFLICT (name) DO NOTHING`, name); err != nil {
			return err
		}
		if d, err = dispatcher(ctx, tx, name); err != nil {
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
			d, err = dispatcher(ctx, tx, name)
			return err
		}
		previous = d.Holder
		d.Holder, d.LeaseUntil = holder, until.UTC()
		return nil
	})
	if err != nil {
		return Dispatcher{}, "", fmt.Errorf("acquire dispatcher %s: %w", name, err)
	}
	return d, previous, nil
}

// ReleaseDispatcher ends holder's lease at once, so that the next instance
// need not wait for it to run out.
func (db *DB) ReleaseDispatcher(ctx context.Context, name, holder string) error {
	if _, err := db.write.ExecContext(ctx, `UPDATE delivery_dispatchers SET lease_until = 0 WHERE name = ? AND holder = ?`,
		name, holder); err != nil {
		return fmt.Errorf("release dispatcher %s: %w", name, err)
	}
	return nil
}

// SetDispatcherPaused records the editors' pause (or resume) of all pushes.
func (db *DB) SetDispatcherPaused(ctx context.Context, name string, paused bool, now time.Time) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO delivery_dispatchers (name, paused, paused_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, paused_at = excluded.paused_at`,
		name, paused, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("pause dispatcher %s: %w", name, err)
	}
	return nil
}

// DispatcherState returns the state of the dispatcher name; one never run
// is neither held nor paused.
func (db *DB) DispatcherState(ctx context.Context, name string) (Dispatcher, error) {
	d, err := dispatcher(ctx, db.read, name)
	if errors.Is(err, sql.ErrNoRows) {
		return Dispatcher{Name: name}, nil
	}
	if err != nil {
		return Dispatcher{}, fmt.Errorf("read dispatcher %s: %w", name, err)
	}
	return d, nil
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func dispatcher(ctx context.Context, q rowQuerier, name string) (Dispatcher, error) {
	d := Dispatcher{Name: name}
	var lease int64
	err := q.QueryRowContext(ctx, `SELECT holder, lease_until, paused, paused_at FROM delivery_dispatchers WHERE name = ?`, name).
		Scan(&d.Holder, &lease, &d.Paused, ms(&d.PausedAt))
	d.LeaseUntil = fromMilli(lease)
	return d, err
}
