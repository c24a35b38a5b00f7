package outbox

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/almaalouma/nashra/config"
)

// clock is a fake time source for the Limiter.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func testLimiter(rate float64, margin time.Duration) (*Limiter, *clock) {
	c := &clock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	cfg := config.Defaults()
	cfg.Telegram.Limits.GlobalPerSecond, cfg.Telegram.Limits.WindowMargin = rate, config.Duration(margin)
	return NewLimiter(cfg.Telegram.Limits, c.now), c
}

// readyAt returns when ticket's request may go.
func (l *Limiter) readyAt(now time.Time, ticket uint64) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	at, _ := l.freeAt(now, slices.Index(l.held, ticket))
	return at
}

// send makes ticket's request once it may go, late by lateness, as a
// worker would, and returns when it went.
func send(t *testing.T, lim *Limiter, c *clock, ticket uint64, lateness time.Duration) time.Time {
	t.Helper()
	c.t = Later(c.t, lim.readyAt(c.t, ticket)).Add(lateness)
	if _, err := lim.take(context.Background(), ticket); err != nil {
		t.Fatal(err)
	}
	lim.made(ticket)
	return c.t
}

// Sent as fast as the Limiter allows, by workers woken late at random, no
// window of a second plus the margin ever holds more than the limit, and
// the rate stays at the limit less the margin's share.
func TestLimiterNeverExceedsTheWindow(t *testing.T) {
	lim, c := testLimiter(30, 40*time.Millisecond)
	rng := rand.New(rand.NewPCG(1, 2))
	late := func() time.Duration { return time.Duration(rng.Int64N(int64(2 * time.Millisecond))) }
	var sent []time.Time
	var tickets []uint64 // handed out, not sent yet: up to 4 workers
	for len(sent) < 3000 {
		if len(tickets) < 4 {
			if ticket := lim.Reserve(c.t); ticket != 0 {
				tickets = append(tickets, ticket)
				continue
			}
			if len(tickets) == 0 {
				// The scheduler sleeps until a place is near.
				c.t = Later(c.t, lim.Next(c.t).Add(-DispatchLead)).Add(late())
				continue
			}
		}
		sent = append(sent, send(t, lim, c, tickets[0], late()))
		tickets = tickets[1:]
	}
	window := time.Second + 40*time.Millisecond
	for i := 30; i < len(sent); i++ {
		if gap := sent[i].Sub(sent[i-30]); gap < window {
			t.Fatalf("requests %d and %d only %v apart: 31 in one window", i-30, i, gap)
		}
	}
	rate := float64(len(sent)-30) / sent[len(sent)-1].Sub(sent[29]).Seconds()
	if rate < 0.95*30 || rate > 30/1.04 {
		t.Errorf("%.2f requests/s after the first second, want 0.95–0.96 of 30", rate)
	}
}

// Workers finish in any order, some requests take long to go out (an
// upload) and some sends make a second request without a ticket: still no
// window holds more than the limit.
func TestLimiterUnderShuffledWorkers(t *testing.T) {
	lim, c := testLimiter(10, 40*time.Millisecond)
	rng := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	var sent []time.Time
	type inFlight struct {
		ticket uint64
		goesAt time.Time // when its worker gets to make it
	}
	var workers []inFlight
	for len(sent) < 2000 {
		c.t = c.t.Add(time.Duration(rng.Int64N(int64(3 * time.Millisecond))))
		if len(workers) < 8 {
			if ticket := lim.Reserve(c.t); ticket != 0 {
				workers = append(workers, inFlight{ticket, c.t.Add(time.Duration(rng.Int64N(int64(60 * time.Millisecond))))})
				continue
			}
		}
		if len(workers) == 0 {
			continue
		}
		i := rng.IntN(len(workers))
		w := workers[i]
		if ready := Later(lim.readyAt(c.t, w.ticket), w.goesAt); c.t.Before(ready) {
			continue
		}
		if _, err := lim.take(ctx, w.ticket); err != nil {
			t.Fatal(err)
		}
		switch rng.IntN(10) {
		case 0: // an upload: it goes out over 300 ms
			c.t = c.t.Add(300 * time.Millisecond)
		case 1: // given back: the article could not be read
			lim.Release(w.ticket)
			workers = slices.Delete(workers, i, i+1)
			continue
		}
		lim.made(w.ticket)
		sent = append(sent, c.t)
		workers = slices.Delete(workers, i, i+1)
		if rng.IntN(10) == 0 { // a second try within the same send
			c.t = Later(c.t, lim.Next(c.t))
			short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
			extra, err := lim.take(short, 0) // fails while other places held stand before it
			cancel()
			if err == nil {
				lim.made(extra)
				sent = append(sent, c.t)
			}
		}
	}
	slices.SortFunc(sent, func(a, b time.Time) int { return a.Compare(b) })
	for i := 10; i < len(sent); i++ {
		if gap := sent[i].Sub(sent[i-10]); gap < time.Second+40*time.Millisecond {
			t.Fatalf("requests %d and %d only %v apart: 11 in one window", i-10, i, gap)
		}
	}
}

