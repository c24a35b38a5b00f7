package websub

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/feeds"
	"github.com/almaalouma/nashra/feeds/websub/websubtest"
)

// The whole dance against the strict hub (websub.rocks 100 and 300): the
// hub found in the feed's Link headers during the poll nashra makes anyway,
// a subscription with a secret, verified; the publisher pings the hub, the
// hub pushes the signed feed, and the article is stored once, as new.
func TestSubscribeVerifyAndPush(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	r.site.publish("خبر قديم")
	sub := r.subscribed(t)
	hs := r.hub.Subscriptions()[0]
	if hs.Topic != r.site.feedURL() || hs.Callback != r.base+"/websub/"+sub.Callback || hs.Secret != sub.Secret || len(sub.Secret) < 32 {
		t.Fatalf("hub holds %+v; nashra %+v", hs, sub)
	}
	if r.articles(t) != 1 {
		t.Fatalf("%d articles after the baseline", r.articles(t))
	}
	// While the hub pushes, the poll interval relaxes.
	if ok, _ := r.db.FeedPushing(ctx, r.feed.ID, time.Now()); !ok {
		t.Fatal("feed not pushing after verification")
	}
	if _, err := r.poller.PollAll(ctx); err != nil {
		t.Fatal(err)
	}
	f, _ := r.db.Feed(ctx, r.feed.ID)
	if wait := time.Until(f.NextCheckAt); wait < 14*time.Minute {
		t.Errorf("a pushed feed is next checked in %s, want the push interval", wait)
	}

	r.site.publish("عاجل: خبر جديد")
	before := r.site.fetchCount()
	r.hub.Publish(r.site.feedURL())
	waitFor(t, "the pushed article", func() bool { return r.articles(t) == 2 })
	as, _ := r.db.ArticlesInState(ctx, nashra.ArticleNew, 10)
	if len(as) != 1 || as[0].Title != "عاجل: خبر جديد" {
		t.Fatalf("new articles %+v", as)
	}
	if d := r.hub.Deliveries(); len(d) != 1 || d[0].Status != http.StatusAccepted {
		t.Errorf("deliveries %+v", d)
	}
	// One poll for one push: the hub's fetch is its own.
	waitFor(t, "the push's poll", func() bool { return r.site.fetchCount() == before+2 })
	got, _ := r.db.WebSubSubscription(ctx, sub.Callback)
	if got.Pushes != 1 || got.LastPushAt.IsZero() || got.Signature != "sha256" {
		t.Errorf("after a push: %+v", got)
	}
	if n := r.counter(t, "nashra_websub_deliveries_total", map[string]string{"outcome": "accepted"}); n != 1 {
		t.Errorf("accepted deliveries counted %v", n)
	}
	if n := r.counter(t, "nashra_feed_fed_by", map[string]string{"by": "push"}); n != 1 {
		t.Errorf("fed-by metric says %v feeds pushed", n)
	}
}

// websub.rocks 200, 201, 202: the topic is the feed's rel="self", not the
// URL fetched, also after a redirect.
func TestTopicIsTheFeedsSelf(t *testing.T) {
	r := newRig(t, nil)
	self := r.site.URL + "/canonical/feed"
	r.site.setLinks(http.Header{"Link": {fmt.Sprintf(`<%s>; rel="hub"`, r.hub.URL()), fmt.Sprintf(`<%s>; rel="self"`, self)}}, "")
	if _, err := r.poller.PollAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a subscription request", func() bool {
		subs, _ := r.db.WebSubSubscriptions(context.Background())
		return len(subs) == 1
	})
	subs, _ := r.db.WebSubSubscriptions(context.Background())
	if subs[0].Topic != self || subs[0].Hub != r.hub.URL() {
		t.Errorf("subscribed to %s at %s, want %s", subs[0].Topic, subs[0].Hub, self)
	}
}

// websub.rocks 203 and 204: a hub that redirects (307, 308) keeps the POST.
func TestHubRedirects(t *testing.T) {
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			r := newRig(t, nil)
			moved := newRedirect(t, r.hub.URL(), code)
			r.site.setLinks(http.Header{"Link": {fmt.Sprintf(`<%s>; rel="hub"`, moved)}}, "")
			r.subscribed(t)
		})
	}
}

