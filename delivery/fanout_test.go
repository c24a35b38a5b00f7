package delivery_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/store"
)

// followedBy is a Followers that says every article is followed by chats.
type followedBy []store.FollowDelivery

func (f followedBy) Followers(nashra.Article) ([]store.FollowDelivery, []store.Topic) { return f, nil }

// An article followed by more readers than one transaction writes reaches
// every one of them once, with the reason on each row, alongside the
// section's own subscribers.
func TestLargeKeywordFanOutReachesEveryone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.db")
	db := openStore(t, path)
	addChats(t, db, nashra.ChatPrivate, 1, 5, nil)
	const first, n = 100, 3500
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`WITH RECURSIVE seq(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO chats (id, kind, created_at, updated_at) SELECT i, 'private', 0, 0 FROM seq`, first, first+n-1); err != nil {
		t.Fatal(err)
	}
	var follows followedBy
	for id := int64(first); id < first+n; id++ {
		follows = append(follows, store.FollowDelivery{ChatID: id, Reason: "الكهرباء"})
	}
	follows = append(follows, store.FollowDelivery{ChatID: 3, Reason: "الكهرباء"}) // a section's subscriber too

	cfg := testConfig()
	cfg.Telegram.Limits.GlobalPerSecond = 5000
	snd := &fakeSender{}
	r := start(t, db, snd, cfg)
	r.eng.SetFollowers(follows)
	id := addArticle(t, db, "k1", time.Now())
	eventually(t, 60*time.Second, "every follower's post", func() bool { return len(snd.got()) == n+5 })
	time.Sleep(200 * time.Millisecond) // nothing more should come
	for chat, as := range snd.got() {
		if len(as) != 1 || as[0] != id {
			t.Errorf("chat %d got %v, want article %d once", chat, as, id)
		}
	}
	rows, err := db.ArticleDeliveries(context.Background(), id)
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
