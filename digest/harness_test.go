package digest

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/mail"
	"github.com/almaalouma/nashra/outbox/outboxtest"
	"github.com/almaalouma/nashra/ranking"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/store/sqlitetest"
	"github.com/almaalouma/nashra/subscribers"
)

// sections are the site's seven, as configured by default.
var sections = []nashra.Section{
	{Slug: "news", Name: "أخبار"}, {Slug: "articles", Name: "مقالات"}, {Slug: "infographics", Name: "إنفوجرافيك"},
	{Slug: "video", Name: "فيديو"}, {Slug: "caricature", Name: "كاريكاتير"}, {Slug: "reports", Name: "تقارير"},
	{Slug: "translation", Name: "ترجمة"},
}

// clock is a clock that can be set and then advances like real time, as
// the service needs.
type clock struct {
	mu  sync.Mutex
	t   time.Time
	set time.Time // when t was set
}

func newClock(t time.Time) *clock { return &clock{t: t, set: time.Now()} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t.Add(time.Since(c.set))
}

func (c *clock) setTo(t time.Time) {
	c.mu.Lock()
	c.t, c.set = t, time.Now()
	c.mu.Unlock()
}

type harness struct {
	t     testing.TB
	db    *store.DB
	clock *clock
	log   *outboxtest.Log
	cfg   *config.Config
}

// digestDay is the day the tests' digests go out: Saturday 28 November
// 2026 at 07:00 in Baghdad.
var digestDay = time.Date(2026, 11, 28, 7, 0, 0, 0, config.Defaults().Site.Location)

func newHarness(t testing.TB) *harness {
	t.Helper()
	return openHarness(t, t.TempDir(), newClock(digestDay.Add(5*time.Minute)))
}

// openHarness opens (or creates) the harness's store in dir, with the
// outbox beside it; a crashed process's successor opens the same.
func openHarness(t testing.TB, dir string, c *clock) *harness {
	t.Helper()
	specs := make([]nashra.Section, len(sections))
	for i, s := range sections {
		specs[i] = nashra.Section{Slug: s.Slug, Name: s.Name, Feeds: []string{"https://almaalouma.net/category/" + s.Slug + "/feed/"}}
	}
	db := sqlitetest.OpenAt(t, filepath.Join(dir, "nashra.db"), specs...)
	cfg := config.Defaults()
	cfg.BaseURL = "https://nashra.example.org"
	cfg.Email.From = config.Address{Name: "نشرة المعلومة", Address: "digest@almaalouma.example"}
	cfg.Email.OutboxDir = filepath.Join(dir, "outbox")
	cfg.Email.RatePerSecond = 0
	cfg.Email.RetryBase, cfg.Email.RetryMax = config.Duration(10*time.Millisecond), config.Duration(50*time.Millisecond)
	cfg.LeaseDuration = config.Duration(2 * time.Second)
	return &harness{t: t, db: db, clock: c, log: &outboxtest.Log{}, cfg: cfg}
}

// sending is the digest with the mail sender that sends what it queues,
// wired as cmd/nashra wires them, and the registry of their metrics.
type sending struct {
	*Service
	*mail.Sender
	reg *prometheus.Registry
}

// SendNow builds and sends with the digest's own sender.
func (s sending) SendNow(ctx context.Context, at time.Time) (nashra.Digest, error) {
	return s.Service.SendNow(ctx, at, s.Sender)
}

