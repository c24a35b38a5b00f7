package outbox

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/almaalouma/nashra/store"
)

// ClaimStore is the store's leases and its one API over the claims of its
// queues. *store.DB implements it.
type ClaimStore interface {
	LeaseStore
	// ReleaseClaims gives back what holder claimed in q — every claim
	// when holder is empty — so that it is claimed again.
	ReleaseClaims(ctx context.Context, q store.Queue, holder string) error
	// RenewClaims extends until leaseUntil the claims holder has in q.
	RenewClaims(ctx context.Context, q store.Queue, holder string, leaseUntil time.Time) error
}

// Engine is the sending loop every queue of nashra runs on: while this
// instance holds the queue's lease it runs terms, each starting with the
// recovery of whatever a holder whose lease ended had claimed, keeping
// its claims as long as the lease, and giving them back when it ends. In
// a term, the sender claims with Poll, sends with Work through a Sender
// and records outcomes with a Writer; the delivery engine puts its
// scheduler between the two.
type Engine struct {
	lease *Lease
	st    ClaimStore
	queue store.Queue
	now   func() time.Time
	log   *slog.Logger
	m     *Metrics
	// claimsRenewed is when the claims were last renewed (Unix
	// nanoseconds); 0 at the start of a term.
	claimsRenewed atomic.Int64
}

// NewEngine returns the engine of queue q, whose lease has the queue's
// name, held as holder (empty: a NewHolder) for ttl at a time, keeping
// m. now (nil: time.Now) must advance like real time; log may be nil to
// discard.
func NewEngine(st ClaimStore, q store.Queue, holder string, ttl time.Duration, now func() time.Time, log *slog.Logger,
	m *Metrics) *Engine {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{lease: NewLease(st, string(q), holder, ttl, now, log), st: st, queue: q, now: now, log: log, m: m}
	e.lease.OnRenew(e.renewClaims)
	return e
}

// Lease is the queue's lease: its holder, its pause, its renewals.
func (e *Engine) Lease() *Lease { return e.lease }

// Run serves terms until ctx ends, waiting for the lease while another
// instance holds it. term runs with a context that ends when ctx ends or
// the lease may be another's; a term that cannot start (the store does
// not answer) is tried again a moment later.
func (e *Engine) Run(ctx context.Context, term func(ctx context.Context, t Term)) {
	e.lease.Hold(ctx, func(ctx context.Context, t Term) {
		defer e.claimsRenewed.Store(0)
		// Whatever is claimed now was claimed by a holder whose lease
		// ended: it is not sending any more.
		if err := e.st.ReleaseClaims(ctx, e.queue, ""); err != nil {
			if ctx.Err() == nil {
				e.log.Error("cannot take back the claims of the previous holder", "queue", e.queue, "err", err)
			}
			return
		}
		e.m.leader.Set(1)
		term(ctx, t)
		e.m.leader.Set(0)
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := e.st.ReleaseClaims(bg, e.queue, e.lease.Holder()); err != nil {
			e.log.Error("cannot give back claimed rows; they wait for the lease to run out", "queue", e.queue, "err", err)
		}
	})
}

// renewClaims extends the claims with the lease, every third of its time
// to live: the lease itself may be renewed more often.
func (e *Engine) renewClaims(ctx context.Context, d store.Lease) {
	now := e.now()
	last := e.claimsRenewed.Load()
	if last != 0 && now.Sub(time.Unix(0, last)) < e.lease.TTL()/3 {
		return
	}
	if last != 0 {
		if err := e.st.RenewClaims(ctx, e.queue, e.lease.Holder(), d.Until); err != nil {
			if ctx.Err() == nil {
				e.log.Error("cannot renew claims", "queue", e.queue, "err", err)
			}
			return
		}
	}
	e.claimsRenewed.Store(now.UnixNano())
}

// Poll claims until ctx ends: it calls claim, again at once while claim
// says there is more (a full batch, or a state to look at again);
// otherwise it waits until wait returns — a wake-up, a timer, the next due
// row. When claim fails it logs the error and waits a second.
func (e *Engine) Poll(ctx context.Context, claim func(ctx context.Context) (more bool, err error), wait func(ctx context.Context)) {
	for ctx.Err() == nil {
		more, err := claim(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				e.log.Error("cannot claim", "queue", e.queue, "err", err)
			}
			Sleep(ctx, time.Second)
		case !more:
			wait(ctx)
		}
	}
}

// Sender sends one job — a message, a bundle, an edit — and returns the
// outcome to record. It is never given up half-way: a send in flight when
// the term ends is finished, bounded by its own timeout.
type Sender[J, O any] interface {
	Send(ctx context.Context, job J) O
}

// Work sends the jobs of e's queue with n workers until jobs is closed and
// returns once they are done. Each worker sends a job, commits its outcome
// through w and calls done (when not nil) before it takes the next: at
// most n sends can have reached the outside without their outcome stored.
func Work[J, O any](ctx context.Context, e *Engine, n int, jobs <-chan J, s Sender[J, O], w *Writer[O], done func(J, O)) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for j := range jobs {
				start := time.Now()
				o := s.Send(ctx, j)
				e.m.sendSeconds.Observe(time.Since(start).Seconds())
				w.Commit(o)
				if done != nil {
					done(j, o)
				}
			}
		})
	}
	wg.Wait()
}

// Retry is a queue's retry policy: how many attempts a message gets, and
// the backoff between them.
type Retry struct {
	// Max is the number of attempts after which a message is given up.
	Max int
	// Base is the wait before the first retry; each later one doubles it,
	// up to Limit.
	Base, Limit time.Duration
}

// Next returns when a message that failed its attempt-th send (1 for the
// first) is tried again, counted from now; ok is false when that was its
// last attempt.
func (r Retry) Next(attempt int, now time.Time) (at time.Time, ok bool) {
	if attempt >= r.Max {
		return time.Time{}, false
	}
	return now.Add(Backoff(attempt, r.Base, r.Limit)), true
}
