package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
)

func TestFollows(t *testing.T) { contract(t, testFollows) }

func testFollows(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	db.TouchChat(ctx, nashra.Chat{ID: 1, Kind: nashra.ChatPrivate}, now)
	db.TouchChat(ctx, nashra.Chat{ID: -100, Kind: nashra.ChatSupergroup}, now)
	head, err := db.LastFollowChange(ctx)
	if err != nil {
		t.Fatal(err)
	}

	follow := func(chat, thread int64, kind nashra.FollowKind, key, phrase string) (bool, error) {
		return db.AddFollow(ctx, nashra.Follow{ChatID: chat, ThreadID: thread, Kind: kind, Key: key, Phrase: phrase}, 3, now)
	}
	if added, err := follow(1, 0, nashra.FollowKeyword, "كهرباء", "الكهرباء"); !added || err != nil {
		t.Fatalf("first follow: %v %v", added, err)
	}
	if added, err := follow(1, 0, nashra.FollowKeyword, "كهرباء", "كهرباء"); added || err != nil {
		t.Fatalf("same key again: added=%v %v, want nothing added", added, err)
	}
	// The same key as a mute, and in a topic of the group, are other rules.
	if added, err := follow(1, 0, nashra.FollowMute, "كهرباء", "كهرباء"); !added || err != nil {
		t.Fatalf("mute: %v %v", added, err)
	}
	if _, err := follow(-100, 7, nashra.FollowKeyword, "كهرباء", "الكهرباء"); err != nil {
		t.Fatal(err)
	}
	if _, err := follow(-100, 0, nashra.FollowTag, "نفط", "النفط"); err != nil {
		t.Fatal(err)
	}
	if _, err := follow(1, 0, nashra.FollowTag, "نفط", "نفط"); err != nil {
		t.Fatal(err)
	}
	// Three is the limit given: the fourth of chat 1 is refused.
	if _, err := follow(1, 0, nashra.FollowKeyword, "موازنه", "الموازنة"); !errors.Is(err, ErrFollowLimit) {
		t.Fatalf("past the limit: %v, want ErrFollowLimit", err)
	}
	if _, err := follow(99, 0, nashra.FollowKeyword, "موازنه", "الموازنة"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown chat: %v, want ErrNotFound", err)
	}

	fs, err := db.ChatFollows(ctx, 1)
	if err != nil || len(fs) != 3 || fs[0].Phrase != "الكهرباء" || fs[0].Kind != nashra.FollowKeyword || fs[1].Kind != nashra.FollowMute {
		t.Fatalf("chat 1 follows %+v %v", fs, err)
	}
	var all []string
	for f, err := range db.AllFollows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, fmt.Sprintf("%d/%d %s %s", f.ChatID, f.ThreadID, f.Kind, f.Phrase))
	}
	if len(all) != 5 {
		t.Fatalf("all follows %q, want 5", all)
	}

	chats, last, err := db.FollowChanges(ctx, head, 100)
	if err != nil || fmt.Sprint(chats) != "[1 -100]" || last <= head {
		t.Fatalf("changes after %d: %v up to %d, %v; want chats 1 and -100 once each", head, chats, last, err)
	}
	if again, at, _ := db.FollowChanges(ctx, last, 100); len(again) != 0 || at != last {
		t.Fatalf("changes after the last: %v %d", again, at)
	}

	top, err := db.TopFollows(ctx, nashra.FollowTag, 20)
	if err != nil || len(top) != 1 || top[0].Chats != 2 {
		t.Fatalf("top tags %+v %v, want نفط by 2 chats", top, err)
	}

	removed, err := db.RemoveFollow(ctx, 1, 0, nashra.FollowKeyword, "كهرباء", now)
	if err != nil || removed.Phrase != "الكهرباء" {
		t.Fatalf("remove: %+v %v", removed, err)
	}
	if _, err := db.RemoveFollow(ctx, 1, 0, nashra.FollowKeyword, "كهرباء", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("remove twice: %v", err)
	}
	if _, err := db.RemoveFollowByID(ctx, 1, fs[1].ID+1000, now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("remove another's id: %v", err)
	}
	if f, err := db.RemoveFollowByID(ctx, 1, fs[1].ID, now); err != nil || f.Kind != nashra.FollowMute {
		t.Fatalf("remove by id: %+v %v", f, err)
	}
	if chats, _, _ := db.FollowChanges(ctx, last, 100); fmt.Sprint(chats) != "[1]" {
		t.Fatalf("changes after removals: %v", chats)
	}

	// A deleted or closed topic's follows and sections move to the
	// general topic; a rule the general topic has already is not doubled.
	if _, err := db.SubscribeIn(ctx, -100, 7, []string{"news"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := follow(-100, 0, nashra.FollowKeyword, "كهرباء", "كهرباء"); err != nil {
		t.Fatal(err)
	}
	if n, err := db.MoveTopicToGeneral(ctx, -100, 7, now); err != nil || n != 2 {
		t.Fatalf("move topic: %d %v, want its follow and its section", n, err)
	}
	fs, err = db.ChatFollows(ctx, -100)
	if err != nil || len(fs) != 2 || fs[0].ThreadID != 0 || fs[1].ThreadID != 0 {
		t.Fatalf("group follows after its topic went: %+v %v, want the tag and one keyword, in the general topic", fs, err)
	}
	if moved, err := db.SubscribeIn(ctx, -100, 0, []string{"news"}, now); err != nil || len(moved) != 0 {
		t.Fatalf("the topic's section is not in the general topic: %v %v", moved, err)
	}
	if n, err := db.MoveTopicToGeneral(ctx, -100, 7, now); err != nil || n != 0 {
		t.Fatalf("move the topic again: %d %v, want nothing left", n, err)
	}

	// A group upgraded to a supergroup keeps its follows; a chat that
	// leaves takes them along, and both changes are logged.
	db.TouchChat(ctx, nashra.Chat{ID: -5, Kind: nashra.ChatGroup}, now)
	follow(-5, 0, nashra.FollowKeyword, "نفط", "نفط")
	before, _ := db.LastFollowChange(ctx)
	if err := db.MoveChat(ctx, -5, -1005, now); err != nil {
		t.Fatal(err)
	}
	if fs, _ := db.ChatFollows(ctx, -1005); len(fs) != 1 {
		t.Fatalf("moved chat's follows %+v", fs)
	}
	if err := db.DeleteChat(ctx, -1005); err != nil {
		t.Fatal(err)
	}
	if fs, _ := db.ChatFollows(ctx, -1005); len(fs) != 0 {
		t.Fatalf("deleted chat's follows %+v", fs)
	}
	if chats, _, _ := db.FollowChanges(ctx, before, 100); fmt.Sprint(chats) != "[-5 -1005]" {
		t.Fatalf("changes of the move and the deletion: %v", chats)
	}
	if n, err := db.ForgetFollowChanges(ctx, now.Add(time.Minute)); err != nil || n == 0 {
		t.Fatalf("forget changes: %d %v", n, err)
	}
}

func TestHandOnFollowsAndMutes(t *testing.T) { contract(t, testHandOnFollowsAndMutes) }

func testHandOnFollowsAndMutes(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	for id := int64(1); id <= 5; id++ {
		db.TouchChat(ctx, nashra.Chat{ID: id, Kind: nashra.ChatPrivate}, now)
	}
	db.Subscribe(ctx, 1, []string{"news"}, now) // section and keyword: one row, the section's
	db.Subscribe(ctx, 2, []string{"news"}, now) // mutes a phrase of it
	db.SetChatActive(ctx, 4, false, "blocked", now)
	db.TouchChat(ctx, nashra.Chat{ID: -100, Kind: nashra.ChatSupergroup}, now)
	if _, err := db.SubscribeIn(ctx, -100, 9, []string{"news"}, now); err != nil {
		t.Fatal(err)
	}

	id := newArticle(t, db, "news", "k1")
	res, err := db.HandOn(ctx, FanOut{ArticleID: id, State: nashra.DeliveryPending, Now: now,
		Follows: []nashra.FollowDelivery{{ChatID: 1, Reason: "الكهرباء"}, {ChatID: 3, Reason: "#النفط"}, {ChatID: 4, Reason: "x"},
			{ChatID: 77, Reason: "unknown chat"}},
		Muted: []nashra.Topic{{ChatID: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Chats != 2 || res.Followed != 1 || res.Muted != 1 {
		t.Fatalf("fan-out %+v: want chat 1 and the group by section, chat 3 by tag, chat 2 muted", res)
	}
	rows, _ := db.ArticleDeliveries(ctx, id)
	got := map[int64]string{}
	for _, d := range rows {
		got[d.ChatID] = fmt.Sprintf("%d %q", d.ThreadID, d.Reason)
	}
	want := map[int64]string{1: `0 ""`, 3: `0 "#النفط"`, -100: `9 ""`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rows %v, want %v", got, want)
	}

	if n, err := db.FollowedDeliveries(ctx, now.Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("followed deliveries before any send: %d %v", n, err)
	}
	for _, d := range rows {
		if d.ChatID == 3 {
			if err := db.UpdateOutbox(ctx, "", []OutboxUpdate{{Op: OpSent, IDs: []int64{d.ID}, MessageID: 1, At: now}}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, err := db.FollowedDeliveries(ctx, now.Add(-time.Hour)); err != nil || n != 1 {
		t.Fatalf("followed deliveries after chat 3's send: %d %v", n, err)
	}

}

func TestDeferredFanOut(t *testing.T) { contract(t, testDeferredFanOut) }

// testDeferredFanOut hands on articles followed by more chats than one
// transaction writes: every chat gets its row once the lists are expanded,
// in the lists' order, and a cancel drops what was not expanded yet.
func testDeferredFanOut(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	const first = 1000
	total := fanOutInline + 2*fanOutList + 3
	seedChats(t, db, first, first+int64(total))
	var many []nashra.FollowDelivery
	for i := first + int64(total) - 1; i >= first; i-- { // in no particular order
		many = append(many, nashra.FollowDelivery{ChatID: i, Reason: "نفط \"خام\""})
	}
	id := newArticle(t, db, "articles", "k2")
	late := first + int64(total) - 2
	// Chat late follows the article's section too, and chat late+1 leaves
	// before its list is expanded.
	if _, err := db.Subscribe(ctx, late, []string{"articles"}, now); err != nil {
		t.Fatal(err)
	}
	res, err := db.HandOn(ctx, FanOut{ArticleID: id, State: nashra.DeliveryPending, Now: now, Follows: many})
	if err != nil || res.Chats != 1 || res.Followed != fanOutInline || res.Deferred != total-fanOutInline {
		t.Fatalf("hand-on of %d followers: %+v %v, want %d rows now and %d deferred", total, res, err, fanOutInline, total-fanOutInline)
	}
	if err := db.SetChatActive(ctx, late+1, false, "blocked", now); err != nil {
		t.Fatal(err)
	}
	var lists []Expanded
	for {
		e, ok, err := db.ExpandFanOut(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		lists = append(lists, e)
	}
	want := []Expanded{{id, nashra.DeliveryPending, fanOutList}, {id, nashra.DeliveryPending, fanOutList}, {id, nashra.DeliveryPending, 1}}
	if fmt.Sprint(lists) != fmt.Sprint(want) {
		t.Fatalf("expanded %v, want %v (the last list's chats: one by section already, one gone)", lists, want)
	}
	rows, err := db.ArticleDeliveries(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	byChat := map[int64]nashra.Delivery{}
	for _, d := range rows {
		if _, dup := byChat[d.ChatID]; dup {
			t.Fatalf("chat %d has two rows", d.ChatID)
		}
		byChat[d.ChatID] = d
	}
	if len(byChat) != total-1 || byChat[late].Reason != "" || byChat[first].Reason != `نفط "خام"` {
		t.Fatalf("%d chats got rows, want %d; the section's follower's reason %q, a follower's %q",
			len(byChat), total-1, byChat[late].Reason, byChat[first].Reason)
	}
	if _, ok := byChat[late+1]; ok {
		t.Fatal("a chat that left before its list was expanded got a row")
	}

	id = newArticle(t, db, "articles", "k3")
	if res, err = db.HandOn(ctx, FanOut{ArticleID: id, State: nashra.DeliveryPending, Now: now, Follows: many}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.CancelArticleDeliveries(ctx, id, "editor"); err != nil || n != res.Chats+res.Followed+res.Deferred {
		t.Fatalf("cancelled %d %v, want the %d rows and the %d chats still listed", n, err, res.Chats+res.Followed, res.Deferred)
	}
	if e, ok, err := db.ExpandFanOut(ctx); ok || err != nil {
		t.Fatalf("a cancelled article's list was expanded: %+v %v", e, err)
	}
}

// seedChats creates private chats with ids from..to-1.
func seedChats(t testing.TB, db *DB, from, to int64) {
	t.Helper()
	now := time.Now().UnixMilli()
	if _, err := db.write.ExecContext(context.Background(), `WITH RECURSIVE seq(i) AS (SELECT CAST(? AS BIGINT) UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO chats (id, kind, created_at, updated_at) SELECT i, 'private', ?, ? FROM seq`, from, to-1, now, now); err != nil {
		t.Fatal(err)
	}
}

func TestLastReplyMerge(t *testing.T) { contract(t, testLastReplyMerge) }

func testLastReplyMerge(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	if m, err := db.LastReplyMerge(ctx, 1, now.Add(-time.Minute)); err != nil || m != "" {
		t.Fatalf("no reply yet: %q %v", m, err)
	}
	for i, merge := range []string{"start", "follow-ask", ""} {
		if _, err := db.EnqueueReply(ctx, nashra.QueuedReply{ChatID: 1, Method: "sendMessage", Params: map[string]string{"text": "x"},
			Merge: merge}, now.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if m, err := db.LastReplyMerge(ctx, 1, now.Add(-time.Minute)); err != nil || m != "follow-ask" {
		t.Fatalf("last reply %q %v, want the question (replies without a merge key do not count)", m, err)
	}
	if m, _ := db.LastReplyMerge(ctx, 1, now.Add(time.Minute)); m != "" {
		t.Fatalf("a reply older than since counted: %q", m)
	}
}
