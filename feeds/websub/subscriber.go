// Package websub is nashra's WebSub subscriber (W3C Recommendation,
// 23 January 2018): it finds the hub each feed names, in the answers the
// poller fetches anyway, subscribes to it with a secret of the
// subscription's own, answers the hub's verifications of intent, renews
// before the lease ends and unsubscribes the feeds that left the
// configuration. A content distribution, once its signature is checked,
// makes the poller poll the feed at once through its normal path, so that
// what a hub pushes is stored exactly as what a poll finds, and never
// twice. Every instance answers the hubs' requests; the leader alone
// subscribes and renews (Maintain).
package websub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/feeds"
)

// Store is what the subscriber needs of the store; *store.DB implements
// it. Every method fails only when the database does, but
// WebSubSubscription (store.ErrNotFound) and WebSubPushed
// (store.ErrReplay).
type Store interface {
	Feeds(ctx context.Context) ([]nashra.Feed, error)
	FeedPushes(ctx context.Context) ([]nashra.FeedPush, error)
	SaveFeedHub(ctx context.Context, feedID int64, hub, topic string, now time.Time) (bool, error)
	FeedPushing(ctx context.Context, feedID int64, now time.Time) (bool, error)
	WebSubSubscriptions(ctx context.Context) ([]nashra.WebSubSubscription, error)
	WebSubSubscription(ctx context.Context, callback string) (nashra.WebSubSubscription, error)
	CreateWebSubSubscription(ctx context.Context, s nashra.WebSubSubscription) error
	WebSubRequested(ctx context.Context, callback, mode string, now time.Time) error
	WebSubFailed(ctx context.Context, callback, why string, next time.Time) error
	VerifyWebSub(ctx context.Context, callback, mode, topic string, leaseSeconds int, now time.Time) (bool, error)
	DenyWebSub(ctx context.Context, callback, topic, reason string, next time.Time) (bool, error)
	WebSubPushed(ctx context.Context, callback, method, digest string, keep int, now time.Time) error
	WebSubMissed(ctx context.Context, feedID int64, now time.Time) error
	WebSubSilent(ctx context.Context, callback string, now time.Time) error
	DeleteWebSubSubscription(ctx context.Context, callback string) error
}

// Poller polls a feed at once; *feeds.Poller implements it.
type Poller interface {
	// PollSoon asks for a poll of a configured feed outside its schedule
	// and reports whether the ask added one.
	PollSoon(id int64, t feeds.Trigger) bool
}

// Route is the pattern of the callback route, for the web server.
const Route = "/websub/{callback}"

// keepDigests is how many of a subscription's last bodies are recognised
// when replayed.
const keepDigests = 16

// maxBackoff bounds the wait before a failed request to a hub is tried
// again.
const maxBackoff = 6 * time.Hour

// Subscriber is the WebSub subscriber. Its methods are safe for concurrent
// use.
type Subscriber struct {
	// Now is the subscriber's clock: time.Now unless a test sets another.
	Now func() time.Time

	store  Store
	poller Poller
	cfg    config.WebSub
	// baseURL is nashra's public URL: callbacks are baseURL/websub/<id>.
	baseURL string
	// maxBody bounds a content distribution: a hub sends the whole feed,
	// so it is the poller's own bound on a feed.
	maxBody   int64
	userAgent string
	client    *http.Client
	log       *slog.Logger
	metrics   *metrics
	kick      chan struct{}

	mu     sync.Mutex
	hubs   map[int64]Discovery // what each feed named, as last saved
	lapsed map[string]bool     // subscriptions whose lapse was seen, by callback
	warned map[string]bool     // hubs that cannot call back, said once
}

var _ feeds.Push = (*Subscriber)(nil)

// New returns a subscriber of the feeds in st that has p poll them when a
// hub says they changed, configured by cfg's websub section, the base URL,
// the poll's timeout and bound on a feed, and the user agent. Metrics are
// registered on reg unless it is nil; logger nil means slog.Default().
func New(st Store, p Poller, cfg *config.Config, reg prometheus.Registerer, logger *slog.Logger) (*Subscriber, error) {
	if _, err := url.Parse(cfg.BaseURL); err != nil || !strings.HasPrefix(cfg.BaseURL, "http") {
		return nil, fmt.Errorf("websub: base URL %q: want an http(s) URL", cfg.BaseURL)
	}
	if logger == nil {
		logger = slog.Default()
	}
	s := &Subscriber{
		Now:       time.Now,
		store:     st,
		poller:    p,
		cfg:       cfg.WebSub,
		baseURL:   cfg.BaseURL,
		maxBody:   cfg.Poll.MaxBodyBytes,
		userAgent: cfg.UserAgent,
		// Redirects of a hub are followed; 307 and 308 keep the POST.
		client: &http.Client{Timeout: cfg.Poll.Timeout.D()},
		log:    logger.With("part", "websub"),
		kick:   make(chan struct{}, 1),
		hubs:   make(map[int64]Discovery),
		lapsed: make(map[string]bool),
		warned: make(map[string]bool),
	}
	m, err := newMetrics(reg, s)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	return s, nil
}

