package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/almaalouma/nashra/store"
)

// leaderLease names the leader's row among the store's leases, beside the
// Telegram dispatcher's.
const leaderLease = "leader"

// errNotLeader is what the scheduler hears from a follower: the job is
// skipped here, the leader runs it.
var errNotLeader = errors.New("not the leader")

// leaseStore is the store's lease, the one mechanism every "only one
// instance at a time" in nashra uses.
type leaseStore interface {
	AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (store.Lease, string, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// leader makes one instance of those sharing a store the leader, the one
// that polls the feeds, runs the scheduled jobs, dispatches to Telegram and
// receives its updates by long polling: it holds the store's "leader" lease
// while it can renew it, and another instance takes it over once it ends.
// It is the scheduler's elector (IsLeader) and runs the leader's
// long-running work in terms (Lead).
type leader struct {
	st     leaseStore
	holder string
	ttl    time.Duration
	log    *slog.Logger

	mu    sync.Mutex
	until time.Time // the end of the lease held; zero while following
	// term ends when this instance stops leading; nil while following.
	term    context.Context
	endTerm context.CancelFunc
	// changed is closed, and replaced, whenever term changes.
	changed chan struct{}
	// working counts the Lead functions running in the current term.
	working sync.WaitGroup
}

func newLeader(st leaseStore, holder string, ttl time.Duration, log *slog.Logger) *leader {
	return &leader{st: st, holder: holder, ttl: ttl, log: log.With("holder", holder), changed: make(chan struct{})}
}

// Run takes and renews the lease until ctx ends; then it ends the term,
// waits for the Lead functions to return and gives the lease back, so that
// another instance takes over at once.
func (l *leader) Run(ctx context.Context) {
	for {
		t := time.NewTimer(l.step(ctx))
		select {
		case <-ctx.Done():
			t.Stop()
			if l.leading() {
				l.follow("shutting down")
				l.working.Wait()
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				if err := l.st.ReleaseLease(rctx, leaderLease, l.holder); err != nil {
					l.log.Error("cannot give the leader's lease back; another instance waits for it to run out", "err", err)
				}
				cancel()
			}
			return
		case <-t.C:
		}
	}
}

// step takes or renews the lease once, starting or ending the term as it
// turns out, and returns when to try again: a third of the lease while
// leading, as soon as the leader's lease would end while following.
func (l *leader) step(ctx context.Context) time.Duration {
	renew := l.ttl / 3
	now := time.Now()
	d, _, err := l.st.AcquireLease(ctx, leaderLease, l.holder, now, now.Add(l.ttl))
	switch {
	case ctx.Err() != nil:
	case err != nil:
		l.log.Error("cannot renew the leader's lease", "err", err)
		// Stop a renewal early, so that the work ends before another
		// instance may take the lease.
		if l.leading() && now.Add(2*renew).After(l.leaseEnd()) {
			l.follow("the leader's lease runs out unrenewed")
		}
	case d.Holder == l.holder:
		l.lead(d.Until)
	default:
		if l.leading() {
			l.follow("another instance took the lease: " + d.Holder)
		}
		return min(renew, max(d.Until.Sub(now), 100*time.Millisecond))
	}
	return renew
}

// lead records the lease held until until, starting a term if none runs.
func (l *leader) lead(until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.until = until
	if l.term != nil {
		return
	}
	l.term, l.endTerm = context.WithCancel(context.Background())
	close(l.changed)
	l.changed = make(chan struct{})
	l.log.Info("leading: this instance polls, schedules and dispatches")
}

// follow ends the term.
func (l *leader) follow(why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.term == nil {
		return
	}
	l.endTerm()
	l.term, l.endTerm, l.until = nil, nil, time.Time{}
	close(l.changed)
	l.changed = make(chan struct{})
	l.log.Warn("no longer leading", "why", why)
}

func (l *leader) leading() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.term != nil
}

func (l *leader) leaseEnd() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.until
}

// IsLeader answers gocron's elector: nil while this instance holds a lease
// that has not ended.
func (l *leader) IsLeader(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.term == nil || !time.Now().Before(l.until) {
		return errNotLeader
	}
	return nil
}

// Lead calls fn at the start of every term of this instance as the leader,
// with a context that ends with the term or with ctx, and returns once ctx
// has ended and fn has returned.
func (l *leader) Lead(ctx context.Context, fn func(ctx context.Context)) {
	for {
		l.mu.Lock()
		term, changed := l.term, l.changed
		if term != nil {
			l.working.Add(1)
		}
		l.mu.Unlock()
		if term != nil {
			tctx, cancel := context.WithCancel(ctx)
			stop := context.AfterFunc(term, cancel)
			fn(tctx)
			stop()
			cancel()
			l.working.Done()
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}
