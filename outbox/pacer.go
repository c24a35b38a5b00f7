package outbox

import (
	"context"
	"sync"
	"time"
)

// Pacer spaces messages to a rate, shared by the workers that send them;
// a nil Pacer sends at once.
type Pacer struct {
	mu    sync.Mutex
	every time.Duration
	next  time.Time
}

// NewPacer returns a pacer of perSecond messages a second; nil when
// perSecond is not positive (no pacing).
func NewPacer(perSecond float64) *Pacer {
	if perSecond <= 0 {
		return nil
	}
	return &Pacer{every: time.Duration(float64(time.Second) / perSecond)}
}

// Wait blocks until the next slot; it returns ctx's error when ctx ends
// first.
func (p *Pacer) Wait(ctx context.Context) error {
	if p == nil {
		return ctx.Err()
	}
	p.mu.Lock()
	now := time.Now()
	at := Later(p.next, now)
	p.next = at.Add(p.every)
	p.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		Sleep(ctx, d)
	}
	return ctx.Err()
}