// Fetched finds the hub a feed's answer names and records it when it
// changed, for Maintain to subscribe.
func (s *Subscriber) Fetched(ctx context.Context, f nashra.Feed, header http.Header, body []byte, final *url.URL) {
	d := Discover(header, body, header.Get("Content-Type"), final)
	if d.Hub == "" {
		d.Self = ""
	} else if d.Self == "" {
		d.Self = f.URL
	}
	s.mu.Lock()
	old, known := s.hubs[f.ID]
	s.mu.Unlock()
	if known && old == d {
		return
	}
	changed, err := s.store.SaveFeedHub(ctx, f.ID, d.Hub, d.Self, s.Now())
	if err != nil {
		s.log.Error("save the hub a feed names", "feed_id", f.ID, "err", err)
		return
	}
	s.mu.Lock()
	s.hubs[f.ID] = d
	s.mu.Unlock()
	if changed {
		s.log.Info("feed names its hub", "feed_id", f.ID, "feed_url", f.URL, "hub", d.Hub, "topic", d.Self)
		s.wake()
	}
}

// Pushing reports whether a hub pushes the feed's updates at now.
func (s *Subscriber) Pushing(ctx context.Context, f nashra.Feed, now time.Time) bool {
	ok, err := s.store.FeedPushing(ctx, f.ID, now)
	if err != nil {
		s.log.Error("read push state", "feed_id", f.ID, "err", err)
	}
	return ok
}

// Missed records that a poll started at now, not asked by a push (the
// schedule's, a publish ping's), found articles; unless a push came since
// now or comes within config.WebSub.MissedGrace, Maintain judges the hub
// silent.
func (s *Subscriber) Missed(ctx context.Context, f nashra.Feed, now time.Time) {
	if !s.Pushing(ctx, f, now) {
		return
	}
	s.log.Info("a poll found articles no push has announced yet", "feed_id", f.ID, "feed_url", f.URL)
	if err := s.store.WebSubMissed(ctx, f.ID, now); err != nil {
		s.log.Error("record a missed push", "feed_id", f.ID, "err", err)
	}
	s.wake()
}

