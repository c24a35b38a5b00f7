package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/store/sqlitetest"
)

// openStore opens a migrated store in a temporary folder, with one article
// in section news.
func openStore(t testing.TB) (*store.DB, int64) {
	t.Helper()
	db := sqlitetest.Open(t, nashra.Section{Slug: "news", Name: "أخبار"})
	res, err := db.SaveItems(context.Background(), "news", []nashra.Article{{GUID: "g1", Link: articleURL, Title: "خبر"}}, time.Now(),
		func(fresh []*nashra.Article) { fresh[0].State = nashra.ArticleNew })
	if err != nil {
		t.Fatal(err)
	}
	return db, res.New[0]
}

// Clicks are counted once per reader: per subscriber for personal email
// links, per visitor (address and agent) per day otherwise; previews,
// crawlers, scripts, prefetches and HEAD requests are redirected but never
// counted.
func TestClickCounting(t *testing.T) {
	db, id := openStore(t)
	h := newHarness(t, tracking(func(c *config.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }), db)
	tg := "/r/" + h.token(links.Link{ArticleID: id, Medium: nashra.MediumTelegram})
	mail := "/r/" + h.token(links.Link{ArticleID: id, Medium: nashra.MediumEmail, SubscriberID: 9})
	click := func(method, path, peer, ua string, header ...string) {
		t.Helper()
		r := httptest.NewRequest(method, path, nil)
		r.RemoteAddr = peer
		r.Header.Set("User-Agent", ua)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		if w := h.do(r); w.Code != http.StatusFound || w.Header().Get("Location") != articleURL {
			t.Fatalf("%s %s from %s (%s) = %d %q", method, path, peer, ua, w.Code, w.Header().Get("Location"))
		}
	}
	const (
		firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
		tgApp   = "Mozilla/5.0 (Linux; Android 14; SM-A546E Build/UP1A; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0 Mobile Safari/537.36 Telegram-Android/11.2.3"
	)
	// Counted: 4 unique readers, 6 clicks.
	click("GET", tg, "203.0.113.1:1", browserUA)
	click("GET", tg, "203.0.113.1:2", browserUA)                             // the same visitor again
	click("GET", tg, "203.0.113.1:3", firefox)                               // same address, another browser
	click("GET", tg, "10.0.0.5:4", tgApp, "X-Forwarded-For", "198.51.100.4") // behind the proxy
	click("GET", mail, "203.0.113.2:1", browserUA)
	click("GET", mail, "198.51.100.99:1", firefox) // the same subscriber on another device
	// Not counted.
	for _, ua := range []string{
		"", "TelegramBot (like TwitterBot)", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		"WhatsApp/2.23.20.0 A", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
		"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", "Twitterbot/1.0",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) SkypeUriPreview Preview/0.5",
		"curl/8.5.0", "Wget/1.21", "python-requests/2.31", "Go-http-client/1.1",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36",
		"Mozilla/5.0 (compatible; YandexSpider/3.0)", "LinkedInBot/1.0", "Applebot/0.1",
	} {
		click("GET", tg, "203.0.113.50:1", ua)
	}
	click("HEAD", tg, "203.0.113.60:1", browserUA)
	click("HEAD", mail, "203.0.113.61:1", browserUA)
	click("GET", tg, "203.0.113.62:1", browserUA, "Sec-Purpose", "prefetch;prerender")
	click("GET", tg, "203.0.113.63:1", firefox, "X-Moz", "prefetch")
	h.flush()
	byMedium, err := db.ClicksByMedium(context.Background(), h.now.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got := map[nashra.Medium]store.MediumClicks{}
	for _, m := range byMedium {
		got[m.Medium] = m
	}
	if g := got["telegram"]; g.Uniques != 3 || g.Clicks != 4 {
		t.Errorf("telegram: %d unique of %d, want 3 of 4", g.Uniques, g.Clicks)
	}
	if g := got["email"]; g.Uniques != 1 || g.Clicks != 2 {
		t.Errorf("email: %d unique of %d, want 1 of 2", g.Uniques, g.Clicks)
	}
	if len(got) != 2 {
		t.Errorf("media counted: %+v", byMedium)
	}
	for outcome, want := range map[string]float64{clickBot: 18, clickHead: 2, clickPrefetch: 2, clickQueued: 6} {
		if v := counterValue(t, h.tr.m.clicks.WithLabelValues(outcome)); v != want {
			t.Errorf("nashra_clicks_total{outcome=%q} = %v, want %v", outcome, v, want)
		}
	}
}

// One client cannot be many readers: 200 clicks from one address with 200
// user agents, or from 30 addresses of one IPv6 /48, count as the
// network's cap, and the rest as capped, never stored; a private chat's
// link counts its reader once from wherever it is opened.
func TestOneClientCannotBeManyReaders(t *testing.T) {
	db, id := openStore(t)
	h := newHarness(t, tracking(func(c *config.Config) { c.Tracking.NetworkCap = 10 }), db)
	channel := "/r/" + h.token(links.Link{ArticleID: id, Medium: nashra.MediumChannel})
	click := func(path, peer, ua string) {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr, r.Header["User-Agent"] = peer, []string{ua}
		if w := h.do(r); w.Code != http.StatusFound {
			t.Fatalf("%s from %s = %d", path, peer, w.Code)
		}
	}
	for i := range 200 {
		click(channel, "203.0.113.9:4000", fmt.Sprintf("Mozilla/5.0 (Linux; Android 14; SM-A%03d) Chrome/126.0 Mobile Safari/537.36", i))
	}
	for i := range 30 {
		click(channel, fmt.Sprintf("[2001:db8:7:%x::1]:4000", i), browserUA)
	}
	private := "/r/" + h.token(links.Link{ArticleID: id, Medium: nashra.MediumTelegram, ChatID: 1009})
	for i := range 50 {
		click(private, fmt.Sprintf("198.51.%d.7:4000", i), fmt.Sprintf("Telegram-Android/11.%d", i))
	}
	h.flush()
	byMedium, err := db.ClicksByMedium(context.Background(), h.now)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.MediumClicks{{Medium: "channel", Uniques: 20, Clicks: 20, Capped: 210}, {Medium: "telegram", Uniques: 1, Clicks: 50}}
	if !slices.Equal(byMedium, want) {
		t.Fatalf("by medium = %+v, want %+v", byMedium, want)
	}
	if v := counterValue(t, h.tr.m.recorded.WithLabelValues("capped")); v != 210 {
		t.Errorf("nashra_clicks_recorded_total{kind=\"capped\"} = %v, want 210", v)
	}
}

