package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/store/storetest"
)

// backend is a database the store runs on, as the contract tests see it:
// url gives a fresh, empty database of that kind for one test.
type backend struct {
	name string
	url  func(t testing.TB) string
}

var backends = []backend{
	{"sqlite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "nashra.db") }},
	{"postgres", storetest.PostgresURL},
}

// contract runs test once per backend, each time on a new migrated store
// with the sections news and articles: the store must behave the same on
// every one.
func contract(t *testing.T, test func(t *testing.T, db *DB)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, openURL(t, b.url(t))) })
	}
}

// openTest opens a store on SQLite, for tests of what only SQLite has.
func openTest(t testing.TB) *DB {
	t.Helper()
	return openURL(t, backends[0].url(t))
}

func openURL(t testing.TB, rawURL string) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, rawURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SyncSections(ctx, []nashra.Section{
		{Slug: "news", Name: "أخبار", Feeds: []string{"https://a.example/news/feed/"}},
		{Slug: "articles", Name: "مقالات", Feeds: []string{"https://a.example/articles/feed/"}},
	}); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestMigrateIsIdempotentAndReady(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := Open(ctx, b.url(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if n, _ := db.Pending(ctx); n == 0 {
				t.Fatal("a new database reports no pending migrations")
			}
			first, err := db.Migrate(ctx)
			if err != nil || first == 0 {
				t.Fatalf("first migrate: %d, %v", first, err)
			}
			again, err := db.Migrate(ctx)
			if err != nil || again != 0 {
				t.Fatalf("second migrate applied %d, %v", again, err)
			}
			if n, err := db.Pending(ctx); n != 0 || err != nil {
				t.Fatalf("pending after migrate: %d, %v", n, err)
			}
		})
	}
}

