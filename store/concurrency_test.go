package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
)

// writers is how many concurrent writers the tests of this file set on one
// key: as many as the poller's workers by default.
const writers = 8

// race runs fn(w) for w in [0, n) at once, the goroutines released together
// so that they meet on the database, and returns their errors.
func race(n int, fn func(w int) error) []error {
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for w := range n {
		wg.Go(func() {
			<-start
			errs[w] = fn(w)
		})
	}
	close(start)
	wg.Wait()
	return slices.DeleteFunc(errs, func(err error) bool { return err == nil })
}

// crossSections adds sections s0…s7, one per writer, as if each writer
// polled the feed of its own section.
func crossSections(t *testing.T, db *DB) []string {
	t.Helper()
	var specs []nashra.Section
	var slugs []string
	for w := range writers {
		slug := fmt.Sprintf("s%d", w)
		slugs = append(slugs, slug)
		specs = append(specs, nashra.Section{Slug: slug, Name: "قسم " + slug, Feeds: []string{"https://a.example/" + slug + "/feed/"}})
	}
	if _, err := db.SyncSections(context.Background(), specs); err != nil {
		t.Fatal(err)
	}
	return slugs
}

// numbered returns n items numbered from first, each with its own GUID and
// link.
func numbered(first, n int) []nashra.Article {
	items := make([]nashra.Article, n)
	for i := range items {
		g := fmt.Sprintf("https://a.example/?p=%d", first+i)
		items[i] = item(g, g, fmt.Sprintf("خبر %d", first+i))
	}
	return items
}

func markNew(fresh []*nashra.Article) {
	for _, a := range fresh {
		a.State = nashra.ArticleNew
	}
}

// Cross-posted items — one guid in several sections' feeds — stored by
// several writers at the same moment, as the poll workers, two instances or
// a one-off poll beside the service do: every item is stored once, in every
// section, and no writer fails.
func TestCrossPostedItemsStoredConcurrently(t *testing.T) {
	contract(t, testCrossPostedItemsStoredConcurrently)
}

