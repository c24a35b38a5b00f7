package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/store"
)

const testSecret = "nashra test secret"

// fakeLinks is a TrackingStore in memory.
type fakeLinks struct {
	mu      sync.Mutex
	links   map[int64]string
	lookups int
	clicks  []nashra.Click
}

func (f *fakeLinks) ArticleLink(_ context.Context, id int64) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	link, ok := f.links[id]
	if !ok {
		return "", store.ErrNotFound
	}
	return link, nil
}

func (f *fakeLinks) RecordClicks(_ context.Context, cs []nashra.Click, _ int) (store.ClickResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clicks = append(f.clicks, cs...)
	return store.ClickResult{Unique: len(cs)}, nil
}

func (f *fakeLinks) recorded() []nashra.Click {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]nashra.Click(nil), f.clicks...)
}

// trackerHarness routes requests through a Server's mux to a Tracker, as
// in production, without a listener.
type trackerHarness struct {
	t      *testing.T
	srv    *Server
	tr     *Tracker
	signer *links.Signer
	now    time.Time
}

// tracking is the default configuration, changed by set when it is not
// nil.
func tracking(set func(c *config.Config)) *config.Config {
	c := config.Defaults()
	if set != nil {
		set(c)
	}
	return c
}

func newHarness(t *testing.T, cfg *config.Config, st TrackingStore) *trackerHarness {
	t.Helper()
	h := &trackerHarness{t: t, now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	tr, err := NewTracker(cfg, []byte(testSecret), st, WithTrackerLogger(slog.New(slog.DiscardHandler)),
		WithTrackerClock(func() time.Time { return h.now }))
	if err != nil {
		t.Fatal(err)
	}
	h.tr = tr
	h.srv = New(Options{Store: &fakeStore{}, Gatherer: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler)})
	tr.Register(h.srv)
	if h.signer, err = links.NewSigner([]byte(testSecret)); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *trackerHarness) token(l links.Link) string { return h.signer.Sign(l) }

func (h *trackerHarness) do(r *http.Request) *httptest.ResponseRecorder {
	if _, set := r.Header["User-Agent"]; !set {
		r.Header.Set("User-Agent", browserUA)
	}
	if r.RemoteAddr == "" || r.RemoteAddr == "192.0.2.1:1234" {
		r.RemoteAddr = "198.51.100.7:5555"
	}
	w := httptest.NewRecorder()
	h.srv.handler().ServeHTTP(w, r)
	return w
}

func (h *trackerHarness) get(path string) *httptest.ResponseRecorder {
	return h.do(httptest.NewRequest(http.MethodGet, path, nil))
}

