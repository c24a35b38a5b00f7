// Package ping takes the site's publish ping: a signed POST that says
// "I just published", naming sections or feeds, or none for all of them,
// and has the poller poll those feeds now. Only configured feeds are ever
// polled, whatever the ping names; pings that come while a feed's poll is
// queued or running make one more poll, not one each.
package ping

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/feeds"
)

// Route is the pattern the handler is served at.
const Route = "POST /hooks/publish"

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body
// under the shared secret.
const SignatureHeader = "X-Nashra-Signature"

// maxBody bounds a ping's body: a few names and a time.
const maxBody = 64 << 10

// Store is what the handler needs of the store; *store.DB implements it.
type Store interface {
	// Feeds lists the active feeds.
	Feeds(ctx context.Context) ([]nashra.Feed, error)
	// RecordPing counts a ping that asked for a feed at now.
	RecordPing(ctx context.Context, feedID int64, now time.Time) error
}

// Poller polls a feed now; *feeds.Poller implements it.
type Poller interface {
	// PollSoon asks for a poll of a configured feed outside its schedule
	// and reports whether the ask added one.
	PollSoon(id int64, t feeds.Trigger) bool
}

// Ping is the body of a publish ping, as JSON.
type Ping struct {
	// Time is when the site sent it, in Unix seconds.
	Time int64 `json:"time"`
	// Sections and Feeds name what to poll, by section slug or feed URL;
	// neither polls every feed.
	Sections []string `json:"sections,omitempty"`
	Feeds    []string `json:"feeds,omitempty"`
	// Post is the site's id of what was published, for the logs.
	Post json.RawMessage `json:"post,omitempty"`
}

// Sign returns the value of SignatureHeader for body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Handler takes publish pings.
type Handler struct {
	// Now is the handler's clock: time.Now unless a test sets another.
	Now func() time.Time

	store   Store
	poller  Poller
	cfg     config.Hooks
	log     *slog.Logger
	limit   *bucket
	pings   *prometheus.CounterVec
	refusal throttle
}

// New returns the handler, configured by cfg's hooks section, which must
// have a secret. Its metrics are registered on reg unless it is nil;
// logger nil means slog.Default().
func New(st Store, p Poller, cfg *config.Config, reg prometheus.Registerer, logger *slog.Logger) (*Handler, error) {
	if cfg.Hooks.PublishSecret == "" {
		return nil, errors.New("publish ping: no secret")
	}
	if logger == nil {
		logger = slog.Default()
	}
	h := &Handler{
		Now:    time.Now,
		store:  st,
		poller: p,
		cfg:    cfg.Hooks,
		log:    logger.With("part", "publish ping"),
		limit:  &bucket{rate: cfg.Hooks.RatePerSecond, burst: float64(cfg.Hooks.Burst), tokens: float64(cfg.Hooks.Burst)},
		pings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nashra_publish_pings_total",
			Help: "Publish pings by outcome: accepted, coalesced (every feed named already had a poll asked), bad_signature, stale, bad_request, unknown_target, too_large, rate_limited.",
		}, []string{"outcome"}),
	}
	if reg != nil {
		if err := reg.Register(h.pings); err != nil {
			return nil, fmt.Errorf("register publish ping metrics: %w", err)
		}
	}
	return h, nil
}

