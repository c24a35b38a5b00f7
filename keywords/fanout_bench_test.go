package keywords

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/store/storetest"
)

// BenchmarkMatchFanOut is the whole cost of one new article for the
// follows, as nashra pays it: the population's 100,000 readers and
// 300,000 rules stored in a SQLite file, the index built from the store's
// stream as at start; then per article the match and the one transaction
// that hands it on (store.HandOn: the rows of the first few hundred
// readers it matched, the others stored as lists), and after it the lists
// expanded into rows one transaction each (store.ExpandFanOut), the
// readers' sends excluded. It reports the heap the index holds, the rows
// written per article, the time of the match, of the hand-on and of the
// expansion, the longest the store's writer was held by one list, the CPU
// time of it all (on a shared machine the wall time is also others'), and
// how the heap grew over the articles.
//
// It runs on a SQLite file and on a PostgreSQL schema.
func BenchmarkMatchFanOut(b *testing.B) {
	backends := []struct {
		name, driver string
		url          func(testing.TB) (store, raw string)
	}{
		{"sqlite", "sqlite", func(t testing.TB) (string, string) {
			path := filepath.Join(t.TempDir(), "nashra.db")
			return "sqlite:" + path, "file:" + path + "?_pragma=busy_timeout(10000)"
		}},
		{"postgres", "pgx", func(t testing.TB) (string, string) {
			u := storetest.PostgresURL(t)
			return u, u
		}},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			storeURL, rawURL := be.url(b)
			db := openStore(b, storeURL)
			p, _ := benchPopulation(b)
			seedFollows(b, be.driver, rawURL, p.rules)
			matchFanOut(b, db, p)
		})
	}
}

// openStore opens the store at url, migrated, with the section news.
func openStore(b *testing.B, url string) *store.DB {
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := db.SyncSections(ctx, []nashra.Section{{Slug: "news", Name: "أخبار", Feeds: []string{"https://a.example/feed/"}}}); err != nil {
		b.Fatal(err)
	}
	return db
}

func matchFanOut(b *testing.B, db *store.DB, p population) {
	ctx := context.Background()
	before := heapInUse()
	ix, err := buildFromStore(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	held := heapInUse() - before

	var rows int
	var matching, handing, expanding, longest, cpu time.Duration
	i := 0
	grownFrom := heapInUse()
	for b.Loop() {
		a := p.articles[i%len(p.articles)]
		b.StopTimer()
		id := saveNew(b, db, fmt.Sprint("fan-", i), a)
		b.StartTimer()
		startCPU := cpuTime()
		start := time.Now()
		res := ix.Match(a)
		f := store.FanOut{ArticleID: id, State: nashra.DeliveryPending, Now: time.Now(),
			Follows: make([]nashra.FollowDelivery, len(res.Follows))}
		for j, m := range res.Follows {
			f.Follows[j] = nashra.FollowDelivery{ChatID: m.Owner.Chat, ThreadID: m.Owner.Topic, Reason: m.Phrase}
		}
		for _, o := range res.Muted {
			f.Muted = append(f.Muted, nashra.Topic{ChatID: o.Chat, ThreadID: o.Topic})
		}
		matched := time.Now()
		out, err := db.HandOn(ctx, f)
		if err != nil {
			b.Fatal(err)
		}
		handed := time.Now()
		rows += out.Followed
		for {
			listStart := time.Now()
			e, ok, err := db.ExpandFanOut(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
			longest = max(longest, time.Since(listStart))
			rows += e.Rows
		}
		expanding += time.Since(handed)
		handing += handed.Sub(matched)
		cpu += cpuTime() - startCPU
		matching += matched.Sub(start)
		i++
	}
	b.StopTimer()
	grown := int64(heapInUse()) - int64(grownFrom)
	ix.Len()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(i) }
	b.ReportMetric(float64(held)/(1<<20), "MB-index")
	b.ReportMetric(float64(rows)/float64(i), "rows/article")
	b.ReportMetric(ms(matching), "ms-match")
	b.ReportMetric(ms(handing), "ms-handon")
	b.ReportMetric(ms(matching+handing), "ms-matched+handed")
	b.ReportMetric(ms(expanding), "ms-expand")
	b.ReportMetric(float64(longest.Microseconds())/1000, "ms-longest-list")
	b.ReportMetric(ms(cpu), "ms-cpu")
	b.ReportMetric(float64(grown)/(1<<10), "KB-heap-growth")
}

// buildFromStore builds the index from the store's stream of follows, as
// the subscribers do at start.
func buildFromStore(ctx context.Context, db *store.DB) (*Index, error) {
	kinds := map[nashra.FollowKind]Kind{nashra.FollowKeyword: Follow, nashra.FollowMute: Mute, nashra.FollowTag: Tag}
	return Build(func(yield func(Rule, error) bool) {
		for f, err := range db.AllFollows(ctx) {
			if !yield(Rule{Owner: Owner{Chat: f.ChatID, Topic: f.ThreadID}, Kind: kinds[f.Kind], Phrase: f.Phrase}, err) {
				return
			}
		}
	}, nil)
}

// seedFollows writes the population's chats and rules into the store
// through a connection of its own, in one transaction of statements of a
// thousand rows each: a follow at a time through the store would take
// minutes. The values are literals: the phrases are the bench's own.
func seedFollows(b *testing.B, driver, url string, rules []Rule) {
	b.Helper()
	conn, err := sql.Open(driver, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	names := map[Kind]nashra.FollowKind{Follow: nashra.FollowKeyword, Mute: nashra.FollowMute, Tag: nashra.FollowTag}
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	for part := range slices.Chunk(rules, 1000) {
		var chats, follows []string
		for _, r := range part {
			kind := nashra.ChatPrivate
			if r.Owner.Chat < 0 {
				kind = nashra.ChatSupergroup
			}
			chats = append(chats, fmt.Sprintf("(%d, '%s', 0, 0)", r.Owner.Chat, kind))
			key, err := Key(r.Kind, r.Phrase)
			if err != nil {
				b.Fatal(err)
			}
			follows = append(follows, fmt.Sprintf("(%d, %d, '%s', %s, %s, 0)", r.Owner.Chat, r.Owner.Topic, names[r.Kind], quote(key), quote(r.Phrase)))
		}
		if _, err := tx.Exec(`INSERT INTO chats (id, kind, created_at, updated_at) VALUES ` + strings.Join(chats, ", ") +
			` ON CONFLICT DO NOTHING`); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO follows (chat_id, thread_id, kind, key, phrase, created_at) VALUES ` +
			strings.Join(follows, ", ") + ` ON CONFLICT DO NOTHING`); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

// saveNew stores a as a new article of the section news.
func saveNew(b *testing.B, db *store.DB, guid string, a Article) int64 {
	b.Helper()
	res, err := db.SaveItems(context.Background(), "news", []nashra.Article{{GUID: guid, Link: "https://a.example/" + guid,
		Title: a.Title, Summary: a.Summary, Categories: a.Categories}}, time.Now(), func(fresh []*nashra.Article) {
		for _, f := range fresh {
			f.State = nashra.ArticleNew
		}
	})
	if err != nil || len(res.New) != 1 {
		b.Fatalf("save article: %+v %v", res, err)
	}
	return res.New[0]
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