// flush writes what the tracker queued, as Close does.
func (h *trackerHarness) flush() {
	h.t.Helper()
	if err := h.tr.Close(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

const browserUA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"

const articleURL = "https://almaalouma.net/%d8%a7%d8%ae%d8%a8%d8%a7%d8%b1/"

func counterValue(t testing.TB, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestRedirectToStoredLink(t *testing.T) {
	st := &fakeLinks{links: map[int64]string{42: articleURL}}
	h := newHarness(t, tracking(nil), st)
	w := h.get("/r/" + h.token(links.Link{ArticleID: 42, Medium: nashra.MediumChannel}))
	if w.Code != http.StatusFound || w.Header().Get("Location") != articleURL {
		t.Fatalf("GET = %d Location %q", w.Code, w.Header().Get("Location"))
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
	// An article that is gone: a valid token, but nowhere to go.
	w = h.get("/r/" + h.token(links.Link{ArticleID: 7, Medium: nashra.MediumChannel}))
	if w.Code != http.StatusNotFound || w.Header().Get("Location") != "" {
		t.Fatalf("unknown article = %d Location %q", w.Code, w.Header().Get("Location"))
	}
	w = h.do(httptest.NewRequest(http.MethodPost, "/r/"+h.token(links.Link{ArticleID: 42, Medium: nashra.MediumWeb}), nil))
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Location") != "" {
		t.Fatalf("POST = %d Location %q", w.Code, w.Header().Get("Location"))
	}
}

// Any change to a token — every position, to every other character — is a
// 404 with no Location, and counts nothing.
func TestTamperedTokensGoNowhere(t *testing.T) {
	st := &fakeLinks{links: map[int64]string{42: articleURL, 43: articleURL + "x"}}
	h := newHarness(t, tracking(nil), st)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for _, l := range []links.Link{
		{ArticleID: 42, Medium: nashra.MediumTelegram},
		{ArticleID: 42, Medium: nashra.MediumEmail, SubscriberID: 3, SentAt: time.Unix(1_700_000_000, 0)},
	} {
		tok := h.token(l)
		for i := range len(tok) {
			for _, c := range []byte(alphabet) {
				if c == tok[i] {
					continue
				}
				w := h.get("/r/" + tok[:i] + string(c) + tok[i+1:])
				if w.Code != http.StatusNotFound || w.Header().Get("Location") != "" {
					t.Fatalf("token %q with position %d changed to %q: %d Location %q", tok, i, c, w.Code, w.Header().Get("Location"))
				}
			}
		}
	}
	for _, path := range []string{"/r/", "/r/x", "/r/" + strings.Repeat("A", 400), "/r/%00%01"} {
		if w := h.get(path); w.Code != http.StatusNotFound || w.Header().Get("Location") != "" {
			t.Errorf("%s = %d Location %q", path, w.Code, w.Header().Get("Location"))
		}
	}
	h.flush()
	if n := len(st.recorded()); n != 0 {
		t.Fatalf("%d clicks counted from bad tokens", n)
	}
	if st.lookups != 0 {
		t.Fatalf("bad tokens read the store %d times", st.lookups)
	}
}

// A token signed when the format was made still redirects: channel posts
// stay readable for years. (The same token is checked in links.)
func TestOldTokenStillRedirects(t *testing.T) {
	st := &fakeLinks{links: map[int64]string{75535: articleURL}}
	h := newHarness(t, tracking(nil), st)
	h.now = time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)
	w := h.get("/r/A4_OBEvd1pw2-80C")
	if w.Code != http.StatusFound || w.Header().Get("Location") != articleURL {
		t.Fatalf("old token = %d Location %q", w.Code, w.Header().Get("Location"))
	}
}

// Nothing the request carries — query, path, Host, forwarding headers —
// changes where a tracked link goes.
func TestNoURLFromTheRequestIsFollowed(t *testing.T) {
	st := &fakeLinks{links: map[int64]string{42: articleURL}}
	h := newHarness(t, tracking(func(c *config.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")} }), st)
	tok := h.token(links.Link{ArticleID: 42, Medium: nashra.MediumTelegram})
	const evil = "https://evil.example/phish"
	for _, tc := range []struct {
		name   string
		path   string
		header map[string]string
		host   string
	}{
		{name: "query parameters", path: "/r/" + tok + "?url=" + evil + "&next=" + evil + "&redirect=" + evil + "&to=//evil.example"},
		{name: "path suffix", path: "/r/" + tok + "/" + evil},
		{name: "encoded path suffix", path: "/r/" + tok + "%2F%2Fevil.example"},
		{name: "double slash", path: "/r/" + tok + "//evil.example"},
		{name: "fragment-like", path: "/r/" + tok + "%23" + "https:%2F%2Fevil.example"},
		{name: "Host header", path: "/r/" + tok, host: "evil.example"},
		{name: "forwarding headers", path: "/r/" + tok, header: map[string]string{
			"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "javascript", "X-Original-URL": evil,
			"X-Rewrite-URL": evil, "Forwarded": "host=evil.example;proto=https", "Referer": evil,
			"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Prefix": "//evil.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.host != "" {
				r.Host = tc.host
			}
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			// The mux may answer with its own redirect to the cleaned path:
			// follow those, which must stay on this host, to the end.
			w := h.do(r)
			for hops := 0; (w.Code == http.StatusMovedPermanently || w.Code == http.StatusTemporaryRedirect) && hops < 3; hops++ {
				loc := w.Header().Get("Location")
				if !strings.HasPrefix(loc, "/r/") || strings.HasPrefix(loc, "//") {
					t.Fatalf("%d to %q leaves nashra", w.Code, loc)
				}
				w = h.get(loc)
			}
			loc := w.Header().Get("Location")
			switch w.Code {
			case http.StatusFound:
				if loc != articleURL {
					t.Fatalf("302 to %q, want %q", loc, articleURL)
				}
			case http.StatusNotFound:
				if loc != "" {
					t.Fatalf("404 with Location %q", loc)
				}
			default:
				t.Fatalf("%d Location %q", w.Code, loc)
			}
			if strings.Contains(w.Body.String(), "evil") {
				t.Fatalf("response mentions the request's URL: %q", w.Body.String())
			}
		})
	}
}

// A link stored as something other than a web URL is never followed.
func TestNonWebStoredLinkIsRefused(t *testing.T) {
	st := &fakeLinks{links: map[int64]string{42: "javascript:alert(1)"}}
	h := newHarness(t, tracking(nil), st)
	w := h.get("/r/" + h.token(links.Link{ArticleID: 42, Medium: nashra.MediumWeb}))
	if w.Code != http.StatusNotFound || w.Header().Get("Location") != "" {
		t.Fatalf("%d Location %q", w.Code, w.Header().Get("Location"))
	}
}

func TestLinksAreCached(t *testing.T) {
	st := &fakeLinks{links: map[int64]string{1: articleURL + "1", 2: articleURL + "2", 3: articleURL + "3"}}
	h := newHarness(t, tracking(func(c *config.Config) { c.Tracking.CacheSize = 2 }), st)
	path := func(id int64) string {
		return "/r/" + h.token(links.Link{ArticleID: id, Medium: nashra.MediumTelegram})
	}
	for range 5 {
		h.get(path(1))
		h.get(path(2))
	}
	if st.lookups != 2 {
		t.Fatalf("%d store reads for 2 articles clicked 5 times each", st.lookups)
	}
	h.get(path(3)) // evicts 1, the least recently used
	h.get(path(2))
	if st.lookups != 3 {
		t.Fatalf("%d store reads, want 3", st.lookups)
	}
	if w := h.get(path(1)); w.Header().Get("Location") != articleURL+"1" || st.lookups != 4 {
		t.Fatalf("evicted link: %q after %d reads", w.Header().Get("Location"), st.lookups)
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"direct client", "203.0.113.5:1000", nil, "203.0.113.5"},
		{"untrusted peer's header ignored", "203.0.113.5:1000", []string{"198.51.100.1"}, "203.0.113.5"},
		{"trusted proxy", "10.0.0.2:1000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"client's own entries on the left ignored", "10.0.0.2:1000", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"chain of proxies", "10.0.0.2:1000", []string{"198.51.100.1, 10.0.0.9", "10.0.0.3"}, "198.51.100.1"},
		{"garbage stops at the last proxy", "10.0.0.2:1000", []string{"198.51.100.1, nonsense, 10.0.0.9"}, "10.0.0.9"},
		{"trusted proxy without header", "10.0.0.2:1000", nil, "10.0.0.2"},
		{"IPv6 proxy", "[::1]:1000", []string{"2001:db8::1"}, "2001:db8::1"},
		{"IPv4-mapped client", "[::ffff:203.0.113.5]:1000", nil, "203.0.113.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientIP(r, trusted); got.String() != tc.want {
				t.Fatalf("clientIP = %s, want %s", got, tc.want)
			}
		})
	}
}
