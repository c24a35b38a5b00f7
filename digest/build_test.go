package digest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/store"
)

func TestTickIsDueOnceUntilTheCutoff(t *testing.T) {
	h := newHarness(t)
	h.seed(2)
	h.subscribe(2)
	ctx := context.Background()
	s := h.service()

	h.clock.setTo(digestDay.Add(-time.Minute))
	if d, err := s.Tick(ctx); err != nil || d.ID != 0 {
		t.Fatalf("before 07:00: %+v, %v", d, err)
	}
	// nashra was down at 07:00 and came back at 09:30: the digest is sent.
	h.clock.setTo(digestDay.Add(150 * time.Minute))
	d, err := s.Tick(ctx)
	if err != nil || d.State != nashra.DigestSending || d.Day != "2026-11-28" || d.Emails != 2 {
		t.Fatalf("at 09:30: %+v, %v", d, err)
	}
	// The window ends at the digest's time, not when it was built.
	if !d.WindowEnd.Equal(digestDay) || !d.WindowStart.Equal(digestDay.Add(-24*time.Hour)) {
		t.Fatalf("window %s – %s", d.WindowStart, d.WindowEnd)
	}
	if again, err := s.Tick(ctx); err != nil || again.ID != 0 {
		t.Fatalf("a second tick built again: %+v, %v", again, err)
	}
	// Another instance, or a restart, finds the day done.
	if again, err := h.service().Tick(ctx); err != nil || again.ID != 0 {
		t.Fatalf("a second service built again: %+v, %v", again, err)
	}

	// The next day nashra is down until 12:10, past the cut-off.
	h.clock.setTo(digestDay.Add(24*time.Hour + 5*time.Hour + 10*time.Minute))
	missed, err := s.Tick(ctx)
	if err != nil || missed.State != nashra.DigestMissed || missed.Day != "2026-11-29" || missed.Emails != 0 {
		t.Fatalf("past the cut-off: %+v, %v", missed, err)
	}
	if list, _ := h.db.Digests(ctx, 10); len(list) != 1 {
		t.Fatalf("the archive lists %d digests, want only the one sent", len(list))
	}
}

func TestBuildIsAtomicAcrossInstances(t *testing.T) {
	h := newHarness(t)
	h.seed(1)
	h.subscribe(10)
	ctx := context.Background()
	a, b := h.service(), h.service()
	errs := make(chan error, 2)
	created := make(chan bool, 2)
	for _, s := range []sending{a, b} {
		go func() {
			_, c, err := s.Build(ctx, digestDay)
			errs <- err
			created <- c
		}()
	}
	n := 0
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		if <-created {
			n++
		}
	}
	d, err := h.db.Digest(ctx, "2026-11-28")
	if n != 1 || err != nil || d.Emails != 10 {
		t.Fatalf("%d builds created the digest, %+v, %v", n, d, err)
	}
	counts, _ := h.db.SendCounts(ctx, d.ID)
	if counts[nashra.SendEmail][nashra.DeliveryPending] != 10 {
		t.Fatalf("queued %v, want 10 once", counts)
	}
}

func TestPreviewQueuesNothing(t *testing.T) {
	h := newHarness(t)
	h.seed(2)
	h.subscribe(3)
	s := h.service()
	ctx := context.Background()
	p, err := s.Preview(ctx, digestDay, []string{"video"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "نشرة المعلومة — 28 تشرين الثاني 2026" || len(p.HTML) == 0 || len(p.Text) == 0 {
		t.Fatalf("preview %q, %d, %d", p.Subject, len(p.HTML), len(p.Text))
	}
	if _, err := h.db.Digest(ctx, "2026-11-28"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a preview recorded a digest: %v", err)
	}
	h.clock.setTo(digestDay.AddDate(0, 0, 7))
	if _, err := s.Preview(ctx, digestDay.AddDate(0, 0, 7), nil); !errors.Is(err, ErrNothingNew) {
		t.Fatalf("a week later the window is empty, got %v", err)
	}
}

// Register's job runs at once at start, so a digest missed while nashra was
// down goes out when it comes back, not a minute later.
func TestRegisterTicksAtStart(t *testing.T) {
	h := newHarness(t)
	h.seed(1)
	s := h.service()
	sched, err := gocron.NewScheduler(gocron.WithLocation(h.cfg.Site.Location))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Register(sched); err != nil {
		t.Fatal(err)
	}
	sched.Start()
	defer sched.Shutdown()
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, err := h.db.Digest(context.Background(), "2026-11-28")
		if err == nil && d.State == nashra.DigestSending {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no digest built at start: %+v, %v", d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
