package feeds

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/store"
)

// t0 is when the tests' clock starts: the day the fixtures were published.
var t0 = time.Date(2025, 2, 20, 13, 0, 0, 0, time.UTC)

// clock is a settable clock for the poller.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// site is a stand-in for the site: an HTTP server whose pages a test sets.
type site struct {
	*httptest.Server
	mu    sync.Mutex
	pages map[string]http.HandlerFunc
	hits  map[string]int
	last  map[string]http.Header // request headers of the last hit
}

func newSite(t testing.TB) *site {
	s := &site{pages: map[string]http.HandlerFunc{}, hits: map[string]int{}, last: map[string]http.Header{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		h := s.pages[r.URL.Path]
		s.hits[r.URL.Path]++
		s.last[r.URL.Path] = r.Header.Clone()
		s.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// handle sets what path answers.
func (s *site) handle(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages[path] = h
}

// serve makes path answer 200 with body.
func (s *site) serve(path, contentType string, body []byte) {
	s.handle(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(body)
	})
}

func (s *site) hitCount(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *site) lastHeader(path string) http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[path]
}

// newStore opens a migrated store in a fresh SQLite file.
func newStore(t testing.TB) *store.DB {
	t.Helper()
	return openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "n.db"))
}

// openStore opens and migrates the store at rawURL.
func openStore(t testing.TB, rawURL string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, rawURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// addFeeds configures one section per slug, each with the feed URL given.
func addFeeds(t testing.TB, db *store.DB, slugURL ...string) {
	t.Helper()
	var specs []nashra.Section
	for i := 0; i+1 < len(slugURL); i += 2 {
		specs = append(specs, nashra.Section{Slug: slugURL[i], Name: slugURL[i], Feeds: []string{slugURL[i+1]}})
	}
	if _, err := db.SyncSections(context.Background(), specs); err != nil {
		t.Fatal(err)
	}
}

// testConfig is the default configuration with test-sized timeouts.
func testConfig() *config.Config {
	c := config.Defaults()
	c.Poll.Timeout = config.Duration(3 * time.Second)
	c.Poll.Workers = 2
	return c
}

// newTestPoller returns a poller of db on a clock starting at t0.
func newTestPoller(t testing.TB, st Store, cfg *config.Config) (*Poller, *clock) {
	t.Helper()
	p, err := NewPoller(st, cfg, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: t0}
	p.Now = clk.Now
	return p, clk
}

// pollOne polls every feed and returns the only result.
func pollOne(t testing.TB, p *Poller) Result {
	t.Helper()
	rs, err := p.PollAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("got %d results, want 1", len(rs))
	}
	return rs[0]
}

// onlyFeed returns the one feed of db.
func onlyFeed(t testing.TB, db *store.DB) nashra.Feed {
	t.Helper()
	fs, err := db.Feeds(context.Background())
	if err != nil || len(fs) != 1 {
		t.Fatalf("feeds: %v, %v", fs, err)
	}
	return fs[0]
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// item is one item of a feed a test builds.
type item struct {
	guid, title, link string
	published         time.Time
	categories        []string
	content           string
}

// rss builds an RSS 2.0 feed of items.
func rss(items ...item) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>المعلومة</title><link>https://almaalouma.net</link>`)
	for _, it := range items {
		fmt.Fprintf(&b, "<item><title>%s</title><link>%s</link>", html.EscapeString(it.title), html.EscapeString(it.link))
		if it.guid != "" {
			fmt.Fprintf(&b, `<guid isPermaLink="false">%s</guid>`, html.EscapeString(it.guid))
		}
		if !it.published.IsZero() {
			fmt.Fprintf(&b, "<pubDate>%s</pubDate>", it.published.Format(time.RFC1123Z))
		}
		for _, c := range it.categories {
			fmt.Fprintf(&b, "<category>%s</category>", html.EscapeString(c))
		}
		if it.content != "" {
			fmt.Fprintf(&b, "<content:encoded>%s</content:encoded>", html.EscapeString(it.content))
		}
		b.WriteString("</item>")
	}
	b.WriteString("</channel></rss>")
	return []byte(b.String())
}

// news returns n items of the news section, numbered from first, the
// higher numbers published later.
func news(first, n int) []item {
	var out []item
	for i := first; i < first+n; i++ {
		out = append(out, item{
			guid:      fmt.Sprintf("https://almaalouma.net/?p=%d", 600000+i),
			title:     fmt.Sprintf("خبر عاجل رقم %d من بغداد", i),
			link:      fmt.Sprintf("https://almaalouma.net/2025/02/20/news-%d/", i),
			published: t0.Add(-time.Duration(100-i) * time.Minute),
		})
	}
	return out
}

// articles returns the stored articles, newest first.
func articles(t testing.TB, db *store.DB) []nashra.Article {
	t.Helper()
	as, err := db.LatestArticles(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// states counts the stored articles by state.
func states(t testing.TB, db *store.DB) map[nashra.ArticleState]int {
	t.Helper()
	m := map[nashra.ArticleState]int{}
	for _, a := range articles(t, db) {
		m[a.State]++
	}
	return m
}
