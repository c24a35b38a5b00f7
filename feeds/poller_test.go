package feeds

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/store"
)

// TestBaselineThenNew: a fresh install marks what it finds seen; what comes
// after is new, and only that.
func TestBaselineThenNew(t *testing.T) {
	s := newSite(t)
	s.serve("/feed", "application/rss+xml", rss(news(1, 3)...))
	db := newStore(t)
	addFeeds(t, db, "news", s.URL+"/feed")
	p, clk := newTestPoller(t, db, testConfig())
	notified := 0
	p.OnNew = func() { notified++ }

	r := pollOne(t, p)
	if !r.Baseline || r.Seen != 3 || r.New != 0 {
		t.Fatalf("first poll %+v", r)
	}
	if notified != 0 {
		t.Errorf("the baseline poll announced %d hand-offs", notified)
	}
	f := onlyFeed(t, db)
	if !f.BaselinedAt.Equal(t0) {
		t.Errorf("baselined at %s", f.BaselinedAt)
	}
	if got := states(t, db); got[nashra.ArticleSeen] != 3 || len(got) != 1 {
		t.Errorf("states %v", got)
	}

	clk.Add(5 * time.Minute)
	s.serve("/feed", "application/rss+xml", rss(news(1, 5)...))
	r = pollOne(t, p)
	if r.Baseline || r.New != 2 || r.Unchanged != 3 || r.Seen != 0 {
		t.Fatalf("second poll %+v", r)
	}
	if notified != 1 {
		t.Errorf("new articles announced %d times, want once", notified)
	}
	if got := states(t, db); got[nashra.ArticleSeen] != 3 || got[nashra.ArticleNew] != 2 {
		t.Errorf("states %v", got)
	}
	if f := onlyFeed(t, db); !f.LastNewAt.Equal(clk.Now()) {
		t.Errorf("last new at %s", f.LastNewAt)
	}
	fresh, err := db.ArticlesInState(context.Background(), nashra.ArticleNew, 10)
	if err != nil || len(fresh) != 2 || fresh[0].Title != "خبر عاجل رقم 4 من بغداد" {
		t.Errorf("new articles %v, %v", fresh, err)
	}
	if v := value(t, p.metrics.articles.WithLabelValues("new")); v != 2 {
		t.Errorf("new articles metric %v", v)
	}
	var h dto.Metric
	if err := p.metrics.delay.Write(&h); err != nil || h.GetHistogram().GetSampleCount() != 2 {
		t.Errorf("detection delay: %v, %v", h.GetHistogram(), err)
	}
}

// TestSchedule: PollDue polls only what is due, and due again after the
// interval.
func TestSchedule(t *testing.T) {
	s := newSite(t)
	s.serve("/feed", "application/rss+xml", rss(news(1, 2)...))
	db := newStore(t)
	addFeeds(t, db, "news", s.URL+"/feed")
	p, clk := newTestPoller(t, db, testConfig())
	ctx := context.Background()
	for i, want := range []int{1, 0, 0, 1} {
		rs, err := p.PollDue(ctx)
		if err != nil || len(rs) != want {
			t.Fatalf("tick %d: %d results, %v; want %d", i, len(rs), err, want)
		}
		clk.Add(2 * time.Minute)
	}
	if n := s.hitCount("/feed"); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}

// TestCrossPosted: one piece in two sections' feeds is one article in two
// sections, pushed once, even when one feed adds tracking to its link.
func TestCrossPosted(t *testing.T) {
	s := newSite(t)
	s.serve("/news", "application/rss+xml", rss(news(1, 1)...))
	s.serve("/reports", "application/rss+xml", rss(news(2, 1)...))
	db := newStore(t)
	addFeeds(t, db, "news", s.URL+"/news", "reports", s.URL+"/reports")
	p, clk := newTestPoller(t, db, testConfig())
	ctx := context.Background()
	if _, err := p.PollAll(ctx); err != nil {
		t.Fatal(err)
	}

	shared := item{guid: "https://almaalouma.net/?p=700001", title: "تقرير مشترك عن أزمة المياه في البصرة",
		link: "https://almaalouma.net/2025/02/20/water/", published: t0}
	tracked := shared
	tracked.guid = "" // this feed has no GUID, and tracks its links
	tracked.link = "https://ALMAALOUMA.net/2025/02/20/water/?utm_source=rss&utm_medium=rss#respond"
	s.serve("/news", "application/rss+xml", rss(append(news(1, 1), shared)...))
	s.serve("/reports", "application/rss+xml", rss(append(news(2, 1), tracked)...))
	clk.Add(5 * time.Minute)
	rs, err := p.PollAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var fresh int
	for _, r := range rs {
		fresh += r.New
	}
	if fresh != 1 {
		t.Errorf("%d new across %+v, want 1", fresh, rs)
	}
	as := articles(t, db)
	if len(as) != 3 {
		t.Fatalf("%d articles, want 3", len(as))
	}
	a := as[0]
	// Either feed may be polled first and give the article its GUID.
	if a.Link != shared.link || !slices.Equal(a.Sections, []string{"news", "reports"}) || a.State != nashra.ArticleNew {
		t.Errorf("shared article %+v", a)
	}
}