// mailed is the sender's count of mails with result (sent, retried…).
func (s sending) mailed(result string) float64 {
	mfs, err := s.reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if mf.GetName() == "nashra_digest_messages_total" && labels["medium"] == "email" && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// smtpURL is NASHRA_SMTP_URL as config reads it.
func smtpURL(t testing.TB, raw string) config.SMTP {
	t.Helper()
	s, err := config.ParseSMTP(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// service builds the digest and its mail sender on the harness's store
// with its config.
func (h *harness) service(deps ...func(*Deps)) sending {
	h.t.Helper()
	var snd *mail.Sender
	reg := prometheus.NewRegistry()
	rc := *h.cfg
	rc.Ranking.SiteBoost = -1 // the site's list is never read here
	r := ranking.New(&rc, h.db, ranking.WithClock(h.clock.now), ranking.WithLogger(slog.New(slog.DiscardHandler)))
	d := Deps{Store: h.db, Ranker: r, Tokens: mustTokens(h.t), Sections: nashra.NewCatalog(sections), Now: h.clock.now,
		Subscribers: subscribers.New(h.cfg, h.db, nashra.NewCatalog(sections)),
		Log:         slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer:  reg, MailQueued: func() { snd.Notify() }}
	for _, f := range deps {
		f(&d)
	}
	s, err := New(h.cfg, d)
	if err != nil {
		h.t.Fatal(err)
	}
	snd, err = mail.New(h.cfg, mail.Deps{Store: h.db, Composer: s, Now: h.clock.now, Log: d.Log, Registerer: reg})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { snd.Close() })
	return sending{Service: s, Sender: snd, reg: reg}
}

// signups is the subscribers on the harness's store, as the bot and the
// web pages ask them for the digest: a signup's mails wake s's sender.
func (h *harness) signups(s sending) *subscribers.Service {
	return subscribers.New(h.cfg, h.db, nashra.NewCatalog(sections), subscribers.WithClock(h.clock.now),
		subscribers.WithMailQueued(s.Notify), subscribers.WithLogger(slog.New(slog.NewTextHandler(h.log, nil))))
}

// asker is the i-th Telegram user asking for the digest with /email.
func asker(i int) subscribers.Requester { return subscribers.Requester{TelegramUser: int64(1000 + i)} }

// mustTokens returns the signer of the tests' mailed links.
func mustTokens(t testing.TB) *links.ActionSigner {
	tokens, err := links.NewActionSigner([]byte("test secret"))
	if err != nil {
		t.Fatal(err)
	}
	return tokens
}

// longText repeats Arabic prose to n characters or more.
func longText(n int) string {
	const prose = "في ظل التغيرات السياسية المتسارعة، يبدو أن العلاقات بين الولايات المتحدة وروسيا تتجه نحو نوع من التفاهم القائم على المصالح المشتركة. "
	var b strings.Builder
	for b.Len() < n*2 {
		b.WriteString(prose)
	}
	return string([]rune(b.String())[:n])
}

// seed stores perSection articles in each section, first seen in the
// hours before the digest, with long Arabic titles and summaries.
func (h *harness) seed(perSection int) {
	h.t.Helper()
	ctx := context.Background()
	n := 0
	for si, s := range sections {
		var items []nashra.Article
		for i := range perSection {
			n++
			items = append(items, nashra.Article{
				GUID:     fmt.Sprintf("https://almaalouma.net/?p=%d", 1000+n),
				Link:     fmt.Sprintf("https://almaalouma.net/2026/11/27/%s-%d/", s.Slug, i),
				Title:    fmt.Sprintf("%s %d: التقارب الروسي–الأمريكي ومصالح متبادلة أم تنازلات استراتيجية في ملفات المنطقة", s.Name, i+1),
				Summary:  longText(300),
				ImageURL: fmt.Sprintf("https://almaalouma.net/wp-content/uploads/2026/11/%s-%d.jpg", s.Slug, i),
				Author:   "كاظم الطائي",
			})
		}
		seen := digestDay.Add(-time.Duration(2+si*2) * time.Hour)
		if _, err := h.db.SaveItems(ctx, s.Slug, items, seen, func(fresh []*nashra.Article) {
			for _, a := range fresh {
				a.State = nashra.ArticleHanded
			}
		}); err != nil {
			h.t.Fatal(err)
		}
	}
}

// subscribe imports n confirmed subscribers, reader0@example.org…, with
// sections cycling through those given (none: all).
func (h *harness) subscribe(n int, sets ...[]string) {
	h.t.Helper()
	now := digestDay.Add(-48 * time.Hour)
	subs := make([]nashra.EmailSubscriber, n)
	for i := range subs {
		subs[i] = nashra.EmailSubscriber{Address: fmt.Sprintf("reader%d@example.org", i), State: nashra.EmailActive,
			CreatedAt: now, UpdatedAt: now, RequestedAt: now, ConfirmedAt: now}
		if len(sets) > 0 {
			subs[i].Sections = sets[i%len(sets)]
		}
	}
	if _, err := h.db.ImportEmailSubscribers(context.Background(), subs); err != nil {
		h.t.Fatal(err)
	}
}

// sendAll runs the sender until every mail of the digest is settled.
func (h *harness) sendAll(s sending) nashra.Digest {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := s.SendNow(ctx, digestDay)
	if err != nil {
		h.t.Fatalf("send: %v\n%s", err, h.log.String())
	}
	return d
}
