package websub

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/feeds"
	"github.com/almaalouma/nashra/store"
)

// maxLease bounds the lease a hub grants, whatever it says.
const maxLease = 366 * 24 * time.Hour

// ServeHTTP answers a hub at a callback URL: GET is a verification of
// intent (or the hub's denial), POST a content distribution. The web
// server's cap on this route's body must be at least poll.max_body_bytes.
func (s *Subscriber) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		s.verify(w, r)
	case http.MethodPost:
		s.distribute(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// verify answers a verification of intent: the challenge when nashra asked
// for exactly this (the subscription's pending request, for its topic),
// 404 Not Found for anything else, as the recommendation says.
func (s *Subscriber) verify(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cb := r.PathValue("callback")
	q := r.URL.Query()
	mode, topic, challenge := q.Get("hub.mode"), q.Get("hub.topic"), q.Get("hub.challenge")
	log := s.log.With("callback", short(cb), "mode", mode, "topic", topic, "remote", r.RemoteAddr)
	refuse := func(why string) {
		s.metrics.verifications.WithLabelValues(label(mode), "refused").Inc()
		log.Warn("websub verification refused", "why", why)
		http.NotFound(w, r)
	}
	sub, err := s.store.WebSubSubscription(ctx, cb)
	if errors.Is(err, store.ErrNotFound) {
		refuse("unknown callback")
		return
	}
	if err != nil {
		log.Error("read websub subscription", "err", err)
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	now := s.Now()
	var ok bool
	switch mode {
	case nashra.HubSubscribe:
		lease, perr := strconv.Atoi(q.Get("hub.lease_seconds"))
		if challenge == "" || perr != nil || lease <= 0 {
			refuse("no challenge or no valid hub.lease_seconds")
			return
		}
		lease = min(lease, int(maxLease/time.Second))
		ok, err = s.store.VerifyWebSub(ctx, cb, mode, topic, lease, now)
		if ok {
			log.Info("websub subscription verified", "feed_id", sub.FeedID, "lease_seconds", lease)
		}
	case nashra.HubUnsubscribe:
		if challenge == "" {
			refuse("no challenge")
			return
		}
		ok, err = s.store.VerifyWebSub(ctx, cb, mode, topic, 0, now)
		if ok {
			log.Info("websub unsubscription verified", "feed_id", sub.FeedID)
		}
	case "denied":
		reason := q.Get("hub.reason")
		ok, err = s.store.DenyWebSub(ctx, cb, topic, "denied by the hub: "+reason, now.Add(backoff(sub.Attempts)))
		if ok {
			log.Warn("websub subscription denied by the hub", "feed_id", sub.FeedID, "reason", reason)
			challenge = ""
			if sub.State == nashra.WebSubActive {
				// No longer pushed: the feed goes back on the normal interval.
				s.poller.PollSoon(sub.FeedID, feeds.TriggerLapse)
			}
		}
	default:
		refuse("unknown mode")
		return
	}
	if err != nil {
		log.Error("record websub verification", "err", err)
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	if !ok {
		refuse("nashra did not ask for this")
		return
	}
	s.metrics.verifications.WithLabelValues(mode, "accepted").Inc()
	s.wake()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write([]byte(challenge))
}

// distribute takes a content distribution: only for an active
// subscription, for its topic, signed with its secret by a method no
// weaker than the hub used before, and not already received. The body is
// checked, never kept: the feed is polled at once through the normal path.
func (s *Subscriber) distribute(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cb := r.PathValue("callback")
	log := s.log.With("callback", short(cb), "remote", r.RemoteAddr)
	refuse := func(code int, outcome, why string) {
		s.metrics.deliveries.WithLabelValues(outcome).Inc()
		log.Warn("websub content distribution refused", "status", code, "why", why)
		if code == http.StatusRequestEntityTooLarge {
			w.Header().Set("Connection", "close")
		}
		http.Error(w, why, code)
	}
	if r.ContentLength > s.maxBody {
		refuse(http.StatusRequestEntityTooLarge, "too_large", "body larger than the largest feed taken")
		return
	}
	// Every subscription has a secret: a request without a well-formed
	// signature is refused before it costs a look in the store.
	sig, err := parseSignature(r.Header.Get("X-Hub-Signature"))
	if errors.Is(err, errNoSignature) {
		refuse(http.StatusForbidden, "no_signature", "no X-Hub-Signature: the subscription has a secret")
		return
	}
	if err != nil {
		refuse(http.StatusForbidden, "bad_signature", err.Error())
		return
	}
	sub, err := s.store.WebSubSubscription(ctx, cb)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// 410 tells the hub to end a subscription nashra does not have.
		refuse(http.StatusGone, "unknown", "no such subscription")
		return
	case err != nil:
		log.Error("read websub subscription", "err", err)
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	case sub.State != nashra.WebSubActive:
		refuse(http.StatusGone, "unknown", "subscription not active: "+sub.State)
		return
	}
	log = log.With("feed_id", sub.FeedID, "topic", sub.Topic)
	for _, l := range parseLinks(r.Header.Values("Link")) {
		for _, rel := range l.rels {
			if rel == "self" && l.href != sub.Topic {
				refuse(http.StatusBadRequest, "wrong_topic", "distribution for another topic: "+l.href)
				return
			}
		}
	}
	if prev, ok := methods[sub.Signature]; ok && methods[sig.method].rank < prev.rank {
		refuse(http.StatusForbidden, "bad_signature", "signed with "+sig.method+" after "+sub.Signature)
		return
	}
	switch err := sig.verify(r.Body, sub.Secret, s.maxBody); {
	case errors.Is(err, errTooLarge):
		refuse(http.StatusRequestEntityTooLarge, "too_large", "body larger than the largest feed taken")
		return
	case errors.Is(err, errBadSignature):
		refuse(http.StatusForbidden, "bad_signature", "signature does not match the body")
		return
	case err != nil:
		refuse(http.StatusBadRequest, "unreadable", err.Error())
		return
	}
	method := sig.method
	if prev, ok := methods[sub.Signature]; ok && prev.rank > methods[method].rank {
		method = sub.Signature
	}
	switch err := s.store.WebSubPushed(ctx, cb, method, sig.digest(), keepDigests, s.Now()); {
	case errors.Is(err, store.ErrReplay):
		refuse(http.StatusConflict, "replay", "this body was received already")
		return
	case err != nil:
		log.Error("record websub push", "err", err)
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	if sig.method == "sha1" {
		log.Warn("hub signs with sha1 only: accepted, as the recommendation allows, but weak")
		s.metrics.deliveries.WithLabelValues("accepted_sha1").Inc()
	} else {
		s.metrics.deliveries.WithLabelValues("accepted").Inc()
	}
	queued := s.poller.PollSoon(sub.FeedID, feeds.TriggerPush)
	log.Info("websub push received: polling the feed", "signature", sig.method, "queued", queued)
	w.WriteHeader(http.StatusAccepted)
}

// short shows the start of a callback id in logs: enough to tell them
// apart, not enough to call one.
func short(cb string) string { return cb[:min(len(cb), 8)] }

// label bounds a metric label to the modes the recommendation names.
func label(mode string) string {
	switch mode {
	case nashra.HubSubscribe, nashra.HubUnsubscribe, "denied":
		return mode
	}
	return "other"
}
