package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/demo"
	"github.com/almaalouma/nashra/feeds/ping"
	"github.com/almaalouma/nashra/feeds/websub/websubtest"
	"github.com/almaalouma/nashra/store/storetest"
	"github.com/almaalouma/nashra/telegram/telegramtest"
)

const publishSecret = "wordpress-and-nashra-share-this"

// publisher plays WordPress: it publishes on the site, then pings the hub
// as the WebSub plugin does, or nashra's /hooks/publish as the README's
// snippet does.
type publisher struct {
	site   *demo.Site
	hub    string // empty: no hub
	nashra string // nashra's base URL
}

// viaHub publishes it now and pings the hub.
func (p publisher) viaHub(t *testing.T, it demo.Item) {
	t.Helper()
	p.site.Publish(time.Now(), it)
	resp, err := http.PostForm(p.hub, url.Values{"hub.mode": {"publish"}, "hub.url": {p.site.FeedURL(it.Section)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("hub answered the publish ping %s", resp.Status)
	}
}

// viaPing publishes it now and sends nashra the signed publish ping of its
// section.
func (p publisher) viaPing(t *testing.T, it demo.Item) {
	t.Helper()
	p.site.Publish(time.Now(), it)
	body, _ := json.Marshal(ping.Ping{Time: time.Now().Unix(), Sections: []string{it.Section}, Post: json.RawMessage(`1234`)})
	req, _ := http.NewRequest(http.MethodPost, p.nashra+"/hooks/publish", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(ping.SignatureHeader, ping.Sign(publishSecret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("publish ping: %s", resp.Status)
	}
}

// freeAddr finds a loopback port for nashra to listen on: its callbacks
// must be known before it starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// pushWorld is nashra with Telegram on, its feeds on a site that names a
// hub, each section's posts going to a channel of its own.
type pushWorld struct {
	m        *Main
	site     *demo.Site
	hub      *websubtest.Hub
	tg       *telegramtest.Server
	channels map[string]int64 // by section
	pub      publisher
	vars     map[string]string
}

func newPushWorld(t *testing.T, withHub bool, adjust func(*config.Config)) *pushWorld {
	t.Helper()
	w := &pushWorld{site: demo.NewSite(time.Now()), tg: telegramtest.NewServer(), channels: map[string]int64{}}
	t.Cleanup(w.site.Close)
	t.Cleanup(w.tg.Close)
	if withHub {
		w.hub = websubtest.NewHub()
		t.Cleanup(w.hub.Close)
		w.site.SetHub(w.hub.URL())
	}
	addr := freeAddr(t)
	w.vars = demoEnv(t, w.site)
	w.vars["NASHRA_HTTP_ADDR"] = addr
	w.vars["NASHRA_BASE_URL"] = "http://" + addr
	w.vars["NASHRA_TELEGRAM_TOKEN"] = w.tg.Token()
	w.vars["NASHRA_TELEGRAM_API"] = w.tg.Endpoint()
	w.vars["NASHRA_PUBLISH_SECRET"] = publishSecret
	for _, s := range config.Defaults().Sections {
		ch := w.tg.AddChat(tgbotapi.Chat{Type: "channel", Title: s.Name, UserName: "almaalouma_" + s.Slug})
		w.channels[s.Slug] = ch.ID
	}
	w.m = startMain(t, w.vars, func(cfg *config.Config) {
		for i := range cfg.Sections {
			cfg.Sections[i].Channels = []string{"@almaalouma_" + cfg.Sections[i].Slug}
		}
		if adjust != nil {
			adjust(cfg)
		}
	})
	t.Cleanup(func() { w.m.Close(context.Background()) })
	w.pub = publisher{site: w.site, nashra: "http://" + addr}
	if withHub {
		w.pub.hub = w.hub.URL()
	}
	ctx := context.Background()
	waitFor(t, func() bool {
		fs, err := w.m.db.Feeds(ctx)
		for _, f := range fs {
			if f.BaselinedAt.IsZero() {
				return false
			}
		}
		return err == nil
	})
	if withHub {
		waitFor(t, func() bool {
			subs, _ := w.m.db.WebSubSubscriptions(ctx)
			active := 0
			for _, s := range subs {
				if s.State == nashra.WebSubActive && s.Pending == "" {
					active++
				}
			}
			return active == len(feedsOf(w)) && len(w.hub.Subscriptions()) == active
		})
	}
	return w
}

func feedsOf(w *pushWorld) []nashra.Feed {
	f, _ := w.m.db.Feeds(context.Background())
	return f
}

// posted waits for a post in the section's channel that holds title, and
// returns when the fake Bot API took it.
func (w *pushWorld) posted(t *testing.T, section, title string, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, r := range w.tg.Sent(w.channels[section]) {
			if strings.Contains(r.Plain, title) {
				return r.Time
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no post of %q in %s within %s", title, section, within)
	return time.Time{}
}

// The whole path with push: the site names a hub (a strict one nobody at
// nashra wrote against nashra's needs), nashra subscribes every feed;
// WordPress publishes and pings the hub, the hub pushes, nashra polls the
// feed at once and the channel gets the post, once. The publish ping does
// the same without a hub. `nashra sections` and /metrics say how each feed
// is fed.
func TestEndToEndPush(t *testing.T) {
	w := newPushWorld(t, true, nil)
	ctx := context.Background()
	it := demo.Fresh[0] // news, breaking
	w.pub.viaHub(t, it)
	w.posted(t, "news", it.Title, 15*time.Second)
	pinged := demo.Item{Section: "reports", Title: "تقرير: ما بعد الموازنة", Byline: "قسم التقارير", Body: "تحليل.", Tags: []string{"تقارير"}}
	w.pub.viaPing(t, pinged)
	w.posted(t, "reports", pinged.Title, 15*time.Second)
	time.Sleep(300 * time.Millisecond)
	if n := len(w.tg.Sent(w.channels["news"])); n != 1 {
		t.Errorf("the news channel got %d posts for one article", n)
	}
	if n, _ := w.m.db.CountArticles(ctx); n != len(demo.Initial)+2 {
		t.Errorf("%d articles stored", n)
	}
	if st := w.tg.Stats(); st.TooManyRequests != 0 || st.GlobalViolations != 0 {
		t.Errorf("fake Bot API saw 429s or violations: %+v", st)
	}

	code, out, errOut := runCLI(t, w.vars, "sections")
	if code != 0 {
		t.Fatalf("sections: %d %s", code, errOut)
	}
	var newsLine string
	for line := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(line, "news ") && strings.Contains(line, w.site.FeedURL("news")) && strings.Contains(line, "push") {
			newsLine = line
		}
	}
	// SECTION FEED FED-BY HUB SUBSCRIPTION LEASE-UNTIL (date time) LAST-PUSH (date time) LAST-PING
	f := strings.Fields(newsLine)
	today := time.Now().In(w.m.cfg.Site.Location).Format("2006-01-02")
	if len(f) != 10 || f[3] != w.hub.URL() || f[4] != "active" || f[5] <= today || f[7] != today || f[9] != "-" {
		t.Errorf("sections does not show news pushed, with its lease and last push:\n%s", out)
	}
	resp, err := http.Get("http://" + w.m.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		fmt.Sprintf(`nashra_feed_fed_by{by="push",feed=%q} 1`, w.site.FeedURL("news")),
		`nashra_websub_deliveries_total{outcome="accepted"} 1`,
		`nashra_publish_pings_total{outcome="accepted"} 1`,
		`nashra_websub_lease_expiry_timestamp_seconds{feed=`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// A forged push and a forged ping change nothing on the running service.
func TestEndToEndForgedPushRefused(t *testing.T) {
	w := newPushWorld(t, true, nil)
	ctx := context.Background()
	subs, _ := w.m.db.WebSubSubscriptions(ctx)
	cb := w.pub.nashra + "/websub/" + subs[0].Callback
	w.site.Publish(time.Now(), demo.Fresh[0])
	body := []byte("<rss/>")
	for _, c := range []struct {
		url, sig string
		want     int
	}{
		{cb, websubtest.Sign("sha256", "not the secret", body), http.StatusForbidden},
		{cb, "", http.StatusForbidden},
		{w.pub.nashra + "/hooks/publish", ping.Sign("not the secret", body), http.StatusForbidden},
	} {
		req, _ := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(body))
		req.Header.Set("X-Hub-Signature", c.sig)
		req.Header.Set(ping.SignatureHeader, c.sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.url, resp.StatusCode, c.want)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if as, _ := w.m.db.ArticlesInState(ctx, nashra.ArticleNew, 10); len(as) != 0 {
		t.Errorf("forged requests stored %d articles", len(as))
	}
}

// Two instances on one PostgreSQL, one public callback URL (here the
// follower's): only the leader subscribes, the follower answers the hub's
// verifications and its pushes, and polls the pushed feed itself; the
// article is stored once. When the leader stops, the follower takes the
// renewals over.
func TestPushOnTwoInstances(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	ctx := context.Background()
	hub := websubtest.NewHub()
	defer hub.Close()
	hub.SetLease(time.Second, 3*time.Second, 3*time.Second)
	site := demo.NewSite(time.Now())
	defer site.Close()
	vars := demoEnv(t, site)
	vars["NASHRA_DATABASE_URL"] = dbURL
	addrA, addrB := freeAddr(t), freeAddr(t)
	vars["NASHRA_BASE_URL"] = "http://" + addrB
	vars["NASHRA_HTTP_ADDR"] = addrA
	a := startMain(t, vars, nil)
	closeA := sync.OnceFunc(func() { a.Close(ctx) })
	defer closeA()
	vars["NASHRA_HTTP_ADDR"] = addrB
	b := startMain(t, vars, nil)
	defer b.Close(ctx)
	if !(a.leader.IsLeader(context.Background()) == nil) || (b.leader.IsLeader(context.Background()) == nil) {
		t.Fatal("a should lead, b follow")
	}
	// The feeds name the hub once both instances answer.
	site.SetHub(hub.URL())
	if _, err := a.poller.PollAll(ctx); err != nil {
		t.Fatal(err)
	}
	sections := len(config.Defaults().Sections)
	waitFor(t, func() bool {
		subs, _ := a.db.WebSubSubscriptions(ctx)
		active := 0
		for _, s := range subs {
			if s.State == nashra.WebSubActive {
				active++
			}
		}
		return active == sections && len(hub.Subscriptions()) == sections
	})
	if subs, _ := a.db.WebSubSubscriptions(ctx); len(subs) != sections {
		t.Errorf("%d subscriptions for %d feeds: the follower subscribed too", len(subs), sections)
	}
	before, _ := a.db.CountArticles(ctx)
	pub := publisher{site: site, hub: hub.URL()}
	pub.viaHub(t, demo.Fresh[0])
	waitFor(t, func() bool { n, _ := a.db.CountArticles(ctx); return n == before+1 })
	if n := counterValue(t, b, "nashra_websub_deliveries_total", `outcome="accepted"`); n != 1 {
		t.Errorf("the follower accepted %v pushes, want 1", n)
	}
	if n := counterValue(t, a, "nashra_websub_deliveries_total", `outcome="accepted"`); n != 0 {
		t.Errorf("the leader got %v pushes; the hub calls the public URL", n)
	}
	// 3-second leases: renewals go on after the leader stops.
	closeA()
	verified := hub.Verifications()
	waitFor(t, func() bool {
		return (b.leader.IsLeader(context.Background()) == nil) && hub.Verifications() >= verified+sections
	})
	time.Sleep(4 * time.Second)
	if subs := hub.Subscriptions(); len(subs) != sections {
		t.Errorf("%d subscriptions in force after the failover", len(subs))
	}
}

// counterValue reads one sample of a Main's /metrics.
func counterValue(t *testing.T, m *Main, name, labels string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + m.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name+"{"+labels+"} "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return 0
}

// With websub.enabled off, a hub that still calls is told the
// subscription is gone, and the feeds are polled only.
func TestWebSubOffAnswersGone(t *testing.T) {
	site := demo.NewSite(time.Now())
	defer site.Close()
	hub := websubtest.NewHub()
	defer hub.Close()
	site.SetHub(hub.URL())
	vars := demoEnv(t, site)
	m := startMain(t, vars, func(cfg *config.Config) { cfg.WebSub.Enabled = false })
	defer m.Close(context.Background())
	waitFor(t, func() bool { n, _ := m.db.CountArticles(context.Background()); return n == len(demo.Initial) })
	resp, err := http.Post("http://"+m.Addr().String()+"/websub/0123456789abcdef", "application/rss+xml", strings.NewReader("<rss/>"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Errorf("callback with websub off: %s", resp.Status)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(hub.Subscriptions()); n != 0 {
		t.Errorf("%d subscriptions made with websub off", n)
	}
}
