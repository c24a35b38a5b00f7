package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/links"
)

// Why a click is not counted: the outcome label of nashra_clicks_total.
const (
	clickQueued   = "queued"
	clickHead     = "head"     // HEAD requests only look
	clickBot      = "bot"      // link previews, crawlers, scripts
	clickPrefetch = "prefetch" // the browser fetched ahead, nobody clicked
	clickScanner  = "scanner"  // a mail scanner opening the email's links
	clickOff      = "off"      // tracking switched off
	clickDropped  = "dropped"  // the buffer was full
)

// isBotAgent reports whether ua belongs to a link-preview fetcher
// (TelegramBot, Twitterbot, facebookexternalhit, WhatsApp, Slackbot,
// Discordbot, Skype's and Bing's previews), a crawler (Googlebot,
// bingbot…), a mail security scanner that says so, a headless browser or a
// script (curl, wget, python…): nobody reads an article through those.
// Telegram's in-app browser is not a bot: its agent says
// "Telegram-Android", never "TelegramBot". Plain substring tests, not a
// regular expression: this runs on every click, and the expression took
// half the redirect's time.
func isBotAgent(ua string) bool {
	ua = strings.ToLower(ua)
	if strings.HasPrefix(ua, "whatsapp/") {
		return true
	}
	// "bot" ending a word: Googlebot, TelegramBot, bingbot/2.0.
	for rest := ua; ; {
		i := strings.Index(rest, "bot")
		if i < 0 {
			break
		}
		rest = rest[i+3:]
		if rest == "" || !('a' <= rest[0] && rest[0] <= 'z') {
			return true
		}
	}
	for _, s := range botWords {
		if strings.Contains(ua, s) {
			return true
		}
	}
	return false
}

var botWords = []string{"crawl", "spider", "slurp", "preview", "facebookexternalhit", "mastodon", "embedly", "vkshare",
	"curl", "wget", "python", "go-http-client", "java/", "okhttp", "libwww", "httpclient", "headless", "phantomjs",
	"lighthouse", "scanner", "proofpoint", "mimecast", "barracuda", "safelinks", "urldefense", "monitor", "uptime"}

// isPrefetch reports whether the browser asked ahead of a click (Chrome's
// Sec-Purpose, Firefox's X-Moz, the older Purpose).
func isPrefetch(r *http.Request) bool {
	for _, h := range []string{"Sec-Purpose", "Purpose", "X-Purpose", "X-Moz"} {
		v := strings.ToLower(r.Header.Get(h))
		if strings.Contains(v, "prefetch") || strings.Contains(v, "preview") {
			return true
		}
	}
	return false
}

// count decides whether a redirected request is a reader's click and, if
// so, queues it for the writer without waiting.
func (t *Tracker) count(r *http.Request, link links.Link) {
	now := t.now()
	ua := r.UserAgent()
	outcome := clickQueued
	switch {
	case r.Method == http.MethodHead:
		outcome = clickHead
	case !t.cfg.Enabled:
		outcome = clickOff
	case ua == "" || isBotAgent(ua):
		outcome = clickBot
	case isPrefetch(r):
		outcome = clickPrefetch
	case link.Medium == nashra.MediumEmail && !link.SentAt.IsZero() && now.Sub(link.SentAt) < t.cfg.ScannerWindow.D():
		outcome = clickScanner
	}
	if outcome == clickQueued {
		c := nashra.Click{ArticleID: link.ArticleID, Medium: link.Medium, At: now}
		switch ip := clientIP(r, t.proxies); {
		case link.SubscriberID != 0:
			c.Reader = "s:" + strconv.FormatInt(link.SubscriberID, 10)
		case link.ChatID != 0:
			c.Reader = "c:" + strconv.FormatInt(link.ChatID, 10)
		default:
			c.Reader = "v:" + t.visitor.hash(now, ip.String(), ua)
			c.Network = "n:" + t.visitor.hash(now, sourceNetwork(ip).String(), "")
		}
		if !t.enqueue(c) {
			outcome = clickDropped
		}
	}
	t.m.clicks.WithLabelValues(outcome).Inc()
}

func (t *Tracker) enqueue(c nashra.Click) bool {
	select {
	case <-t.stop:
		return false
	default:
	}
	select {
	case t.queue <- c:
		return true
	default:
		return false
	}
}

// sourceNetwork is the network an anonymous click is capped by: an IPv4
// /24, the smallest block routed on the Internet, which one household or
// office does not exceed and a carrier's shared addresses spread across
// many of; an IPv6 /48, since anyone gets a /48 free from a tunnel broker
// (a /56 or /64 would let one person be thousands of networks), and no
// end site is given more.
func sourceNetwork(ip netip.Addr) netip.Prefix {
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	p, _ := ip.WithZone("").Prefix(bits)
	return p
}

