package subscribers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/store/sqlitetest"
)

var testSections = []nashra.Section{{Slug: "news", Name: "أخبار"}, {Slug: "articles", Name: "مقالات"}, {Slug: "video", Name: "فيديو"}}

// fixture is the subscribers on a migrated SQLite store, with the
// production defaults, a clock the test moves and a count of the mails
// their signups queued.
type fixture struct {
	db     *store.DB
	s      *Service
	now    time.Time
	queued int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := sqlitetest.Open(t, testSections...)
	f := &fixture{db: db, now: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	f.s = New(config.Defaults(), db, nashra.NewCatalog(testSections), WithClock(func() time.Time { return f.now }),
		WithLogger(slog.New(slog.DiscardHandler)), WithMailQueued(func() { f.queued++ }))
	return f
}

// mails returns the addresses of the mails queued, one per mail.
func (f *fixture) mails(t *testing.T) []string {
	t.Helper()
	rows, err := f.db.ClaimSends(context.Background(), nashra.SendEmail, "test", 100, f.now, f.now.Add(time.Minute), Mailable)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Address)
	}
	if err := f.db.ReleaseClaims(context.Background(), store.QueueEmail, "test"); err != nil {
		t.Fatal(err)
	}
	return out
}

// subscriber returns the one subscriber with address.
func (f *fixture) subscriber(t *testing.T, address string) nashra.EmailSubscriber {
	t.Helper()
	for id := int64(1); id < 100; id++ {
		sub, err := f.db.EmailSubscriber(context.Background(), id)
		if err == nil && sub.Address == address {
			return sub
		}
	}
	t.Fatalf("no subscriber %s", address)
	return nashra.EmailSubscriber{}
}

