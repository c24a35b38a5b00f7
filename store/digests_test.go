package store

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
)

// activeSubscribers imports n confirmed subscribers a0@…, a1@…, with
// sections cycling through those given.
func activeSubscribers(t *testing.T, db *DB, n int, sections ...[]string) []int64 {
	t.Helper()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	subs := make([]nashra.EmailSubscriber, n)
	for i := range subs {
		subs[i] = nashra.EmailSubscriber{ID: int64(i + 1), Address: "a" + string(rune('a'+i)) + "@example.org", State: nashra.EmailActive,
			CreatedAt: now, UpdatedAt: now, RequestedAt: now, ConfirmedAt: now}
		if len(sections) > 0 {
			subs[i].Sections = sections[i%len(sections)]
		}
	}
	if _, err := db.ImportEmailSubscribers(context.Background(), subs); err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	return ids
}

func newDigest(day string, at time.Time) nashra.Digest {
	return nashra.Digest{Day: day, State: nashra.DigestSending, Subject: "نشرة المعلومة — " + day, CreatedAt: at,
		WindowStart: at.Add(-24 * time.Hour), WindowEnd: at, Picks: nashra.DigestPicks{Lead: 1}}
}

func TestCreateDigestQueuesOnceAndClaimsInOrder(t *testing.T) {
	contract(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC)
		ids := activeSubscribers(t, db, 4, []string{"news"}, nil)
		if _, err := db.UnsubscribeEmail(ctx, ids[3], at); err != nil {
			t.Fatal(err)
		}
		// Two Telegram chats want the digest, one does not, one is gone.
		for i, c := range []struct {
			digest, active bool
		}{{true, true}, {true, true}, {false, true}, {true, false}} {
			id := int64(100 + i)
			if _, _, err := db.TouchChat(ctx, nashra.Chat{ID: id, Kind: nashra.ChatPrivate}, at); err != nil {
				t.Fatal(err)
			}
			s := nashra.DefaultChatSettings
			s.Digest = c.digest
			if err := db.SetChatSettings(ctx, id, s, at); err != nil {
				t.Fatal(err)
			}
			if !c.active {
				db.SetChatActive(ctx, id, false, "blocked", at)
			}
		}
		pending, _, _ := db.RequestEmailSignup(ctx, SignupRequest{Address: "new@example.org", Now: at, Limit: 3, Window: time.Hour})

		d, created, err := db.CreateDigest(ctx, newDigest("2026-11-28", at), true)
		if err != nil || !created || d.Emails != 3 || d.Chats != 2 {
			t.Fatalf("create: %+v, created %v, %v; want 3 emails and 2 chats", d, created, err)
		}
		again, created, err := db.CreateDigest(ctx, newDigest("2026-11-28", at.Add(time.Hour)), true)
		if err != nil || created || again.ID != d.ID || again.Emails != 3 {
			t.Fatalf("second create: %+v, created %v, %v", again, created, err)
		}

		// A reader who leaves after the digest was queued gets nothing.
		if _, err := db.SetEmailPreferences(ctx, ids[2], nil, true, at); err != nil {
			t.Fatal(err)
		}
		got, err := db.ClaimSends(ctx, nashra.SendEmail, "me", 10, at, at.Add(time.Minute), mailable)
		if err != nil {
			t.Fatal(err)
		}
		var order []int64
		for _, s := range got {
			order = append(order, s.RecipientID)
		}
		// The confirmation goes first, then the digests in order.
		if !slices.Equal(order, []int64{pending, ids[0], ids[1]}) || got[0].Kind != nashra.SendConfirm || got[1].Address != "aa@example.org" {
			t.Fatalf("claimed %+v", got)
		}
		if !slices.Equal(got[1].Sections, []string{"news"}) || got[2].Sections != nil {
			t.Fatalf("sections %v and %v", got[1].Sections, got[2].Sections)
		}
		counts, _ := db.SendCounts(ctx, d.ID)
		if counts[nashra.SendEmail][nashra.DeliveryCancelled] != 1 || counts[nashra.SendEmail][nashra.DeliveryClaimed] != 2 {
			t.Fatalf("counts %v: the paused reader's row should be cancelled", counts)
		}
		// The Telegram digest is queued once, in the dispatcher's queue.
		tg, err := db.ClaimReplies(ctx, "dispatcher", nashra.BroadcastLane, 10, at, at.Add(time.Minute))
		if err != nil || len(tg) != 2 || tg[0].ChatID != 100 || tg[0].Method != nashra.MethodDigest ||
			tg[0].Params["digest_id"] != strconv.FormatInt(d.ID, 10) {
			t.Fatalf("telegram claim: %+v, %v", tg, err)
		}
		if counts, _ := db.SendCounts(ctx, d.ID); counts[nashra.SendTelegram][nashra.DeliveryClaimed] != 2 {
			t.Fatalf("counts %v: want the 2 Telegram digests claimed", counts)
		}
		if more, _ := db.ClaimSends(ctx, nashra.SendEmail, "other", 10, at, at.Add(time.Minute), mailable); len(more) != 0 {
			t.Fatalf("claimed rows were claimed again: %+v", more)
		}
	})
}

