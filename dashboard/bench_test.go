package dashboard_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the seed's own connection to PostgreSQL

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/dashboard"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/feeds"
	"github.com/almaalouma/nashra/ranking"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/store/storetest"
)

// scale is the size of a seeded store.
type scale struct {
	articles, readers, deliveries, clicks, emails int
}

// The store the pages must stay fast on (the README's dashboard rows
// give their times on it); without
// NASHRA_DASHBOARD_SCALE=1 a hundredth of it, so that a plain -bench run
// stays quick.
var (
	fullScale  = scale{articles: 5000, readers: 100_000, deliveries: 1_000_000, clicks: 5_000_000, emails: 50_000}
	smallScale = scale{articles: 500, readers: 1000, deliveries: 10_000, clicks: 50_000, emails: 500}
)

// BenchmarkPages measures each page's server time, handler in, bytes out,
// on a seeded SQLite file and a seeded PostgreSQL schema:
//
//	NASHRA_DASHBOARD_SCALE=1 go test ./dashboard -run '^$' -bench Pages -benchtime 20x -timeout 60m
func BenchmarkPages(b *testing.B) {
	sc := smallScale
	if os.Getenv("NASHRA_DASHBOARD_SCALE") == "1" {
		sc = fullScale
	}
	backends := []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "nashra.db") }},
		{"postgres", storetest.PostgresURL},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			rawURL := be.url(b)
			cfg := config.Defaults()
			cfg.Admins = []int64{adminID}
			db := openSeeded(b, rawURL, cfg, sc)
			h, cookie := benchDashboard(b, cfg, db)
			pages := []struct{ name, path string }{
				{"overview", "/dashboard/"},
				{"articles", "/dashboard/articles"},
				{"articles_by_clicks", "/dashboard/articles?sort=clicks"},
				{"articles_search", "/dashboard/articles?q=" + url.QueryEscape("اعلان الانتخابات")},
				{"delivery", "/dashboard/delivery"},
				{"delivery_live", "/dashboard/delivery/live"},
				{"feeds", "/dashboard/feeds"},
				{"email", "/dashboard/email"},
			}
			for _, pg := range pages {
				p := pg.path
				b.Run(pg.name, func(b *testing.B) {
					get := func() {
						req := httptest.NewRequest(http.MethodGet, p, nil)
						req.AddCookie(cookie)
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK {
							b.Fatalf("%s: %d\n%s", p, rec.Code, rec.Body)
						}
					}
					get() // the ranking and the title index are read once, then kept a while
					b.ResetTimer()
					for range b.N {
						get()
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
				})
			}
			// The articles page when its cached ranking has run out: the
			// ranking reads the window's clicks again.
			b.Run("articles_ranking_cold", func(b *testing.B) {
				for range b.N {
					h, cookie := benchDashboard(b, cfg, db)
					req := httptest.NewRequest(http.MethodGet, "/dashboard/articles", nil)
					req.AddCookie(cookie)
					rec := httptest.NewRecorder()
					start := time.Now()
					h.ServeHTTP(rec, req)
					b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "ms/page")
				}
			})
		})
	}
}

