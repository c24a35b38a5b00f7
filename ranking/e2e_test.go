package ranking

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/web"
)

const browser = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

// clickSite is a real web server on loopback serving tracked links from a
// real store, behind a trusted proxy, and a client clicking them.
type clickSite struct {
	t       *testing.T
	links   *links.Builder
	srv     *web.Server
	tracker *web.Tracker
	client  *http.Client
}

func startClickSite(t *testing.T, db *store.DB) *clickSite {
	t.Helper()
	ctx := context.Background()
	secret := []byte("e2e secret")
	log := slog.New(slog.DiscardHandler)
	cfg := config.Defaults()
	cfg.Tracking.FlushInterval = config.Duration(10 * time.Millisecond)
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	tracker, err := web.NewTracker(cfg, secret, db, web.WithTrackerLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Options{Addr: "127.0.0.1:0", Store: db, Gatherer: prometheus.NewRegistry(), Logger: log})
	tracker.Register(srv)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	tracker.Start()
	t.Cleanup(func() { srv.Shutdown(ctx); tracker.Close(ctx) })
	signer, err := links.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	return &clickSite{t: t, links: links.NewBuilder("http://"+srv.Addrs()[0].String(), signer, true), srv: srv, tracker: tracker,
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// click opens link as the client visitor (X-Forwarded-For) with user agent
// ua, and wants the redirect.
func (c *clickSite) click(method, link, visitor, ua string) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, link, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("X-Forwarded-For", visitor)
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		c.t.Fatalf("%s %s = %d", method, link, resp.StatusCode)
	}
}

// stop stops taking clicks and writes those queued: what the ranking
// reads next is exactly what was clicked.
func (c *clickSite) stop() {
	c.t.Helper()
	ctx := context.Background()
	if err := c.srv.Shutdown(ctx); err != nil {
		c.t.Fatal(err)
	}
	if err := c.tracker.Close(ctx); err != nil {
		c.t.Fatal(err)
	}
}