// mailable stands for the policy of who may be mailed what
// (subscribers.Mailable): the store cancels what it refuses.
func mailable(kind nashra.SendKind, state nashra.EmailState) bool {
	switch kind {
	case nashra.SendDigest:
		return state == nashra.EmailActive
	case nashra.SendConfirm:
		return state == nashra.EmailPending
	}
	return state == nashra.EmailActive || state == nashra.EmailPaused
}

// bouncedAtTwo stands for the bounce policy: the second refusal marks a
// subscriber bounced. The store keeps what it says.
func bouncedAtTwo(bounces int, state nashra.EmailState) nashra.EmailState {
	if bounces+1 >= 2 {
		return nashra.EmailBounced
	}
	return state
}

func TestUpdateSends(t *testing.T) {
	contract(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC)
		ids := activeSubscribers(t, db, 4)
		d, _, err := db.CreateDigest(ctx, newDigest("2026-11-28", at), false)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.ClaimSends(ctx, nashra.SendEmail, "me", 10, at, at.Add(time.Minute), mailable)
		if err != nil || len(rows) != 4 {
			t.Fatalf("claim: %d rows, %v", len(rows), err)
		}
		// The third reader leaves while their mail is in flight.
		if _, err := db.UnsubscribeEmail(ctx, ids[2], at); err != nil {
			t.Fatal(err)
		}
		err = db.UpdateSends(ctx, "me", []SendUpdate{
			{Op: SendOpSent, IDs: []int64{rows[0].ID}, At: at},
			{Op: SendOpRetry, IDs: []int64{rows[1].ID, rows[2].ID}, At: at.Add(time.Minute), ErrorKind: "transient", Error: "451 try later"},
			{Op: SendOpBounce, IDs: []int64{rows[3].ID}, At: at, ErrorKind: "bounce", Error: "550 no such user", Bounced: bouncedAtTwo},
		})
		if err != nil {
			t.Fatal(err)
		}
		counts, _ := db.SendCounts(ctx, d.ID)
		want := map[nashra.DeliveryState]int{nashra.DeliverySent: 1, nashra.DeliveryPending: 1, nashra.DeliveryCancelled: 1, nashra.DeliveryBounced: 1}
		for s, n := range want {
			if counts[nashra.SendEmail][s] != n {
				t.Fatalf("counts %v, want %v", counts[nashra.SendEmail], want)
			}
		}
		if s, _ := db.EmailSubscriber(ctx, ids[3]); s.Bounces != 1 || s.State != nashra.EmailActive || s.LastBounce != "550 no such user" {
			t.Fatalf("after one bounce: %+v", s)
		}
		// The retry is not due before its time.
		if got, _ := db.ClaimSends(ctx, nashra.SendEmail, "me", 10, at, at.Add(time.Minute), mailable); len(got) != 0 {
			t.Fatalf("a held retry was claimed early: %+v", got)
		}
		if next, _ := db.NextSendAt(ctx, nashra.SendEmail); !next.Equal(at.Add(time.Minute)) {
			t.Fatalf("next send at %v", next)
		}
		got, _ := db.ClaimSends(ctx, nashra.SendEmail, "me", 10, at.Add(time.Minute), at.Add(2*time.Minute), mailable)
		if len(got) != 1 || got[0].Attempts != 1 {
			t.Fatalf("retry claim: %+v", got)
		}

		// A second digest: the bouncing address reaches the threshold.
		d2, _, _ := db.CreateDigest(ctx, newDigest("2026-11-29", at.Add(24*time.Hour)), false)
		rows, _ = db.ClaimSends(ctx, nashra.SendEmail, "me", 10, at.Add(24*time.Hour), at.Add(25*time.Hour), mailable)
		var bounce []int64
		var sent []int64
		for _, r := range rows {
			if r.DigestID != d2.ID {
				continue
			}
			if r.RecipientID == ids[3] {
				bounce = append(bounce, r.ID)
			} else {
				sent = append(sent, r.ID)
			}
		}
		if err := db.UpdateSends(ctx, "me", []SendUpdate{{Op: SendOpBounce, IDs: bounce, At: at, Error: "550", Bounced: bouncedAtTwo},
			{Op: SendOpSent, IDs: sent, At: at}}); err != nil {
			t.Fatal(err)
		}
		if s, _ := db.EmailSubscriber(ctx, ids[3]); s.State != nashra.EmailBounced || s.Bounces != 2 {
			t.Fatalf("after reaching the threshold: %+v", s)
		}
		finished, err := db.FinishDigests(ctx, at.Add(25*time.Hour))
		if err != nil || len(finished) != 1 || finished[0].ID != d2.ID || finished[0].State != nashra.DigestSent {
			t.Fatalf("finished %+v, %v (the first digest still has a row claimed)", finished, err)
		}
	})
}