// wake makes Maintain look again at once.
func (s *Subscriber) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Maintain subscribes, renews and unsubscribes until ctx ends: the
// leader's work.
func (s *Subscriber) Maintain(ctx context.Context) {
	for {
		next := s.step(ctx)
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// step does what is due and returns how long until something may be.
func (s *Subscriber) step(ctx context.Context) time.Duration {
	const idle = time.Minute
	now := s.Now()
	fs, err := s.store.Feeds(ctx)
	if err != nil {
		s.logErr(ctx, "list feeds", err)
		return idle
	}
	pushes, err := s.store.FeedPushes(ctx)
	if err != nil {
		s.logErr(ctx, "list feed hubs", err)
		return idle
	}
	subs, err := s.store.WebSubSubscriptions(ctx)
	if err != nil {
		s.logErr(ctx, "list websub subscriptions", err)
		return idle
	}
	// What each configured feed should be subscribed to.
	want := map[int64]nashra.FeedPush{}
	for _, p := range pushes {
		want[p.FeedID] = p
	}
	for id, p := range want {
		if p.Hub == "" {
			delete(want, id)
		}
	}
	active := map[int64]bool{}
	for _, f := range fs {
		active[f.ID] = true
	}
	next := now.Add(idle)
	soon := func(t time.Time) { next = earliest(next, t) }
	covered := map[int64]bool{}
	for _, sub := range subs {
		w, ok := want[sub.FeedID]
		if active[sub.FeedID] && ok && w.Hub == sub.Hub && w.Topic == sub.Topic && sub.State != nashra.WebSubUnsubscribing {
			covered[sub.FeedID] = true
			soon(s.manage(ctx, sub, now))
		} else {
			soon(s.retire(ctx, sub, now))
		}
	}
	for _, f := range fs {
		if w, ok := want[f.ID]; ok && !covered[f.ID] && s.canCallBack(w.Hub) {
			soon(s.subscribe(ctx, f, w, now))
		}
	}
	return max(next.Sub(now), 100*time.Millisecond)
}

// canCallBack reports whether hub can reach nashra's callbacks: a hub
// elsewhere cannot call a loopback address back (a development run on
// the defaults), so nashra does not ask it to.
func (s *Subscriber) canCallBack(hub string) bool {
	if !loopback(s.baseURL) || loopback(hub) {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.warned[hub] {
		s.warned[hub] = true
		s.log.Warn("not subscribing: the hub cannot reach a loopback NASHRA_BASE_URL; set the public URL", "hub", hub, "base_url", s.baseURL)
	}
	return false
}

// loopback reports whether a URL's host is a loopback name or address.
func loopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// subscribe creates the subscription of a feed to the hub it names and
// asks the hub for it.
func (s *Subscriber) subscribe(ctx context.Context, f nashra.Feed, w nashra.FeedPush, now time.Time) time.Time {
	sub := nashra.WebSubSubscription{
		Callback:  randomHex(16),
		FeedID:    f.ID,
		Hub:       w.Hub,
		Topic:     w.Topic,
		Secret:    randomHex(32),
		State:     nashra.WebSubRequested,
		CreatedAt: now,
	}
	if err := s.store.CreateWebSubSubscription(ctx, sub); err != nil {
		s.logErr(ctx, "create websub subscription", err)
		return now.Add(time.Minute)
	}
	return s.request(ctx, sub, nashra.HubSubscribe, now)
}

// manage keeps a wanted subscription alive: it notices a lapse or a
// silent hub (and has the feed polled at once, which puts it back on the
// normal interval), asks again what was refused or never verified, renews
// before the lease ends, and returns when it next needs a look.
func (s *Subscriber) manage(ctx context.Context, sub nashra.WebSubSubscription, now time.Time) time.Time {
	log := s.log.With("feed_id", sub.FeedID, "hub", sub.Hub, "topic", sub.Topic)
	var next time.Time // when the subscription's state changes by itself
	resubscribe := false
	if sub.State == nashra.WebSubActive {
		if now.Before(sub.LeaseUntil) {
			next = sub.LeaseUntil
			s.lapse(sub.Callback, false)
		} else if s.lapse(sub.Callback, true) {
			log.Warn("websub lease lapsed: polls tighten until the hub verifies again", "lease_until", sub.LeaseUntil)
			s.poller.PollSoon(sub.FeedID, feeds.TriggerLapse)
		}
		if !sub.MissedAt.IsZero() && sub.SilentSince.IsZero() {
			if judge := sub.MissedAt.Add(s.cfg.MissedGrace.D()); now.Before(judge) {
				next = earliest(next, judge)
			} else {
				log.Warn("hub stopped delivering: polls tighten, and the subscription is asked again", "missed_at", sub.MissedAt)
				if err := s.store.WebSubSilent(ctx, sub.Callback, now); err != nil {
					s.logErr(ctx, "record a silent hub", err)
					return now.Add(time.Minute)
				}
				s.poller.PollSoon(sub.FeedID, feeds.TriggerLapse)
				resubscribe = true
			}
		}
	}
	switch {
	case sub.Pending != "":
		if deadline := sub.RequestedAt.Add(s.cfg.VerifyWithin.D()); now.Before(deadline) {
			return earliest(next, deadline)
		}
		return earliest(next, s.fail(ctx, sub, "the hub did not verify the request within "+s.cfg.VerifyWithin.String(), now))
	case !resubscribe && now.Before(sub.NextAttemptAt):
		return earliest(next, sub.NextAttemptAt)
	case resubscribe || sub.State != nashra.WebSubActive || !now.Before(sub.LeaseUntil):
		return earliest(next, s.request(ctx, sub, nashra.HubSubscribe, now))
	}
	if renew := sub.LeaseUntil.Add(-renewBefore(time.Duration(sub.LeaseSeconds) * time.Second)); now.Before(renew) {
		return earliest(next, renew)
	}
	return earliest(next, s.request(ctx, sub, nashra.HubSubscribe, now))
}

// lapse records whether a subscription's lease has lapsed and reports
// whether that is news.
func (s *Subscriber) lapse(callback string, lapsed bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	news := s.lapsed[callback] != lapsed
	if lapsed {
		s.lapsed[callback] = true
	} else {
		delete(s.lapsed, callback)
	}
	return news
}

// earliest returns the earlier of two times, a zero one not counting.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// renewBefore is how long before a lease ends it is renewed: a fifth of
// it, but a minute at least (half of a lease shorter than two).
func renewBefore(lease time.Duration) time.Duration {
	return max(lease/5, min(lease/2, time.Minute))
}

// retire ends a subscription no longer wanted: its feed left the
// configuration, or names another hub or topic, or none.
func (s *Subscriber) retire(ctx context.Context, sub nashra.WebSubSubscription, now time.Time) time.Time {
	const giveUp = 3
	switch {
	case sub.State == nashra.WebSubRequested || sub.State == nashra.WebSubDenied:
		// The hub holds nothing to end; its late verification will be
		// refused.
		s.forget(ctx, sub, "never verified")
		return time.Time{}
	case sub.Pending == nashra.HubUnsubscribe:
		deadline := sub.RequestedAt.Add(s.cfg.VerifyWithin.D())
		if now.Before(deadline) {
			return deadline
		}
		if sub.Attempts+1 >= giveUp {
			s.forget(ctx, sub, "the hub never verified the unsubscription; its lease will lapse")
			return time.Time{}
		}
		return s.fail(ctx, sub, "the hub did not verify the unsubscription within "+s.cfg.VerifyWithin.String(), now)
	case sub.State == nashra.WebSubUnsubscribing && sub.Attempts >= giveUp:
		s.forget(ctx, sub, "the hub refused to unsubscribe; its lease will lapse")
		return time.Time{}
	case now.Before(sub.NextAttemptAt):
		return sub.NextAttemptAt
	}
	return s.request(ctx, sub, nashra.HubUnsubscribe, now)
}

// forget deletes a subscription.
func (s *Subscriber) forget(ctx context.Context, sub nashra.WebSubSubscription, why string) {
	if err := s.store.DeleteWebSubSubscription(ctx, sub.Callback); err != nil {
		s.logErr(ctx, "delete websub subscription", err)
		return
	}
	s.log.Info("websub subscription forgotten", "feed_id", sub.FeedID, "hub", sub.Hub, "topic", sub.Topic, "why", why)
}

// request asks the hub to subscribe or unsubscribe, recording first that
// the request awaits verification: a hub may verify before it answers.
func (s *Subscriber) request(ctx context.Context, sub nashra.WebSubSubscription, mode string, now time.Time) time.Time {
	if err := s.store.WebSubRequested(ctx, sub.Callback, mode, now); err != nil {
		s.logErr(ctx, "record websub request", err)
		return now.Add(time.Minute)
	}
	form := url.Values{
		"hub.mode":     {mode},
		"hub.topic":    {sub.Topic},
		"hub.callback": {s.CallbackURL(sub.Callback)},
	}
	if mode == nashra.HubSubscribe {
		form.Set("hub.secret", sub.Secret)
		form.Set("hub.lease_seconds", strconv.Itoa(int(s.cfg.Lease.D()/time.Second)))
	}
	err := s.post(ctx, sub.Hub, form)
	s.metrics.requests.WithLabelValues(mode, result(err)).Inc()
	if err != nil {
		return s.fail(ctx, sub, fmt.Sprintf("%s request: %v", mode, err), now)
	}
	s.log.Info("websub request sent", "mode", mode, "feed_id", sub.FeedID, "hub", sub.Hub, "topic", sub.Topic)
	return now.Add(s.cfg.VerifyWithin.D())
}

// post sends a form to a hub; any answer but 2xx is an error.
func (s *Subscriber) post(ctx context.Context, hub string, form url.Values) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hub, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", s.userAgent)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	why, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("hub answered %s: %s", resp.Status, strings.TrimSpace(string(why)))
	}
	return nil
}

// fail records a failed request and returns when to try again: a minute
// after the first failure, doubling up to maxBackoff.
func (s *Subscriber) fail(ctx context.Context, sub nashra.WebSubSubscription, why string, now time.Time) time.Time {
	next := now.Add(backoff(sub.Attempts))
	s.log.Warn("websub request failed", "feed_id", sub.FeedID, "hub", sub.Hub, "topic", sub.Topic,
		"attempts", sub.Attempts+1, "retry_at", next, "why", why)
	if err := s.store.WebSubFailed(ctx, sub.Callback, strings.ToValidUTF8(why[:min(len(why), 500)], ""), next); err != nil {
		s.logErr(ctx, "record websub failure", err)
	}
	return next
}

// backoff is the wait after attempts failures in a row, the new one
// included.
func backoff(attempts int) time.Duration {
	d := time.Minute
	for range attempts {
		if d *= 2; d >= maxBackoff {
			return maxBackoff
		}
	}
	return d
}

// CallbackURL is the URL a hub calls for the subscription of callback.
func (s *Subscriber) CallbackURL(callback string) string {
	return strings.TrimRight(s.baseURL, "/") + "/websub/" + callback
}

func (s *Subscriber) logErr(ctx context.Context, what string, err error) {
	if ctx.Err() == nil {
		s.log.Error(what, "err", err)
	}
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func result(err error) string {
	if err != nil {
		return "failed"
	}
	return "sent"
}
