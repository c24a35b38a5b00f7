package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
)

func TestSignInLinkIsUsedOnce(t *testing.T) { contract(t, testSignInLinkIsUsedOnce) }

func testSignInLinkIsUsedOnce(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	if err := db.CreateSignInLink(ctx, "h1", 7, now, now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Eight browsers open the link at once (a preview, a double tap): one
	// of them is signed in.
	var won, used atomic.Int32
	errs := race(8, func(int) error {
		admin, err := db.UseSignInLink(ctx, "h1", now.Add(time.Minute))
		switch {
		case err == nil && admin == 7:
			won.Add(1)
		case errors.Is(err, ErrLinkUsed):
			used.Add(1)
		default:
			return err
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if won.Load() != 1 || used.Load() != 7 {
		t.Fatalf("%d uses succeeded and %d were told the link was used, want 1 and 7", won.Load(), used.Load())
	}
	db.CreateSignInLink(ctx, "h2", 7, now, now.Add(10*time.Minute))
	if _, err := db.UseSignInLink(ctx, "h2", now.Add(10*time.Minute)); !errors.Is(err, ErrLinkExpired) {
		t.Errorf("a link used at its end: %v, want expired", err)
	}
	if _, err := db.UseSignInLink(ctx, "never", now); !errors.Is(err, ErrNotFound) {
		t.Errorf("a link never given: %v, want not found", err)
	}
}

func TestSessionsEndAndAreRevoked(t *testing.T) { contract(t, testSessionsEndAndAreRevoked) }

func testSessionsEndAndAreRevoked(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	end := now.Add(12 * time.Hour)
	for _, s := range []struct {
		hash  string
		admin int64
	}{{"a1", 1}, {"a2", 1}, {"b1", 2}} {
		if err := db.CreateSession(ctx, s.hash, s.admin, now, end); err != nil {
			t.Fatal(err)
		}
	}
	if admin, err := db.Session(ctx, "a1", now.Add(time.Hour)); err != nil || admin != 1 {
		t.Fatalf("live session: %d %v", admin, err)
	}
	if _, err := db.Session(ctx, "a1", end); !errors.Is(err, ErrNotFound) {
		t.Errorf("a session at its end: %v, want not found", err)
	}
	db.CreateSignInLink(ctx, "unused", 1, now, now.Add(10*time.Minute))
	n, err := db.RevokeSessions(ctx, 1, now.Add(time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("revoked %d (%v), want admin 1's two sessions", n, err)
	}
	for _, h := range []string{"a1", "a2"} {
		if _, err := db.Session(ctx, h, now.Add(2*time.Minute)); !errors.Is(err, ErrNotFound) {
			t.Errorf("session %s after /logout_all: %v", h, err)
		}
	}
	if _, err := db.UseSignInLink(ctx, "unused", now.Add(2*time.Minute)); err == nil {
		t.Error("a link given before /logout_all still signs in")
	}
	if admin, err := db.Session(ctx, "b1", now.Add(2*time.Minute)); err != nil || admin != 2 {
		t.Errorf("another admin's session: %d %v", admin, err)
	}
	db.EndSession(ctx, "b1", now.Add(3*time.Minute))
	if _, err := db.Session(ctx, "b1", now.Add(4*time.Minute)); !errors.Is(err, ErrNotFound) {
		t.Errorf("a session signed out: %v", err)
	}
}

// The daily counters follow the writers' own calls, whichever they are.
func TestAudienceCountedByDay(t *testing.T) { contract(t, testAudienceCountedByDay) }

func testAudienceCountedByDay(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now().UTC()
	yesterday := now.Add(-24 * time.Hour)
	today, before := now.UnixMilli()/hourMillis, yesterday.UnixMilli()/hourMillis
	db.TouchChat(ctx, nashra.Chat{ID: 1, Kind: nashra.ChatPrivate}, yesterday)
	db.TouchChat(ctx, nashra.Chat{ID: 2, Kind: nashra.ChatPrivate}, now)
	db.TouchChat(ctx, nashra.Chat{ID: -5, Kind: nashra.ChatSupergroup}, now)
	db.Subscribe(ctx, 1, []string{"news", "articles"}, yesterday)
	db.Subscribe(ctx, 2, []string{"news"}, now)
	db.Unsubscribe(ctx, 1, []string{"articles"})
	db.SetChatActive(ctx, 2, false, "blocked", now)
	db.DeleteChat(ctx, 1) // /stop: the reader and the section they followed leave

	id, _, err := db.RequestEmailSignup(ctx, SignupRequest{Address: "a@example.org", Now: now, Limit: 3, Window: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	db.ConfirmEmailSubscriber(ctx, id, now)
	id2, _, _ := db.RequestEmailSignup(ctx, SignupRequest{Address: "b@example.org", Now: now, Limit: 3, Window: time.Hour})
	db.ConfirmEmailSubscriber(ctx, id2, now)
	db.UnsubscribeEmail(ctx, id2, now)

	hours, err := db.AudienceHours(ctx, yesterday)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]map[string][3]int{}
	for _, h := range hours {
		// A deletion counts at the database's clock, which may have passed
		// into the next hour meanwhile.
		hour := min(h.Hour, today)
		if got[hour] == nil {
			got[hour] = map[string][3]int{}
		}
		c := got[hour][h.Scope]
		got[hour][h.Scope] = [3]int{c[0] + h.Joins, c[1] + h.Leaves, c[2] + h.Bounces}
	}
	want := map[int64]map[string][3]int{
		before: {"private": {1, 0, 0}, "section:news": {1, 0, 0}, "section:articles": {1, 0, 0}},
		today: {"private": {1, 2, 0}, "group": {1, 0, 0}, "section:news": {1, 1, 0}, "section:articles": {0, 1, 0},
			"email": {2, 1, 0}},
	}
	for day, scopes := range want {
		for scope, w := range scopes {
			if got[day][scope] != w {
				t.Errorf("hour %d %s: joins, leaves, bounces %v, want %v", day-today, scope, got[day][scope], w)
			}
		}
	}
}

func TestArticleFiguresFromCounters(t *testing.T) { contract(t, testArticleFiguresFromCounters) }

func testArticleFiguresFromCounters(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	for id := int64(1); id <= 4; id++ {
		db.TouchChat(ctx, nashra.Chat{ID: id, Kind: nashra.ChatPrivate}, now)
		db.Subscribe(ctx, id, []string{"news"}, now)
	}
	first := newArticle(t, db, "news", "f1")
	second := newArticle(t, db, "news", "f2")
	for _, a := range []int64{first, second} {
		if _, err := db.HandOn(ctx, FanOut{ArticleID: a, State: nashra.DeliveryPending, Now: now}); err != nil {
			t.Fatal(err)
		}
	}
	rows, _ := db.ArticleDeliveries(ctx, first)
	claimed, err := db.ClaimDeliveries(ctx, "me", nashra.LanePrivate, 100, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var mine []int64
	for _, d := range claimed {
		if d.ArticleID == first {
			mine = append(mine, d.ID)
		}
	}
	if len(mine) != len(rows) {
		t.Fatalf("claimed %d of the first article's %d rows", len(mine), len(rows))
	}
	t1, t2 := now.Add(time.Second).Truncate(time.Millisecond), now.Add(3*time.Second).Truncate(time.Millisecond)
	if err := db.UpdateOutbox(ctx, "me", []OutboxUpdate{
		{Op: OpSent, IDs: mine[:1], MessageID: 10, At: t1},
		{Op: OpSent, IDs: mine[1:2], MessageID: 11, At: t2},
		{Op: OpDead, IDs: mine[2:3], Error: "Forbidden"},
		{Op: OpStale, IDs: mine[3:4]},
	}, nil); err != nil {
		t.Fatal(err)
	}
	// The second article's rows are all cancelled by an editor at once.
	db.ReleaseClaims(ctx, QueueTelegram, "me")
	if n, err := db.CancelArticleDeliveries(ctx, second, "editor"); err != nil || n != 4 {
		t.Fatalf("cancelled %d, %v", n, err)
	}
	db.RecordClicks(ctx, []nashra.Click{
		{ArticleID: second, Medium: nashra.MediumTelegram, Reader: "c:1", At: now},
		{ArticleID: second, Medium: nashra.MediumTelegram, Reader: "c:2", At: now},
		{ArticleID: second, Medium: nashra.MediumEmail, Reader: "s:1", At: now},
		{ArticleID: first, Medium: nashra.MediumChannel, Reader: "v:x", Network: "n", At: now},
	}, 10)

	figs, total, err := db.ArticleFigures(ctx, ArticleQuery{Sort: SortFound, Limit: 10})
	if err != nil || total != 2 || len(figs) != 2 {
		t.Fatalf("figures %+v total %d %v", figs, total, err)
	}
	f, s := figs[1], figs[0]
	if s.ID != second || f.ID != first {
		t.Fatalf("order %d, %d: want the newest first", figs[0].ID, figs[1].ID)
	}
	if f.Sent != 2 || f.Dead != 1 || f.Stale != 1 || f.Cancelled != 0 || !f.FirstSentAt.Equal(t1) || !f.LastSentAt.Equal(t2) {
		t.Errorf("first article: %+v", f)
	}
	if s.Cancelled != 4 || s.Sent != 0 || !s.FirstSentAt.IsZero() || len(s.Sections) != 1 || s.Sections[0] != "news" {
		t.Errorf("second article: %+v", s)
	}
	if s.Uniques[nashra.MediumTelegram] != 2 || s.Uniques[nashra.MediumEmail] != 1 || s.TotalUniques() != 3 || f.TotalUniques() != 1 {
		t.Errorf("clicks: %v and %v", s.Uniques, f.Uniques)
	}
	for sort, want := range map[ArticleSort]int64{SortSent: first, SortClicks: second, SortFirstPush: first} {
		figs, _, err := db.ArticleFigures(ctx, ArticleQuery{Sort: sort, Limit: 1})
		if err != nil || len(figs) != 1 || figs[0].ID != want {
			t.Errorf("sorted by %s: %+v %v, want %d first", sort, figs, err, want)
		}
	}
	if figs, total, _ := db.ArticleFigures(ctx, ArticleQuery{IDs: []int64{first}, Limit: 10}); total != 1 || len(figs) != 1 {
		t.Errorf("one article asked: %+v of %d", figs, total)
	}
	hours, _ := db.DeliveryHours(ctx, now.Add(-time.Hour))
	var sent, cancelled int
	for _, d := range hours {
		sent += d[nashra.DeliverySent]
		cancelled += d[nashra.DeliveryCancelled]
	}
	if sent != 2 || cancelled != 4 {
		t.Errorf("per hour: %d sent, %d cancelled", sent, cancelled)
	}
	if !f.RetractedAt.IsZero() {
		t.Errorf("an article not retracted has a retraction time: %v", f.RetractedAt)
	}
	retracted := now.Add(5 * time.Second).Truncate(time.Millisecond)
	if _, err := db.RetractArticle(ctx, first, "editor", retracted, now.Add(-47*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if figs, _, err := db.ArticleFigures(ctx, ArticleQuery{IDs: []int64{first}, Limit: 1}); err != nil || len(figs) != 1 ||
		!figs[0].RetractedAt.Equal(retracted) || figs[0].Sent != 2 {
		t.Errorf("the retracted article: %+v %v, want it listed with its sends and retracted at %v", figs, err, retracted)
	}
}

// Every way a delivery ends is counted once: the counters agree with the
// rows, per article and per state, before the rows are purged. A retracted
// row was sent first, and counts as both.
func TestCountersAgreeWithRows(t *testing.T) { contract(t, testCountersAgreeWithRows) }

func testCountersAgreeWithRows(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	for id := int64(1); id <= 6; id++ {
		db.TouchChat(ctx, nashra.Chat{ID: id, Kind: nashra.ChatPrivate}, now)
		db.Subscribe(ctx, id, []string{"news"}, now)
	}
	db.TouchChat(ctx, nashra.Chat{ID: -5, Kind: nashra.ChatGroup}, now)
	db.Subscribe(ctx, -5, []string{"news"}, now)
	var articles []int64
	for i := range 3 {
		a := newArticle(t, db, "news", fmt.Sprint("count-", i))
		if _, err := db.HandOn(ctx, FanOut{ArticleID: a, State: nashra.DeliveryPending, Now: now}); err != nil {
			t.Fatal(err)
		}
		articles = append(articles, a)
	}
	claimed, err := db.ClaimDeliveries(ctx, "me", nashra.LanePrivate, 1000, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var ups []OutboxUpdate
	for i, d := range claimed {
		if d.ChatID == 6 || d.ChatID == -5 {
			continue // left for the chat's cancel and the group's migration
		}
		switch i % 4 {
		case 0, 1:
			ups = append(ups, OutboxUpdate{Op: OpSent, IDs: []int64{d.ID}, MessageID: i + 1, At: now.Add(time.Duration(i) * time.Second)})
		case 2:
			ups = append(ups, OutboxUpdate{Op: OpDead, IDs: []int64{d.ID}, ErrorKind: "forbidden"})
		case 3:
			ups = append(ups, OutboxUpdate{Op: OpStale, IDs: []int64{d.ID}})
		}
	}
	if err := db.UpdateOutbox(ctx, "me", ups, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CancelChatDeliveries(ctx, 6, "blocked", "Forbidden: bot was blocked by the user"); err != nil {
		t.Fatal(err)
	}
	// The group became a supergroup that already has the first article.
	db.TouchChat(ctx, nashra.Chat{ID: -1005, Kind: nashra.ChatSupergroup}, now)
	if _, err := db.write.ExecContext(ctx, `INSERT INTO deliveries (article_id, chat_id, kind, lane, state, created_at, due_at, not_before)
		VALUES (?, -1005, 'supergroup', 1, 'sent', 0, 0, 0)`, articles[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MoveChatDeliveries(ctx, -5, -1005); err != nil {
		t.Fatal(err)
	}
	db.ReleaseClaims(ctx, QueueTelegram, "me")
	if _, err := db.CancelArticleDeliveries(ctx, articles[2], "editor"); err != nil {
		t.Fatal(err)
	}
	// The first article is retracted: its sent messages are deleted.
	if _, err := db.RetractArticle(ctx, articles[0], "editor", now, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	todo, err := db.ClaimDeliveryTodo(ctx, "me", 100, now, now.Add(time.Minute))
	if err != nil || len(todo) == 0 {
		t.Fatalf("claimed %d deletes, %v", len(todo), err)
	}
	for _, d := range todo {
		if err := db.UpdateOutbox(ctx, "me", []OutboxUpdate{{Op: OpDeleted, IDs: []int64{d.ID}, Todo: nashra.TodoDelete}}, nil); err != nil {
			t.Fatal(err)
		}
	}

	want := map[int64]map[nashra.DeliveryState]int{}
	hours := map[nashra.DeliveryState]int{}
	rows, err := db.read.QueryContext(ctx, `SELECT article_id, state, COUNT(*) FROM deliveries
		WHERE state IN ('sent', 'dead', 'stale', 'cancelled', 'retracted') AND NOT (chat_id = -1005 AND article_id = ?)
		GROUP BY article_id, state`, articles[0])
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a int64
		var s nashra.DeliveryState
		var n int
		if err := rows.Scan(&a, &s, &n); err != nil {
			t.Fatal(err)
		}
		if want[a] == nil {
			want[a] = map[nashra.DeliveryState]int{}
		}
		want[a][s] += n
		hours[s] += n
		if s == nashra.DeliveryRetracted {
			want[a][nashra.DeliverySent] += n
			hours[nashra.DeliverySent] += n
		}
	}
	rows.Close()
	for _, s := range []nashra.DeliveryState{nashra.DeliverySent, nashra.DeliveryDead, nashra.DeliveryStale,
		nashra.DeliveryCancelled, nashra.DeliveryRetracted} {
		if hours[s] == 0 {
			t.Errorf("no row ended %s: the test misses a way to end", s)
		}
	}
	figs, _, err := db.ArticleFigures(ctx, ArticleQuery{IDs: articles, Limit: 10})
	if err != nil || len(figs) != len(articles) {
		t.Fatalf("figures %+v %v", figs, err)
	}
	for _, f := range figs {
		got := map[nashra.DeliveryState]int{nashra.DeliverySent: f.Sent, nashra.DeliveryDead: f.Dead, nashra.DeliveryStale: f.Stale,
			nashra.DeliveryCancelled: f.Cancelled, nashra.DeliveryRetracted: f.Retracted}
		for s, n := range got {
			if n != want[f.ID][s] {
				t.Errorf("article %d: counted %d %s, the rows say %d", f.ID, n, s, want[f.ID][s])
			}
		}
	}
	perHour, err := db.DeliveryHours(ctx, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	counted := map[nashra.DeliveryState]int{}
	for _, h := range perHour {
		for s, n := range h {
			counted[s] += n
		}
	}
	for s, n := range hours {
		if counted[s] != n {
			t.Errorf("per hour: counted %d %s, the rows say %d", counted[s], s, n)
		}
	}
}
