package feeds

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
)

// siteFeed is the site's feed as WordPress serves it: ten items (the
// default), full content, the fixture's five twice over.
func siteFeed(b *testing.B) []byte {
	src := fixture(b, "almaalouma-articles.rss")
	start, end := bytes.Index(src, []byte("<item>")), bytes.LastIndex(src, []byte("</item>"))+len("</item>")
	items := src[start:end]
	var out bytes.Buffer
	out.Write(src[:start])
	out.Write(items)
	out.Write(bytes.ReplaceAll(items, []byte("?p=512"), []byte("?p=612")))
	out.Write(src[end:])
	return out.Bytes()
}

// BenchmarkParseNormalize measures the CPU cost of one poll of the site's
// feed, once fetched: charset check, parse, and every item normalised.
func BenchmarkParseNormalize(b *testing.B) {
	body := siteFeed(b)
	base, _ := url.Parse("https://almaalouma.net")
	n := normalizer{generic: normalizedSet(config.Defaults().Poll.GenericAuthors)}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	items := 0
	for b.Loop() {
		f, err := parseFeed(body, "application/rss+xml; charset=UTF-8", nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, it := range f.Items {
			if _, _, err := n.normalize(it, base, t0); err != nil {
				b.Fatal(err)
			}
			items++
		}
	}
	if items/b.N != 10 {
		b.Fatalf("%d items per poll", items/b.N)
	}
	b.ReportMetric(float64(items)/b.Elapsed().Seconds(), "items/s")
}

// Benchmark304 measures a poll whose feed has not changed, end to end: the
// conditional request to a local server, the 304, the feed's state saved.
func Benchmark304(b *testing.B) {
	s := newSite(b)
	const etag = `"unchanged"`
	body := siteFeed(b)
	s.handle("/feed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(body)
	})
	db := newStore(b)
	addFeeds(b, db, "articles", s.URL+"/feed")
	p := benchPoller(b, db)
	ctx := context.Background()
	if _, err := p.PollAll(ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rs, err := p.PollAll(ctx)
		if err != nil || rs[0].Status != http.StatusNotModified {
			b.Fatalf("%+v, %v", rs, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "polls/s")
}

// BenchmarkScale polls 1,000 feeds of 20 items each from a local server
// into a real SQLite file. first-poll stores all 20,000 items of a fresh
// install; steady is the day-to-day poll, one new item per feed.
func BenchmarkScale(b *testing.B) {
	const feedCount, perFeed = 1000, 20
	bodies := make([][]byte, feedCount)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/feed/"))
		if err != nil || i >= feedCount {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml; charset=UTF-8")
		w.Write(bodies[i])
	}))
	defer s.Close()
	render := func(first int) {
		for i := range bodies {
			var items []item
			for j := first; j < first+perFeed; j++ {
				items = append(items, item{
					guid:       fmt.Sprintf("https://almaalouma.net/?p=%d", i*100000+j),
					title:      fmt.Sprintf("خبر رقم %d من القسم %d: البرلمان يناقش قانون الموازنة", j, i),
					link:       fmt.Sprintf("https://almaalouma.net/2025/02/20/feed-%d-item-%d/", i, j),
					published:  t0.Add(time.Duration(j) * time.Minute),
					categories: []string{"أخبار", "سياسة"},
					content: "<p>كتب / كاظم الطائي ||</p><p>المعلومة/ بغداد.. في ظل التغيرات السياسية المتسارعة، يبدو أن " +
						"العلاقات تتجه نحو نوع من التفاهم القائم على المصالح المشتركة.</p>" +
						`<p><img src="https://almaalouma.net/wp-content/uploads/2025/02/p.jpg" alt=""></p>`,
				})
			}
			bodies[i] = rss(items...)
		}
	}
	setup := func(b *testing.B) *Poller {
		db := newStore(b)
		specs := make([]nashra.Section, 7)
		for i := range specs {
			specs[i] = nashra.Section{Slug: fmt.Sprintf("s%d", i), Name: "قسم"}
		}
		for i := range feedCount {
			specs[i%7].Feeds = append(specs[i%7].Feeds, fmt.Sprintf("%s/feed/%d", s.URL, i))
		}
		if _, err := db.SyncSections(context.Background(), specs); err != nil {
			b.Fatal(err)
		}
		return benchPoller(b, db)
	}
	poll := func(b *testing.B, p *Poller) (items, fresh int) {
		rs, err := p.PollAll(context.Background())
		if err != nil || len(rs) != feedCount {
			b.Fatalf("%d results, %v", len(rs), err)
		}
		for _, r := range rs {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			items += r.Items
			fresh += r.New + r.Seen + r.Held
		}
		return items, fresh
	}
	report := func(b *testing.B, items, fresh int) {
		sec := b.Elapsed().Seconds()
		b.ReportMetric(float64(feedCount*b.N)/sec, "feeds/s")
		b.ReportMetric(float64(items)/sec, "items/s")
		b.ReportMetric(float64(fresh)/sec, "stored/s")
	}

	b.Run("first-poll", func(b *testing.B) {
		render(0)
		var items, fresh int
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			p := setup(b)
			b.StartTimer()
			n, f := poll(b, p)
			items, fresh = items+n, fresh+f
		}
		report(b, items, fresh)
	})

	b.Run("steady", func(b *testing.B) {
		render(0)
		p := setup(b)
		poll(b, p)
		b.ResetTimer()
		var items, fresh int
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			render(i + 1) // the window moves on by one item per feed

			b.StartTimer()
			n, f := poll(b, p)
			items, fresh = items+n, fresh+f
		}
		if fresh != feedCount*b.N {
			b.Fatalf("%d new, want one per feed per poll", fresh)
		}
		report(b, items, fresh)
	})
}

func benchPoller(b *testing.B, st Store) *Poller {
	p, err := NewPoller(st, config.Defaults(), prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	return p
}
