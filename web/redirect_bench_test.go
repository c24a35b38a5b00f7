package web

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/store"
)

// BenchmarkRedirect measures /r/<token> over loopback: a real store, a
// real server, clients keeping their connections, every request a GET
// from one of 5,000 visitors (X-Forwarded-For from a trusted proxy) to one
// of 200 articles, so that clicks are both unique and repeated and the
// writer stores them all. The client runs on the same machine and shares
// its cores; NASHRA_BENCH_CLIENTS sets how many requests it keeps in
// flight (default 4: more only queue on the client's side of the cores).
// Run one benchmark at a time:
//
//	go test ./web/ -run '^$' -bench BenchmarkRedirect -benchtime 200000x -cpu 2
//
// "fanout" does the same while the store writes one 100,000-row fan-out
// after another (store.HandOn to 100,000 subscribed readers).
func BenchmarkRedirect(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "nashra.db")
	db, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := db.SyncSections(ctx, []nashra.Section{{Slug: "news", Name: "أخبار"}}); err != nil {
		b.Fatal(err)
	}
	var items []nashra.Article
	for i := range 200 {
		items = append(items, nashra.Article{GUID: fmt.Sprint("bench-", i), Link: fmt.Sprintf("%s?i=%d", articleURL, i), Title: "خبر"})
	}
	res, err := db.SaveItems(ctx, "news", items, time.Now(), func(fresh []*nashra.Article) {
		for _, a := range fresh {
			a.State = nashra.ArticleHanded
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	seedReaders(b, path, 100_000)

	log := slog.New(slog.DiscardHandler)
	tr, err := NewTracker(tracking(func(c *config.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} }),
		[]byte(testSecret), db, WithTrackerLogger(log))
	if err != nil {
		b.Fatal(err)
	}
	srv := New(Options{Addr: "127.0.0.1:0", Store: db, Gatherer: prometheus.NewRegistry(), Logger: log})
	tr.Register(srv)
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	tr.Start()
	defer func() { srv.Shutdown(ctx); tr.Close(ctx) }()

	signer, _ := links.NewSigner([]byte(testSecret))
	base := "http://" + srv.Addrs()[0].String() + "/r/"
	var urls []string
	for _, id := range res.New {
		urls = append(urls, base+signer.Sign(links.Link{ArticleID: id, Medium: nashra.MediumTelegram}))
	}
	workers := 4
	if v, err := strconv.Atoi(os.Getenv("NASHRA_BENCH_CLIENTS")); err == nil && v > 0 {
		workers = v
	}
	client := &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	run := func(b *testing.B) {
		var next atomic.Int64
		lat := make([][]time.Duration, workers)
		var wg sync.WaitGroup
		b.ResetTimer()
		start := time.Now()
		for w := range workers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), 1))
				for next.Add(1) <= int64(b.N) {
					req, _ := http.NewRequest(http.MethodGet, urls[rng.IntN(len(urls))], nil)
					req.Header.Set("User-Agent", browserUA)
					v := rng.IntN(5000)
					req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.%d.%d", v/250, v%250+1))
					t0 := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					lat[w] = append(lat[w], time.Since(t0))
					if resp.StatusCode != http.StatusFound {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		all := slices.Concat(lat...)
		slices.Sort(all)
		if len(all) > 0 {
			b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
		}
		b.ReportMetric(counterValue(b, tr.m.clicks.WithLabelValues(clickDropped)), "dropped-total")
	}

	b.Run("idle", run)
	var pushes atomic.Int64 // -count runs "fanout" again: each push needs a new article
	b.Run("fanout", func(b *testing.B) {
		stop := make(chan struct{})
		var fanouts atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				i := pushes.Add(1)
				select {
				case <-stop:
					return
				default:
				}
				r, err := db.SaveItems(ctx, "news", []nashra.Article{{GUID: fmt.Sprint("push-", i),
					Link: fmt.Sprintf("%s?push=%d", articleURL, i), Title: "عاجل"}}, time.Now(),
					func(fresh []*nashra.Article) { fresh[0].State = nashra.ArticleNew })
				if err != nil {
					b.Error(err)
					return
				}
				f, err := db.HandOn(ctx, store.FanOut{ArticleID: r.New[0], State: nashra.DeliveryPending, Now: time.Now()})
				if err != nil || f.Chats != 100_000 {
					b.Errorf("fan-out: %+v %v", f, err)
					return
				}
				fanouts.Add(1)
			}
		}()
		// Measure only while a fan-out is being written.
		time.Sleep(50 * time.Millisecond)
		run(b)
		close(stop)
		<-done
		b.ReportMetric(float64(fanouts.Load()), "fanouts-done")
	})
}

// seedReaders adds n readers subscribed to news, through a connection of
// its own: the store has no bulk insert of readers, and the benchmark
// needs 100,000 of them in a second, not a minute.
func seedReaders(b *testing.B, path string, n int) {
	b.Helper()
	conn, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	now := time.Now().UnixMilli()
	if _, err := conn.Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO chats (id, kind, created_at, updated_at) SELECT i, 'private', ?, ? FROM seq`, n, now, now); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(`INSERT INTO subscriptions (chat_id, section_slug, created_at) SELECT id, 'news', ? FROM chats`, now); err != nil {
		b.Fatal(err)
	}
}