// The same visitor is a new reader the next day: the key rotates daily.
func TestVisitorIsUniquePerDay(t *testing.T) {
	db, id := openStore(t)
	h := newHarness(t, tracking(nil), db)
	path := "/r/" + h.token(links.Link{ArticleID: id, Medium: nashra.MediumWeb})
	h.get(path)
	h.get(path)
	h.now = h.now.Add(24 * time.Hour)
	h.get(path)
	h.flush()
	bs, err := db.ClickBuckets(context.Background(), h.now.Add(-48*time.Hour), h.now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, b := range bs {
		total += b.Uniques
	}
	if total != 2 {
		t.Fatalf("%d unique clicks over two days, want 2", total)
	}
	v := newVisitorKeys([]byte(testSecret))
	d1 := v.hash(h.now, "203.0.113.1", browserUA)
	if v.hash(h.now.Add(time.Minute), "203.0.113.1", browserUA) != d1 {
		t.Error("the visitor hash changed within a day")
	}
	if v.hash(h.now.Add(24*time.Hour), "203.0.113.1", browserUA) == d1 {
		t.Error("the visitor hash did not change the next day")
	}
}

// Mail scanners open every link as a message arrives: clicks on an email
// link within ScannerWindow of its sending are not counted.
func TestEmailScannerWindow(t *testing.T) {
	st := &fakeLinks{links: map[int64]string{42: articleURL}}
	h := newHarness(t, tracking(func(c *config.Config) { c.Tracking.ScannerWindow = config.Duration(30 * time.Second) }), st)
	sent := h.now.Add(-5 * time.Second)
	early := "/r/" + h.token(links.Link{ArticleID: 42, Medium: nashra.MediumEmail, SubscriberID: 1, SentAt: sent})
	if w := h.get(early); w.Code != http.StatusFound {
		t.Fatalf("scanner click = %d, want a redirect all the same", w.Code)
	}
	h.now = h.now.Add(time.Minute)
	h.get(early) // the reader, later
	h.flush()
	if got := st.recorded(); len(got) != 1 || got[0].Reader != "s:1" || got[0].Medium != "email" {
		t.Fatalf("recorded %+v, want the reader's click only", got)
	}
	if v := counterValue(t, h.tr.m.clicks.WithLabelValues(clickScanner)); v != 1 {
		t.Fatalf("scanner clicks = %v", v)
	}
}

// With tracking off, tokens already sent keep redirecting and nothing is
// counted.
func TestTrackingOffStillRedirects(t *testing.T) {
	st := &fakeLinks{links: map[int64]string{42: articleURL}}
	h := newHarness(t, tracking(func(c *config.Config) { c.Tracking.Enabled = false }), st)
	if w := h.get("/r/" + h.token(links.Link{ArticleID: 42, Medium: nashra.MediumChannel})); w.Code != http.StatusFound {
		t.Fatalf("= %d", w.Code)
	}
	h.flush()
	if n := len(st.recorded()); n != 0 {
		t.Fatalf("%d clicks recorded with tracking off", n)
	}
}

// A full buffer drops the count, never the reader.
func TestFullBufferDropsCountsNotRedirects(t *testing.T) {
	st := &fakeLinks{links: map[int64]string{42: articleURL}}
	h := newHarness(t, tracking(func(c *config.Config) { c.Tracking.Buffer = 2 }), st)
	path := "/r/" + h.token(links.Link{ArticleID: 42, Medium: nashra.MediumTelegram})
	for i := range 5 {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), 1).String()
		if w := h.do(r); w.Code != http.StatusFound {
			t.Fatalf("click %d = %d", i, w.Code)
		}
	}
	if v := counterValue(t, h.tr.m.clicks.WithLabelValues(clickDropped)); v != 3 {
		t.Fatalf("dropped = %v, want 3", v)
	}
	h.flush()
	if n := len(st.recorded()); n != 2 {
		t.Fatalf("recorded %d, want the 2 buffered", n)
	}
}

// Clicks are written in batches by the single writer: a full batch at
// once, the rest after FlushInterval.
func TestClicksAreWrittenInBatches(t *testing.T) {
	st := &fakeLinks{links: map[int64]string{42: articleURL}}
	h := newHarness(t, tracking(func(c *config.Config) {
		c.Tracking.BatchSize, c.Tracking.FlushInterval = 3, config.Duration(50*time.Millisecond)
	}), st)
	h.tr.Start()
	t.Cleanup(func() { h.tr.Close(context.Background()) })
	path := "/r/" + h.token(links.Link{ArticleID: 42, Medium: nashra.MediumTelegram})
	for i := range 4 {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), 1).String()
		h.do(r)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(st.recorded()) < 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(st.recorded()); n != 4 {
		t.Fatalf("recorded %d of 4 clicks", n)
	}
}
