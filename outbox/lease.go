package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/almaalouma/nashra/store"
)

// LeaseStore is the store's named leases. *store.DB implements it.
type LeaseStore interface {
	AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (store.Lease, string, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Lease makes one instance at a time do a piece of work — lead, dispatch
// to Telegram, send the mails — by holding one of the store's named
// leases: it takes the lease when its holder let it run out, renews it
// while the work goes on, and ends the work (the term) as soon as the
// lease may be another's.
type Lease struct {
	st     LeaseStore
	name   string
	holder string
	ttl    time.Duration
	every  time.Duration
	now    func() time.Time
	log    *slog.Logger

	refresh chan struct{}
	// tried is closed once the first attempt to take the lease answered.
	tried     chan struct{}
	triedOnce sync.Once

	mu      sync.Mutex
	renewed []func(context.Context, store.Lease)
}

// NewLease returns the lease name held as holder (empty: a new
// NewHolder) for ttl at a time, renewed every third of it. now (nil:
// time.Now) must advance like real time; log may be nil to discard.
func NewLease(st LeaseStore, name, holder string, ttl time.Duration, now func() time.Time, log *slog.Logger) *Lease {
	if holder == "" {
		holder = NewHolder()
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Lease{st: st, name: name, holder: holder, ttl: ttl, every: ttl / 3, now: now,
		log: log.With("lease", name, "holder", holder), refresh: make(chan struct{}, 1),
		tried: make(chan struct{})}
}

// RenewEvery renews the lease every d instead of every third of its
// time-to-live, for work that reads the lease's row often (the editors'
// pause).
func (l *Lease) RenewEvery(d time.Duration) *Lease {
	l.every = min(d, l.ttl/3)
	return l
}

// OnRenew calls f with the lease's row after every renewal while a term
// runs, and with the row the term starts with; f runs on the renewing
// goroutine, with the term's context.
func (l *Lease) OnRenew(f func(ctx context.Context, d store.Lease)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.renewed = append(l.renewed, f)
}

// Holder names this instance in the lease and in the rows it claims.
func (l *Lease) Holder() string { return l.holder }

// TTL is how long the lease lasts unrenewed, and so how long claims last.
func (l *Lease) TTL() time.Duration { return l.ttl }

// Refresh renews the lease now, so that a change of its row (a pause)
// takes effect at once.
func (l *Lease) Refresh() {
	select {
	case l.refresh <- struct{}{}:
	default:
	}
}

// Tried is closed once the first attempt to take the lease has answered:
// from then on, whether this instance holds it is known.
func (l *Lease) Tried() <-chan struct{} { return l.tried }

func (l *Lease) answered() { l.triedOnce.Do(func() { close(l.tried) }) }

// Term is what a term starts with.
type Term struct {
	// Lease is the lease's row as taken.
	Lease store.Lease
	// Previous held the lease before; a term taking over from another
	// holder does not know what that one left half done.
	Previous string
}

// Hold serves terms until ctx ends: it waits for the lease while another
// instance holds it, then calls term with a context that ends when ctx
// ends or the lease may be another's (taken over, or not renewed in time).
// When term returns because ctx ended, the lease is given back so that
// another instance takes over at once.
func (l *Lease) Hold(ctx context.Context, term func(ctx context.Context, t Term)) {
	for ctx.Err() == nil {
		if l.TryHold(ctx, term) {
			// The term ended early while the lease was still held: its
			// work could not go on, and gets a moment before it tries again.
			Sleep(ctx, time.Second)
		}
	}
}

// TryHold takes the lease once: when another instance holds it, it waits
// as long as that is worth and returns false; when it gets it, it serves
// one term as Hold does and reports whether the lease was still held at
// its end.
func (l *Lease) TryHold(ctx context.Context, term func(ctx context.Context, t Term)) bool {
	now := l.now()
	d, previous, err := l.st.AcquireLease(ctx, l.name, l.holder, now, now.Add(l.ttl))
	switch {
	case ctx.Err() != nil:
		l.answered()
		return false
	case err != nil:
		l.answered()
		l.log.Error("cannot reach the store for the lease", "err", err)
		Sleep(ctx, l.every)
		return false
	case d.Holder != l.holder:
		l.answered()
		Sleep(ctx, min(l.every, max(d.Until.Sub(now), 100*time.Millisecond)))
		return false
	}
	if previous != l.holder {
		l.log.Info("lease taken", "previous", previous)
	}
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l.renewedTo(tctx, d)
	l.answered()
	var lost atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		if !l.keep(tctx, d.Until) {
			lost.Store(true)
			cancel()
		}
	})
	term(tctx, Term{Lease: d, Previous: previous})
	cancel()
	wg.Wait()
	if lost.Load() || ctx.Err() == nil {
		return !lost.Load()
	}
	rctx, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer done()
	if err := l.st.ReleaseLease(rctx, l.name, l.holder); err != nil {
		l.log.Error("cannot give the lease back; another instance waits for it to run out", "err", err)
	}
	return false
}

// keep renews the lease until ctx ends; it returns false when the lease
// may be another's: another instance took it, or it could not be renewed
// and one more failure would let it run out.
func (l *Lease) keep(ctx context.Context, until time.Time) bool {
	t := time.NewTicker(l.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return true
		case <-t.C:
		case <-l.refresh:
		}
		now := l.now()
		d, _, err := l.st.AcquireLease(ctx, l.name, l.holder, now, now.Add(l.ttl))
		switch {
		case ctx.Err() != nil:
			return true
		case err == nil && d.Holder == l.holder:
			until = d.Until
			l.renewedTo(ctx, d)
		case err == nil:
			l.log.Warn("lease lost to another instance", "to", d.Holder)
			return false
		case now.Add(2 * l.every).After(until):
			l.log.Error("cannot renew the lease; stopping before it runs out", "err", err)
			return false
		default:
			l.log.Error("cannot renew the lease", "err", err)
		}
	}
}

func (l *Lease) renewedTo(ctx context.Context, d store.Lease) {
	l.mu.Lock()
	fs := l.renewed
	l.mu.Unlock()
	for _, f := range fs {
		f(ctx, d)
	}
}

// NewHolder names this process in the store's leases: host, pid and a
// random suffix, so that a restarted process is a new holder.
func NewHolder() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}
