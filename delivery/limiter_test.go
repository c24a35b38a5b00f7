package delivery

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// clock is a fake time source for the limiter.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func testLimiter(rate float64, margin time.Duration) (*limiter, *clock) {
	c := &clock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	cfg := DefaultConfig()
	cfg.GlobalPerSecond, cfg.WindowMargin = rate, margin
	return newLimiter(cfg, c.now), c
}

// Sent as fast as the limiter allows, with timers firing late at random,
// no window of a second plus the margin ever holds more than the limit,
// and the rate stays at the limit less the margin's share.
func TestLimiterNeverExceedsTheWindow(t *testing.T) {
	lim, c := testLimiter(30, 40*time.Millisecond)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var sent []time.Time
	start := c.t
	for len(sent) < 3000 {
		if !lim.reserve(c.t) {
			// The scheduler sleeps until the next free place; its timer
			// fires up to 2 ms late.
			c.t = lim.next(c.t).Add(time.Duration(rng.Int64N(int64(2 * time.Millisecond))))
			continue
		}
		// The worker makes the request up to 1 ms later.
		c.t = c.t.Add(time.Duration(rng.Int64N(int64(time.Millisecond))))
		if err := lim.take(ctx, true); err != nil {
			t.Fatal(err)
		}
		lim.made()
		sent = append(sent, c.t)
	}
	window := time.Second + 40*time.Millisecond
	for i := 30; i < len(sent); i++ {
		if gap := sent[i].Sub(sent[i-30]); gap < window {
			t.Fatalf("requests %d and %d only %v apart: 31 in one window", i-30, i, gap)
		}
	}
	// The first 30 go at once; after them, one window per 30.
	rate := float64(len(sent)-30) / sent[len(sent)-1].Sub(sent[29]).Seconds()
	if rate < 0.95*30 || rate > 30/1.04 {
		t.Errorf("%.2f requests/s after the first second, want 0.95–0.96 of 30", rate)
	}
	t.Logf("%.3f of the limit over %v", rate/30, sent[len(sent)-1].Sub(start))
}

// Places reserved and not yet used count: the scheduler cannot hand out
// more than the window holds, whatever the workers are waiting for.
func TestLimiterCountsReservedPlaces(t *testing.T) {
	lim, c := testLimiter(3, 0)
	for i := range 3 {
		if !lim.reserve(c.t) {
			t.Fatalf("place %d refused", i+1)
		}
	}
	if lim.reserve(c.t) {
		t.Fatal("a fourth place in the same second")
	}
	if next := lim.next(c.t); next != c.t.Add(pendingPoll) {
		t.Errorf("next = %v after now, want a look again in %v", next.Sub(c.t), pendingPoll)
	}
	lim.unreserve()
	if !lim.reserve(c.t) {
		t.Error("a place given back was not free again")
	}
	// A request made without a reservation waits for the window.
	for range 3 {
		if err := lim.take(context.Background(), true); err != nil {
			t.Fatal(err)
		}
		lim.made()
	}
	if next := lim.next(c.t); next != c.t.Add(time.Second) {
		t.Errorf("next = %v after now, want 1s", next.Sub(c.t))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := lim.take(ctx, false); err == nil {
		t.Error("a request beyond the window went at once")
	}
}

// A 429 pauses every request until its retry_after has passed; one that
// comes while the pause runs (a request in flight when it began) is no new
// pause, and lengthens it.
func TestLimiterPauses(t *testing.T) {
	lim, c := testLimiter(30, 0)
	t0 := c.t
	fresh, until := lim.rateLimited(t0.Add(80*time.Millisecond), 2*time.Second)
	if !fresh || until != t0.Add(2080*time.Millisecond) {
		t.Fatalf("first 429: fresh %v, until %v", fresh, until.Sub(t0))
	}
	if lim.reserve(c.t) || lim.next(c.t) != until {
		t.Fatal("a place during the pause")
	}
	fresh, until = lim.rateLimited(t0.Add(95*time.Millisecond), 3*time.Second)
	if fresh || until != t0.Add(3095*time.Millisecond) {
		t.Fatalf("second 429: fresh %v, until %v", fresh, until.Sub(t0))
	}
	c.t = until
	if !lim.reserve(c.t) {
		t.Fatal("no place once the pause is over")
	}
	if fresh, _ = lim.rateLimited(c.t.Add(50*time.Millisecond), time.Second); !fresh {
		t.Error("a later 429 is no new pause")
	}
}

// A request holds its place from when it is admitted until it has gone
// out, however long that takes (a new connection's handshake, an upload's
// body), and counts from then.
func TestLimiterHoldsUntilSent(t *testing.T) {
	lim, c := testLimiter(1, 0)
	if err := lim.take(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(3 * time.Second) // a slow upload
	if lim.reserve(c.t) {
		t.Fatal("a place while the upload is still going out")
	}
	lim.made()
	if next := lim.next(c.t); next != c.t.Add(time.Second) {
		t.Errorf("next place %v after it went, want 1s", next.Sub(c.t))
	}
}

// A term taken over from another holder counts the window as full.
func TestLimiterFill(t *testing.T) {
	lim, c := testLimiter(30, 40*time.Millisecond)
	lim.fill(c.t)
	if lim.reserve(c.t) {
		t.Fatal("a place right after taking over")
	}
	if next := lim.next(c.t); next != c.t.Add(1040*time.Millisecond) {
		t.Errorf("next = %v, want a window later", next.Sub(c.t))
	}
}
