package delivery_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/store"
)

// followedBy is a Followers that says every article is followed by chats.
type followedBy []nashra.FollowDelivery

func (f followedBy) Followers(nashra.Article) ([]nashra.FollowDelivery, []nashra.Topic) {
	return f, nil
}

// An article followed by more readers than one transaction writes reaches
// every one of them once, with the reason on each row, alongside the
// section's own subscribers; so does one whose hand-on was the last thing
// an instance did before it died, its lists not yet expanded.
func TestLargeKeywordFanOutReachesEveryone(t *testing.T) {
	for _, crashed := range []bool{false, true} {
		t.Run(map[bool]string{false: "running", true: "after a crash"}[crashed], func(t *testing.T) {
			largeKeywordFanOut(t, crashed)
		})
	}
}

func largeKeywordFanOut(t *testing.T, crashed bool) {
	path := filepath.Join(t.TempDir(), "n.db")
	db := openStore(t, path)
	ctx := context.Background()
	addChats(t, db, nashra.ChatPrivate, 1, 5, nil)
	const first, n = 100, 3500
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// Without quiet hours, as addChats makes the others: the test must not
	// depend on the hour it runs at.
	if _, err := raw.Exec(`WITH RECURSIVE seq(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO chats (id, kind, quiet_start, quiet_end, created_at, updated_at) SELECT i, 'private', 0, 0, 0, 0 FROM seq`,
		first, first+n-1); err != nil {
		t.Fatal(err)
	}
	var follows followedBy
	for id := int64(first); id < first+n; id++ {
		follows = append(follows, nashra.FollowDelivery{ChatID: id, Reason: "الكهرباء"})
	}
	follows = append(follows, nashra.FollowDelivery{ChatID: 3, Reason: "الكهرباء"}) // a section's subscriber too

	id := addArticle(t, db, "k1", time.Now())
	if crashed {
		f := store.FanOut{ArticleID: id, State: nashra.DeliveryPending, Now: time.Now()}
		f.Follows, f.Muted = follows.Followers(nashra.Article{})
		if res, err := db.HandOn(ctx, f); err != nil || res.Deferred == 0 {
			t.Fatalf("hand-on before the crash: %+v %v, want lists left to expand", res, err)
		}
	}
	cfg := testConfig()
	cfg.Telegram.Limits.GlobalPerSecond = 5000
	snd := &fakeSender{}
	start(t, db, snd, cfg, func(e *delivery.Engine) { e.SetFollowers(follows) })
	eventually(t, 60*time.Second, "every follower's post", func() bool { return len(snd.got()) == n+5 })
	time.Sleep(200 * time.Millisecond) // nothing more should come
	for chat, as := range snd.got() {
		if len(as) != 1 || as[0] != id {
			t.Errorf("chat %d got %v, want article %d once", chat, as, id)
		}
	}
	rows, err := db.ArticleDeliveries(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range rows {
		wantReason := "الكهرباء"
		if d.ChatID < first {
			wantReason = "" // they follow the section: no "because you follow" line
		}
		if d.Reason != wantReason || d.State != nashra.DeliverySent {
			t.Errorf("chat %d: reason %q state %s, want %q sent", d.ChatID, d.Reason, d.State, wantReason)
		}
	}
}
