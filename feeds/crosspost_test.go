package feeds

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/store/storetest"
)

// storeURLs gives a fresh, empty database of each kind the store runs on.
var storeURLs = []struct {
	name string
	url  func(t testing.TB) string
}{
	{"sqlite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "n.db") }},
	{"postgres", storetest.PostgresURL},
}

// crossSite is the site as it cross-posts: seven sections, each item in
// the feeds of three of them under one GUID and one link.
type crossSite struct {
	*site
	sections int
}

func newCrossSite(t testing.TB) *crossSite { return &crossSite{site: newSite(t), sections: 7} }

// sectionsOf returns the sections item k is posted in.
func (c *crossSite) sectionsOf(k int) []string {
	var out []string
	for _, d := range []int{0, 1, 3} {
		out = append(out, fmt.Sprintf("s%d", (k+d)%c.sections))
	}
	slices.Sort(out)
	return out
}

// publish makes the feeds list items 0…n-1, each in its sections.
func (c *crossSite) publish(n int) {
	feeds := make([][]item, c.sections)
	for k := n - 1; k >= 0; k-- { // newest first, as WordPress lists them
		it := item{
			guid:      fmt.Sprintf("https://almaalouma.net/?p=%d", 800000+k),
			title:     fmt.Sprintf("تقرير مشترك رقم %d عن الموازنة", k),
			link:      fmt.Sprintf("https://almaalouma.net/2025/02/20/shared-%d/", k),
			published: t0.Add(time.Duration(k) * time.Minute),
		}
		for _, d := range []int{0, 1, 3} {
			s := (k + d) % c.sections
			feeds[s] = append(feeds[s], it)
		}
	}
	for s, items := range feeds {
		c.serve(fmt.Sprintf("/s%d/feed/", s), "application/rss+xml; charset=UTF-8", rss(items...))
	}
}

// configure gives db the site's sections and feeds.
func (c *crossSite) configure(t testing.TB, db *store.DB) {
	t.Helper()
	var args []string
	for s := range c.sections {
		args = append(args, fmt.Sprintf("s%d", s), fmt.Sprintf("%s/s%d/feed/", c.URL, s))
	}
	addFeeds(t, db, args...)
}

// crossPoller returns a poller of db with one worker per feed, as in
// production where seven feeds meet eight workers.
func crossPoller(t testing.TB, db *store.DB) *Poller {
	cfg := testConfig()
	cfg.Poll.Workers = 8
	p, _ := newTestPoller(t, db, cfg)
	return p
}

// checkCrossPosted fails t unless each of the n items is stored once, in
// all of its sections.
func (c *crossSite) checkCrossPosted(t testing.TB, db *store.DB, n int) {
	t.Helper()
	as := articles(t, db)
	if len(as) != n {
		t.Fatalf("%d articles stored, want %d", len(as), n)
	}
	for _, a := range as {
		var k int
		fmt.Sscanf(a.GUID, "https://almaalouma.net/?p=%d", &k)
		got := slices.Sorted(slices.Values(a.Sections))
		if want := c.sectionsOf(k - 800000); !slices.Equal(got, want) {
			t.Fatalf("%s is in %v, want %v", a.GUID, got, want)
		}
	}
}

// pollClean polls every feed with p and fails t on any feed's error or
// refused item; it returns the results.
func pollClean(t testing.TB, p *Poller) []Result {
	rs, err := p.PollAll(context.Background())
	if err != nil {
		t.Error(err)
	}
	for _, r := range rs {
		if r.Err != nil || len(r.Refused) > 0 {
			t.Errorf("%s: %v, refused %v", r.FeedURL, r.Err, r.Refused)
		}
	}
	return rs
}

// The first poll of a fresh install, its feeds polled at once by the
// worker pool while they cross-post most items: no feed fails, and every
// item is stored once, in all its sections.
func TestCrossPostedFirstPoll(t *testing.T) {
	const items, installs = 60, 5
	site := newCrossSite(t)
	site.publish(items)
	for _, b := range storeURLs {
		t.Run(b.name, func(t *testing.T) {
			for range installs {
				db := openStore(t, b.url(t))
				site.configure(t, db)
				seen := 0
				for _, r := range pollClean(t, crossPoller(t, db)) {
					if !r.Baseline {
						t.Errorf("%s: not the first poll", r.FeedURL)
					}
					seen += r.Seen
				}
				if seen != items {
					t.Errorf("the feeds stored %d articles as seen, want each of the %d once", seen, items)
				}
				site.checkCrossPosted(t, db, items)
				if t.Failed() {
					return
				}
			}
		})
	}
}

// Two instances — or a one-off "nashra poll" beside "nashra run" — polling
// the same cross-posting feeds at the same moment: no feed fails, and each
// new item is stored, and counted new, once.
func TestCrossPostedTwoInstances(t *testing.T) {
	const before, after = 30, 45
	site := newCrossSite(t)
	for _, b := range storeURLs {
		t.Run(b.name, func(t *testing.T) {
			site.publish(before)
			url := b.url(t)
			one, two := openStore(t, url), openStore(t, url)
			site.configure(t, one)
			pollClean(t, crossPoller(t, one))

			site.publish(after)
			pollers := []*Poller{crossPoller(t, one), crossPoller(t, two)}
			results := make([][]Result, len(pollers))
			var wg sync.WaitGroup
			for i, p := range pollers {
				wg.Go(func() { results[i] = pollClean(t, p) })
			}
			wg.Wait()
			fresh := 0
			for _, rs := range results {
				for _, r := range rs {
					fresh += r.New
				}
			}
			if fresh != after-before {
				t.Errorf("the instances stored %d new articles, want each of the %d once", fresh, after-before)
			}
			site.checkCrossPosted(t, one, after)
		})
	}
}

// refuse makes the database at rawURL refuse to store the article guid,
// as it may refuse a row for reasons of its own, until the returned
// function is called.
func refuse(t testing.TB, rawURL, guid string) (allow func()) {
	t.Helper()
	driver, dsn, stmts, undo := "pgx", rawURL, []string{
		`CREATE FUNCTION refuse_item() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`,
		`CREATE TRIGGER refuse_item BEFORE INSERT ON articles FOR EACH ROW WHEN (NEW.guid = '` + guid + `') EXECUTE FUNCTION refuse_item()`,
	}, `DROP TRIGGER refuse_item ON articles`
	if path, ok := strings.CutPrefix(rawURL, "sqlite:"); ok {
		driver, dsn, undo = "sqlite", "file:"+path, `DROP TRIGGER refuse_item`
		stmts = []string{`CREATE TRIGGER refuse_item BEFORE INSERT ON articles WHEN NEW.guid = '` + guid + `'
			BEGIN SELECT RAISE(ABORT, 'refused'); END`}
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		if _, err := db.Exec(undo); err != nil {
			t.Fatal(err)
		}
	}
}

// An item the store refuses takes nothing else with it: the rest of the
// poll is stored and the feed keeps its schedule; the refusal is recorded
// on the feed, logged, counted and told to the admins once; and the item
// is not lost to a 304: every poll fetches the feed in full and tries it
// again, until it is stored.
func TestRefusedItemTriedAgain(t *testing.T) {
	for _, b := range storeURLs {
		t.Run(b.name, func(t *testing.T) {
			s := newSite(t)
			body := rss(news(1, 2)...)
			s.handle("/feed", func(w http.ResponseWriter, r *http.Request) {
				etag := fmt.Sprintf(`"%x"`, sha256.Sum256(body))
				w.Header().Set("ETag", etag)
				if r.Header.Get("If-None-Match") == etag {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				w.Header().Set("Content-Type", "application/rss+xml")
				w.Write(body)
			})
			url := b.url(t)
			spy := &spyStore{DB: openStore(t, url)}
			addFeeds(t, spy.DB, "news", s.URL+"/feed")
			p, clk := newTestPoller(t, spy, testConfig())
			pollOne(t, p) // the baseline

			refused := news(4, 1)[0].guid
			allow := refuse(t, url, refused)
			body = rss(news(1, 5)...)
			for poll := range 2 {
				clk.Add(5 * time.Minute)
				r := pollOne(t, p)
				if r.Err != nil || r.Status != http.StatusOK || len(r.Refused) != 1 || r.Refused[0].GUID != refused {
					t.Fatalf("poll %d with an item refused: %+v", poll, r)
				}
				if poll == 0 && (r.New != 2 || r.Unchanged != 2) {
					t.Errorf("the rest of the poll: %d new, %d unchanged; want 2 and 2", r.New, r.Unchanged)
				}
				f := onlyFeed(t, spy.DB)
				if f.ErrorCount != 0 || f.ETag != "" || !strings.Contains(f.LastError, refused) || !f.NextCheckAt.Equal(r.NextCheckAt) ||
					r.NextCheckAt.Sub(clk.Now()) < testConfig().Poll.Interval.D()/2 {
					t.Errorf("poll %d: feed %+v", poll, f)
				}
				if got := spy.kinds(); !slices.Equal(got, []string{AlertRefused}) {
					t.Errorf("poll %d: alerts %v, want one of refused items", poll, got)
				}
				if v := value(t, p.metrics.refused); v != float64(poll+1) {
					t.Errorf("poll %d: refused items metric %v", poll, v)
				}
			}
			if h := s.lastHeader("/feed"); h.Get("If-None-Match") != "" {
				t.Errorf("a poll after a refusal asked for a 304: %v", h)
			}

			allow()
			clk.Add(5 * time.Minute)
			r := pollOne(t, p)
			if r.Err != nil || len(r.Refused) != 0 || r.New != 1 {
				t.Fatalf("poll after the store took the item again: %+v", r)
			}
			if f := onlyFeed(t, spy.DB); f.LastError != "" || f.ETag == "" {
				t.Errorf("feed after the item was stored: %+v", f)
			}
			if n := len(articles(t, spy.DB)); n != 5 {
				t.Errorf("%d articles stored, want 5", n)
			}
			clk.Add(5 * time.Minute)
			if r := pollOne(t, p); r.Status != http.StatusNotModified {
				t.Errorf("the poll after: status %d, want 304", r.Status)
			}
		})
	}
}

// An item whose GUID is as long as the poller keeps, in four-byte
// characters that do not compress, is stored on PostgreSQL too, whose
// unique index refuses keys past about 2,700 bytes.
func TestLongGUIDStored(t *testing.T) {
	var guid strings.Builder
	for i := range maxGUID {
		guid.WriteRune(rune(0x1F300 + i*7919%0x340))
	}
	for _, b := range storeURLs {
		t.Run(b.name, func(t *testing.T) {
			it := news(1, 1)
			it[0].guid = guid.String()
			s := newSite(t)
			s.serve("/feed", "application/rss+xml", rss(it...))
			db := openStore(t, b.url(t))
			addFeeds(t, db, "news", s.URL+"/feed")
			p, _ := newTestPoller(t, db, testConfig())
			if r := pollOne(t, p); r.Err != nil || len(r.Refused) != 0 || r.Seen != 1 {
				t.Fatalf("%+v", r)
			}
			if as := articles(t, db); len(as) != 1 || len(as[0].GUID) > maxGUIDBytes {
				t.Errorf("%d articles, the first's GUID of %d bytes", len(as), len(as[0].GUID))
			}
		})
	}
}
