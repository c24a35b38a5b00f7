package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
)

func signup(t *testing.T, db *DB, addr string, sections []string, now time.Time) (int64, SignupOutcome) {
	t.Helper()
	id, out, err := db.RequestEmailSignup(context.Background(), SignupRequest{Address: addr, Sections: sections, Now: now,
		Limit: 3, Window: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return id, out
}

// queued returns the kinds of the email rows queued for a subscriber.
func queued(t *testing.T, db *DB, id int64) []nashra.SendKind {
	t.Helper()
	rows, err := db.read.Query(`SELECT kind FROM send_log WHERE medium = 'email' AND recipient_id = ? AND state = 'pending'
		ORDER BY id`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []nashra.SendKind
	for rows.Next() {
		var k nashra.SendKind
		rows.Scan(&k)
		out = append(out, k)
	}
	return out
}

func TestEmailSignupLifecycle(t *testing.T) {
	contract(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

		id, out := signup(t, db, "Reader@Example.org", []string{"news", "articles", "news"}, now)
		if out != SignupConfirm {
			t.Fatalf("a new address got outcome %d, want a confirmation", out)
		}
		s, err := db.EmailSubscriber(ctx, id)
		if err != nil || s.State != nashra.EmailPending || !slices.Equal(s.Sections, []string{"articles", "news"}) {
			t.Fatalf("after signup: %+v, %v", s, err)
		}
		// The same mailbox in another case is the same subscriber.
		again, out := signup(t, db, "reader@example.ORG", []string{"news"}, now.Add(time.Minute))
		if again != id || out != SignupConfirm {
			t.Fatalf("second signup: id %d (want %d), outcome %d", again, id, out)
		}
		if s, _ = db.EmailSubscriber(ctx, id); !slices.Equal(s.Sections, []string{"news"}) {
			t.Fatalf("an unconfirmed signup takes the latest sections, got %v", s.Sections)
		}
		if got := queued(t, db, id); !slices.Equal(got, []nashra.SendKind{nashra.SendConfirm, nashra.SendConfirm}) {
			t.Fatalf("queued %v", got)
		}

		if s, err = db.ConfirmEmailSubscriber(ctx, id, now.Add(time.Hour)); err != nil || s.State != nashra.EmailActive {
			t.Fatalf("confirm: %+v, %v", s, err)
		}
		// A subscribed address is not reset by a new signup: it gets a notice.
		if _, out = signup(t, db, "reader@example.org", nil, now.Add(2*time.Hour)); out != SignupNotice {
			t.Fatalf("signup of a subscribed address: outcome %d, want a notice", out)
		}
		if s, _ = db.EmailSubscriber(ctx, id); s.State != nashra.EmailActive || !slices.Equal(s.Sections, []string{"news"}) {
			t.Fatalf("a signup changed a subscribed reader: %+v", s)
		}

		if s, err = db.SetEmailPreferences(ctx, id, nil, true, now.Add(3*time.Hour)); err != nil || s.State != nashra.EmailPaused || s.Sections != nil {
			t.Fatalf("preferences: %+v, %v", s, err)
		}
		if s, err = db.UnsubscribeEmail(ctx, id, now.Add(4*time.Hour)); err != nil || s.State != nashra.EmailUnsubscribed {
			t.Fatalf("unsubscribe: %+v, %v", s, err)
		}
		if got := queued(t, db, id); len(got) != 0 {
			t.Fatalf("mails still queued after unsubscribing: %v", got)
		}
		if s, _ = db.SetEmailPreferences(ctx, id, []string{"news"}, false, now.Add(5*time.Hour)); s.State != nashra.EmailUnsubscribed {
			t.Fatalf("preferences resubscribed a reader who left: %+v", s)
		}
		if s, _ = db.ConfirmEmailSubscriber(ctx, id, now.Add(5*time.Hour)); s.State != nashra.EmailUnsubscribed {
			t.Fatalf("an old confirmation resubscribed a reader who left: %+v", s)
		}
		if _, err := db.UnsubscribeEmail(ctx, 999, now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unsubscribe of an unknown id: %v", err)
		}
	})
}

func TestEmailSignupLimitPerAddress(t *testing.T) {
	contract(t, func(t *testing.T, db *DB) {
		now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
		var id int64
		for i := range 3 {
			var out SignupOutcome
			if id, out = signup(t, db, "a@example.org", nil, now.Add(time.Duration(i)*time.Minute)); out != SignupConfirm {
				t.Fatalf("signup %d: outcome %d", i, out)
			}
		}
		if _, out := signup(t, db, "a@example.org", nil, now.Add(time.Hour)); out != SignupLimited {
			t.Fatalf("fourth signup within the window: outcome %d, want limited", out)
		}
		if n := len(queued(t, db, id)); n != 3 {
			t.Fatalf("%d mails queued, want 3", n)
		}
		if _, out := signup(t, db, "a@example.org", nil, now.Add(25*time.Hour)); out != SignupConfirm {
			t.Fatalf("signup after the window: outcome %d", out)
		}
	})
}

// A requester's budget is shared by every request that names it, whatever
// the address, and ends with its window; an address gets at most one mail
// per interval, whoever asks.
func TestSignupBudgets(t *testing.T) {
	contract(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
		ask := func(addr, requester string, at time.Time) SignupOutcome {
			t.Helper()
			_, out, err := db.RequestEmailSignup(ctx, SignupRequest{Address: addr, Now: at, Limit: 3, Window: 24 * time.Hour,
				Interval: time.Hour, Budget: Budget{Key: requester, Limit: 3, Window: time.Hour}})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		for i := range 3 {
			if out := ask(fmt.Sprintf("victim%d@example.org", i), "tg:7", now.Add(time.Duration(i)*time.Second)); out != SignupConfirm {
				t.Fatalf("signup %d: outcome %d", i, out)
			}
		}
		if out := ask("victim3@example.org", "tg:7", now.Add(time.Minute)); out != SignupThrottled {
			t.Fatalf("fourth signup by one requester: outcome %d, want throttled", out)
		}
		// The address asked for by the bot is not mailed again within the
		// hour when the web asks for it; the web's requester spends its own.
		if out := ask("victim0@example.org", "ip:203.0.113.9", now.Add(2*time.Minute)); out != SignupLimited {
			t.Fatalf("a second mail to one address within the hour: outcome %d, want limited", out)
		}
		if out := ask("other@example.org", "ip:203.0.113.9", now.Add(3*time.Minute)); out != SignupConfirm {
			t.Fatalf("another requester: outcome %d", out)
		}
		// An hour later both budgets are whole again, and the rows of the
		// ended windows are gone.
		later := now.Add(time.Hour + 3*time.Minute)
		if out := ask("victim0@example.org", "tg:7", later); out != SignupConfirm {
			t.Fatalf("after the window: outcome %d", out)
		}
		var rows int
		if err := db.read.QueryRow(`SELECT COUNT(*) FROM signup_budgets WHERE expires_at <= ?`, later.UnixMilli()).Scan(&rows); err != nil || rows != 0 {
			t.Fatalf("%d ended budgets kept, %v", rows, err)
		}
		var total int
		if err := db.read.QueryRow(`SELECT COUNT(*) FROM send_log WHERE kind = 'confirm'`).Scan(&total); err != nil || total != 5 {
			t.Fatalf("%d confirmations queued, want 5: %v", total, err)
		}
	})
}

func TestForgetUnconfirmedEmails(t *testing.T) {
	contract(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
		old, _ := signup(t, db, "old@example.org", nil, now.Add(-8*24*time.Hour))
		fresh, _ := signup(t, db, "fresh@example.org", nil, now.Add(-time.Hour))
		kept, _ := signup(t, db, "kept@example.org", nil, now.Add(-9*24*time.Hour))
		if _, err := db.ConfirmEmailSubscriber(ctx, kept, now); err != nil {
			t.Fatal(err)
		}
		n, err := db.ForgetUnconfirmedEmails(ctx, now.Add(-7*24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("forgot %d, %v; want 1", n, err)
		}
		if _, err := db.EmailSubscriber(ctx, old); !errors.Is(err, ErrNotFound) {
			t.Fatalf("an 8-day-old unconfirmed signup is still there: %v", err)
		}
		if len(queued(t, db, old)) != 0 {
			t.Fatal("the forgotten signup's mail is still queued")
		}
		for _, id := range []int64{fresh, kept} {
			if _, err := db.EmailSubscriber(ctx, id); err != nil {
				t.Fatalf("subscriber %d was forgotten: %v", id, err)
			}
		}
		// Ids are never reused: links already mailed keep naming one reader.
		again, _ := signup(t, db, "new@example.org", nil, now)
		if again <= kept {
			t.Fatalf("a new subscriber got id %d, not above %d", again, kept)
		}
	})
}

func TestImportEmailSubscribers(t *testing.T) {
	contract(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
		subs := []nashra.EmailSubscriber{
			{ID: 40, Address: "a@example.org", State: nashra.EmailActive, Sections: []string{"news"}, CreatedAt: now, UpdatedAt: now, RequestedAt: now, ConfirmedAt: now},
			{Address: "b@example.org", State: nashra.EmailPaused, CreatedAt: now, UpdatedAt: now, RequestedAt: now},
			{Address: "A@example.org", State: nashra.EmailActive, CreatedAt: now, UpdatedAt: now, RequestedAt: now},
		}
		n, err := db.ImportEmailSubscribers(ctx, subs)
		if err != nil || n != 2 {
			t.Fatalf("imported %d, %v; want 2 (the third is the first in another case)", n, err)
		}
		s, err := db.EmailSubscriber(ctx, 40)
		if err != nil || s.Address != "a@example.org" || !s.ConfirmedAt.Equal(now) {
			t.Fatalf("kept id 40: %+v, %v", s, err)
		}
		counts, err := db.CountEmailSubscribers(ctx)
		if err != nil || counts[nashra.EmailActive] != 1 || counts[nashra.EmailPaused] != 1 {
			t.Fatalf("counts %v, %v", counts, err)
		}
	})
}
