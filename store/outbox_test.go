package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
)

// benchBackends runs bench once per backend, each time on a new store
// with readers subscribed to news.
func benchBackends(b *testing.B, readers int, bench func(b *testing.B, db *DB)) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			db := openURL(b, be.url(b))
			seedReaders(b, db, readers)
			b.ResetTimer()
			bench(b, db)
		})
	}
}

// newArticle stores one new article in section and returns its id.
func newArticle(t testing.TB, db *DB, section, guid string, cats ...string) int64 {
	t.Helper()
	it := item(guid, "https://a.example/"+guid, "عنوان "+guid)
	it.Categories = cats
	res, err := db.SaveItems(context.Background(), section, []nashra.Article{it}, time.Now(), func(fresh []*nashra.Article) {
		for _, a := range fresh {
			a.State = nashra.ArticleNew
		}
	})
	if err != nil || len(res.New) != 1 {
		t.Fatalf("save article: %+v %v", res, err)
	}
	return res.New[0]
}

func TestHandOnFansOutOnceWithChannels(t *testing.T) { contract(t, testHandOnFansOutOnceWithChannels) }

func testHandOnFansOutOnceWithChannels(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	for id := int64(1); id <= 4; id++ {
		db.TouchChat(ctx, nashra.Chat{ID: id, Kind: nashra.ChatPrivate}, now)
		db.Subscribe(ctx, id, []string{"news", "articles"}, now)
	}
	digestOnly := nashra.DefaultChatSettings
	digestOnly.Mode = nashra.ModeDigest
	if err := db.SetChatSettings(ctx, 3, digestOnly, now); err != nil {
		t.Fatal(err)
	}
	db.SetChatActive(ctx, 4, false, "blocked", now)
	db.TouchChat(ctx, nashra.Chat{ID: -10, Kind: nashra.ChatGroup}, now)
	db.Subscribe(ctx, -10, []string{"news"}, now)
	db.SeedChannels(ctx, []nashra.ChannelLink{
		{Section: "news", Channel: "-1001234567"},
		{Section: "articles", Channel: "-1001234567"},
		{Section: "news", Channel: "@unresolved_news"},
	}, now)

	id := newArticle(t, db, "news", "g1")
	// Cross-posted: one row per chat all the same.
	db.SaveItems(ctx, "articles", []nashra.Article{item("g1", "https://a.example/g1", "عنوان g1")}, now, nil)

	res, err := db.HandOn(ctx, FanOut{ArticleID: id, State: nashra.DeliveryPending, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Handed || res.Channels != 1 || res.Chats != 3 || len(res.Unresolved) != 1 {
		t.Fatalf("fan-out: %+v (want 1 channel, readers 1 and 2 and the group, one unresolved channel)", res)
	}
	again, err := db.HandOn(ctx, FanOut{ArticleID: id, State: nashra.DeliveryPending, Now: now})
	if err != nil || again.Handed || again.Chats != 0 {
		t.Fatalf("second hand-on: %+v %v", again, err)
	}
	a, _ := db.Article(ctx, id)
	if a.State != nashra.ArticleHanded {
		t.Errorf("article state %s, want handed", a.State)
	}
	rows, _ := db.ArticleDeliveries(ctx, id)
	lanes := map[int64]nashra.Lane{}
	for _, d := range rows {
		lanes[d.ChatID] = d.Lane
	}
	want := map[int64]nashra.Lane{-1001234567: nashra.LaneChannels, -10: nashra.LaneGroups, 1: nashra.LanePrivate, 2: nashra.LanePrivate}
	if fmt.Sprint(lanes) != fmt.Sprint(want) {
		t.Errorf("lanes %v, want %v", lanes, want)
	}

	breaking := newArticle(t, db, "news", "g2", "عاجل")
	db.HandOn(ctx, FanOut{ArticleID: breaking, Breaking: true, State: nashra.DeliveryPending, Now: now})
	rows, _ = db.ArticleDeliveries(ctx, breaking)
	if len(rows) != 4 || rows[0].ChatID != -1001234567 {
		t.Fatalf("breaking rows %+v: want the channel first", rows)
	}
	for _, d := range rows {
		if d.Lane != nashra.LaneBreaking {
			t.Errorf("breaking row for %d in lane %d", d.ChatID, d.Lane)
		}
	}
}

func TestClaimCoalescesAChatsRows(t *testing.T) { contract(t, testClaimCoalescesAChatsRows) }

func testClaimCoalescesAChatsRows(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	for id := int64(1); id <= 3; id++ {
		db.TouchChat(ctx, nashra.Chat{ID: id, Kind: nashra.ChatPrivate}, now)
		db.Subscribe(ctx, id, []string{"news"}, now)
	}
	var arts []int64
	for i := range 3 {
		id := newArticle(t, db, "news", fmt.Sprint("c", i))
		arts = append(arts, id)
		db.HandOn(ctx, FanOut{ArticleID: id, State: nashra.DeliveryPending, Now: now})
	}
	// Limit 1: the first row, of reader 1, brings reader 1's other rows.
	got, err := db.ClaimDeliveries(ctx, "me", nashra.LanePrivate, 1, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("claimed %d rows, want reader 1's three", len(got))
	}
	for _, d := range got {
		if d.ChatID != 1 || d.State != nashra.DeliveryClaimed || d.Settings == nil || d.Settings.Mode != nashra.ModeInstant {
			t.Errorf("claimed %+v", d)
		}
	}
	// Bundle acknowledged as one message; a retry holds a row; a release
	// makes it claimable again.
	ids := []int64{got[0].ID, got[1].ID}
	err = db.UpdateOutbox(ctx, "me", []OutboxUpdate{
		{Op: OpSent, IDs: ids, MessageID: 77, At: now},
		{Op: OpRetry, IDs: []int64{got[2].ID}, At: now.Add(time.Hour), ErrorKind: "transient", Error: "502"},
	}, []Scope{{ChatID: -5, NextAt: now.Add(time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := db.ArticleDeliveries(ctx, arts[0])
	if rows[0].State != nashra.DeliverySent || rows[0].MessageID != 77 || !rows[0].Bundled {
		t.Errorf("sent row %+v", rows[0])
	}
	rows, _ = db.ArticleDeliveries(ctx, arts[2])
	if rows[0].State != nashra.DeliveryHeld || rows[0].Attempts != 1 || rows[0].LastError != "502" {
		t.Errorf("retried row %+v", rows[0])
	}
	if n, _ := db.ReleaseHeldDeliveries(ctx, now.Add(2*time.Hour)); n != 1 {
		t.Errorf("released %d held rows, want 1", n)
	}
	scopes, _ := db.LimiterScopes(ctx, now)
	if len(scopes) != 1 || scopes[0].ChatID != -5 {
		t.Errorf("scopes %+v", scopes)
	}
	// Another holder's update does not touch my claims.
	rest, _ := db.ClaimDeliveries(ctx, "me", nashra.LanePrivate, 100, now.Add(time.Minute))
	if err := db.UpdateOutbox(ctx, "other", []OutboxUpdate{{Op: OpDead, IDs: []int64{rest[0].ID}}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.ReleaseClaims(ctx, QueueTelegram, ""); err != nil {
		t.Fatal(err)
	}
	again, _ := db.ClaimDeliveries(ctx, "you", nashra.LanePrivate, 100, now.Add(time.Minute))
	if len(again) != len(rest) {
		t.Errorf("after a takeover %d rows claimable, want %d", len(again), len(rest))
	}
}

func TestReplyMergeKeys(t *testing.T) { contract(t, testReplyMergeKeys) }

// A reply's merge key goes to the dispatcher with it, and the bot can count
// a chat's recent answers of one kind, whatever became of them.
func testReplyMergeKeys(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	for i, r := range []nashra.QueuedReply{
		{ChatID: 7, Method: "sendMessage", Params: map[string]string{"text": "1"}, Merge: "text"},
		{ChatID: 7, Method: "sendMessage", Params: map[string]string{"text": "2"}, Merge: "text"},
		{ChatID: 8, Method: "sendMessage", Params: map[string]string{"text": "3"}, Merge: "text"},
		{ChatID: 7, Method: "sendMessage", Params: map[string]string{"text": "digest"}},
	} {
		if _, err := db.EnqueueReply(ctx, r, now.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.ClaimReplies(ctx, "me", nashra.ReplyLane, 10, now.Add(time.Hour), now.Add(2*time.Hour))
	if err != nil || len(got) != 4 {
		t.Fatalf("claimed %d replies: %v", len(got), err)
	}
	if got[0].Merge != "text" || got[3].Merge != "" {
		t.Errorf("merge keys %q … %q", got[0].Merge, got[3].Merge)
	}
	for _, c := range []struct {
		chat  int64
		merge string
		since time.Duration
		want  int
	}{{7, "text", 0, 2}, {7, "text", time.Minute, 1}, {8, "text", 0, 1}, {7, "", 0, 0}, {7, "menu", 0, 0}} {
		if n, err := db.CountReplies(ctx, c.chat, c.merge, now.Add(c.since)); err != nil || n != c.want {
			t.Errorf("CountReplies(%d, %q, +%v) = %d, %v; want %d", c.chat, c.merge, c.since, n, err, c.want)
		}
	}
}

func TestRetractAndCorrections(t *testing.T) { contract(t, testRetractAndCorrections) }

func testRetractAndCorrections(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	db.TouchChat(ctx, nashra.Chat{ID: -10, Kind: nashra.ChatGroup}, now)
	db.Subscribe(ctx, -10, []string{"news"}, now)
	db.TouchChat(ctx, nashra.Chat{ID: 1, Kind: nashra.ChatPrivate}, now)
	db.Subscribe(ctx, 1, []string{"news"}, now)
	id := newArticle(t, db, "news", "r1")
	db.HandOn(ctx, FanOut{ArticleID: id, State: nashra.DeliveryPending, Now: now})
	got, _ := db.ClaimDeliveries(ctx, "me", nashra.LanePrivate, 10, now.Add(time.Minute))
	for i, d := range got {
		db.UpdateOutbox(ctx, "me", []OutboxUpdate{{Op: OpSent, IDs: []int64{d.ID}, MessageID: 100 + i, At: now}}, nil)
	}
	// The title changes: the group's post is corrected, the reader's not.
	db.SaveItems(ctx, "news", []nashra.Article{item("r1", "https://a.example/r1", "عنوان مصحح")}, now.Add(time.Minute), nil)
	n, err := db.MarkCorrections(ctx, now, now.Add(-time.Hour), []nashra.ChatKind{nashra.ChatGroup, nashra.ChatSupergroup, nashra.ChatChannel})
	if err != nil || n != 1 {
		t.Fatalf("corrections %d %v, want the group's", n, err)
	}
	work, _ := db.ClaimDeliveryTodo(ctx, "me", 10, now, now.Add(time.Minute))
	if len(work) != 1 || work[0].ChatID != -10 || work[0].Todo != nashra.TodoEdit {
		t.Fatalf("work %+v", work)
	}
	db.UpdateOutbox(ctx, "me", []OutboxUpdate{{Op: OpEdited, IDs: []int64{work[0].ID}, Todo: nashra.TodoEdit, Revision: 1}}, nil)
	if n, _ := db.MarkCorrections(ctx, now, now.Add(-time.Hour), []nashra.ChatKind{nashra.ChatGroup}); n != 0 {
		t.Errorf("a corrected post was queued again")
	}
	// A reader who stopped (/stop deleted the chat) is not edited, even
	// when readers' copies are.
	if err := db.DeleteChat(ctx, 1); err != nil {
		t.Fatal(err)
	}
	db.SaveItems(ctx, "news", []nashra.Article{item("r1", "https://a.example/r1", "عنوان مصحح ثانية")}, now.Add(2*time.Minute), nil)
	if n, err := db.MarkCorrections(ctx, now, now.Add(-time.Hour), []nashra.ChatKind{nashra.ChatPrivate}); err != nil || n != 0 {
		t.Errorf("a stopped reader's message queued for an edit: %d, %v", n, err)
	}

	r, err := db.RetractArticle(ctx, id, "editor", now, now.Add(-47*time.Hour))
	if err != nil || r.Deleting != 2 || r.Cancelled != 0 {
		t.Fatalf("retract %+v %v", r, err)
	}
	c, _ := db.CountOutbox(ctx, now.Add(-time.Hour))
	if c.Work != 2 || c.SentSince != 2 {
		t.Errorf("counts %+v", c)
	}
}

// The fan-out of one article to 100,000 readers is one INSERT … SELECT.
func BenchmarkHandOn100k(b *testing.B) {
	benchBackends(b, 100_000, func(b *testing.B, db *DB) {
		ctx := context.Background()
		var total time.Duration
		for i := range b.N {
			b.StopTimer()
			id := newArticle(b, db, "news", fmt.Sprint("bench-", i))
			b.StartTimer()
			start := time.Now()
			res, err := db.HandOn(ctx, FanOut{ArticleID: id, State: nashra.DeliveryPending, Now: time.Now()})
			if err != nil || res.Chats != 100_000 {
				b.Fatalf("%+v %v", res, err)
			}
			total += time.Since(start)
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/fanout")
	})
}

// The dispatcher's side of a 100,000-reader push: claim due rows in
// batches and acknowledge each as sent, one transaction per batch, until
// none is left.
func BenchmarkClaim100k(b *testing.B) {
	const batch = 256
	benchBackends(b, 100_000, func(b *testing.B, db *DB) {
		ctx := context.Background()
		var rows int
		var took time.Duration
		for i := range b.N {
			b.StopTimer()
			id := newArticle(b, db, "news", fmt.Sprint("claim-", i))
			if _, err := db.HandOn(ctx, FanOut{ArticleID: id, State: nashra.DeliveryPending, Now: time.Now()}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			for {
				got, err := db.ClaimDeliveries(ctx, "bench", nashra.LanePrivate, batch, time.Now().Add(time.Minute))
				if err != nil {
					b.Fatal(err)
				}
				if len(got) == 0 {
					break
				}
				ups := make([]OutboxUpdate, len(got))
				for j, d := range got {
					ups[j] = OutboxUpdate{Op: OpSent, IDs: []int64{d.ID}, MessageID: j + 1, At: time.Now()}
				}
				if err := db.UpdateOutbox(ctx, "bench", ups, nil); err != nil {
					b.Fatal(err)
				}
				rows += len(got)
			}
			took += time.Since(start)
		}
		b.ReportMetric(float64(rows)/took.Seconds(), "rows/s")
	})
}

// seedReaders creates n readers subscribed to news with one statement each
// for chats and subscriptions.
func seedReaders(t testing.TB, db *DB, n int) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UnixMilli()
	_, err := db.write.ExecContext(ctx, `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO chats (id, kind, created_at, updated_at) SELECT i, 'private', ?, ? FROM seq`, n, now, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO subscriptions (chat_id, section_slug, created_at)
		SELECT id, 'news', ? FROM chats WHERE kind = 'private'`, now); err != nil {
		t.Fatal(err)
	}
}

// Without statistics SQLite may pick a poor index; the outbox's hot
// queries must walk an index, never scan or sort the table.
func TestOutboxQueriesUseIndexes(t *testing.T) {
	db := openTest(t)
	for _, q := range []string{
		`SELECT id FROM deliveries WHERE state = 'pending' AND lane <= 3 ORDER BY lane, article_id, id LIMIT 10`,
		`SELECT id FROM deliveries WHERE state = 'pending' AND kind <> 'channel' AND chat_id IN (1, 2, 3)`,
		`SELECT id FROM deliveries WHERE todo <> '' AND claimed_by IS NULL AND COALESCE(lease_until, 0) <= 5 ORDER BY id LIMIT 10`,
		`UPDATE deliveries SET state = 'pending' WHERE ` + settled + `state = 'held' AND not_before <= 5`,
		`UPDATE deliveries SET lease_until = 5 WHERE ` + settled + `state = 'claimed' AND claimed_by = 'me'`,
		`UPDATE deliveries SET state = 'sent' FROM (VALUES (1, 2)) AS v WHERE deliveries.id = v.column1`,
		`UPDATE deliveries SET state = 'cancelled' WHERE chat_id = 5 AND state IN ('pending', 'held', 'claimed')`,
		`UPDATE deliveries SET not_before = 5, due_at = 5 WHERE chat_id = 5 AND state = 'held' AND due_at = not_before AND not_before > 5`,
		`UPDATE deliveries SET state = 'cancelled' WHERE article_id = 5 AND state IN ('pending', 'held', 'claimed')`,
		`SELECT lane, COUNT(*) FROM deliveries WHERE state = 'pending' GROUP BY lane`,
		`SELECT COUNT(*) FROM deliveries WHERE ` + settled + `state = 'dead'`,
		`SELECT COUNT(*) FROM deliveries WHERE sent_at >= 5`,
		`SELECT created_at FROM deliveries WHERE state = 'pending' AND lane = 4 ORDER BY article_id, id LIMIT 1`,
		`SELECT id FROM delivery_replies WHERE state = 'pending' AND lane <= 0 AND not_before <= 5 ORDER BY lane, id LIMIT 10`,
		`SELECT COUNT(*) FROM delivery_replies WHERE chat_id = 5 AND merge_key = 'text' AND merge_key <> '' AND created_at >= 5`,
	} {
		walksIndexes(t, db, q, "deliveries", "delivery_replies")
	}
}

// walksIndexes fails t when SQLite's plan of q reads the whole of one of
// tables, or sorts.
func walksIndexes(t *testing.T, db *DB, q string, tables ...string) {
	t.Helper()
	rows, err := db.read.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	rows.Close()
	for _, step := range plan {
		// Walking an index is fine; reading the whole table or sorting is not.
		if slices.Contains(tables, strings.TrimPrefix(step, "SCAN ")) || strings.Contains(step, "TEMP B-TREE") {
			t.Errorf("%s\n\tplan: %v", q, plan)
			return
		}
	}
}
