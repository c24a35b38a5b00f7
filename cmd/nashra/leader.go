package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/store"
)

// leaderLease names the leader's row among the store's leases, beside the
// Telegram dispatcher's.
const leaderLease = "leader"

// errNotLeader is what the scheduler hears from a follower: the job is
// skipped here, the leader runs it.
var errNotLeader = errors.New("not the leader")

// leader makes one instance of those sharing a store the leader, the one
// that polls the feeds, runs the scheduled jobs, dispatches to Telegram and
// receives its updates by long polling: it holds the store's "leader" lease
// while it can renew it, and another instance takes it over once it ends.
// It is the scheduler's elector (IsLeader) and runs the leader's
// long-running work in terms (Lead).
type leader struct {
	lease *outbox.Lease
	log   *slog.Logger

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

// The bot publishes its commands and checks the channels only while this
// instance leads.
var _ bot.Leadership = (*leader)(nil)

func newLeader(st outbox.LeaseStore, holder string, ttl time.Duration, log *slog.Logger) *leader {
	l := &leader{lease: outbox.NewLease(st, leaderLease, holder, ttl, nil, log), log: log.With("holder", holder),
		changed: make(chan struct{})}
	l.lease.OnRenew(func(_ context.Context, d store.Lease) { l.lead(d.Until) })
	return l
}

// Run takes and renews the lease until ctx ends; then it ends the term,
// waits for the Lead functions to return and gives the lease back, so that
// another instance takes over at once.
func (l *leader) Run(ctx context.Context) {
	l.lease.Hold(ctx, func(term context.Context, _ outbox.Term) {
		<-term.Done()
		why := "the lease may be another instance's"
		if ctx.Err() != nil {
			why = "shutting down"
		}
		l.follow(why)
		l.working.Wait()
	})
}

// started returns once whether this instance leads is known, or ctx ended.
func (l *leader) started(ctx context.Context) {
	select {
	case <-l.lease.Tried():
	case <-ctx.Done():
	}
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