func testCrossPostedItemsStoredConcurrently(t *testing.T, db *DB) {
	const rounds, perRound = 100, 50
	ctx := context.Background()
	slugs := crossSections(t, db)
	started := time.Now()
	for round := range rounds {
		items := numbered(round*perRound, perRound)
		var mu sync.Mutex
		var stored []int64
		errs := race(writers, func(w int) error {
			// Each feed lists the items in an order of its own.
			mine := slices.Clone(items)
			rand.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
			res, err := db.SaveItems(ctx, slugs[w], mine, time.Now(), markNew)
			if err != nil {
				return err
			}
			if len(res.Failed) > 0 {
				return fmt.Errorf("writer %d: %d items failed, first %w", w, len(res.Failed), res.Failed[0])
			}
			if got := len(res.New) + res.Updated + res.Unchanged; got != perRound {
				return fmt.Errorf("writer %d accounted for %d items of %d", w, got, perRound)
			}
			mu.Lock()
			stored = append(stored, res.New...)
			mu.Unlock()
			return nil
		})
		for _, err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		if t.Failed() {
			t.FailNow()
		}
		slices.Sort(stored)
		if len(stored) != perRound || len(slices.Compact(stored)) != perRound {
			t.Fatalf("round %d: the writers stored %d new articles, want each of the %d once", round, len(stored), perRound)
		}
	}
	if n, _ := db.CountArticles(ctx); n != rounds*perRound {
		t.Errorf("%d articles stored, want %d", n, rounds*perRound)
	}
	// Each section holds every article: (article, section) is unique.
	rows, err := db.read.QueryContext(ctx, `SELECT section_slug, COUNT(*) FROM article_sections GROUP BY section_slug ORDER BY section_slug`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var held []string
	for rows.Next() {
		var slug string
		var n int
		if err := rows.Scan(&slug, &n); err != nil {
			t.Fatal(err)
		}
		if n != rounds*perRound {
			t.Errorf("section %s holds %d articles, want %d", slug, n, rounds*perRound)
		}
		held = append(held, slug)
	}
	if !slices.Equal(held, slugs) {
		t.Errorf("articles in sections %v, want %v", held, slugs)
	}
	t.Logf("%d rounds of %d writers × %d items in %v", rounds, writers, perRound, time.Since(started).Round(time.Millisecond))
}

// An edit — a new title — seen by several writers at once is applied once:
// one revision, counted by one writer, and no writer fails.
func TestEditSeenByManyWritersRevisedOnce(t *testing.T) {
	contract(t, testEditSeenByManyWritersRevisedOnce)
}

func testEditSeenByManyWritersRevisedOnce(t *testing.T, db *DB) {
	const rounds, perRound = 20, 20
	ctx := context.Background()
	slugs := crossSections(t, db)
	items := numbered(0, perRound)
	for _, s := range slugs {
		if _, err := db.SaveItems(ctx, s, items, time.Now(), markNew); err != nil {
			t.Fatal(err)
		}
	}
	started := time.Now()
	for round := 1; round <= rounds; round++ {
		for i := range items {
			items[i].Title = fmt.Sprintf("خبر %d (تصحيح %d)", i, round)
		}
		var mu sync.Mutex
		updated := 0
		errs := race(writers, func(w int) error {
			res, err := db.SaveItems(ctx, slugs[w], slices.Clone(items), time.Now(), func(fresh []*nashra.Article) {
				t.Errorf("writer %d: %d edited items taken for new", w, len(fresh))
			})
			if err != nil {
				return err
			}
			if len(res.Failed) > 0 || len(res.New) > 0 {
				return fmt.Errorf("writer %d: %+v", w, res)
			}
			mu.Lock()
			updated += res.Updated
			mu.Unlock()
			return nil
		})
		for _, err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		if updated != perRound {
			t.Errorf("round %d: the writers updated %d articles, want each of the %d once", round, updated, perRound)
		}
		latest, err := db.LatestArticles(ctx, "", perRound+1)
		if err != nil || len(latest) != perRound {
			t.Fatalf("%d articles, %v", len(latest), err)
		}
		for _, a := range latest {
			if a.Revision != round || !strings.HasSuffix(a.Title, fmt.Sprintf("(تصحيح %d)", round)) {
				t.Fatalf("round %d: %q at revision %d", round, a.Title, a.Revision)
			}
		}
	}
	t.Logf("%d rounds of %d writers × %d edited items in %v", rounds, writers, perRound, time.Since(started).Round(time.Millisecond))
}

// An item the database refuses is left out, said so with its GUID, and
// takes nothing else with it: the others of its batch are stored, new or
// known, with their sections.
func TestRefusedItemLeavesTheRest(t *testing.T) { contract(t, testRefusedItemLeavesTheRest) }

func testRefusedItemLeavesTheRest(t *testing.T, db *DB) {
	ctx := context.Background()
	known := item("g1", "https://a.example/1", "خبر معروف")
	if _, err := db.SaveItems(ctx, "news", []nashra.Article{known}, time.Now(), markNew); err != nil {
		t.Fatal(err)
	}
	batch := []nashra.Article{
		item("g2", "https://a.example/2", "خبر ثان"),
		item("bad", "https://a.example/bad", "خبر مرفوض"),
		known,
		item("g3", "https://a.example/3", "خبر ثالث"),
	}
	res, err := db.SaveItems(ctx, "articles", batch, time.Now(), func(fresh []*nashra.Article) {
		for _, a := range fresh {
			a.State = nashra.ArticleNew
			if a.GUID == "bad" {
				a.State = "lost" // not a state the database knows: its CHECK refuses the row
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 1 || res.Failed[0].GUID != "bad" || res.Failed[0].Err == nil {
		t.Fatalf("failed = %v, want the refused item alone", res.Failed)
	}
	if len(res.New) != 2 || res.Unchanged != 1 || batch[0].ID != res.New[0] || batch[1].ID != 0 || batch[3].ID != res.New[1] {
		t.Fatalf("result %+v, ids %d %d %d", res, batch[0].ID, batch[1].ID, batch[3].ID)
	}
	latest, _ := db.LatestArticles(ctx, "articles", 10)
	var got []string
	for _, a := range latest {
		got = append(got, a.GUID)
	}
	slices.Sort(got)
	if want := []string{"g1", "g2", "g3"}; !slices.Equal(got, want) {
		t.Errorf("the section holds %v, want %v", got, want)
	}
	if n, _ := db.CountArticles(ctx); n != 3 {
		t.Errorf("%d articles stored, want 3", n)
	}
}

// Updates of one new chat handled at once — by the bot's workers, or by
// two instances behind the webhook — create it once, and fail none.
func TestChatTouchedConcurrently(t *testing.T) { contract(t, testChatTouchedConcurrently) }

func testChatTouchedConcurrently(t *testing.T, db *DB) {
	ctx := context.Background()
	for round := range 20 {
		id := int64(1000 + round)
		var created atomic.Int32
		errs := race(writers, func(w int) error {
			c, isNew, err := db.TouchChat(ctx, nashra.Chat{ID: id, Kind: nashra.ChatPrivate, Language: "ar"}, time.Now())
			if err != nil {
				return err
			}
			if isNew {
				created.Add(1)
			}
			if c.ID != id || !c.Active {
				return fmt.Errorf("writer %d read back %+v", w, c)
			}
			return nil
		})
		for _, err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		if n := created.Load(); n != 1 {
			t.Fatalf("round %d: chat %d reported new %d times", round, id, n)
		}
	}
}

// A reader tapping the same button several times, the taps handled at
// once: each section is added once and removed once, and each change is
// reported to one tap only.
func TestSubscriptionsChangedConcurrently(t *testing.T) {
	contract(t, testSubscriptionsChangedConcurrently)
}

func testSubscriptionsChangedConcurrently(t *testing.T, db *DB) {
	ctx := context.Background()
	slugs := crossSections(t, db)
	for round := range 10 {
		id := int64(2000 + round)
		if _, _, err := db.TouchChat(ctx, nashra.Chat{ID: id, Kind: nashra.ChatPrivate}, time.Now()); err != nil {
			t.Fatal(err)
		}
		for _, change := range []func(w int) ([]string, error){
			func(int) ([]string, error) { return db.Subscribe(ctx, id, slugs, time.Now()) },
			func(int) ([]string, error) { return db.Unsubscribe(ctx, id, nil) },
		} {
			var mu sync.Mutex
			var told []string
			errs := race(writers, func(w int) error {
				got, err := change(w)
				mu.Lock()
				told = append(told, got...)
				mu.Unlock()
				return err
			})
			for _, err := range errs {
				t.Fatalf("round %d: %v", round, err)
			}
			slices.Sort(told)
			if !slices.Equal(told, slugs) {
				t.Fatalf("round %d: the taps reported %v, want each section once", round, told)
			}
		}
	}
}

// A group upgraded to a supergroup: Telegram tells the bot in both chats
// and the dispatcher hears it from a failed send, while the supergroup's
// own first updates arrive — all at once. Nothing fails, and the
// supergroup ends with the group's sections.
func TestMoveChatMeetsTheSupergroup(t *testing.T) { contract(t, testMoveChatMeetsTheSupergroup) }

func testMoveChatMeetsTheSupergroup(t *testing.T, db *DB) {
	ctx := context.Background()
	for round := range 20 {
		group, super := -int64(100+round), -int64(1_000_000+round)
		if _, _, err := db.TouchChat(ctx, nashra.Chat{ID: group, Kind: nashra.ChatGroup}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Subscribe(ctx, group, []string{"news", "articles"}, time.Now()); err != nil {
			t.Fatal(err)
		}
		errs := race(writers, func(w int) error {
			if w%2 == 0 {
				return db.MoveChat(ctx, group, super, time.Now())
			}
			_, _, err := db.TouchChat(ctx, nashra.Chat{ID: super, Kind: nashra.ChatSupergroup, Title: "مجموعة"}, time.Now())
			return err
		})
		for _, err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		if subs, err := db.Subscriptions(ctx, super); err != nil || !slices.Equal(subs, []string{"news", "articles"}) {
			t.Fatalf("round %d: the supergroup follows %v, %v", round, subs, err)
		}
		if _, err := db.Chat(ctx, group); !errors.Is(err, ErrNotFound) {
			t.Fatalf("round %d: the old group is still there: %v", round, err)
		}
	}
}

// One address signed up several times at once — a form sent twice, two
// instances: one subscriber, no failure, and no more mails than the
// limit allows.
func TestEmailSignupConcurrently(t *testing.T) { contract(t, testEmailSignupConcurrently) }

func testEmailSignupConcurrently(t *testing.T, db *DB) {
	ctx := context.Background()
	const limit = 3
	for round := range 10 {
		addr := fmt.Sprintf("reader%d@example.org", round)
		var mu sync.Mutex
		ids := map[int64]bool{}
		outcomes := map[SignupOutcome]int{}
		errs := race(writers, func(w int) error {
			id, out, err := db.RequestEmailSignup(ctx, SignupRequest{Address: addr, Now: time.Now(), Limit: limit, Window: time.Hour})
			mu.Lock()
			ids[id], outcomes[out] = true, outcomes[out]+1
			mu.Unlock()
			return err
		})
		for _, err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(ids) != 1 || outcomes[SignupConfirm] != limit || outcomes[SignupLimited] != writers-limit {
			t.Fatalf("round %d: subscribers %v, outcomes %v", round, ids, outcomes)
		}
		for id := range ids {
			if n := len(queued(t, db, id)); n != limit {
				t.Fatalf("round %d: %d mails queued, want %d", round, n, limit)
			}
		}
	}
}

// Instances recording the same clicks at once — a reader's double click
// reaching two of them — count one unique click per reader and every
// click in the daily counts.
func TestClicksRecordedConcurrently(t *testing.T) { contract(t, testClicksRecordedConcurrently) }

func testClicksRecordedConcurrently(t *testing.T, db *DB) {
	ctx := context.Background()
	a, b := newArticle(t, db, "news", "c1"), newArticle(t, db, "news", "c2")
	at := time.Now()
	var batch []nashra.Click
	for r := range 20 {
		for _, id := range []int64{a, b} {
			batch = append(batch, nashra.Click{ArticleID: id, Medium: "telegram", Reader: fmt.Sprintf("v:%d", r), At: at})
		}
	}
	var uniques atomic.Int32
	errs := race(writers, func(w int) error {
		mine := slices.Clone(batch)
		rand.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
		res, err := db.RecordClicks(ctx, mine, 0)
		uniques.Add(int32(res.Unique))
		return err
	})
	for _, err := range errs {
		t.Fatal(err)
	}
	if n := uniques.Load(); n != int32(len(batch)) {
		t.Errorf("%d unique clicks counted, want %d", n, len(batch))
	}
	got, err := db.ClicksByMedium(ctx, at)
	if want := []MediumClicks{{Medium: "telegram", Uniques: len(batch), Clicks: writers * len(batch)}}; err != nil || !slices.Equal(got, want) {
		t.Errorf("daily counts %+v, %v; want %+v", got, err, want)
	}
}

// The same alert raised by several pollers at once is recorded once.
func TestAlertRaisedConcurrently(t *testing.T) { contract(t, testAlertRaisedConcurrently) }

func testAlertRaisedConcurrently(t *testing.T, db *DB) {
	ctx := context.Background()
	var raised atomic.Int32
	errs := race(writers, func(w int) error {
		ok, err := db.RaiseAlert(ctx, nashra.Alert{Kind: "feed_failing", Subject: "https://a.example/news/feed/", Message: "الخلاصة لا تعمل",
			CreatedAt: time.Now()})
		if ok {
			raised.Add(1)
		}
		return err
	})
	for _, err := range errs {
		t.Fatal(err)
	}
	if n := raised.Load(); n != 1 {
		t.Errorf("the alert was recorded %d times", n)
	}
}

// Storing a poll's items looks them up in one query per batch: it must
// walk the unique indexes, not read the table, however many articles it
// holds.
func TestArticleLookupsUseIndexes(t *testing.T) {
	db := openTest(t)
	for _, q := range []string{
		strings.NewReplacer("?", "'x'").Replace(lookupArticles(2)),
		`UPDATE articles SET title = 'x' WHERE id = 1 AND (title <> 'x' OR summary <> 'y')`,
	} {
		walksIndexes(t, db, q, "articles", "article_sections")
	}
}

// One article twice in a batch — its link under two GUIDs — is stored
// once: the second copy meets the first on the unique link and is taken
// for it.
func TestOneArticleTwiceInABatch(t *testing.T) { contract(t, testOneArticleTwiceInABatch) }

func testOneArticleTwiceInABatch(t *testing.T, db *DB) {
	ctx := context.Background()
	batch := []nashra.Article{item("g1", "https://a.example/1", "خبر"), item("g2", "https://a.example/1", "خبر")}
	res, err := db.SaveItems(ctx, "news", batch, time.Now(), markNew)
	if err != nil || len(res.New) != 1 || res.Unchanged != 1 || len(res.Failed) != 0 {
		t.Fatalf("%+v, %v", res, err)
	}
	if n, _ := db.CountArticles(ctx); n != 1 {
		t.Errorf("%d articles stored, want 1", n)
	}
}

// Instances starting together on a new PostgreSQL — docker compose up —
// each set up the sections, feeds and channels of the configuration and
// the signing secret at once: none fails, and all end with one secret.
func TestInstancesStartTogether(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			url := b.url(t)
			db := migrated(t, url)
			specs := []nashra.Section{
				{Slug: "news", Name: "أخبار", Feeds: []string{"https://a.example/news/feed/"}},
				{Slug: "articles", Name: "مقالات", Feeds: []string{"https://a.example/articles/feed/", "https://b.example/feed/"}},
			}
			links := []nashra.ChannelLink{{Section: "news", Channel: "@news"}, {Section: "articles", Channel: "@articles"}}
			var mu sync.Mutex
			secrets := map[string]bool{}
			errs := race(writers, func(w int) error {
				inst, err := Open(ctx, url) // an instance of its own
				if err != nil {
					return err
				}
				defer inst.Close()
				if _, err := inst.SyncSections(ctx, specs); err != nil {
					return err
				}
				if err := inst.SeedChannels(ctx, links, time.Now()); err != nil {
					return err
				}
				s, err := inst.MetaOrInit(ctx, "secret", func() (string, error) { return fmt.Sprint("secret-", w), nil })
				mu.Lock()
				secrets[s] = true
				mu.Unlock()
				return err
			})
			for _, err := range errs {
				t.Error(err)
			}
			if len(secrets) != 1 {
				t.Errorf("the instances hold %d secrets: %v", len(secrets), secrets)
			}
			if fs, err := db.Feeds(ctx); err != nil || len(fs) != 3 {
				t.Errorf("%d feeds, %v", len(fs), err)
			}
			if ls, err := db.ChannelLinks(ctx); err != nil || len(ls) != 2 {
				t.Errorf("%d channel links, %v", len(ls), err)
			}
		})
	}
}

// The day's digest built by the scheduled job while an admin asks for it
// too: built and queued once, and neither fails.
func TestDigestBuiltConcurrently(t *testing.T) { contract(t, testDigestBuiltConcurrently) }

func testDigestBuiltConcurrently(t *testing.T, db *DB) {
	ctx := context.Background()
	at := time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC)
	activeSubscribers(t, db, 5)
	var created atomic.Int32
	errs := race(writers, func(w int) error {
		d, ok, err := db.CreateDigest(ctx, newDigest("2026-11-28", at), false)
		if ok {
			created.Add(1)
		}
		if err == nil && d.Emails != 5 {
			err = fmt.Errorf("writer %d reads a digest of %d emails", w, d.Emails)
		}
		return err
	})
	for _, err := range errs {
		t.Error(err)
	}
	if n := created.Load(); n != 1 {
		t.Errorf("the digest was created %d times", n)
	}
	d, _ := db.Digest(ctx, "2026-11-28")
	if counts, _ := db.SendCounts(ctx, d.ID); counts[nashra.SendEmail][nashra.DeliveryPending] != 5 {
		t.Errorf("send log %v, want 5 pending emails", counts)
	}
}