// Every connection of both pools must carry the pragmas, not only the one
// that happened to run them.
func TestPragmasOnEveryConnection(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	var conns []interface{ Close() error }
	for range 3 {
		c, err := db.read.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var fk, busy int
		var mode string
		if err := c.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
			t.Fatal(err)
		}
		c.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy)
		c.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode)
		if fk != 1 || busy < 5000 || mode != "wal" {
			t.Errorf("connection: foreign_keys=%d busy_timeout=%d journal_mode=%s", fk, busy, mode)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO article_sections (article_id, section_slug) VALUES (999, 'news')`); err == nil {
		t.Error("foreign keys are not enforced on the writer")
	}
}

func item(guid, link, title string) nashra.Article {
	return nashra.Article{GUID: guid, Link: link, Title: title, Summary: "ملخص " + title, PublishedAt: time.Unix(1_700_000_000, 0)}
}

func TestSaveItemsDeduplicates(t *testing.T) { contract(t, testSaveItemsDeduplicates) }

func testSaveItemsDeduplicates(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	var classified [][]string
	classify := func(state nashra.ArticleState) func([]*nashra.Article) {
		return func(fresh []*nashra.Article) {
			var g []string
			for _, a := range fresh {
				a.State = state
				g = append(g, a.GUID)
			}
			classified = append(classified, g)
		}
	}
	res, err := db.SaveItems(ctx, "news", []nashra.Article{item("g1", "https://a.example/1", "خبر أول"), item("g2", "https://a.example/2", "خبر ثان")}, now, classify(nashra.ArticleSeen))
	if err != nil || len(res.New) != 2 {
		t.Fatalf("first save: %+v %v", res, err)
	}
	// The same items cross-posted to another section, one found only by its
	// link (its guid changed), plus one really new.
	res, err = db.SaveItems(ctx, "articles", []nashra.Article{
		item("g1", "https://a.example/1", "خبر أول"),
		item("other-guid", "https://a.example/2", "خبر ثان"),
		item("g3", "https://a.example/3", "خبر ثالث"),
	}, now, classify(nashra.ArticleNew))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.New) != 1 || res.Unchanged != 2 {
		t.Fatalf("cross-post: %+v", res)
	}
	if len(classified) != 2 || len(classified[1]) != 1 || classified[1][0] != "g3" {
		t.Fatalf("classify saw %v", classified)
	}
	if n, _ := db.CountArticles(ctx); n != 3 {
		t.Fatalf("%d articles stored, want 3", n)
	}
	a, err := db.Article(ctx, res.New[0])
	if err != nil || a.State != nashra.ArticleNew || len(a.Sections) != 1 {
		t.Fatalf("new article: %+v %v", a, err)
	}
	latest, _ := db.LatestArticles(ctx, "articles", 10)
	if len(latest) != 3 {
		t.Fatalf("articles section holds %d, want 3", len(latest))
	}
	first, _ := db.Article(ctx, latest[2].ID)
	if len(first.Sections) != 2 || first.Sections[0] != "news" || first.Sections[1] != "articles" {
		t.Errorf("cross-posted article sections = %v", first.Sections)
	}
}

func TestEditedItemIsRevisedNotNew(t *testing.T) { contract(t, testEditedItemIsRevisedNotNew) }

func testEditedItemIsRevisedNotNew(t *testing.T, db *DB) {
	ctx := context.Background()
	t0 := time.Now()
	seen := func(fresh []*nashra.Article) {
		for _, a := range fresh {
			a.State = nashra.ArticleNew
		}
	}
	res, _ := db.SaveItems(ctx, "news", []nashra.Article{item("g1", "https://a.example/1", "عنوان")}, t0, seen)
	id := res.New[0]
	edited := item("g1", "https://a.example/1", "عنوان مصحح")
	res, err := db.SaveItems(ctx, "news", []nashra.Article{edited}, t0.Add(time.Minute), func([]*nashra.Article) { t.Error("an edited item was classified as fresh") })
	if err != nil || res.Updated != 1 || len(res.New) != 0 {
		t.Fatalf("edit: %+v %v", res, err)
	}
	a, _ := db.Article(ctx, id)
	if a.Title != "عنوان مصحح" || a.Revision != 1 || a.RevisedAt.IsZero() {
		t.Errorf("after edit: title %q revision %d", a.Title, a.Revision)
	}
}

// Many goroutines writing at once queue behind the single writer instead of
// failing with "database is locked", while readers keep reading.
func TestConcurrentWritersNeverLocked(t *testing.T) { contract(t, testConcurrentWritersNeverLocked) }

func testConcurrentWritersNeverLocked(t *testing.T, db *DB) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 16 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 20 {
				g := fmt.Sprintf("w%d-%d", w, i)
				_, err := db.SaveItems(ctx, "news", []nashra.Article{item(g, "https://a.example/"+g, g)}, time.Now(), func(f []*nashra.Article) {
					for _, a := range f {
						a.State = nashra.ArticleNew
					}
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range 20 {
				if _, err := db.LatestArticles(ctx, "news", 5); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, _ := db.CountArticles(ctx); n != 320 {
		t.Errorf("%d articles, want 320", n)
	}
}

func TestBackupWhileWriting(t *testing.T) {
	db := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ctx.Err() == nil; i++ {
			g := fmt.Sprintf("b%d", i)
			db.SaveItems(ctx, "news", []nashra.Article{item(g, "https://a.example/"+g, g)}, time.Now(), func(f []*nashra.Article) {
				for _, a := range f {
					a.State = nashra.ArticleSeen
				}
			})
		}
	}()
	time.Sleep(50 * time.Millisecond)
	out := filepath.Join(t.TempDir(), "copy.db")
	err := db.Backup(context.Background(), out)
	cancel()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	cp, err := Open(context.Background(), "sqlite:"+out)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	var check string
	if err := cp.read.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity of backup: %q %v", check, err)
	}
	if n, err := cp.CountArticles(context.Background()); err != nil || n == 0 {
		t.Fatalf("backup holds %d articles, %v", n, err)
	}
	if err := db.Backup(context.Background(), out); err == nil {
		t.Error("backup overwrote an existing file")
	}
}

func TestDormantSections(t *testing.T) { contract(t, testDormantSections) }

func testDormantSections(t *testing.T, db *DB) {
	ctx := context.Background()
	dormant, err := db.SyncSections(ctx, []nashra.Section{{Slug: "news", Name: "أخبار", Feeds: []string{"https://a.example/news/feed/"}}})
	if err != nil || len(dormant) != 1 || dormant[0] != "articles" {
		t.Fatalf("dormant = %v, %v", dormant, err)
	}
	feeds, _ := db.Feeds(ctx)
	if len(feeds) != 1 {
		t.Errorf("%d active feeds, want 1", len(feeds))
	}
	secs, err := db.Sections(ctx)
	if err != nil || len(secs) != 2 || secs[0].Slug != "news" || secs[0].Dormant || secs[1].Slug != "articles" || !secs[1].Dormant {
		t.Errorf("sections = %+v, %v; want news, then articles dormant", secs, err)
	}
}

func TestAlertsAreNotRepeated(t *testing.T) { contract(t, testAlertsAreNotRepeated) }

func testAlertsAreNotRepeated(t *testing.T, db *DB) {
	ctx := context.Background()
	a := nashra.Alert{Kind: "feed_failing", Subject: "https://a.example/news/feed/", Message: "الخلاصة لا تعمل", CreatedAt: time.Now()}
	if ok, err := db.RaiseAlert(ctx, a); !ok || err != nil {
		t.Fatalf("first alert: %v %v", ok, err)
	}
	if ok, _ := db.RaiseAlert(ctx, a); ok {
		t.Error("the same open alert was raised twice")
	}
	if as, _ := db.UnsentAlerts(ctx); len(as) != 1 {
		t.Errorf("%d unsent alerts", len(as))
	}
}