// Choosing every section means those added later too; a choice keeps the
// configured sections, in their order; an unusable address queues nothing.
func TestSignupKeepsWhatWasChosen(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for addr, chosen := range map[string][]string{
		"all@example.org":     {"video", "news", "articles"},
		"some@example.org":    {"video", "news"},
		"none@example.org":    nil,
		"unknown@example.org": {"sport"},
	} {
		if err := f.s.RequestSignup(ctx, Requester{TelegramUser: int64(len(addr))}, addr, chosen); err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
	}
	for addr, want := range map[string][]string{"all@example.org": nil, "some@example.org": {"news", "video"},
		"none@example.org": nil, "unknown@example.org": nil} {
		if got := f.subscriber(t, addr).Sections; !slices.Equal(got, want) {
			t.Errorf("%s: sections %v, want %v", addr, got, want)
		}
	}
	var bad *AddressError
	if err := f.s.RequestSignup(ctx, Requester{TelegramUser: 99}, "a@example.org\r\nBcc: b@example.org", nil); !errors.As(err, &bad) ||
		bad.Problem != ProblemLineBreak {
		t.Fatalf("header injection: %v", err)
	}
	if got := f.mails(t); len(got) != 4 || f.queued != 4 {
		t.Fatalf("mails %v, sender woken %d times; want one confirmation per address", got, f.queued)
	}

	sub := f.subscriber(t, "some@example.org")
	if _, err := f.s.ConfirmEmail(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.SetEmailPreferences(ctx, sub.ID, []string{"articles", "news", "video"}, false)
	if err != nil || got.Sections != nil {
		t.Fatalf("every section chosen in the preferences: %v, %v; want nil (all)", got.Sections, err)
	}
}

// One budget per requester: three signups an hour from a Telegram user,
// ten from a client network, then ErrTooManySignups and nothing queued,
// whatever the address; the window passed, it may ask again.
func TestSignupBudgetPerRequester(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for n, tc := range []struct {
		from  Requester
		limit int
	}{
		{Requester{TelegramUser: 1009}, 3},
		{Requester{IP: netip.MustParseAddr("2001:db8::1")}, 10},
	} {
		for i := range tc.limit {
			if err := f.s.RequestSignup(ctx, tc.from, fmt.Sprintf("r%d-%d@example.org", n, i), nil); err != nil {
				t.Fatalf("%s, signup %d: %v", tc.from.Key(), i+1, err)
			}
		}
		before := len(f.mails(t))
		// Another address in the same /64 is the same requester.
		from := tc.from
		if !from.Telegram() {
			from.IP = netip.MustParseAddr("2001:db8::ffff")
		}
		if err := f.s.RequestSignup(ctx, from, "over@example.org", nil); !errors.Is(err, ErrTooManySignups) {
			t.Fatalf("%s past its budget: %v", tc.from.Key(), err)
		}
		if after := len(f.mails(t)); after != before {
			t.Fatalf("%s past its budget: %d mails queued", tc.from.Key(), after-before)
		}
	}
	f.now = f.now.Add(time.Hour)
	if err := f.s.RequestSignup(ctx, Requester{TelegramUser: 1009}, "later@example.org", nil); err != nil {
		t.Fatalf("an hour later: %v", err)
	}
}

// Unconfirmed signups are forgotten after a week, confirmed ones never.
func TestForgetUnconfirmed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	start := f.now
	for _, addr := range []string{"old@example.org", "kept@example.org"} {
		if err := f.s.RequestSignup(ctx, Requester{TelegramUser: 1}, addr, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.s.ConfirmEmail(ctx, f.subscriber(t, "kept@example.org").ID); err != nil {
		t.Fatal(err)
	}
	f.now = start.Add(8 * 24 * time.Hour)
	if err := f.s.RequestSignup(ctx, Requester{TelegramUser: 1}, "new@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if n, err := f.s.ForgetUnconfirmed(ctx); err != nil || n != 1 {
		t.Fatalf("forgot %d, %v; want the week-old signup only", n, err)
	}
	counts, _ := f.db.CountEmailSubscribers(ctx)
	if counts[nashra.EmailPending] != 1 || counts[nashra.EmailActive] != 1 {
		t.Fatalf("subscribers %v, want the new signup pending and the confirmed one active", counts)
	}
}

// A reader who takes the digest only and turns it off gets news as it
// comes, not nothing.
func TestTelegramDigestOff(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, _, err := f.s.TouchChat(ctx, nashra.Chat{ID: 1009, Kind: nashra.ChatPrivate})
	if err != nil {
		t.Fatal(err)
	}
	if c.Settings, err = f.s.SetTelegramDigest(ctx, c, true); err != nil || !c.Settings.Digest {
		t.Fatalf("on: %+v, %v", c.Settings, err)
	}
	c.Settings.Mode = nashra.ModeDigest
	if err := f.s.SetChatSettings(ctx, c.ID, c.Settings); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SetTelegramDigest(ctx, c, false); err != nil {
		t.Fatal(err)
	}
	stored, err := f.s.Chat(ctx, c.ID)
	if err != nil || stored.Settings.Digest || stored.Settings.Mode != nashra.ModeInstant {
		t.Fatalf("off: %+v, %v; want no digest and instant news", stored.Settings, err)
	}
}

// An address refused again and again stops being mailed at the threshold,
// whatever the reader's state, unless they left already.
func TestAfterBounce(t *testing.T) {
	for _, c := range []struct {
		bounces int
		state   nashra.EmailState
		want    nashra.EmailState
	}{
		{0, nashra.EmailActive, nashra.EmailActive},
		{1, nashra.EmailActive, nashra.EmailActive},
		{2, nashra.EmailActive, nashra.EmailBounced},
		{2, nashra.EmailPending, nashra.EmailBounced},
		{5, nashra.EmailPaused, nashra.EmailBounced},
		{5, nashra.EmailUnsubscribed, nashra.EmailUnsubscribed},
	} {
		if got := AfterBounce(c.bounces, c.state, 3); got != c.want {
			t.Errorf("after %d bounces, %s: %s, want %s", c.bounces, c.state, got, c.want)
		}
	}
}

// The daily digest goes to confirmed readers who did not pause it, a
// confirmation only to an address still waiting for it, a notice to any
// confirmed reader; nobody who left, bounced or was forgotten gets any.
func TestMailable(t *testing.T) {
	for _, c := range []struct {
		kind  nashra.SendKind
		state nashra.EmailState
		want  bool
	}{
		{nashra.SendDigest, nashra.EmailActive, true},
		{nashra.SendDigest, nashra.EmailPaused, false},
		{nashra.SendConfirm, nashra.EmailPending, true},
		{nashra.SendConfirm, nashra.EmailActive, false},
		{nashra.SendNotice, nashra.EmailPaused, true},
		{nashra.SendNotice, nashra.EmailUnsubscribed, false},
		{nashra.SendDigest, nashra.EmailBounced, false},
		{nashra.SendNotice, "", false},
	} {
		if got := Mailable(c.kind, c.state); got != c.want {
			t.Errorf("%s to a subscriber %q: %v, want %v", c.kind, c.state, got, c.want)
		}
	}
}