// benchDashboard returns the dashboard's routes and a signed-in cookie.
func benchDashboard(b *testing.B, cfg *config.Config, db *store.DB) (http.Handler, *http.Cookie) {
	b.Helper()
	ranker := ranking.New(cfg, db)
	d := dashboard.New(dashboard.Options{Config: cfg, Store: db, Delivery: delivery.NewControls(db, nil),
		FloodGuard: feeds.NewFloodGuard(db, nil), Ranking: ranker, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	mux := http.NewServeMux()
	d.Register(mux)
	link, err := d.SignInLink(context.Background(), adminID)
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse(link)
	req := httptest.NewRequest(http.MethodPost, "/dashboard/signin", strings.NewReader(url.Values{"t": {u.Query().Get("t")}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	cookies := rec.Result().Cookies()
	if rec.Code != http.StatusSeeOther || len(cookies) != 1 {
		b.Fatalf("sign-in: %d", rec.Code)
	}
	return mux, cookies[0]
}

// openSeeded migrates a store at rawURL and fills it to sc with set-based
// statements through a connection of its own: rows the writers would have
// written, final states reached by UPDATEs so that the triggers count
// them as they count the engine's.
func openSeeded(b *testing.B, rawURL string, cfg *config.Config, sc scale) *store.DB {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, rawURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	var secs []nashra.Section
	for _, s := range cfg.Sections {
		secs = append(secs, nashra.Section{Slug: s.Slug, Name: s.Name, Feeds: s.FeedURLs()})
	}
	if _, err := db.SyncSections(ctx, secs); err != nil {
		b.Fatal(err)
	}
	postgres := !strings.HasPrefix(rawURL, "sqlite:")
	var raw *sql.DB
	if postgres {
		raw, err = sql.Open("pgx", rawURL)
	} else {
		raw, err = sql.Open("sqlite", "file:"+strings.TrimPrefix(rawURL, "sqlite:")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	}
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	// seq(i) counts from 1 to n: generate_series on PostgreSQL, a
	// recursive CTE on SQLite.
	seq := func(n int) string {
		if postgres {
			return fmt.Sprintf("seq(i) AS (SELECT generate_series(CAST(1 AS BIGINT), %d))", n)
		}
		return fmt.Sprintf("RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < %d)", n)
	}
	now := time.Now().UnixMilli()
	const day, hour = int64(86_400_000), int64(3_600_000)
	perArticle := sc.deliveries / 200
	slugs := make([]string, len(cfg.Sections))
	for i, s := range cfg.Sections {
		slugs[i] = "'" + s.Slug + "'"
	}
	slugOf := func(expr string) string { // one of the sections, by a number
		var b strings.Builder
		b.WriteString("CASE (" + expr + ") % 7")
		for i, s := range slugs {
			fmt.Fprintf(&b, " WHEN %d THEN %s", i, s)
		}
		return b.String() + " END"
	}
	steps := []struct{ what, sql string }{
		// Articles over 30 days, the newest first seen now; one section each.
		{"articles", fmt.Sprintf(`WITH %s INSERT INTO articles (id, guid, link, title, first_seen_at, state)
			SELECT i, 'g' || i, 'https://almaalouma.net/?p=' || i,
				CASE i %% 3 WHEN 0 THEN 'إعلان نتائج الانتخابات في المحافظة ' || i WHEN 1 THEN 'تقرير عن الطاقة والكهرباء ' || i
				ELSE 'مجلس النواب يناقش الموازنة ' || i END,
				%d - (%d - i) * %d, CASE WHEN i > %d THEN 'held' ELSE 'handed' END FROM seq`,
			seq(sc.articles), now, sc.articles, 30*day/int64(sc.articles), sc.articles-5)},
		{"article sections", `INSERT INTO article_sections (article_id, section_slug) SELECT id, ` + slugOf("id") + ` FROM articles`},
		// Readers who joined over 90 days, two sections each; groups and channels.
		{"readers", fmt.Sprintf(`WITH %s INSERT INTO chats (id, kind, created_at, updated_at)
			SELECT i, 'private', %d - (i %% 90) * %d - (i %% 24) * %d, %d FROM seq`, seq(sc.readers), now, day, hour, now)},
		{"groups", fmt.Sprintf(`WITH %s INSERT INTO chats (id, kind, created_at, updated_at)
			SELECT -i, CASE WHEN i %% 10 = 0 THEN 'channel' ELSE 'supergroup' END, %d - (i %% 90) * %d, %d FROM seq`,
			seq(300), now, day, now)},
		{"subscriptions", fmt.Sprintf(`INSERT INTO subscriptions (chat_id, section_slug, created_at)
			SELECT id, %s, created_at FROM chats UNION ALL SELECT id, %s, created_at + %d FROM chats WHERE kind = 'private'`,
			slugOf("abs(id)"), slugOf("abs(id) + 3"), hour)},
		// One reader in twenty left, on a day of the last 90.
		{"leaves", fmt.Sprintf(`UPDATE chats SET active = 0, updated_at = %d - (id %% 90) * %d WHERE kind = 'private' AND id %% 20 = 0`,
			now, day)},
		// The deliveries of the 200 newest articles, most of them sent.
		{"deliveries", fmt.Sprintf(`WITH %s INSERT INTO deliveries (article_id, chat_id, kind, lane, state, created_at, due_at, not_before,
				sent_at, last_error)
			SELECT a.id, ((a.id * 7919 + s.i) %% %d) + 1, 'private', 4, CASE WHEN s.i %% 100 < 90 OR s.i %% 100 > 94 THEN 'claimed' ELSE 'pending' END,
				a.first_seen_at, a.first_seen_at, a.first_seen_at,
				CASE WHEN s.i %% 100 < 90 THEN a.first_seen_at + s.i * 30 END,
				CASE WHEN s.i %% 100 IN (95, 96) THEN 'Forbidden: bot was blocked by the user' ELSE '' END
			FROM seq s, (SELECT id, first_seen_at FROM articles WHERE state = 'handed' ORDER BY id DESC LIMIT 200) a`,
			seq(perArticle), sc.readers)},
		{"final states", `UPDATE deliveries SET state = CASE WHEN sent_at IS NOT NULL THEN 'sent' WHEN id % 100 IN (95, 96) THEN 'dead'
			WHEN id % 100 = 97 THEN 'stale' ELSE 'cancelled' END WHERE state = 'claimed'`},
		// Unique clicks over 30 days, after each article was found.
		{"clicks", fmt.Sprintf(`WITH %s INSERT INTO clicks (article_id, medium, reader, day, clicked_at)
			SELECT c.id, CASE c.i %% 4 WHEN 0 THEN 'telegram' WHEN 1 THEN 'channel' WHEN 2 THEN 'email' ELSE 'web' END,
				'c:' || (c.i / %d), c.at / %d, c.at
			FROM (SELECT a.id AS id, s.i AS i, CASE WHEN a.first_seen_at + (s.i %% 1440) * 60000 < %d
					THEN a.first_seen_at + (s.i %% 1440) * 60000 ELSE %d END AS at
				FROM seq s JOIN articles a ON a.id = (s.i %% %d) + 1) c`, seq(sc.clicks), sc.articles, day, now, now, sc.articles)},
		{"click counts", `INSERT INTO click_days (article_id, day, medium, uniques, clicks)
			SELECT article_id, day, medium, COUNT(*), COUNT(*) FROM clicks GROUP BY article_id, day, medium`},
		// Email subscribers: confirmed over 90 days; some left or bounced.
		{"email subscribers", fmt.Sprintf(`WITH %s INSERT INTO email_subscribers (address, address_key, state, created_at, updated_at,
				confirmed_at, requested_at)
			SELECT 'r' || i || '@example.org', 'r' || i || '@example.org', CASE WHEN i %% 10 = 0 THEN 'pending' ELSE 'active' END,
				%d - (i %% 90) * %d, %d - (i %% 90) * %d, %d - (i %% 90) * %d, %d FROM seq`,
			seq(sc.emails), now, day, now, day, now, day, now)},
		{"email leaves", fmt.Sprintf(`UPDATE email_subscribers SET state = CASE id %% 10 WHEN 1 THEN 'unsubscribed' WHEN 2 THEN 'bounced'
			ELSE 'paused' END, updated_at = updated_at + %d WHERE id %% 10 IN (1, 2, 3)`, day)},
		// Thirty daily digests; the last five sent to every active subscriber.
		{"digests", fmt.Sprintf(`WITH %s INSERT INTO digests (id, day, state, subject, window_start, window_end, created_at, emails)
			SELECT i, '2026-' || CASE WHEN i < 31 THEN '11-' || substr('0' || i, -2, 2) END, 'sent', 'نشرة المعلومة', 0, 0, %d, %d FROM seq`,
			seq(30), now, sc.emails*7/10)},
		{"send log", `INSERT INTO send_log (kind, medium, digest_id, recipient_id, lane, state, created_at, not_before)
			SELECT 'digest', 'email', d.id, e.id, 1, 'claimed', 0, 0 FROM digests d, email_subscribers e
			WHERE d.id > 25 AND e.state IN ('active', 'bounced')`},
		{"send results", `UPDATE send_log SET state = CASE WHEN recipient_id % 20 = 2 THEN 'bounced' ELSE 'sent' END WHERE state = 'claimed'`},
	}
	if postgres {
		// substr with a negative start is SQLite's.
		steps[len(steps)-3].sql = strings.Replace(steps[len(steps)-3].sql, "substr('0' || i, -2, 2)", "lpad(i::text, 2, '0')", 1)
	}
	for _, st := range steps {
		start := time.Now()
		if _, err := raw.ExecContext(ctx, st.sql); err != nil {
			b.Fatalf("seed %s: %v", st.what, err)
		}
		b.Logf("seeded %s in %s", st.what, time.Since(start).Round(time.Millisecond))
	}
	stmt := "ANALYZE"
	if _, err := raw.ExecContext(ctx, stmt); err != nil {
		b.Fatal(err)
	}
	return db
}