func newRedirect(t *testing.T, to string, code int) string {
	srv := httptest.NewServer(http.RedirectHandler(to, code))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// Discovery in the feed itself (websub.rocks 102, 103) when no header names
// the hub: <atom:link rel="hub"> of an RSS channel.
func TestHubNamedInTheFeed(t *testing.T) {
	r := newRig(t, nil)
	r.site.setLinks(http.Header{}, fmt.Sprintf(`<atom:link rel="hub" href="%s"/><atom:link rel="self" href="%s"/>`, r.hub.URL(), r.site.feedURL()))
	r.subscribed(t)
}

// Leases are renewed before they end (websub.rocks: lease renewal): with a
// 4-second lease, renewed 2 seconds before its end, the hub verifies again
// and again, and the feed never stops being pushed.
func TestLeaseRenewedBeforeItEnds(t *testing.T) {
	r := newRig(t, nil)
	r.hub.SetLease(time.Second, 4*time.Second, 4*time.Second)
	r.subscribed(t)
	deadline := time.Now().Add(9 * time.Second)
	for time.Now().Before(deadline) {
		if ok, _ := r.db.FeedPushing(context.Background(), r.feed.ID, time.Now()); !ok {
			t.Fatal("the lease lapsed instead of being renewed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v := r.hub.Verifications(); v < 3 {
		t.Errorf("%d verifications in 9 s of 4-second leases", v)
	}
}

// A lease that lapses (the hub is down when nashra renews) tightens the
// polls at once: the feed is polled and put back on the normal interval;
// so does a hub that denies the renewal.
func TestLapsedLeaseTightensPolls(t *testing.T) {
	for _, how := range []string{"down", "denied"} {
		t.Run(how, func(t *testing.T) {
			r := newRig(t, nil)
			r.hub.SetLease(time.Second, 2*time.Second, 2*time.Second)
			r.subscribed(t)
			if how == "down" {
				r.hub.SetDown(true)
			} else {
				r.hub.Deny(r.site.feedURL(), "maintenance")
			}
			before := r.site.fetchCount()
			waitFor(t, "the end of push", func() bool {
				ok, _ := r.db.FeedPushing(context.Background(), r.feed.ID, time.Now())
				return !ok
			})
			waitFor(t, "the catch-up poll", func() bool { return r.site.fetchCount() > before })
			waitFor(t, "the normal interval", func() bool {
				f, _ := r.db.Feed(context.Background(), r.feed.ID)
				return time.Until(f.NextCheckAt) < 6*time.Minute
			})
			subs, _ := r.db.WebSubSubscriptions(context.Background())
			if len(subs) != 1 || subs[0].LastError == "" {
				t.Errorf("the hub's failure is not recorded: %+v", subs)
			}
			if how == "denied" && (subs[0].State != nashra.WebSubDenied || !strings.Contains(subs[0].LastError, "maintenance")) {
				t.Errorf("denial not recorded: %+v", subs[0])
			}
		})
	}
}

// A hub that takes the publisher's pings and delivers nothing is caught by
// the safety-net poll: its articles were not announced, so the hub is
// judged silent, the polls tighten and the subscription is asked again.
func TestSilentHubIsNoticed(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	sub := r.subscribed(t)
	r.hub.SetSilent(true)
	r.site.publish("خبر لم يدفعه المحور")
	r.hub.Publish(r.site.feedURL())
	// The safety-net poll, on the feed's schedule.
	f, _ := r.db.Feed(ctx, r.feed.ID)
	f.NextCheckAt = time.Now().Add(-time.Second)
	if err := r.db.UpdateFeedState(ctx, f); err != nil {
		t.Fatal(err)
	}
	if res, err := r.poller.PollDue(ctx); err != nil || len(res) != 1 || res[0].New != 1 {
		t.Fatalf("scheduled poll: %+v %v", res, err)
	}
	waitFor(t, "the silent hub", func() bool {
		s, _ := r.db.WebSubSubscription(ctx, sub.Callback)
		return !s.SilentSince.IsZero()
	})
	if ok, _ := r.db.FeedPushing(ctx, r.feed.ID, time.Now()); ok {
		t.Error("a silent hub still counts as pushing")
	}
	waitFor(t, "the normal interval", func() bool {
		f, _ := r.db.Feed(ctx, r.feed.ID)
		return time.Until(f.NextCheckAt) < 6*time.Minute
	})
	// The hub delivers again: push is trusted again.
	r.hub.SetSilent(false)
	r.site.publish("خبر ثان")
	r.hub.Publish(r.site.feedURL())
	waitFor(t, "push trusted again", func() bool {
		ok, _ := r.db.FeedPushing(ctx, r.feed.ID, time.Now())
		return ok
	})
}

// A push that races a scheduled poll (the poll finds the article first,
// the push comes a moment later) does not make the hub look silent.
func TestPushAfterThePollIsNoMiss(t *testing.T) {
	r := newRig(t, func(c *config.Config) { c.WebSub.MissedGrace = config.Duration(2 * time.Second) })
	ctx := context.Background()
	sub := r.subscribed(t)
	r.site.publish("خبر")
	f, _ := r.db.Feed(ctx, r.feed.ID)
	f.NextCheckAt = time.Now().Add(-time.Second)
	r.db.UpdateFeedState(ctx, f)
	if _, err := r.poller.PollDue(ctx); err != nil {
		t.Fatal(err)
	}
	r.hub.Publish(r.site.feedURL())
	time.Sleep(3 * time.Second)
	s, _ := r.db.WebSubSubscription(ctx, sub.Callback)
	if !s.SilentSince.IsZero() || !s.MissedAt.IsZero() {
		t.Errorf("a late push still left the hub suspected: %+v", s)
	}
}

// A feed removed from the configuration is unsubscribed, verified by the
// hub, and forgotten (websub.rocks: unsubscribe).
func TestRemovedFeedIsUnsubscribed(t *testing.T) {
	r := newRig(t, nil)
	r.subscribed(t)
	other := newSite(t)
	r.setFeeds(t, other.feedURL())
	r.sub.wake()
	waitFor(t, "the unsubscription", func() bool {
		subs, _ := r.db.WebSubSubscriptions(context.Background())
		return len(subs) == 0 && len(r.hub.Subscriptions()) == 0
	})
	if v := r.hub.Verifications(); v != 2 {
		t.Errorf("%d verifications, want subscribe and unsubscribe", v)
	}
}

// A hub whose Link headers change (a new hub) gets the old subscription
// ended and a new one made.
func TestNewHubReplacesTheOld(t *testing.T) {
	r := newRig(t, nil)
	r.subscribed(t)
	second := websubtest.NewHub()
	defer second.Close()
	r.site.setLinks(http.Header{"Link": {fmt.Sprintf(`<%s>; rel="hub"`, second.URL())}}, "")
	r.site.publish("x") // a full answer, not a 304
	if _, err := r.poller.PollAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the move to the new hub", func() bool {
		subs, _ := r.db.WebSubSubscriptions(context.Background())
		return len(r.hub.Subscriptions()) == 0 && len(second.Subscriptions()) == 1 &&
			len(subs) == 1 && subs[0].Hub == second.URL() && subs[0].State == nashra.WebSubActive
	})
}

// Requests nashra did not ask for, and content it must not take: each is
// refused with its status, logged, counted, and changes nothing.
func TestForgedRequestsRefused(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	sub := r.subscribed(t)
	cb := r.base + "/websub/" + sub.Callback
	r.site.publish("خبر منشور")
	feed := []byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>`)
	post := func(url string, body io.Reader, length int64, header http.Header) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url, body)
		req.ContentLength = length
		req.Header = header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			// The server may close the connection on a refused upload.
			t.Logf("post: %v", err)
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	signed := func(method string, body []byte) http.Header {
		return http.Header{"Content-Type": {"application/rss+xml"}, "X-Hub-Signature": {websubtest.Sign(method, sub.Secret, body)}}
	}
	get := func(q url.Values) int {
		t.Helper()
		resp, err := http.Get(cb + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	fetches := r.site.fetchCount()
	verify := url.Values{"hub.mode": {"subscribe"}, "hub.topic": {r.site.feedURL()}, "hub.challenge": {"c"}, "hub.lease_seconds": {"999999"}}
	other := url.Values{"hub.mode": {"subscribe"}, "hub.topic": {"https://elsewhere.example/feed"}, "hub.challenge": {"c"}, "hub.lease_seconds": {"60"}}
	unsub := url.Values{"hub.mode": {"unsubscribe"}, "hub.topic": {r.site.feedURL()}, "hub.challenge": {"c"}}
	huge := io.MultiReader(bytes.NewReader(feed), strings.NewReader(strings.Repeat(" ", 50<<20)))
	cases := []struct {
		name string
		do   func() int
		want int
	}{
		{"a verification replayed once answered (nothing pending)", func() int { return get(verify) }, http.StatusNotFound},
		{"a verification for another topic (websub.rocks 205)", func() int { return get(other) }, http.StatusNotFound},
		{"an unsubscription nashra never asked", func() int { return get(unsub) }, http.StatusNotFound},
		{"a verification for an unknown callback", func() int {
			resp, _ := http.Get(r.base + "/websub/0123456789abcdef?" + verify.Encode())
			resp.Body.Close()
			return resp.StatusCode
		}, http.StatusNotFound},
		{"no signature (websub.rocks 302)", func() int {
			return post(cb, bytes.NewReader(feed), int64(len(feed)), http.Header{"Content-Type": {"application/rss+xml"}})
		}, http.StatusForbidden},
		{"a bad signature (websub.rocks 301)", func() int {
			return post(cb, bytes.NewReader(feed), int64(len(feed)), http.Header{"X-Hub-Signature": {websubtest.Sign("sha256", "guess", feed)}})
		}, http.StatusForbidden},
		{"a signature of another body", func() int {
			h := signed("sha256", feed)
			return post(cb, strings.NewReader(string(feed)+" "), int64(len(feed)+1), h)
		}, http.StatusForbidden},
		{"an unknown method", func() int {
			return post(cb, bytes.NewReader(feed), int64(len(feed)), http.Header{"X-Hub-Signature": {"md5=00"}})
		}, http.StatusForbidden},
		{"an unknown callback", func() int {
			return post(r.base+"/websub/0123456789abcdef", bytes.NewReader(feed), int64(len(feed)), signed("sha256", feed))
		}, http.StatusGone},
		{"another topic's content", func() int {
			h := signed("sha256", feed)
			h.Add("Link", `<https://elsewhere.example/feed>; rel="self"`)
			return post(cb, bytes.NewReader(feed), int64(len(feed)), h)
		}, http.StatusBadRequest},
		{"50 MB declared", func() int {
			return post(cb, io.LimitReader(huge, 50<<20), 50<<20, signed("sha256", feed))
		}, http.StatusRequestEntityTooLarge},
		{"50 MB sent without a length", func() int {
			huge := io.MultiReader(bytes.NewReader(feed), strings.NewReader(strings.Repeat(" ", 50<<20)))
			return post(cb, io.NopCloser(huge), -1, signed("sha256", feed))
		}, http.StatusRequestEntityTooLarge},
		{"a verification with a body", func() int {
			req, _ := http.NewRequest(http.MethodGet, cb+"?"+verify.Encode(), strings.NewReader("x"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}, http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.do(); got != c.want && got != 0 {
				t.Errorf("status %d, want %d", got, c.want)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	if n := r.site.fetchCount(); n != fetches {
		t.Errorf("the forged requests made nashra fetch the feed %d times", n-fetches)
	}
	if r.articles(t) != 0 {
		t.Errorf("%d articles stored by forged requests", r.articles(t))
	}
	s, _ := r.db.WebSubSubscription(ctx, sub.Callback)
	if s.State != nashra.WebSubActive || s.Pushes != 0 || s.LeaseSeconds == 999999 {
		t.Errorf("the subscription changed: %+v", s)
	}
	if n := r.counter(t, "nashra_websub_deliveries_total", map[string]string{"outcome": "bad_signature"}); n != 3 {
		t.Errorf("bad signatures counted %v", n)
	}

	// A valid push, then the same body replayed: refused, one poll only.
	h := signed("sha256", feed)
	if code := post(cb, bytes.NewReader(feed), int64(len(feed)), h); code != http.StatusAccepted {
		t.Fatalf("valid push: %d", code)
	}
	waitFor(t, "the push's poll", func() bool { return r.articles(t) == 1 })
	if code := post(cb, bytes.NewReader(feed), int64(len(feed)), h); code != http.StatusConflict {
		t.Errorf("replayed push: %d, want 409", code)
	}
	time.Sleep(100 * time.Millisecond)
	if n := r.site.fetchCount(); n != fetches+1 {
		t.Errorf("%d fetches for one push and its replay", n-fetches)
	}
	// A hub that used sha256 may not fall back to sha1.
	other1 := append(feed, ' ')
	if code := post(cb, bytes.NewReader(other1), int64(len(other1)), signed("sha1", other1)); code != http.StatusForbidden {
		t.Errorf("sha1 after sha256: %d, want 403", code)
	}
}

// A hub that offers sha1 only is taken, and said to be weak.
func TestSHA1OnlyHubAcceptedAndCounted(t *testing.T) {
	r := newRig(t, nil)
	r.hub.SetMethod("sha1")
	r.subscribed(t)
	r.site.publish("خبر")
	r.hub.Publish(r.site.feedURL())
	waitFor(t, "the pushed article", func() bool { return r.articles(t) == 1 })
	if n := r.counter(t, "nashra_websub_deliveries_total", map[string]string{"outcome": "accepted_sha1"}); n != 1 {
		t.Errorf("sha1 deliveries counted %v", n)
	}
	for _, m := range []string{"sha384", "sha512"} {
		r.hub.SetMethod(m)
		r.site.publish("خبر " + m)
		r.hub.Publish(r.site.feedURL())
	}
	waitFor(t, "the articles pushed with sha384 and sha512", func() bool { return r.articles(t) == 3 })
}

// Many pushes at once poll the feed one at a time, never twice at once,
// and store each article once.
func TestPushesDuringAPollCoalesce(t *testing.T) {
	r := newRig(t, nil)
	r.subscribed(t)
	for i := range 5 {
		r.site.publish(fmt.Sprintf("خبر %d", i))
		go r.hub.Publish(r.site.feedURL())
	}
	waitFor(t, "the five articles", func() bool { return r.articles(t) == 5 })
	time.Sleep(200 * time.Millisecond)
	if n := r.articles(t); n != 5 {
		t.Errorf("%d articles for five", n)
	}
	if q := r.counter(t, "nashra_feed_polls_asked_total", map[string]string{"trigger": string(feeds.TriggerPush)}); q < 1 {
		t.Errorf("push polls asked: %v", q)
	}
}

// A development run on a loopback base URL never asks a hub elsewhere for
// a subscription it could not verify.
func TestNoSubscriptionAHubCannotCallBack(t *testing.T) {
	r := newRig(t, nil)
	r.site.setLinks(http.Header{"Link": {`<https://pubsubhubbub.example/>; rel="hub"`}}, "")
	if _, err := r.poller.PollAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the hub recorded", func() bool {
		ps, _ := r.db.FeedPushes(context.Background())
		return len(ps) == 1 && ps[0].Hub == "https://pubsubhubbub.example/"
	})
	r.sub.wake()
	time.Sleep(200 * time.Millisecond)
	if subs, _ := r.db.WebSubSubscriptions(context.Background()); len(subs) != 0 {
		t.Errorf("subscribed at a hub that cannot call back: %+v", subs)
	}
	if !loopback("http://localhost:8080") || !loopback("http://[::1]:80/") || loopback("https://almaalouma.net") {
		t.Error("loopback misjudged")
	}
}

// The site's publish ping finds what a broken hub never pushes: the hub is
// judged silent as when a scheduled poll finds it.
func TestPingFindsWhatTheHubMissed(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	sub := r.subscribed(t)
	r.hub.SetSilent(true)
	r.site.publish("خبر")
	r.hub.Publish(r.site.feedURL())
	r.poller.PollSoon(r.feed.ID, feeds.TriggerPing)
	waitFor(t, "the silent hub", func() bool {
		s, _ := r.db.WebSubSubscription(ctx, sub.Callback)
		return !s.SilentSince.IsZero()
	})
}