// Places are handed out in order, no more than the window holds; their
// requests go three quarters of the mean spacing apart at least; a place
// given back is free again; a place is handed out DispatchLead before it
// is free, and its request waits for it.
func TestLimiterHandsPlacesInOrder(t *testing.T) {
	lim, c := testLimiter(3, 0)
	t0 := c.t
	var tickets []uint64
	for i := range 3 {
		ticket := lim.Reserve(c.t)
		if ticket == 0 {
			t.Fatalf("place %d refused", i+1)
		}
		tickets = append(tickets, ticket)
	}
	if lim.Reserve(c.t) != 0 {
		t.Fatal("a fourth place in the same second")
	}
	first, second := send(t, lim, c, tickets[0], 0), send(t, lim, c, tickets[1], 0)
	if gap := second.Sub(first); first != t0 || gap < 249*time.Millisecond || gap > 250*time.Millisecond {
		t.Errorf("requests went at %v and %v, want 0s and 250ms", first.Sub(t0), second.Sub(t0))
	}
	lim.Release(tickets[2])
	last := lim.Reserve(c.t.Add(250*time.Millisecond - DispatchLead))
	if last == 0 {
		t.Fatal("a place given back was not free again")
	}
	send(t, lim, c, last, 0)
	// The next place is a second after the first request.
	c.t = t0.Add(time.Second - DispatchLead)
	ticket := lim.Reserve(c.t)
	if ticket == 0 {
		t.Fatal("no place handed out ahead")
	}
	if at := lim.readyAt(c.t, ticket); at.Sub(c.t) != DispatchLead {
		t.Errorf("the place handed out ahead is free in %v, want %v", at.Sub(c.t), DispatchLead)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if _, err := lim.take(ctx, ticket); err == nil {
		t.Error("a request went before its place was free")
	}
}

// A 429 pauses every request until its retry_after has passed; one that
// comes while the pause runs (a request in flight when it began) is no new
// pause, and lengthens it.
func TestLimiterPauses(t *testing.T) {
	lim, c := testLimiter(30, 0)
	t0 := c.t
	fresh, until := lim.RateLimited(t0.Add(80*time.Millisecond), 2*time.Second)
	if !fresh || until != t0.Add(2080*time.Millisecond) {
		t.Fatalf("first 429: fresh %v, until %v", fresh, until.Sub(t0))
	}
	if lim.Reserve(c.t) != 0 || lim.Next(c.t) != until {
		t.Fatal("a place during the pause")
	}
	fresh, until = lim.RateLimited(t0.Add(95*time.Millisecond), 3*time.Second)
	if fresh || until != t0.Add(3095*time.Millisecond) {
		t.Fatalf("second 429: fresh %v, until %v", fresh, until.Sub(t0))
	}
	// A request that would wait past its send's time limit is not made.
	short, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := lim.take(short, 0); !errors.Is(err, ErrPaused) {
		t.Errorf("a request waiting 3 s with 1 s to go: %v, want ErrPaused", err)
	}
	c.t = until
	if lim.Reserve(c.t) == 0 {
		t.Fatal("no place once the pause is over")
	}
	if fresh, _ = lim.RateLimited(c.t.Add(50*time.Millisecond), time.Second); !fresh {
		t.Error("a later 429 is no new pause")
	}
}

// A request holds its place from when it is admitted until it has gone
// out, however long that takes (a new connection's handshake, an upload's
// body), and counts from then.
func TestLimiterHoldsUntilSent(t *testing.T) {
	lim, c := testLimiter(1, 0)
	ticket, err := lim.take(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(3 * time.Second) // a slow upload
	if lim.Reserve(c.t) != 0 {
		t.Fatal("a place while the upload is still going out")
	}
	lim.made(ticket)
	if next := lim.Next(c.t); next != c.t.Add(time.Second) {
		t.Errorf("next place %v after it went, want 1s", next.Sub(c.t))
	}
}

// A term taken over from another holder counts the window as full.
func TestLimiterFill(t *testing.T) {
	lim, c := testLimiter(30, 40*time.Millisecond)
	lim.Fill(c.t)
	if lim.Reserve(c.t) != 0 {
		t.Fatal("a place right after taking over")
	}
	if next := lim.Next(c.t); next != c.t.Add(1040*time.Millisecond) {
		t.Errorf("next = %v, want a window later", next.Sub(c.t))
	}
}
