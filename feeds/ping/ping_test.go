package ping

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/feeds"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/store/sqlitetest"
)

const secret = "a-secret-of-the-site-0123456789"

// site serves one feed per section; a test can hold its answers.
type site struct {
	*httptest.Server
	mu       sync.Mutex
	items    map[string][]string // by section
	hold     chan struct{}
	fetches  atomic.Int32
	running  map[string]int // fetches running, by path
	mostPath map[string]int // the most that ran at once, by path
}

func newSite(t *testing.T) *site {
	s := &site{items: map[string][]string{}, running: map[string]int{}, mostPath: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		s.running[r.URL.Path]++
		s.mostPath[r.URL.Path] = max(s.mostPath[r.URL.Path], s.running[r.URL.Path])
		defer func() { s.mu.Lock(); s.running[r.URL.Path]--; s.mu.Unlock() }()
		hold := s.hold
		section := strings.Trim(r.URL.Path, "/")
		items := append([]string(nil), s.items[section]...)
		s.mu.Unlock()
		if hold != nil {
			<-hold
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>`)
		for i, title := range items {
			fmt.Fprintf(w, "<item><title>%s</title><link>%s/%s/%d</link><guid>%s-%d</guid></item>", title, s.URL, section, i, section, i)
		}
		fmt.Fprint(w, `</channel></rss>`)
	}))
	t.Cleanup(s.Close)
	return s
}

// fetching reports how many fetches of path are running now and the most
// that ran at once.
func (s *site) fetching(path string) (now, most int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running[path], s.mostPath[path]
}

// forget drops what the counters saw so far: a rig's baselines poll both
// sections at once.
func (s *site) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches.Store(0)
	clear(s.mostPath)
}

func (s *site) publish(section, title string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[section] = append(s.items[section], title)
}

// rig is nashra with two sections, its poller serving asked polls, and
// the ping handler on a test server.
type rig struct {
	db      *store.DB
	site    *site
	h       *Handler
	url     string
	reg     *prometheus.Registry
	outside *httptest.Server // a server no section names
	hits    atomic.Int32
}

// newRig starts the rig on the default configuration with the publish
// secret set, changed by adjust unless it is nil; polls asked of a feed
// are a millisecond apart at least.
func newRig(t *testing.T, adjust func(*config.Config)) *rig {
	t.Helper()
	return newRigPolling(t, func(c *config.Config) {
		c.Poll.OnDemandGap = config.Duration(time.Millisecond)
		if adjust != nil {
			adjust(c)
		}
	})
}

// newRigPolling is newRig with the poller's gap between asked polls left
// at its default.
func newRigPolling(t *testing.T, adjust func(*config.Config)) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{site: newSite(t), reg: prometheus.NewRegistry()}
	r.outside = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { r.hits.Add(1) }))
	t.Cleanup(r.outside.Close)
	db := sqlitetest.Open(t,
		nashra.Section{Slug: "news", Name: "أخبار", Feeds: []string{r.site.URL + "/news/"}},
		nashra.Section{Slug: "reports", Name: "تقارير", Feeds: []string{r.site.URL + "/reports/"}})
	r.db = db
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	cfg := config.Defaults()
	cfg.Poll.Timeout = config.Duration(time.Minute) // a poll held while a thousand pings come must not time out
	cfg.Hooks.PublishSecret = secret
	if adjust != nil {
		adjust(cfg)
	}
	p, err := feeds.NewPoller(db, cfg, r.reg, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollAll(ctx); err != nil { // the baselines
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	var served sync.WaitGroup
	served.Go(func() { p.Serve(runCtx) })
	t.Cleanup(func() { cancel(); served.Wait() })
	if r.h, err = New(db, p, cfg, r.reg, log); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(Route, r.h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/hooks/publish"
	r.site.forget()
	return r
}

// liftRate takes every ping, however many come.
func liftRate(c *config.Config) { c.Hooks.RatePerSecond, c.Hooks.Burst = 1e6, 1e6 }

// send posts body signed with key ("" for none) and returns the status
// and the answer.
func (r *rig) send(t *testing.T, body []byte, key string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(SignatureHeader, Sign(key, body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func ping(p Ping) []byte {
	if p.Time == 0 {
		p.Time = time.Now().Unix()
	}
	b, _ := json.Marshal(p)
	return b
}

func (r *rig) articles(t *testing.T) int {
	n, err := r.db.CountArticles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A signed ping naming a section polls that section's feed now, and the
// article it published is stored as new; a ping naming nothing polls all.
func TestPingPollsTheNamedFeeds(t *testing.T) {
	r := newRig(t, nil)
	r.site.publish("news", "عاجل: خبر")
	code, answer, _ := r.send(t, ping(Ping{Sections: []string{"news", "uncategorized"}, Post: json.RawMessage("42")}), secret)
	if code != http.StatusAccepted || !strings.Contains(answer, r.site.URL+"/news/") || !strings.Contains(answer, `"ignored":["uncategorized"]`) {
		t.Fatalf("ping: %d %s", code, answer)
	}
	waitFor(t, "the article", func() bool { return r.articles(t) == 1 })
	if n := r.site.fetches.Load(); n != 1 {
		t.Errorf("%d fetches for a ping of one section", n)
	}
	pushes, _ := r.db.FeedPushes(context.Background())
	if len(pushes) != 1 || pushes[0].Pings != 1 || pushes[0].LastPingAt.IsZero() {
		t.Errorf("pings recorded %+v", pushes)
	}
	// Idempotent: the same ping again polls again and stores nothing twice.
	r.send(t, ping(Ping{Sections: []string{"news"}}), secret)
	waitFor(t, "the second poll", func() bool { return r.site.fetches.Load() == 2 })
	code, _, _ = r.send(t, ping(Ping{}), secret)
	waitFor(t, "every feed polled", func() bool { return r.site.fetches.Load() == 4 })
	if code != http.StatusAccepted || r.articles(t) != 1 {
		t.Errorf("a ping of all feeds: %d, %d articles", code, r.articles(t))
	}
}

// Pings nobody may send, or that name what nashra does not follow: each
// refused with its status; nothing is fetched, nothing stored.
func TestBadPingsRefused(t *testing.T) {
	r := newRig(t, nil)
	r.site.publish("news", "خبر")
	old := ping(Ping{Time: time.Now().Add(-10 * time.Minute).Unix()})
	future := ping(Ping{Time: time.Now().Add(10 * time.Minute).Unix()})
	huge := ping(Ping{Sections: []string{strings.Repeat("x", 70<<10)}})
	cases := []struct {
		name string
		body []byte
		key  string
		want int
	}{
		{"unsigned", ping(Ping{}), "", http.StatusForbidden},
		{"signed with another key", ping(Ping{}), "guessed-secret-guessed", http.StatusForbidden},
		{"a captured ping replayed ten minutes later", old, secret, http.StatusForbidden},
		{"a ping from the future", future, secret, http.StatusForbidden},
		{"not JSON", []byte("hub.mode=publish"), secret, http.StatusBadRequest},
		{"an outsider's URL", ping(Ping{Feeds: []string{r.outside.URL + "/feed"}}), secret, http.StatusUnprocessableEntity},
		{"a section nashra lacks", ping(Ping{Sections: []string{"sports"}}), secret, http.StatusUnprocessableEntity},
		{"larger than 64 KiB", huge, secret, http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if code, answer, _ := r.send(t, c.body, c.key); code != c.want {
				t.Errorf("status %d (%s), want %d", code, answer, c.want)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	if n := r.site.fetches.Load(); n != 0 || r.hits.Load() != 0 || r.articles(t) != 0 {
		t.Errorf("bad pings caused %d fetches of the site, %d of the outsider, %d articles", n, r.hits.Load(), r.articles(t))
	}
}

// A thousand pings while a poll of the feed runs: the poll runs alone,
// one more follows it, and no ping is lost.
func TestPingFloodCoalesces(t *testing.T) {
	r := newRig(t, liftRate)
	hold := make(chan struct{})
	r.site.mu.Lock()
	r.site.hold = hold
	r.site.mu.Unlock()
	r.site.publish("news", "خبر 1")
	body := ping(Ping{Sections: []string{"news"}})
	if code, _, _ := r.send(t, body, secret); code != http.StatusAccepted {
		t.Fatalf("first ping: %d", code)
	}
	waitFor(t, "the poll", func() bool { now, _ := r.site.fetching("/news/"); return now == 1 })
	r.site.publish("news", "خبر 2")
	var wg sync.WaitGroup
	var accepted atomic.Int32
	for range 8 {
		wg.Go(func() {
			for range 125 {
				if code, _, _ := r.send(t, body, secret); code == http.StatusAccepted {
					accepted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	r.site.mu.Lock()
	r.site.hold = nil
	r.site.mu.Unlock()
	close(hold)
	waitFor(t, "both articles", func() bool { return r.articles(t) == 2 })
	time.Sleep(100 * time.Millisecond)
	_, most := r.site.fetching("/news/")
	if accepted.Load() != 1000 || r.site.fetches.Load() != 2 || most != 1 {
		t.Errorf("%d of 1,000 pings accepted; %d fetches (want 2), %d at once (want 1)",
			accepted.Load(), r.site.fetches.Load(), most)
	}
	pushes, _ := r.db.FeedPushes(context.Background())
	if len(pushes) != 1 || pushes[0].Pings != 2 {
		t.Errorf("pings recorded %+v: want one per poll added", pushes)
	}
}

// Past the rate, pings are refused with 429 and Retry-After.
func TestPingRateLimited(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.Hooks.RatePerSecond, c.Hooks.Burst = 1, 3 })
	var codes []int
	for range 5 {
		code, _, h := r.send(t, ping(Ping{Sections: []string{"news"}}), secret)
		codes = append(codes, code)
		if code == http.StatusTooManyRequests && h.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if fmt.Sprint(codes) != "[202 202 202 429 429]" {
		t.Errorf("statuses %v", codes)
	}
}

// TestLoadPingFlood sends 1,000 signed pings a second for 10 seconds
// (NASHRA_LOAD_SECONDS) while the site publishes an article a second, with
// the default limits (20 pings a second, bursts of 200; a feed polled at
// most once a second on demand) and with the rate lifted, and reports what
// was taken, how fast it was answered, how many polls it caused and the
// most polls of one feed that ran at once. Run with NASHRA_LOAD=1; see
// README.md.
func TestLoadPingFlood(t *testing.T) {
	if os.Getenv("NASHRA_LOAD") == "" {
		t.Skip("load scenario: set NASHRA_LOAD=1")
	}
	seconds := 10
	if v := os.Getenv("NASHRA_LOAD_SECONDS"); v != "" {
		fmt.Sscan(v, &seconds)
	}
	for _, c := range []struct {
		name   string
		adjust func(*config.Config)
	}{
		{"default limits", nil},
		{"rate lifted", liftRate},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRigPolling(t, c.adjust)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			const rate = 1000
			total := rate * seconds
			var mu sync.Mutex
			codes := map[int]int{}
			var lat []time.Duration
			jobs := make(chan int)
			var wg sync.WaitGroup
			for range 64 {
				wg.Go(func() {
					for i := range jobs {
						p := Ping{Time: time.Now().Unix()}
						if i%2 == 0 {
							p.Sections = []string{"news"}
						}
						body := ping(p)
						req, _ := http.NewRequest(http.MethodPost, r.url, bytes.NewReader(body))
						req.Header.Set(SignatureHeader, Sign(secret, body))
						start := time.Now()
						resp, err := client.Do(req)
						d := time.Since(start)
						code := 0
						if err == nil {
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							code = resp.StatusCode
						}
						mu.Lock()
						codes[code]++
						lat = append(lat, d)
						mu.Unlock()
					}
				})
			}
			start := time.Now()
			published := 0
			for i := range total {
				if i%rate == 0 {
					published++
					r.site.publish("news", fmt.Sprintf("خبر %d", published))
				}
				time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / rate)))
				jobs <- i
			}
			close(jobs)
			wg.Wait()
			elapsed := time.Since(start)
			// The last article's poll may still be coming.
			waitFor(t, "every article", func() bool { return r.articles(t) == published })
			slices.Sort(lat)
			q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))].Round(10 * time.Microsecond) }
			r.site.mu.Lock()
			_, most := r.site.fetching("/news/")
			polls := r.site.fetches.Load()
			r.site.mu.Unlock()
			t.Logf("%s: %d pings in %s (%.0f/s): %v; answered p50 %s, p99 %s, max %s; %d polls of the site, at most %d of one feed at once; %d of %d articles stored",
				c.name, total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), codes, q(0.5), q(0.99), lat[len(lat)-1].Round(time.Millisecond),
				polls, most, r.articles(t), published)
			if most != 1 {
				t.Errorf("%d polls of one feed ran at once", most)
			}
			if codes[0] != 0 || codes[http.StatusInternalServerError] != 0 {
				t.Errorf("failed requests: %v", codes)
			}
		})
	}
}
