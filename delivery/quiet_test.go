package delivery_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
)

// TestQuietHoursOffReleasesHeld: what quiet hours hold goes out as soon as
// the reader turns them off, in order, not at their old end; changing the
// window to one that still covers now holds it until the new end.
func TestQuietHoursOffReleasesHeld(t *testing.T) {
	db := openStore(t, "")
	ctx := context.Background()
	cfg := testConfig()
	local := time.Now().In(cfg.Site.Location)
	m := local.Hour()*60 + local.Minute()
	quiet := nashra.ChatSettings{Mode: nashra.ModeInstant, QuietStart: (m + 1440 - 60) % 1440, QuietEnd: (m + 120) % 1440,
		QuietMode: nashra.QuietHold}
	addChats(t, db, nashra.ChatPrivate, 1, 1, &quiet)
	var want []int64
	for i := range 32 {
		want = append(want, addArticle(t, db, fmt.Sprint("q", i), time.Now()))
	}
	snd := &fakeSender{}
	start(t, db, snd, cfg)
	held := func() int {
		n := 0
		for _, a := range want {
			rows, _ := db.ArticleDeliveries(ctx, a)
			for _, d := range rows {
				if d.State == nashra.DeliveryHeld {
					n++
				}
			}
		}
		return n
	}
	eventually(t, 10*time.Second, "the 32 pushes held for quiet hours", func() bool { return held() == 32 })

	// A window that still covers now keeps them, until its new end.
	quiet.QuietEnd = (m + 60) % 1440
	if err := db.SetChatSettings(ctx, 1, quiet, time.Now()); err != nil {
		t.Fatal(err)
	}
	// They are due again for a moment, then judged under the new window.
	eventually(t, 10*time.Second, "the pushes held until the new end", func() bool {
		for _, a := range want {
			rows, _ := db.ArticleDeliveries(ctx, a)
			if len(rows) != 1 || rows[0].State != nashra.DeliveryHeld || !rows[0].NotBefore.Before(time.Now().Add(61*time.Minute)) {
				return false
			}
		}
		return true
	})
	if n := held(); n != 32 || len(snd.got()) != 0 {
		t.Fatalf("after moving the window: %d held, sent %v", n, snd.got())
	}

	quiet.QuietStart, quiet.QuietEnd = 0, 0
	if err := db.SetChatSettings(ctx, 1, quiet, time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the held pushes sent", func() bool { return len(snd.got()[1]) == 32 })
	if got := snd.got()[1]; !slices.Equal(got, want) {
		t.Errorf("sent %v, want the articles in order %v", got, want)
	}
	for _, c := range snd.to(1) {
		if c.silent {
			t.Errorf("a released post went silently")
		}
	}
}