// TestEditedItem: an item whose title changes is updated, and not new again.
func TestEditedItem(t *testing.T) {
	s := newSite(t)
	items := news(1, 2)
	s.serve("/feed", "application/rss+xml", rss(items...))
	db := newStore(t)
	addFeeds(t, db, "news", s.URL+"/feed")
	p, clk := newTestPoller(t, db, testConfig())
	pollOne(t, p)

	items = append(items, news(3, 1)...)
	s.serve("/feed", "application/rss+xml", rss(items...))
	clk.Add(5 * time.Minute)
	if r := pollOne(t, p); r.New != 1 {
		t.Fatalf("%+v", r)
	}

	items[2].title = "خبر عاجل رقم 3 من بغداد (محدث)"
	items[0].title = "خبر أول بعنوان مصحح"
	s.serve("/feed", "application/rss+xml", rss(items...))
	clk.Add(5 * time.Minute)
	r := pollOne(t, p)
	if r.New != 0 || r.Updated != 2 || r.Unchanged != 1 {
		t.Fatalf("%+v", r)
	}
	for _, a := range articles(t, db) {
		switch a.GUID {
		case items[2].guid:
			if a.Title != items[2].title || a.Revision != 1 || a.State != nashra.ArticleNew {
				t.Errorf("edited new article %+v", a)
			}
		case items[0].guid:
			if a.Title != items[0].title || a.Revision != 1 || a.State != nashra.ArticleSeen {
				t.Errorf("edited seen article %+v", a)
			}
		}
	}
}

// TestExclusion: categories to exclude match after Arabic normalisation.
func TestExclusion(t *testing.T) {
	s := newSite(t)
	s.serve("/feed", "application/rss+xml", rss(news(1, 1)...))
	db := newStore(t)
	addFeeds(t, db, "news", s.URL+"/feed")
	p, clk := newTestPoller(t, db, testConfig())
	pollOne(t, p)

	items := news(1, 4)
	items[1].categories = []string{"أخبار", "اعلان"}    // no hamza
	items[2].categories = []string{"الإعلان"}           // definite article
	items[3].categories = []string{"محلي", "Sponsored"} // case
	s.serve("/feed", "application/rss+xml", rss(items...))
	clk.Add(5 * time.Minute)
	r := pollOne(t, p)
	if r.Excluded != 3 || r.New != 0 {
		t.Fatalf("%+v", r)
	}
	if got := states(t, db); got[nashra.ArticleExcluded] != 3 {
		t.Errorf("states %v", got)
	}
}

