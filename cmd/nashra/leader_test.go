package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/store/sqlitetest"
)

// cuttable is a store whose connection can be cut, as a network partition
// would: the instance behind it can neither renew nor release its lease.
type cuttable struct {
	outbox.LeaseStore
	cut atomic.Bool
}

var errCut = errors.New("connection cut")

func (c *cuttable) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (store.Lease, string, error) {
	if c.cut.Load() {
		return store.Lease{}, "", errCut
	}
	return c.LeaseStore.AcquireLease(ctx, name, holder, now, until)
}

func (c *cuttable) ReleaseLease(ctx context.Context, name, holder string) error {
	if c.cut.Load() {
		return errCut
	}
	return c.LeaseStore.ReleaseLease(ctx, name, holder)
}

// instance is a leader with the work it leads, counted.
type instance struct {
	l      *leader
	st     *cuttable
	terms  atomic.Int32
	active atomic.Int32
	stop   context.CancelFunc
	done   chan struct{}
}

func startInstance(t *testing.T, db *store.DB, name string, ttl time.Duration) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{st: &cuttable{LeaseStore: db}, stop: cancel, done: make(chan struct{})}
	in.l = newLeader(in.st, name, ttl, slog.New(slog.DiscardHandler))
	var wg sync.WaitGroup
	wg.Go(func() { in.l.Run(ctx) })
	wg.Go(func() {
		in.l.Lead(ctx, func(ctx context.Context) {
			in.terms.Add(1)
			in.active.Add(1)
			<-ctx.Done()
			in.active.Add(-1)
		})
	})
	go func() { wg.Wait(); close(in.done) }()
	t.Cleanup(func() { cancel(); <-in.done })
	return in
}

func (in *instance) leads() bool { return in.l.IsLeader(context.Background()) == nil }

func TestLeaderHandsOver(t *testing.T) {
	db := sqlitetest.Open(t)
	const ttl = 900 * time.Millisecond
	a := startInstance(t, db, "a", ttl)
	waitFor(t, a.leads)
	b := startInstance(t, db, "b", ttl)
	time.Sleep(ttl / 2)
	if b.leads() || b.terms.Load() != 0 || a.active.Load() != 1 {
		t.Fatalf("a leads %v (work running %d), b leads %v (%d terms)", a.leads(), a.active.Load(), b.leads(), b.terms.Load())
	}

	// A clean stop: a's work ends, then its lease is given back, and b
	// leads within one renewal period, not a whole lease.
	stopped := time.Now()
	a.stop()
	<-a.done
	if a.active.Load() != 0 {
		t.Fatal("a's work still runs after Run returned")
	}
	waitFor(t, b.leads)
	if took := time.Since(stopped); took > ttl/2 {
		t.Errorf("b took over %s after a stopped cleanly", took)
	}

	// Cut off from the store, b stops leading, and its work, before its
	// lease can end, and c takes over once it has: never two leaders.
	c := startInstance(t, db, "c", ttl)
	var both atomic.Bool
	watch, unwatch := context.WithCancel(context.Background())
	defer unwatch()
	go func() {
		for watch.Err() == nil {
			if b.leads() && c.leads() || b.active.Load() > 0 && c.active.Load() > 0 {
				both.Store(true)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	cut := time.Now()
	b.st.cut.Store(true)
	waitFor(t, c.leads)
	if took := time.Since(cut); took > 2*ttl {
		t.Errorf("c took over %s after b was cut off; the lease is %s", took, ttl)
	}
	if b.leads() || b.active.Load() != 0 {
		t.Error("b still leads, cut off from the store")
	}
	if both.Load() {
		t.Error("b and c led, or worked, at the same time")
	}
}