// ServeHTTP takes one ping: 202 Accepted with the feeds it polls; 403 for
// a bad or missing signature or a time too far from now; 400 for a body
// that is no ping; 413 past 64 KiB; 422 when it names nothing configured;
// 429 past the rate.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := h.Now()
	refuse := func(code int, outcome, why string) {
		h.pings.WithLabelValues(outcome).Inc()
		// A flood of refused pings logs one line a second, not one each.
		if n := h.refusal.pass(now); n >= 0 {
			h.log.Warn("publish ping refused", "status", code, "why", why, "remote", r.RemoteAddr, "refused_since_last_line", n)
		}
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		http.Error(w, why, code)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if tooLarge := new(http.MaxBytesError); errors.As(err, &tooLarge) {
			w.Header().Set("Connection", "close")
			refuse(http.StatusRequestEntityTooLarge, "too_large", "ping larger than 64 KiB")
			return
		}
		refuse(http.StatusBadRequest, "bad_request", "unreadable body")
		return
	}
	if got := r.Header.Get(SignatureHeader); !hmac.Equal([]byte(got), []byte(Sign(h.cfg.PublishSecret, body))) {
		refuse(http.StatusForbidden, "bad_signature", "missing or bad "+SignatureHeader)
		return
	}
	var p Ping
	if err := json.Unmarshal(body, &p); err != nil {
		refuse(http.StatusBadRequest, "bad_request", "body is not a ping: "+err.Error())
		return
	}
	if skew := now.Sub(time.Unix(p.Time, 0)); skew > h.cfg.MaxSkew.D() || skew < -h.cfg.MaxSkew.D() {
		refuse(http.StatusForbidden, "stale", fmt.Sprintf("ping time is %s from nashra's clock (at most %s)", skew.Round(time.Second), h.cfg.MaxSkew))
		return
	}
	if !h.limit.take(now) {
		refuse(http.StatusTooManyRequests, "rate_limited", "too many pings")
		return
	}
	fs, err := h.store.Feeds(r.Context())
	if err != nil {
		h.log.Error("list feeds", "err", err)
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	targets, ignored := choose(fs, p)
	if len(targets) == 0 {
		refuse(http.StatusUnprocessableEntity, "unknown_target", "names no configured section or feed: "+strings.Join(ignored, ", "))
		return
	}
	answer := struct {
		Polling   []string `json:"polling"`
		Coalesced []string `json:"coalesced,omitempty"`
		Ignored   []string `json:"ignored,omitempty"`
	}{Ignored: ignored}
	for _, f := range targets {
		if !h.poller.PollSoon(f.ID, feeds.TriggerPing) {
			answer.Coalesced = append(answer.Coalesced, f.URL)
			continue
		}
		answer.Polling = append(answer.Polling, f.URL)
		// Counted when a poll was added: a flood of pings writes nothing
		// more than the polls it causes.
		if err := h.store.RecordPing(r.Context(), f.ID, now); err != nil {
			h.log.Error("record ping", "feed_id", f.ID, "err", err)
		}
	}
	outcome := "accepted"
	if len(answer.Polling) == 0 {
		outcome = "coalesced"
	}
	h.pings.WithLabelValues(outcome).Inc()
	h.log.Info("publish ping", "post", string(p.Post), "polling", len(answer.Polling), "coalesced", len(answer.Coalesced), "ignored", ignored)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(answer)
}

// choose returns the configured feeds a ping names (all when it names
// none) and the names that matched nothing.
func choose(fs []nashra.Feed, p Ping) (targets []nashra.Feed, ignored []string) {
	if len(p.Sections) == 0 && len(p.Feeds) == 0 {
		return fs, nil
	}
	for _, name := range p.Sections {
		if !slices.ContainsFunc(fs, func(f nashra.Feed) bool { return f.SectionSlug == name }) {
			ignored = append(ignored, name)
		}
	}
	for _, u := range p.Feeds {
		if !slices.ContainsFunc(fs, func(f nashra.Feed) bool { return f.URL == u }) {
			ignored = append(ignored, u)
		}
	}
	for _, f := range fs {
		if slices.Contains(p.Sections, f.SectionSlug) || slices.Contains(p.Feeds, f.URL) {
			targets = append(targets, f)
		}
	}
	return targets, ignored
}

// bucket is a token bucket: rate tokens a second, at most burst.
type bucket struct {
	mu          sync.Mutex
	rate, burst float64
	tokens      float64
	last        time.Time
}

// take spends a token at now, if one is left.
func (b *bucket) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// throttle lets one event a second through.
type throttle struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

// pass reports how many events it held back since the last it let
// through, or -1 when it holds this one back too.
func (t *throttle) pass(now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.last) < time.Second {
		t.skipped++
		return -1
	}
	n := t.skipped
	t.last, t.skipped = now, 0
	return n
}
