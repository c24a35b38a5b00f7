package websub

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/feeds"
	"github.com/almaalouma/nashra/feeds/websub/websubtest"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/store/sqlitetest"
	"github.com/almaalouma/nashra/web"
)

// site is a publisher: one RSS feed whose items a test publishes, served
// with the Link headers (or links) a test sets.
type site struct {
	*httptest.Server
	mu      sync.Mutex
	items   []string // titles, oldest first
	header  http.Header
	inFeed  string // extra elements of the channel
	fetches int
}

func newSite(t *testing.T) *site {
	s := &site{header: http.Header{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// feedURL is the feed's address.
func (s *site) feedURL() string { return s.URL + "/feed/" }

func (s *site) publish(titles ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = append(s.items, titles...)
}

func (s *site) setLinks(header http.Header, inFeed string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.header, s.inFeed = header, inFeed
}

func (s *site) fetchCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

func (s *site) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/feed/" {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	for k, vs := range s.header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/rss+xml; charset=UTF-8")
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>المعلومة</title><link>%s</link>%s
`, s.URL, s.inFeed)
	for i := len(s.items) - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "<item><title>%s</title><link>%s/%d/</link><guid>%s/?p=%d</guid><pubDate>%s</pubDate></item>\n",
			s.items[i], s.URL, i+1, s.URL, i+1, time.Now().UTC().Format(time.RFC1123Z))
	}
	b.WriteString("</channel></rss>")
	w.Write([]byte(b.String()))
}

// rig is one nashra: a store, the poller, the subscriber behind the real
// web server, and the strict hub the site names.
type rig struct {
	db     *store.DB
	poller *feeds.Poller
	sub    *Subscriber
	hub    *websubtest.Hub
	site   *site
	base   string // nashra's URL
	reg    *prometheus.Registry
	feed   nashra.Feed
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// newRig starts nashra on a site whose feed names hub in its Link headers.
func newRig(t *testing.T, adjust func(*config.Config)) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{hub: websubtest.NewHub(), site: newSite(t), reg: prometheus.NewRegistry()}
	t.Cleanup(r.hub.Close)
	db := sqlitetest.Open(t)
	r.db = db
	r.setFeeds(t, r.site.feedURL())
	r.site.setLinks(http.Header{"Link": {fmt.Sprintf(`<%s>; rel="hub", <%s>; rel="self"`, r.hub.URL(), r.site.feedURL())}}, "")
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	cfg := config.Defaults()
	cfg.Poll.OnDemandGap = config.Duration(10 * time.Millisecond)
	cfg.WebSub.MissedGrace = config.Duration(200 * time.Millisecond)
	cfg.WebSub.VerifyWithin = config.Duration(2 * time.Second)
	var err error
	if r.poller, err = feeds.NewPoller(db, cfg, r.reg, log); err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Options{Addr: "127.0.0.1:0", Store: db, Gatherer: r.reg, Logger: log})
	srv.HandleLarge(Route, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { r.sub.ServeHTTP(w, req) }), 10<<20)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	r.base = "http://" + srv.Addrs()[0].String()
	cfg.BaseURL = r.base
	if adjust != nil {
		adjust(cfg)
	}
	if r.sub, err = New(db, r.poller, cfg, r.reg, log); err != nil {
		t.Fatal(err)
	}
	r.poller.Push = r.sub
	runCtx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	r.done.Go(func() { r.poller.Serve(runCtx) })
	r.done.Go(func() { r.sub.Maintain(runCtx) })
	t.Cleanup(r.stop)
	fs, _ := db.Feeds(ctx)
	r.feed = fs[0]
	return r
}

func (r *rig) stop() {
	r.cancel()
	r.done.Wait()
}

// setFeeds configures one section, news, with the feeds given.
func (r *rig) setFeeds(t *testing.T, urls ...string) {
	t.Helper()
	if _, err := r.db.SyncSections(context.Background(), []nashra.Section{{Slug: "news", Name: "أخبار", Feeds: urls}}); err != nil {
		t.Fatal(err)
	}
}

// subscribed polls the feed once (its baseline, where its hub is found)
// and waits until the hub holds nashra's verified subscription.
func (r *rig) subscribed(t *testing.T) nashra.WebSubSubscription {
	t.Helper()
	if _, err := r.poller.PollAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	var sub nashra.WebSubSubscription
	waitFor(t, "an active subscription", func() bool {
		subs, _ := r.db.WebSubSubscriptions(context.Background())
		if len(subs) != 1 || subs[0].State != nashra.WebSubActive || subs[0].Pending != "" {
			return false
		}
		sub = subs[0]
		return len(r.hub.Subscriptions()) == 1
	})
	return sub
}

// articles counts the stored articles.
func (r *rig) articles(t *testing.T) int {
	t.Helper()
	n, err := r.db.CountArticles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 15s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// counter reads a counter of the rig's registry.
func (r *rig) counter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue metric
				}
			}
			if c := m.GetCounter(); c != nil {
				total += c.GetValue()
			} else if g := m.GetGauge(); g != nil {
				total += g.GetValue()
			}
		}
	}
	return total
}