// TestFloodGuard: a poll whose every item is new pushes nothing blindly.
func TestFloodGuard(t *testing.T) {
	tests := []struct {
		action             string
		newN, heldN, seenN int
		says               string
	}{
		{config.FloodHold, 0, 6, 1, "راجعها في /held، وأطلق ما يستحق بـ /release"},
		{config.FloodLatest, 3, 0, 4, "فأُرسل أحدثها (3 مواد)"},
		{config.FloodPush, 6, 0, 1, "فأُرسلت كلها"},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			s := newSite(t)
			s.serve("/feed", "application/rss+xml", rss(news(1, 1)...))
			db := newStore(t)
			addFeeds(t, db, "news", s.URL+"/feed")
			cfg := testConfig()
			cfg.Poll.FloodGuard.Action = tt.action
			p, clk := newTestPoller(t, db, cfg)
			pollOne(t, p)

			// The feed now holds 7 items none of which was seen: one excluded.
			items := news(10, 7)
			items[0].categories = []string{"إعلان"}
			s.serve("/feed", "application/rss+xml", rss(items...))
			clk.Add(5 * time.Minute)
			r := pollOne(t, p)
			if r.New != tt.newN || r.Held != tt.heldN || r.Excluded != 1 {
				t.Fatalf("%+v", r)
			}
			got := states(t, db)
			if got[nashra.ArticleNew] != tt.newN || got[nashra.ArticleHeld] != tt.heldN || got[nashra.ArticleSeen] != tt.seenN {
				t.Errorf("states %v", got)
			}
			if tt.action == config.FloodLatest {
				fresh, _ := db.ArticlesInState(context.Background(), nashra.ArticleNew, 10)
				var titles []string
				for _, a := range fresh {
					titles = append(titles, a.Title)
				}
				slices.Sort(titles)
				if strings.Join(titles, "|") != "خبر عاجل رقم 14 من بغداد|خبر عاجل رقم 15 من بغداد|خبر عاجل رقم 16 من بغداد" {
					t.Errorf("latest let through %q", titles)
				}
			}
			alerts, err := db.UnsentAlerts(context.Background())
			if err != nil || len(alerts) != 1 {
				t.Fatalf("alerts %v, %v", alerts, err)
			}
			a := alerts[0]
			if a.Kind != AlertFloodGuard || a.Subject != s.URL+"/feed" || !strings.Contains(a.Message, tt.says) ||
				!strings.Contains(a.Message, "قسم «أخبار» دفعة واحدة من 7 مواد") {
				t.Errorf("alert %+v", a)
			}
		})
	}

	t.Run("not every item new", func(t *testing.T) {
		s := newSite(t)
		s.serve("/feed", "application/rss+xml", rss(news(1, 1)...))
		db := newStore(t)
		addFeeds(t, db, "news", s.URL+"/feed")
		p, clk := newTestPoller(t, db, testConfig())
		pollOne(t, p)
		s.serve("/feed", "application/rss+xml", rss(news(1, 8)...))
		clk.Add(5 * time.Minute)
		if r := pollOne(t, p); r.New != 7 || r.Held != 0 {
			t.Fatalf("%+v", r)
		}
	})
}

// value reads a counter or a gauge.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue() + d.GetGauge().GetValue()
}

// spyStore is the real store, with the alerts raised written down.
type spyStore struct {
	*store.DB
	mu     sync.Mutex
	raised []nashra.Alert
}

func (s *spyStore) RaiseAlert(ctx context.Context, a nashra.Alert) (bool, error) {
	s.mu.Lock()
	s.raised = append(s.raised, a)
	s.mu.Unlock()
	return s.DB.RaiseAlert(ctx, a)
}

func (s *spyStore) kinds() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var k []string
	for _, a := range s.raised {
		k = append(k, a.Kind)
	}
	return k
}

// TestStaleAlert: a feed that answers with nothing new is reported once,
// when it crosses the threshold, and counted in the gauge until it wakes.
func TestStaleAlert(t *testing.T) {
	s := newSite(t)
	s.serve("/feed", "application/rss+xml", rss(news(1, 1)...))
	spy := &spyStore{DB: newStore(t)}
	addFeeds(t, spy.DB, "caricature", s.URL+"/feed")
	cfg := testConfig()
	cfg.Poll.StaleAfter = config.Duration(2 * time.Hour)
	p, clk := newTestPoller(t, spy, cfg)
	pollOne(t, p) // baseline at t0

	for _, step := range []struct {
		at     time.Duration
		alerts int
		gauge  float64
	}{{time.Hour, 0, 0}, {2*time.Hour + time.Minute, 1, 1}, {3 * time.Hour, 1, 1}, {9 * time.Hour, 1, 1}} {
		clk.t = t0.Add(step.at)
		pollOne(t, p)
		if got := len(spy.kinds()); got != step.alerts {
			t.Errorf("at +%s: %d alerts %v, want %d", step.at, got, spy.kinds(), step.alerts)
		}
		if g := value(t, p.metrics.stale); g != step.gauge {
			t.Errorf("at +%s: gauge %v, want %v", step.at, g, step.gauge)
		}
	}
	if a := spy.raised[0]; a.Kind != AlertStale || !strings.Contains(a.Message, "لا جديد فيها منذ ساعتين") {
		t.Errorf("alert %+v", a)
	}

	s.serve("/feed", "application/rss+xml", rss(news(1, 2)...))
	clk.Add(time.Hour)
	pollOne(t, p)
	if g := value(t, p.metrics.stale); g != 0 {
		t.Errorf("gauge %v after news", g)
	}
}

