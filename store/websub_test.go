package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
)

// A verification is taken once, only for the request pending and its
// topic; a denial likewise; a feed's hub is saved only when it changes.
func TestWebSubVerification(t *testing.T) { contract(t, testWebSubVerification) }

func testWebSubVerification(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	fs, _ := db.Feeds(ctx)
	f := fs[0]
	if changed, err := db.SaveFeedHub(ctx, f.ID, "https://hub.example/", f.URL, now); err != nil || !changed {
		t.Fatalf("first hub: %v %v", changed, err)
	}
	if changed, _ := db.SaveFeedHub(ctx, f.ID, "https://hub.example/", f.URL, now.Add(time.Minute)); changed {
		t.Error("the same hub saved again counts as a change")
	}
	if err := db.RecordPing(ctx, f.ID, now); err != nil {
		t.Fatal(err)
	}
	ps, _ := db.FeedPushes(ctx)
	if len(ps) != 1 || ps[0].Hub != "https://hub.example/" || !ps[0].DiscoveredAt.Equal(now) || ps[0].Pings != 1 {
		t.Errorf("feed pushes %+v", ps)
	}
	sub := nashra.WebSubSubscription{Callback: "cb1", FeedID: f.ID, Hub: "https://hub.example/", Topic: f.URL, Secret: "s",
		State: nashra.WebSubRequested, CreatedAt: now}
	if err := db.CreateWebSubSubscription(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if ok, _ := db.VerifyWebSub(ctx, "cb1", nashra.HubSubscribe, f.URL, 60, now); ok {
		t.Error("a verification nobody asked for was taken")
	}
	if err := db.WebSubRequested(ctx, "cb1", nashra.HubSubscribe, now); err != nil {
		t.Fatal(err)
	}
	if ok, _ := db.VerifyWebSub(ctx, "cb1", nashra.HubSubscribe, "https://other.example/", 60, now); ok {
		t.Error("a verification for another topic was taken")
	}
	if ok, _ := db.VerifyWebSub(ctx, "cb1", nashra.HubUnsubscribe, f.URL, 0, now); ok {
		t.Error("an unsubscription was taken for a subscribe request")
	}
	if ok, err := db.VerifyWebSub(ctx, "cb1", nashra.HubSubscribe, f.URL, 60, now); !ok || err != nil {
		t.Fatalf("the verification asked for: %v %v", ok, err)
	}
	if ok, _ := db.VerifyWebSub(ctx, "cb1", nashra.HubSubscribe, f.URL, 60, now); ok {
		t.Error("a verification was taken twice")
	}
	if ok, _ := db.FeedPushing(ctx, f.ID, now.Add(59*time.Second)); !ok {
		t.Error("not pushing within the lease")
	}
	if ok, _ := db.FeedPushing(ctx, f.ID, now.Add(61*time.Second)); ok {
		t.Error("pushing after the lease")
	}
	// A push received after a poll started: what the poll found was
	// announced, no miss.
	if err := db.WebSubPushed(ctx, "cb1", "sha256", "d0", 2, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := db.WebSubMissed(ctx, f.ID, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.WebSubSubscription(ctx, "cb1"); !got.MissedAt.IsZero() {
		t.Errorf("a poll older than the last push recorded a miss: %+v", got)
	}
	// A missed push, then silence: no longer pushing; a push clears both.
	if err := db.WebSubMissed(ctx, f.ID, now.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := db.WebSubSilent(ctx, "cb1", now); err != nil {
		t.Fatal(err)
	}
	if ok, _ := db.FeedPushing(ctx, f.ID, now); ok {
		t.Error("a silent hub counts as pushing")
	}
	if err := db.WebSubPushed(ctx, "cb1", "sha256", "d1", 2, now); err != nil {
		t.Fatal(err)
	}
	got, _ := db.WebSubSubscription(ctx, "cb1")
	if !got.MissedAt.IsZero() || !got.SilentSince.IsZero() || got.Pushes != 2 || !got.Pushing(now) {
		t.Errorf("after a push: %+v", got)
	}
	// Denial of a renewal, then unsubscription.
	db.WebSubRequested(ctx, "cb1", nashra.HubSubscribe, now)
	if ok, _ := db.DenyWebSub(ctx, "cb1", f.URL, "denied by the hub: no", now.Add(time.Minute)); !ok {
		t.Error("denial of the pending renewal not taken")
	}
	got, _ = db.WebSubSubscription(ctx, "cb1")
	if got.State != nashra.WebSubDenied || got.Attempts != 1 || got.Pending != "" {
		t.Errorf("after a denial: %+v", got)
	}
	db.WebSubRequested(ctx, "cb1", nashra.HubUnsubscribe, now)
	if ok, _ := db.VerifyWebSub(ctx, "cb1", nashra.HubUnsubscribe, f.URL, 0, now); !ok {
		t.Error("the unsubscription asked for not taken")
	}
	if _, err := db.WebSubSubscription(ctx, "cb1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unsubscribed subscription still there: %v", err)
	}
}

// The same body pushed to several instances at once is taken once; the
// digests kept are the last few.
func TestWebSubPushTakenOnce(t *testing.T) { contract(t, testWebSubPushTakenOnce) }

func testWebSubPushTakenOnce(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	fs, _ := db.Feeds(ctx)
	if err := db.CreateWebSubSubscription(ctx, nashra.WebSubSubscription{Callback: "cb", FeedID: fs[0].ID, Hub: "h", Topic: "t",
		Secret: "s", State: nashra.WebSubActive, LeaseUntil: now.Add(time.Hour), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	errs := race(8, func(int) error { return db.WebSubPushed(ctx, "cb", "sha256", "same", 3, now) })
	if len(errs) != 7 {
		t.Fatalf("%d of 8 pushes of one body refused, want 7: %v", len(errs), errs)
	}
	for _, err := range errs {
		if !errors.Is(err, ErrReplay) {
			t.Errorf("refused with %v", err)
		}
	}
	for i := range 4 {
		if err := db.WebSubPushed(ctx, "cb", "sha256", fmt.Sprint(i), 3, now); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := db.WebSubSubscription(ctx, "cb")
	if fmt.Sprint(got.Recent) != "[1 2 3]" || got.Pushes != 5 {
		t.Errorf("recent %v, pushes %d", got.Recent, got.Pushes)
	}
	if err := db.WebSubPushed(ctx, "cb", "sha256", "same", 3, now); err != nil {
		t.Errorf("a body older than those kept is refused: %v", err)
	}
}