// End to end: a real store, a real web server on loopback, real HTTP
// clicks on the links nashra would send; the clicks change the order of
// /top and of the digest's picks, and only honest clicks count.
func TestClicksChangeTopAndDigest(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	now := time.Now()
	art := func(section, slug string, age time.Duration) nashra.Article {
		id := addArticle(t, db, section, "https://almaalouma.net/"+slug+"/", slug, now.Add(-age))
		a, err := db.Article(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	n1 := art("news", "n1", 5*time.Hour)
	n2 := art("news", "n2", 4*time.Hour)
	a1 := art("articles", "a1", 3*time.Hour)
	a2 := art("articles", "a2", 2*time.Hour)
	n3 := art("news", "n3", time.Hour)
	old := art("news", "old", 30*time.Hour)

	site := startClickSite(t, db)
	links, click := site.links, site.click
	r := newRanker(t, withoutSite(), db, time.Now)

	ids := func(as []nashra.Article) []int64 {
		var out []int64
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	picks := func(sel Selection) string {
		s := fmt.Sprintf("lead %d;", sel.Lead.ID)
		for _, p := range sel.Sections {
			s += " " + p.Section + ":"
			for _, a := range p.Articles {
				s += fmt.Sprint(" ", a.ID)
			}
		}
		return s
	}

	// No clicks yet: the latest, and said so.
	top, mostFollowed, err := r.Top(ctx, "", 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{n3.ID, a2.ID, a1.ID, n2.ID, n1.ID}; !slices.Equal(ids(top), want) || mostFollowed {
		t.Fatalf("before clicks: %v mostFollowed=%v, want %v false", ids(top), mostFollowed, want)
	}
	sel, err := r.Digest(ctx, time.Time{}, []string{"news", "articles"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("lead %d; news: %d %d articles: %d %d", n3.ID, n2.ID, n1.ID, a2.ID, a1.ID)
	if got := picks(sel); got != want || sel.MostFollowed {
		t.Fatalf("digest before clicks: %q mostFollowed=%v, want %q false", got, sel.MostFollowed, want)
	}

	for i := range 3 { // n1: three readers from a channel post
		click("GET", links.Article(n1, "channel"), fmt.Sprint("198.51.100.", i+1), browser)
	}
	for sub := range int64(2) { // a1: two email subscribers, each twice
		for range 2 {
			click("GET", links.Email(a1, sub+1, now.Add(-time.Hour)), "203.0.113.9", browser)
		}
	}
	for range 5 { // n2: one reader, five times
		click("GET", links.Article(n2, "telegram"), "198.51.100.50", browser)
	}
	for i := range 10 { // not counted: previews, HEAD, scanners, and an article outside the window
		click("GET", links.Article(n3, "telegram"), fmt.Sprint("203.0.113.", 100+i), "TelegramBot (like TwitterBot)")
		click("HEAD", links.Article(a2, "channel"), fmt.Sprint("203.0.113.", 100+i), browser)
		click("GET", links.Email(a2, int64(100+i), time.Now()), "203.0.113.7", browser)
		click("GET", links.Article(old, "web"), fmt.Sprint("203.0.113.", 100+i), browser)
	}
	site.stop()

	top, mostFollowed, err = r.Top(ctx, "", 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{n1.ID, a1.ID, n2.ID, n3.ID, a2.ID}; !slices.Equal(ids(top), want) || !mostFollowed {
		t.Fatalf("after clicks: %v mostFollowed=%v, want %v true", ids(top), mostFollowed, want)
	}
	news, _, err := r.Top(ctx, "news", 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{n1.ID, n2.ID, n3.ID}; !slices.Equal(ids(news), want) {
		t.Fatalf("news after clicks: %v, want %v", ids(news), want)
	}
	sel, err = r.Digest(ctx, time.Time{}, []string{"news", "articles"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	want = fmt.Sprintf("lead %d; news: %d %d articles: %d %d", n1.ID, n2.ID, n3.ID, a1.ID, a2.ID)
	if got := picks(sel); got != want || !sel.MostFollowed || !sel.Sections[1].MostFollowed {
		t.Fatalf("digest after clicks: %q mostFollowed=%v, want %q true", got, sel.MostFollowed, want)
	}
	if sel.Lead.Uniques != 3 {
		t.Fatalf("lead has %d unique clicks, want 3", sel.Lead.Uniques)
	}

	stats, err := r.Stats(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	byMedium := map[nashra.Medium][2]int{}
	for _, m := range stats.ByMedium {
		byMedium[m.Medium] = [2]int{m.Uniques, m.Clicks}
	}
	wantMedium := map[nashra.Medium][2]int{"channel": {3, 3}, "email": {2, 4}, "telegram": {1, 5}, "web": {10, 10}}
	if fmt.Sprint(byMedium) != fmt.Sprint(wantMedium) {
		t.Fatalf("clicks by medium %v, want %v", byMedium, wantMedium)
	}
	if len(stats.Top) != 3 || stats.Top[0].ID != n1.ID || !stats.MostFollowed {
		t.Fatalf("stats top: %+v", stats.Top)
	}
}

// One client faking 200 readers of a channel post — 200 requests from one
// address, each with another user agent — counts as its network's cap, and
// its article does not lead /top over one that 12 readers of 12 networks
// opened; a reader opening their private chat's link from 30 places counts
// once.
func TestOneClientCannotLeadTop(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	now := time.Now()
	art := func(slug string) nashra.Article {
		a, err := db.Article(ctx, addArticle(t, db, "news", "https://almaalouma.net/"+slug+"/", slug, now.Add(-time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	bought, read, forwarded := art("bought"), art("read"), art("forwarded")
	site := startClickSite(t, db)
	for i := range 200 {
		site.click("GET", site.links.Article(bought, "channel"), "203.0.113.9",
			fmt.Sprintf("Mozilla/5.0 (Linux; Android 14; SM-A%03d) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36", i))
	}
	for i := range 12 {
		site.click("GET", site.links.Article(read, "channel"), fmt.Sprintf("198.51.%d.20", i), browser)
	}
	for i := range 30 {
		site.click("GET", site.links.Post(forwarded, "telegram", 1009), fmt.Sprintf("192.0.%d.5", i), browser)
	}
	site.stop()
	r := newRanker(t, withoutSite(), db, time.Now)
	top, mostFollowed, err := r.Top(ctx, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 3 || top[0].ID != read.ID || top[1].ID != bought.ID || top[2].ID != forwarded.ID || !mostFollowed {
		t.Fatalf("/top: %v, want %d (12 readers) before %d (one client) before %d (one reader)",
			[]int64{top[0].ID, top[1].ID, top[2].ID}, read.ID, bought.ID, forwarded.ID)
	}
	res, err := r.Rank(ctx, "", time.Time{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	uniques := map[int64]int{}
	for _, a := range res.Articles {
		uniques[a.ID] = a.Uniques
	}
	if uniques[bought.ID] != 10 || uniques[read.ID] != 12 || uniques[forwarded.ID] != 1 {
		t.Fatalf("unique readers %v", uniques)
	}
	stats, err := r.Stats(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range stats.ByMedium {
		if m.Medium == "channel" && m.Capped != 190 {
			t.Fatalf("channel clicks %+v, want 190 capped", m)
		}
	}
}

// Old clicks weigh less: the same number of unique clicks, hours apart,
// ranks the fresher first, through the store's hourly buckets.
func TestDecayThroughTheStore(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	early := addArticle(t, db, "news", "https://almaalouma.net/early/", "early", now.Add(-10*time.Hour))
	late := addArticle(t, db, "news", "https://almaalouma.net/late/", "late", now.Add(-11*time.Hour))
	var cs []nashra.Click
	for i := range 4 {
		cs = append(cs,
			nashra.Click{ArticleID: early, Medium: "telegram", Reader: fmt.Sprint("v:e", i), At: now.Add(-9 * time.Hour)},
			nashra.Click{ArticleID: late, Medium: "telegram", Reader: fmt.Sprint("v:l", i), At: now.Add(-time.Hour)})
	}
	if _, err := db.RecordClicks(ctx, cs, 0); err != nil {
		t.Fatal(err)
	}
	cfg := withoutSite()
	cfg.Ranking.HalfLife = config.Duration(3 * time.Hour)
	r := newRanker(t, cfg, db, func() time.Time { return now })
	res, err := r.Rank(ctx, "", time.Time{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Articles[0].ID != late || res.Articles[0].Score <= 2*res.Articles[1].Score {
		t.Fatalf("%+v", res.Articles)
	}
	// A digest for an earlier day sees that day's window only.
	res, err = r.Rank(ctx, "", now.Add(-5*time.Hour), 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Articles[0].ID != early || res.Articles[0].Uniques != 4 || res.Articles[1].Uniques != 0 {
		t.Fatalf("earlier window: %+v", res.Articles)
	}
}
