package feeds

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/store"
)

// gate is a feed whose answers wait until the test lets them go, and
// which counts the fetches running at once.
type gate struct {
	mu       sync.Mutex
	body     []byte
	release  chan struct{}
	inFlight atomic.Int32
	most     atomic.Int32
	fetches  atomic.Int32
}

func (g *gate) serve(w http.ResponseWriter, r *http.Request) {
	n := g.inFlight.Add(1)
	defer g.inFlight.Add(-1)
	for {
		m := g.most.Load()
		if n <= m || g.most.CompareAndSwap(m, n) {
			break
		}
	}
	g.fetches.Add(1)
	g.mu.Lock()
	release, body := g.release, g.body
	g.mu.Unlock()
	if release != nil {
		<-release
	}
	w.Header().Set("Content-Type", "application/rss+xml")
	w.Write(body)
}

// set sets the feed's body and, with hold, holds the answers from now on
// until open.
func (g *gate) set(body []byte, hold bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.body = body
	if hold && g.release == nil {
		g.release = make(chan struct{})
	}
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.release != nil {
		close(g.release)
		g.release = nil
	}
}

// Asks for a poll that come while one runs make exactly one more poll
// after it, never a second at once; the scheduled poll skips a feed whose
// poll runs, and "poll all" waits for it.
func TestPollSoonCoalesces(t *testing.T) {
	g, db, p, f := serving(t, time.Millisecond)
	ctx := context.Background()

	g.set(rss(news(1, 2)...), false)
	pollOne(t, p) // the baseline
	g.set(rss(news(1, 3)...), true)
	if !p.PollSoon(f.ID, TriggerPing) {
		t.Fatal("the first ask added no poll")
	}
	waitUntil(t, func() bool { return g.inFlight.Load() == 1 })
	// While it runs: a thousand asks, the schedule, another ask.
	added := 0
	for range 1000 {
		if p.PollSoon(f.ID, TriggerPing) {
			added++
		}
	}
	if added != 1 {
		t.Errorf("1,000 asks during a poll added %d polls, want 1", added)
	}
	if res, err := p.pollFeeds(ctx, []nashra.Feed{f}, time.Now(), TriggerSchedule); err != nil || len(res) != 0 {
		t.Errorf("the schedule polled a feed being polled: %+v %v", res, err)
	}
	g.set(rss(news(1, 4)...), false) // the poll queued meanwhile sees the fourth item
	g.open()
	waitUntil(t, func() bool { return g.fetches.Load() == 3 && g.inFlight.Load() == 0 })
	time.Sleep(50 * time.Millisecond)
	if n := g.fetches.Load(); n != 3 {
		t.Errorf("%d fetches: want the baseline, the asked poll and one more after it", n)
	}
	// "Poll all" waits for a running poll and polls after it.
	g.set(rss(news(1, 4)...), true)
	p.PollSoon(f.ID, TriggerPush)
	waitUntil(t, func() bool { return g.inFlight.Load() == 1 })
	all := make(chan []Result)
	go func() { rs, _ := p.PollAll(ctx); all <- rs }()
	select {
	case <-all:
		t.Fatal("poll all did not wait for the running poll")
	case <-time.After(100 * time.Millisecond):
	}
	g.open()
	if rs := <-all; len(rs) != 1 || g.fetches.Load() != 5 {
		t.Errorf("poll all: %d results after %d fetches", len(rs), g.fetches.Load())
	}
	if m := g.most.Load(); m != 1 {
		t.Errorf("%d polls of the feed ran at once", m)
	}
	if st := states(t, db); st["new"] != 2 {
		t.Errorf("states %v: the two items published meanwhile are new, once each", st)
	}
}

// Polls asked outside the schedule are spaced by OnDemandGap, counted from
// the start of the feed's last poll.
func TestPollSoonSpacedByGap(t *testing.T) {
	g, _, p, f := serving(t, 400*time.Millisecond)
	g.set(rss(news(1, 1)...), false)
	start := time.Now()
	p.PollSoon(f.ID, TriggerPush)
	waitUntil(t, func() bool { return g.fetches.Load() == 1 })
	p.PollSoon(f.ID, TriggerPush)
	waitUntil(t, func() bool { return g.fetches.Load() == 2 })
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("two asked polls %s apart, want the 400ms gap", d)
	}
}

// serving starts a poller of one feed behind a gate, serving asked polls
// spaced by gap until the test ends.
func serving(t *testing.T, gap time.Duration) (*gate, *store.DB, *Poller, nashra.Feed) {
	t.Helper()
	s := newSite(t)
	g := &gate{}
	s.handle("/feed", g.serve)
	db := newStore(t)
	addFeeds(t, db, "news", s.URL+"/feed")
	cfg := testConfig()
	cfg.Poll.OnDemandGap = config.Duration(gap)
	p, _ := newTestPoller(t, db, cfg)
	p.Now = time.Now
	ctx, cancel := context.WithCancel(context.Background())
	var served sync.WaitGroup
	served.Go(func() { p.Serve(ctx) })
	t.Cleanup(func() { g.open(); cancel(); served.Wait() })
	return g, db, p, onlyFeed(t, db)
}

func waitUntil(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A scheduled poll that read the feed before an asked poll saved it starts
// from what that poll saved: the feed's first poll, done by a ping, is its
// baseline, and what the site publishes after is news, not a second
// baseline.
func TestScheduledPollRereadsAFeedPolledMeanwhile(t *testing.T) {
	g, db, p, f := serving(t, time.Millisecond)
	g.set(rss(news(1, 2)...), false)
	read := time.Now()
	stale := f // never polled: its baseline is due
	p.PollSoon(f.ID, TriggerPing)
	waitUntil(t, func() bool { fresh, _ := db.Feed(context.Background(), f.ID); return !fresh.BaselinedAt.IsZero() })
	waitUntil(t, func() bool { p.mu.Lock(); defer p.mu.Unlock(); return !p.flights[f.ID].running })
	g.set(rss(news(1, 3)...), false)
	res, err := p.pollFeeds(context.Background(), []nashra.Feed{stale}, read, TriggerSchedule)
	if err != nil || len(res) != 1 || res[0].Baseline || res[0].New != 1 {
		t.Errorf("the scheduled poll: %+v %v; want one new article, no second baseline", res, err)
	}
}
