package mail

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/internal/smtpsink"
	"github.com/almaalouma/nashra/outbox/outboxtest"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/store/sqlitetest"
	"github.com/almaalouma/nashra/subscribers"
)

// sections is the tests' one section: the mails' content is not theirs.
var sections = []nashra.Section{{Slug: "news", Name: "أخبار", Feeds: []string{"https://almaalouma.net/category/news/feed/"}}}

type harness struct {
	t   testing.TB
	db  *store.DB
	log *outboxtest.Log
	cfg *config.Config
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	dir := t.TempDir()
	// Retries and a lease short enough for tests, no pacing; the sender's
	// own address names its HELO.
	cfg := config.Defaults()
	cfg.LeaseDuration = config.Duration(2 * time.Second)
	cfg.Email.From = config.Address{Address: "digest@almaalouma.example"}
	cfg.Email.OutboxDir, cfg.Email.RatePerSecond = filepath.Join(dir, "outbox"), 0
	cfg.Email.RetryBase, cfg.Email.RetryMax = config.Duration(10*time.Millisecond), config.Duration(50*time.Millisecond)
	return &harness{t: t, db: sqlitetest.OpenAt(t, filepath.Join(dir, "nashra.db"), sections...), log: &outboxtest.Log{}, cfg: cfg}
}

// notes is the tests' Composer: every row's mail is a short note to its
// address, named by its kind and id.
type notes struct{}

func (notes) Compose(_ context.Context, row nashra.Send, now time.Time) (Message, bool, error) {
	id := fmt.Sprintf("%s.%d", row.Kind, row.ID)
	raw := "From: <digest@almaalouma.example>\r\nTo: <" + row.Address + ">\r\nSubject: " + id + "\r\nMessage-Id: <" + id +
		"@almaalouma.example>\r\nDate: " + now.Format(time.RFC1123Z) + "\r\n\r\n" + id + "\r\n"
	return Message{From: "digest@almaalouma.example", To: row.Address, Raw: []byte(raw), Name: fmt.Sprintf("%s-%d", row.Kind, row.ID)},
		true, nil
}

// sender builds the sender on the harness's store with its config.
func (h *harness) sender(deps ...func(*Deps)) *Sender {
	h.t.Helper()
	d := Deps{Store: h.db, Composer: notes{}, Log: slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, f := range deps {
		f(&d)
	}
	s, err := New(h.cfg, d)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { s.Close() })
	return s
}

// sink starts an SMTP sink and points the harness at it.
func (h *harness) sink(opts smtpsink.Options) *smtpsink.Server {
	h.t.Helper()
	s, err := smtpsink.Start(opts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(s.Close)
	h.smtp("smtp://" + s.Addr())
	return s
}

// smtp points the harness at the server of NASHRA_SMTP_URL raw.
func (h *harness) smtp(raw string) {
	h.t.Helper()
	s, err := config.ParseSMTP(raw)
	if err != nil {
		h.t.Fatal(err)
	}
	h.cfg.SMTP = s
}

// subscribe imports n confirmed subscribers, reader0@example.org….
func (h *harness) subscribe(n int) {
	h.t.Helper()
	now := time.Now().Add(-48 * time.Hour)
	subs := make([]nashra.EmailSubscriber, n)
	for i := range subs {
		subs[i] = nashra.EmailSubscriber{Address: fmt.Sprintf("reader%d@example.org", i), State: nashra.EmailActive,
			CreatedAt: now, UpdatedAt: now, RequestedAt: now, ConfirmedAt: now}
	}
	if _, err := h.db.ImportEmailSubscribers(context.Background(), subs); err != nil {
		h.t.Fatal(err)
	}
}

// queue queues a digest to every subscriber, as building one does.
func (h *harness) queue() nashra.Digest {
	h.t.Helper()
	now := time.Now()
	d, _, err := h.db.CreateDigest(context.Background(), nashra.Digest{Day: "2026-11-28", State: nashra.DigestSending,
		Subject: "نشرة المعلومة", CreatedAt: now, WindowStart: now.Add(-24 * time.Hour), WindowEnd: now}, false)
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// signups is the subscribers on the harness's store: a signup's mails
// wake s.
func (h *harness) signups(s *Sender) *subscribers.Service {
	return subscribers.New(h.cfg, h.db, nashra.NewCatalog(sections), subscribers.WithMailQueued(s.Notify),
		subscribers.WithLogger(slog.New(slog.NewTextHandler(h.log, nil))))
}

// asker is the i-th Telegram user asking for the digest with /email.
func asker(i int) subscribers.Requester { return subscribers.Requester{TelegramUser: int64(1000 + i)} }

// send runs s until no mail is left to send; it fails when the send is
// paused or ctx ends.
func (h *harness) send(ctx context.Context, s *Sender) error {
	return s.SendUntil(ctx, func(ctx context.Context) (bool, error) {
		n, err := h.db.OpenSends(ctx, nashra.SendEmail)
		return n == 0, err
	})
}

// sendAll runs s until every mail is settled.
func (h *harness) sendAll(s *Sender) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := h.send(ctx, s); err != nil {
		h.t.Fatalf("send: %v\n%s", err, h.log.String())
	}
}
