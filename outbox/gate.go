package outbox

import (
	"context"
	"time"

	"github.com/almaalouma/nashra/store"
)

// PauseStore keeps a queue's pause on its lease's row. *store.DB
// implements it.
type PauseStore interface {
	SetLeasePaused(ctx context.Context, name string, paused bool, now time.Time) error
	Lease(ctx context.Context, name string) (store.Lease, error)
}

// Gate is the pause of one queue's sending — the editors' pause of pushes,
// the circuit breaker's of the mails — kept in the store, so that the
// command line works on it while the sender runs elsewhere, and the
// sender sees it when it next reads its lease.
type Gate struct {
	st   PauseStore
	name string
	now  func() time.Time
}

// NewGate returns the pause of queue q; now may be nil for time.Now.
func NewGate(st PauseStore, q store.Queue, now func() time.Time) *Gate {
	if now == nil {
		now = time.Now
	}
	return &Gate{st: st, name: string(q), now: now}
}

// Pause stops the queue's sending until Resume.
func (g *Gate) Pause(ctx context.Context) error {
	return g.st.SetLeasePaused(ctx, g.name, true, g.now())
}

// Resume lets the queue send again.
func (g *Gate) Resume(ctx context.Context) error {
	return g.st.SetLeasePaused(ctx, g.name, false, g.now())
}

// Paused reports whether the queue's sending is paused, and since when.
func (g *Gate) Paused(ctx context.Context) (bool, time.Time, error) {
	d, err := g.st.Lease(ctx, g.name)
	if err != nil {
		return false, time.Time{}, err
	}
	return d.Paused, d.PausedAt, nil
}