// visitorKeys derive the key of the day for anonymous visitors: a hash of
// address and user agent under a key that changes every UTC day, so that a
// visitor is one reader for a day and no lasting pseudonym.
type visitorKeys struct {
	base []byte
	day  atomic.Pointer[dayKey]
}

// dayKey is one day's key, with HMACs keyed with it for reuse: keying one
// anew costs more than the rest of a click.
type dayKey struct {
	day  int64
	macs sync.Pool
}

func newVisitorKeys(secret []byte) *visitorKeys {
	return &visitorKeys{base: links.DeriveKey(secret, "nashra visitor v1")}
}

func (v *visitorKeys) hash(now time.Time, addr, ua string) string {
	day := now.Unix() / 86400
	k := v.day.Load()
	if k == nil || k.day != day {
		m := hmac.New(sha256.New, v.base)
		m.Write([]byte(strconv.FormatInt(day, 10)))
		key := m.Sum(nil)
		k = &dayKey{day: day, macs: sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
		v.day.Store(k)
	}
	m := k.macs.Get().(hash.Hash)
	defer k.macs.Put(m)
	m.Reset()
	m.Write([]byte(addr))
	m.Write([]byte{0})
	m.Write([]byte(ua))
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0])[:16])
}

// Start starts the writer that stores queued clicks in batches.
func (t *Tracker) Start() { t.startOnce.Do(func() { go t.write() }) }

// Close stops taking clicks, writes those queued and waits for the writer,
// at most until ctx ends. Call it after the web server's Shutdown.
func (t *Tracker) Close(ctx context.Context) error {
	t.stopOnce.Do(func() { close(t.stop) })
	t.Start() // a tracker never started still writes what it queued
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// write is the single writer: a batch is written when it is full or when
// its first click has waited FlushInterval, one transaction per batch.
func (t *Tracker) write() {
	defer close(t.done)
	batch := make([]nashra.Click, 0, t.cfg.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		timer.Stop()
		if len(batch) == 0 {
			return
		}
		t.flush(batch)
		batch = batch[:0]
	}
	for {
		select {
		case c := <-t.queue:
			batch = append(batch, c)
			if len(batch) == 1 {
				timer.Reset(t.cfg.FlushInterval.D())
			}
			if len(batch) >= t.cfg.BatchSize {
				flush()
			}
		case <-timer.C:
			flush()
		case <-t.stop:
			for {
				select {
				case c := <-t.queue:
					batch = append(batch, c)
					if len(batch) >= t.cfg.BatchSize {
						flush()
					}
				default:
					flush()
					return
				}
			}
		}
	}
}

func (t *Tracker) flush(batch []nashra.Click) {
	// Not the request's context, nor the service's: a batch already taken
	// should be written even while shutting down.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	res, err := t.st.RecordClicks(ctx, batch, t.cfg.NetworkCap)
	t.m.batchSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		t.m.lost.Add(float64(len(batch)))
		t.log.Error("tracked links: clicks lost", "clicks", len(batch), "err", err)
		return
	}
	t.m.recorded.WithLabelValues("unique").Add(float64(res.Unique))
	t.m.recorded.WithLabelValues("repeat").Add(float64(res.Repeat))
	t.m.recorded.WithLabelValues("capped").Add(float64(res.Capped))
}

type trackerMetrics struct {
	redirects    *prometheus.CounterVec
	clicks       *prometheus.CounterVec
	recorded     *prometheus.CounterVec
	lost         prometheus.Counter
	batchSeconds prometheus.Histogram
}

func newTrackerMetrics() trackerMetrics {
	return trackerMetrics{
		redirects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nashra_redirects_total",
			Help: "Tracked link requests by result: ok, bad_token, not_found, error."}, []string{"result"}),
		clicks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nashra_clicks_total",
			Help: "Redirected requests by outcome: queued to be counted, or why not (head, bot, prefetch, scanner, off, dropped)."},
			[]string{"outcome"}),
		recorded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nashra_clicks_recorded_total",
			Help: "Clicks stored, by kind: unique (a reader's first on the article), repeat, or capped (an anonymous reader new to the article past the cap of its network; counted, not stored)."},
			[]string{"kind"}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{Name: "nashra_clicks_lost_total",
			Help: "Queued clicks lost because their batch could not be written."}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "nashra_click_batch_seconds",
			Help: "Time to write one batch of clicks.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 8)}),
	}
}

func (m trackerMetrics) register(reg prometheus.Registerer) {
	reg.MustRegister(m.redirects, m.clicks, m.recorded, m.lost, m.batchSeconds)
}
