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

func TestArticleLink(t *testing.T) { contract(t, testArticleLink) }

func testArticleLink(t *testing.T, db *DB) {
	ctx := context.Background()
	id := newArticle(t, db, "news", "a1")
	if link, err := db.ArticleLink(ctx, id); err != nil || link != "https://a.example/a1" {
		t.Fatalf("ArticleLink = %q, %v", link, err)
	}
	if _, err := db.ArticleLink(ctx, id+100); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown article: %v, want ErrNotFound", err)
	}
}

func TestRecordClicksCountsUniquesAndDays(t *testing.T) {
	contract(t, testRecordClicksCountsUniquesAndDays)
}

func testRecordClicksCountsUniquesAndDays(t *testing.T, db *DB) {
	ctx := context.Background()
	a := newArticle(t, db, "news", "a1")
	b := newArticle(t, db, "news", "a2")
	day := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	res, err := db.RecordClicks(ctx, []nashra.Click{
		{ArticleID: a, Medium: "telegram", Reader: "v:1", At: day},
		{ArticleID: a, Medium: "telegram", Reader: "v:1", At: day.Add(time.Minute)}, // same visitor
		{ArticleID: a, Medium: "email", Reader: "s:7", At: day},
		{ArticleID: b, Medium: "telegram", Reader: "v:1", At: day}, // another article
	}, 0)
	if err != nil || res != (ClickResult{Unique: 3, Repeat: 1}) {
		t.Fatalf("first batch: %+v, %v", res, err)
	}
	// The subscriber clicks again the next day: still not unique.
	res, err = db.RecordClicks(ctx, []nashra.Click{{ArticleID: a, Medium: "email", Reader: "s:7", At: day.Add(24 * time.Hour)}}, 0)
	if err != nil || res != (ClickResult{Repeat: 1}) {
		t.Fatalf("second batch: %+v, %v", res, err)
	}
	byMedium, err := db.ClicksByMedium(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	want := []MediumClicks{{"email", 1, 2, 0}, {"telegram", 2, 3, 0}}
	if !slices.Equal(byMedium, want) {
		t.Fatalf("by medium = %+v, want %+v", byMedium, want)
	}
	buckets, err := db.ClickBuckets(ctx, day.Add(-time.Hour), day.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	uniques := map[int64]int{}
	for _, bk := range buckets {
		uniques[bk.ArticleID] += bk.Uniques
		if bk.At.Before(day) || !bk.At.Before(day.Add(time.Hour)) {
			t.Errorf("bucket at %v, want within the click's hour", bk.At)
		}
	}
	if uniques[a] != 2 || uniques[b] != 1 {
		t.Fatalf("bucket uniques = %v", uniques)
	}
}

func TestClickBucketsStayInTheirRange(t *testing.T) { contract(t, testClickBucketsStayInTheirRange) }

func testClickBucketsStayInTheirRange(t *testing.T, db *DB) {
	ctx := context.Background()
	a := newArticle(t, db, "news", "a1")
	at := time.Date(2026, 3, 1, 10, 5, 0, 0, time.UTC)
	if _, err := db.RecordClicks(ctx, []nashra.Click{{ArticleID: a, Medium: "web", Reader: "v:1", At: at}}, 0); err != nil {
		t.Fatal(err)
	}
	until := at.Add(time.Minute)
	bs, err := db.ClickBuckets(ctx, at.Add(-time.Hour), until)
	if err != nil || len(bs) != 1 {
		t.Fatalf("%+v %v", bs, err)
	}
	if !bs[0].At.Before(until) {
		t.Fatalf("bucket at %v is not before the range's end %v", bs[0].At, until)
	}
	// Nor before its start: a click just inside the range is counted
	// although the middle of its hour lies outside.
	late := at.Add(time.Hour + 50*time.Minute) // 11:55
	if _, err := db.RecordClicks(ctx, []nashra.Click{{ArticleID: a, Medium: "web", Reader: "v:2", At: late}}, 0); err != nil {
		t.Fatal(err)
	}
	since := late.Add(-time.Minute)
	bs, err = db.ClickBuckets(ctx, since, late.Add(time.Minute))
	if err != nil || len(bs) != 1 || bs[0].At.Before(since) {
		t.Fatalf("range starting at %v: %+v %v", since, bs, err)
	}
}

// New anonymous readers of one network count for an article up to the cap
// a day, across batches; what is past it is only counted as capped, and
// repeats, personal readers, other networks, other articles and the next
// day are not affected.
func TestNetworkCap(t *testing.T) { contract(t, testNetworkCap) }

func testNetworkCap(t *testing.T, db *DB) {
	ctx := context.Background()
	a := newArticle(t, db, "news", "a1")
	b := newArticle(t, db, "news", "a2")
	day := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	visitor := func(article int64, network string, n int, at time.Time) nashra.Click {
		return nashra.Click{ArticleID: article, Medium: "channel", Reader: fmt.Sprintf("v:%s-%d", network, n), Network: network, At: at}
	}
	var batch []nashra.Click
	for i := range 5 {
		batch = append(batch, visitor(a, "n1", i, day))
	}
	batch = append(batch, visitor(a, "n1", 0, day)) // a repeat
	res, err := db.RecordClicks(ctx, batch, 3)
	if err != nil || res != (ClickResult{Unique: 3, Repeat: 1, Capped: 2}) {
		t.Fatalf("first batch: %+v, %v", res, err)
	}
	res, err = db.RecordClicks(ctx, []nashra.Click{
		visitor(a, "n1", 1, day.Add(time.Minute)),   // a repeat of a counted reader
		visitor(a, "n1", 9, day.Add(time.Minute)),   // past the cap, in a later batch
		visitor(a, "n2", 0, day.Add(time.Minute)),   // another network
		visitor(b, "n1", 0, day.Add(time.Minute)),   // another article
		visitor(a, "n1", 10, day.Add(24*time.Hour)), // the next day
		{ArticleID: a, Medium: "telegram", Reader: "c:42", At: day.Add(time.Minute)},
	}, 3)
	if err != nil || res != (ClickResult{Unique: 4, Repeat: 1, Capped: 1}) {
		t.Fatalf("second batch: %+v, %v", res, err)
	}
	byMedium, err := db.ClicksByMedium(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	want := []MediumClicks{{"channel", 6, 8, 3}, {"telegram", 1, 1, 0}}
	if !slices.Equal(byMedium, want) {
		t.Fatalf("by medium = %+v, want %+v", byMedium, want)
	}
	var rows int
	if err := db.read.QueryRow(`SELECT COUNT(*) FROM clicks WHERE article_id = ? AND day = ?`, a, day.UnixMilli()/dayMillis).
		Scan(&rows); err != nil || rows != 5 {
		t.Fatalf("%d click rows of the article's first day, want 5 (3 of n1, 1 of n2, 1 personal): %v", rows, err)
	}
	if _, err := db.PurgeClicks(ctx, day.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.read.QueryRow(`SELECT COUNT(*) FROM click_networks`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("%d network counts kept after the purge: %v", rows, err)
	}
}

func TestPurgeKeepsDailyCounts(t *testing.T) { contract(t, testPurgeKeepsDailyCounts) }

func testPurgeKeepsDailyCounts(t *testing.T, db *DB) {
	ctx := context.Background()
	a := newArticle(t, db, "news", "a1")
	old := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	recent := time.Date(2026, 2, 20, 9, 0, 0, 0, time.UTC)
	if _, err := db.RecordClicks(ctx, []nashra.Click{
		{ArticleID: a, Medium: "telegram", Reader: "v:old", At: old},
		{ArticleID: a, Medium: "telegram", Reader: "v:new", At: recent},
	}, 0); err != nil {
		t.Fatal(err)
	}
	n, err := db.PurgeClicks(ctx, recent.Add(-24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("purge = %d, %v; want 1", n, err)
	}
	// A purge with an earlier line later changes nothing.
	if _, err := db.PurgeClicks(ctx, old.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	bs, err := db.ClickBuckets(ctx, old.Add(-24*time.Hour), recent.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var byDay, byHour int
	for _, b := range bs {
		if b.At.Equal(time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)) {
			byDay += b.Uniques
		} else {
			byHour += b.Uniques
		}
	}
	if byDay != 1 || byHour != 1 {
		t.Fatalf("after purge: %d from daily counts, %d from rows; want 1 and 1 (%+v)", byDay, byHour, bs)
	}
	// The purged visitor's row is gone: the same reader key counts anew.
	res, err := db.RecordClicks(ctx, []nashra.Click{{ArticleID: a, Medium: "telegram", Reader: "v:old", At: recent}}, 0)
	if err != nil || res.Unique != 1 {
		t.Fatalf("after purge: %+v %v", res, err)
	}
}

func TestRankCandidates(t *testing.T) { contract(t, testRankCandidates) }

func testRankCandidates(t *testing.T, db *DB) {
	ctx := context.Background()
	a := newArticle(t, db, "news", "a1")
	b := newArticle(t, db, "articles", "a2")
	if _, err := db.SaveItems(ctx, "news", []nashra.Article{item("a2", "https://a.example/a2", "عنوان a2")}, time.Now(),
		func([]*nashra.Article) {}); err != nil {
		t.Fatal(err)
	}
	c := newArticle(t, db, "news", "a3")
	if _, err := db.SetArticleState(ctx, []int64{c}, nashra.ArticleNew, nashra.ArticleHeld); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	all, err := db.RankCandidates(ctx, "", now.Add(-time.Hour), now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != b || all[1].ID != a {
		t.Fatalf("candidates = %+v, want %d then %d (the held one left out)", all, b, a)
	}
	if !slices.Equal(all[0].Sections, []string{"news", "articles"}) || all[0].Link != "https://a.example/a2" {
		t.Fatalf("candidate = %+v", all[0])
	}
	news, err := db.RankCandidates(ctx, "articles", now.Add(-time.Hour), now.Add(time.Minute))
	if err != nil || len(news) != 1 || news[0].ID != b {
		t.Fatalf("articles candidates = %+v, %v", news, err)
	}
	if none, err := db.RankCandidates(ctx, "", now.Add(time.Minute), now.Add(time.Hour)); err != nil || len(none) != 0 {
		t.Fatalf("later window = %+v, %v", none, err)
	}
}

func TestSiteMostFollowed(t *testing.T) { contract(t, testSiteMostFollowed) }

func testSiteMostFollowed(t *testing.T, db *DB) {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	if err := db.SetSiteMostFollowed(ctx, []int64{5, 3, 5, 9}, at); err != nil {
		t.Fatal(err)
	}
	ids, err := db.SiteMostFollowed(ctx, at.Add(-time.Hour))
	if err != nil || !slices.Equal(ids, []int64{5, 3, 9}) {
		t.Fatalf("list = %v, %v", ids, err)
	}
	if ids, _ := db.SiteMostFollowed(ctx, at.Add(time.Hour)); len(ids) != 0 {
		t.Fatalf("a list read before since = %v, want none", ids)
	}
	if err := db.SetSiteMostFollowed(ctx, []int64{3}, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ids, _ := db.SiteMostFollowed(ctx, at); !slices.Equal(ids, []int64{3}) {
		t.Fatalf("replaced list = %v", ids)
	}
}

func TestNewsListsByPublication(t *testing.T) { contract(t, testNewsListsByPublication) }

// testNewsListsByPublication: what a first poll found (seen) is no
// candidate of the day's ranking, a retracted article is in no list, and
// lists go by publication time, not by when nashra first saw the articles.
func testNewsListsByPublication(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	day := func(d int) time.Time { return now.AddDate(0, 0, d).Truncate(time.Second) }
	// One poll: the feed lists the newest first, all share one first sighting.
	items := []nashra.Article{
		{GUID: "g1", Link: "https://a.example/1", Title: "الأحدث", PublishedAt: day(0)},
		{GUID: "g2", Link: "https://a.example/2", Title: "الأقدم", PublishedAt: day(-4)},
		{GUID: "g3", Link: "https://a.example/3", Title: "الأوسط", PublishedAt: day(-2)},
	}
	seen := func(state nashra.ArticleState) func([]*nashra.Article) {
		return func(fresh []*nashra.Article) {
			for _, a := range fresh {
				a.State = state
			}
		}
	}
	if _, err := db.SaveItems(ctx, "news", items, now, seen(nashra.ArticleSeen)); err != nil {
		t.Fatal(err)
	}
	latest, err := db.LatestArticles(ctx, "news", 10)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, a := range latest {
		titles = append(titles, a.Title)
	}
	if !slices.Equal(titles, []string{"الأحدث", "الأوسط", "الأقدم"}) {
		t.Errorf("latest = %v, want by publication, newest first", titles)
	}
	// Ids follow publication too, oldest first, for what sends in id order.
	if !(latest[2].ID < latest[1].ID && latest[1].ID < latest[0].ID) {
		t.Errorf("ids %d %d %d do not follow publication", latest[2].ID, latest[1].ID, latest[0].ID)
	}
	if c, err := db.RankCandidates(ctx, "", now.Add(-time.Hour), now.Add(time.Minute)); err != nil || len(c) != 0 {
		t.Fatalf("what the first poll found is ranked: %+v, %v", c, err)
	}

	fresh := newArticle(t, db, "news", "n1")
	other := newArticle(t, db, "news", "n2")
	if _, err := db.RetractArticle(ctx, fresh, "editor", now, now.Add(-47*time.Hour)); err != nil {
		t.Fatal(err)
	}
	c, err := db.RankCandidates(ctx, "", now.Add(-time.Hour), now.Add(time.Minute))
	if err != nil || len(c) != 1 || c[0].ID != other {
		t.Fatalf("candidates = %+v, %v; want only %d, not the retracted %d", c, err, other, fresh)
	}
	if latest, err = db.LatestArticles(ctx, "", 10); err != nil || slices.ContainsFunc(latest, func(a nashra.Article) bool { return a.ID == fresh }) {
		t.Errorf("latest lists the retracted article: %v", err)
	}
	if a, err := db.Article(ctx, fresh); err != nil || !a.Retracted() {
		t.Errorf("article = %+v, %v; want retracted", a.RetractedAt, err)
	}
	if _, err := db.ArticleLink(ctx, fresh); !errors.Is(err, ErrRetracted) {
		t.Errorf("link of a retracted article: %v, want ErrRetracted", err)
	}
}