// TestFailingAlert: an hour of failures, counted from the last success or,
// for a feed that never worked, from its first failure, is reported once.
func TestFailingAlert(t *testing.T) {
	for _, succeededFirst := range []bool{true, false} {
		name := "never succeeded"
		if succeededFirst {
			name = "after a success"
		}
		t.Run(name, func(t *testing.T) {
			s := newSite(t)
			s.serve("/feed", "application/rss+xml", rss(news(1, 1)...))
			spy := &spyStore{DB: newStore(t)}
			addFeeds(t, spy.DB, "news", s.URL+"/feed")
			p, clk := newTestPoller(t, spy, testConfig())
			if succeededFirst {
				pollOne(t, p)
			}
			s.handle("/feed", func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "down", http.StatusBadGateway)
			})
			for _, step := range []struct {
				at     time.Duration
				alerts int
			}{{0, 0}, {20 * time.Minute, 0}, {50 * time.Minute, 0}, {70 * time.Minute, 1}, {3 * time.Hour, 1}} {
				clk.t = t0.Add(step.at + time.Second)
				if r := pollOne(t, p); r.Err == nil {
					t.Fatal("no error")
				}
				if got := len(spy.kinds()); got != step.alerts {
					t.Errorf("at +%s: alerts %v", step.at, spy.kinds())
				}
			}
			a := spy.raised[0]
			if a.Kind != AlertFailing || a.Subject != s.URL+"/feed" || strings.Contains(a.Message, "Bad Gateway") ||
				!strings.Contains(a.Message, "لا يصل جديد قسم «أخبار» منذ ساعة واحدة: الموقع يجيب بخطأ في خادمه (502)") ||
				!strings.Contains(a.Message, "/feeds") {
				t.Errorf("alert %+v", a)
			}
			if f := onlyFeed(t, spy.DB); f.ErrorCount < 4 {
				t.Errorf("error count %d", f.ErrorCount)
			}
			// Back: the editors are told, once, when they were told it failed.
			s.serve("/feed", "application/rss+xml", rss(news(1, 1)...))
			for range 2 {
				clk.t = clk.t.Add(5 * time.Minute)
				pollOne(t, p)
			}
			if got := spy.kinds(); !slices.Equal(got, []string{AlertFailing, AlertRecovered}) {
				t.Fatalf("alerts %v, want the failure then the recovery", got)
			}
			if m := spy.raised[1].Message; !strings.Contains(m, "عاد قسم «أخبار» يصل جديده بعد انقطاع دام") {
				t.Errorf("recovery %q", m)
			}
		})
	}
}

// TestWorkers: no more than Workers fetches run at once.
func TestWorkers(t *testing.T) {
	s := newSite(t)
	var inFlight, peak atomic.Int32
	var slugURL []string
	for i := range 9 {
		path := "/feed" + string(rune('a'+i))
		s.handle(path, func(w http.ResponseWriter, r *http.Request) {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				old := peak.Load()
				if n <= old || peak.CompareAndSwap(old, n) {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
			w.Write(rss(news(i*10, 1)...))
		})
		slugURL = append(slugURL, "s"+string(rune('a'+i)), s.URL+path)
	}
	db := newStore(t)
	addFeeds(t, db, slugURL...)
	cfg := testConfig()
	cfg.Poll.Workers = 3
	p, _ := newTestPoller(t, db, cfg)
	rs, err := p.PollAll(context.Background())
	if err != nil || len(rs) != 9 {
		t.Fatalf("%d results, %v", len(rs), err)
	}
	if got := peak.Load(); got > 3 || got < 2 {
		t.Errorf("peak concurrency %d, want at most 3", got)
	}
}

// TestRegister: the scheduled job polls, on its own.
func TestRegister(t *testing.T) {
	s := newSite(t)
	s.serve("/feed", "application/rss+xml", rss(news(1, 2)...))
	db := newStore(t)
	addFeeds(t, db, "news", s.URL+"/feed")
	p, err := NewPoller(db, testConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := gocron.NewScheduler()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Register(sched); err != nil {
		t.Fatal(err)
	}
	sched.Start()
	defer sched.Shutdown()
	deadline := time.Now().Add(5 * time.Second)
	for onlyFeed(t, db).BaselinedAt.IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("the job never polled")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDuplicateItems: a feed listing an item twice, by GUID or by link,
// stores it once instead of failing the whole poll.
func TestDuplicateItems(t *testing.T) {
	items := news(1, 3)
	sameGUID := items[0]
	sameGUID.link = "https://almaalouma.net/2025/02/20/other/"
	sameLink := items[1]
	sameLink.guid = "https://almaalouma.net/?p=999999"
	s := newSite(t)
	s.serve("/feed", "application/rss+xml", rss(append(items, sameGUID, sameLink)...))
	db := newStore(t)
	addFeeds(t, db, "news", s.URL+"/feed")
	p, _ := newTestPoller(t, db, testConfig())
	if r := pollOne(t, p); r.Err != nil || r.Items != 3 || r.Seen != 3 {
		t.Fatalf("%+v", r)
	}
	if n := len(articles(t, db)); n != 3 {
		t.Errorf("%d articles, want 3", n)
	}
}