func TestSendClaimsReleaseAndRenew(t *testing.T) {
	contract(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC)
		activeSubscribers(t, db, 3)
		if _, _, err := db.CreateDigest(ctx, newDigest("2026-11-28", at), false); err != nil {
			t.Fatal(err)
		}
		a, _ := db.ClaimSends(ctx, nashra.SendEmail, "a", 2, at, at.Add(time.Minute), mailable)
		b, _ := db.ClaimSends(ctx, nashra.SendEmail, "b", 2, at, at.Add(time.Minute), mailable)
		if len(a) != 2 || len(b) != 1 {
			t.Fatalf("claims %d and %d", len(a), len(b))
		}
		if err := db.RenewClaims(ctx, QueueEmail, "a", at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// A late answer from a holder that lost its rows changes nothing.
		if err := db.ReleaseClaims(ctx, QueueEmail, "a"); err != nil {
			t.Fatal(err)
		}
		if err := db.UpdateSends(ctx, "a", []SendUpdate{{Op: SendOpDead, IDs: []int64{a[0].ID}, Error: "late"}}); err != nil {
			t.Fatal(err)
		}
		again, _ := db.ClaimSends(ctx, nashra.SendEmail, "c", 10, at, at.Add(time.Minute), mailable)
		if len(again) != 2 {
			t.Fatalf("after release, %d rows claimable, want 2", len(again))
		}
		// A sender taking over releases every claim.
		if err := db.ReleaseClaims(ctx, QueueEmail, ""); err != nil {
			t.Fatal(err)
		}
		if all, _ := db.ClaimSends(ctx, nashra.SendEmail, "d", 10, at, at.Add(time.Minute), mailable); len(all) != 3 {
			t.Fatalf("after a takeover, %d rows claimable, want 3", len(all))
		}
	})
}

func TestDigestEditionKeepsTheFirstPicks(t *testing.T) {
	contract(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC)
		d, _, err := db.CreateDigest(ctx, newDigest("2026-11-28", at), false)
		if err != nil {
			t.Fatal(err)
		}
		calls := 0
		pick := func(lead int64) func() (nashra.DigestPicks, error) {
			return func() (nashra.DigestPicks, error) {
				calls++
				return nashra.DigestPicks{Lead: lead, Sections: []nashra.DigestSection{{Section: "news", Articles: []int64{lead + 1}}}}, nil
			}
		}
		first, err := db.DigestEdition(ctx, d.ID, "news", pick(7))
		if err != nil || first.Lead != 7 {
			t.Fatalf("first: %+v, %v", first, err)
		}
		second, err := db.DigestEdition(ctx, d.ID, "news", pick(9))
		if err != nil || second.Lead != 7 || calls != 1 || second.Sections[0].Articles[0] != 8 {
			t.Fatalf("second: %+v, %v, %d calls", second, err, calls)
		}
		if _, err := db.DigestEdition(ctx, d.ID, "articles", func() (nashra.DigestPicks, error) { return nashra.DigestPicks{}, errors.New("boom") }); err == nil {
			t.Fatal("an error picking was not returned")
		}
		list, err := db.Digests(ctx, 10)
		if err != nil || len(list) != 1 || list[0].Picks.Lead != 1 {
			t.Fatalf("archive list %+v, %v", list, err)
		}
		if _, err := db.Digest(ctx, "2026-11-29"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown day: %v", err)
		}
	})
}
