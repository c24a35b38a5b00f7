package web

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/templates"
)

// TrackingStore is what tracked links need from the store.
type TrackingStore interface {
	// ArticleLink returns the stored link of an article, store.ErrNotFound
	// when there is none.
	ArticleLink(ctx context.Context, id int64) (string, error)
	// RecordClicks stores a batch of clicks in one transaction, counting
	// at most perNetwork anonymous readers per network, article and day.
	RecordClicks(ctx context.Context, cs []nashra.Click, perNetwork int) (store.ClickResult, error)
}

// Tracker serves tracked links: it checks the token, redirects to the
// article's stored link and hands the click to a single writer that stores
// clicks in batches. The target is never taken from the request.
type Tracker struct {
	cfg     config.Tracking
	site    config.Site
	proxies []netip.Prefix // NASHRA_TRUSTED_PROXIES
	signer  *links.Signer
	visitor *visitorKeys
	st      TrackingStore
	links   *linkCache
	log     *slog.Logger
	now     func() time.Time
	m       trackerMetrics

	queue     chan nashra.Click
	stop      chan struct{}
	done      chan struct{}
	startOnce sync.Once
	stopOnce  sync.Once
}

// TrackerOption changes how a Tracker is built.
type TrackerOption func(*Tracker)

// WithTrackerLogger sets the logger (slog.Default otherwise).
func WithTrackerLogger(l *slog.Logger) TrackerOption { return func(t *Tracker) { t.log = l } }

// WithTrackerClock sets the clock, for tests.
func WithTrackerClock(now func() time.Time) TrackerOption { return func(t *Tracker) { t.now = now } }

// WithTrackerMetrics registers the tracker's metrics with reg.
func WithTrackerMetrics(reg prometheus.Registerer) TrackerOption {
	return func(t *Tracker) { t.m.register(reg) }
}

// NewTracker returns a tracker, configured by cfg's tracking section and
// trusted proxies, checking tokens signed with secret (the same secret as
// the links.Signer that made them) and reading links from st. Start begins
// writing clicks; Close stops. With tracking off, /r/ still redirects the
// tokens sent before, counting nothing.
func NewTracker(cfg *config.Config, secret []byte, st TrackingStore, opts ...TrackerOption) (*Tracker, error) {
	signer, err := links.NewSigner(secret)
	if err != nil {
		return nil, fmt.Errorf("tracked links: %w", err)
	}
	tc := cfg.Tracking
	t := &Tracker{
		cfg: tc, site: cfg.Site, proxies: cfg.TrustedProxies, signer: signer, visitor: newVisitorKeys(secret), st: st,
		links: newLinkCache(tc.CacheSize), log: slog.Default(), now: time.Now, m: newTrackerMetrics(),
		queue: make(chan nashra.Click, tc.Buffer), stop: make(chan struct{}), done: make(chan struct{}),
	}
	for _, o := range opts {
		o(t)
	}
	return t, nil
}

// Register mounts the tracked links at /r/<token> on s (GET and HEAD).
func (t *Tracker) Register(s *Server) { s.Handle("GET /r/{token}", t) }

// ServeHTTP answers a tracked link: 302 to the article's stored link, or
// 404 without a Location for a token nashra did not sign.
func (t *Tracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	link, err := t.signer.Verify(r.PathValue("token"))
	if err != nil {
		t.m.redirects.WithLabelValues("bad_token").Inc()
		http.NotFound(w, r)
		return
	}
	target, err := t.target(r.Context(), link.ArticleID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		t.m.redirects.WithLabelValues("not_found").Inc()
		http.NotFound(w, r)
		return
	case errors.Is(err, store.ErrRetracted):
		t.m.redirects.WithLabelValues("retracted").Inc()
		t.retracted(w)
		return
	case err != nil:
		t.m.redirects.WithLabelValues("error").Inc()
		t.log.Error("tracked link: read article link", "article_id", link.ArticleID, "err", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	h := w.Header()
	h.Set("Location", target)
	// Every click must reach nashra to be counted, and search engines
	// should index the article, not this address.
	h.Set("Cache-Control", "no-store")
	h.Set("X-Robots-Tag", "noindex")
	w.WriteHeader(http.StatusFound)
	t.m.redirects.WithLabelValues("ok").Inc()
	t.count(r, link)
}

// retracted answers the link of an article an editor retracted: a short
// page saying so, 410 Gone, instead of the article.
func (t *Tracker) retracted(w http.ResponseWriter) {
	var b bytes.Buffer
	d := page{Title: txtRetractedTitle, Site: t.site.Name, SiteURL: t.site.URL, ArchiveURL: archivePath, Paragraphs: []string{txtRetractedBody},
		Link: t.site.URL, LinkText: fmt.Sprintf(txtRetractedLink, t.site.Name)}
	if err := templates.WebPage("message.html").ExecuteTemplate(&b, "layout", d); err != nil {
		t.log.Error("tracked link: render the retraction notice", "err", err)
		http.Error(w, txtRetractedTitle, http.StatusGone)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Robots-Tag", "noindex")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(http.StatusGone)
	w.Write(b.Bytes())
}

// What a reader sees on the link of a retracted article.
const (
	txtRetractedTitle = "سُحب هذا المقال"
	txtRetractedBody  = "سحبت أسرة التحرير هذه المادة بعد نشرها، فلم تعد متاحة. نعتذر عن ذلك."
	txtRetractedLink  = "إلى الصفحة الرئيسية لموقع %s"
)

// linkTTL bounds how long a link is served from memory: a retraction, made
// on any instance, reaches every instance's links within it.
const linkTTL = time.Minute

// target returns the stored link of an article, from memory when it has
// read it within linkTTL.
func (t *Tracker) target(ctx context.Context, id int64) (string, error) {
	if link, ok := t.links.get(id, t.now()); ok {
		return link, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	link, err := t.st.ArticleLink(ctx, id)
	if err != nil {
		return "", err
	}
	// Stored links are canonical http(s) URLs; anything else is not
	// followed, whatever put it there.
	if !strings.HasPrefix(link, "https://") && !strings.HasPrefix(link, "http://") {
		return "", fmt.Errorf("article %d has no web link: %w", id, store.ErrNotFound)
	}
	t.links.add(id, link, t.now())
	return link, nil
}

// linkCache is a bounded least-recently-used map of article links.
type linkCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used
	byID  map[int64]*list.Element
}

type cachedLink struct {
	id   int64
	link string
	at   time.Time // when read from the store
}

func newLinkCache(max int) *linkCache {
	return &linkCache{max: max, order: list.New(), byID: make(map[int64]*list.Element, max)}
}

func (c *linkCache) get(id int64, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byID[id]
	if !ok || now.Sub(e.Value.(cachedLink).at) > linkTTL {
		return "", false
	}
	c.order.MoveToFront(e)
	return e.Value.(cachedLink).link, true
}

func (c *linkCache) add(id int64, link string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byID[id]; ok {
		e.Value = cachedLink{id, link, now}
		c.order.MoveToFront(e)
		return
	}
	c.byID[id] = c.order.PushFront(cachedLink{id, link, now})
	if c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byID, last.Value.(cachedLink).id)
	}
}

// clientIP returns the address of the client: the peer itself, unless the
// peer is a trusted proxy; then the nearest address in X-Forwarded-For that
// is not a trusted proxy, read from the right, since whatever the client
// wrote itself stands on the left.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !isTrusted(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a forged or broken entry: stop at the last proxy believed
		}
		addr = a.Unmap()
		if !isTrusted(addr) {
			break
		}
	}
	return addr
}
