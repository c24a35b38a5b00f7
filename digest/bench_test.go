package digest

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jordan-wright/email"

	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/internal/smtpsink"
)

// benchServer returns the SMTP server the benchmarks send to: the
// in-process sink, or Mailpit when NASHRA_BENCH_MAILPIT is set.
func benchServer(b *testing.B) (addr string, count func() int) {
	if os.Getenv("NASHRA_BENCH_MAILPIT") != "" {
		mp := startMailpit(b)
		return mp.smtp, mp.total
	}
	sink, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sink.Close)
	return sink.Addr(), sink.Count
}

// BenchmarkDigestSend renders and sends b.N digests — three distinct sets
// of sections, tracked links filled in per reader — through the send log
// to a local SMTP server: messages per second. Compare with
// BenchmarkLibraryPool (the target ratio is 0.8 or more):
//
//	go test ./digest -run '^$' -bench 'DigestSend|LibraryPool' -benchtime 5000x
func BenchmarkDigestSend(b *testing.B) {
	addr, count := benchServer(b)
	h := newHarness(b)
	h.seed(3)
	h.subscribe(b.N, nil, []string{"news"}, []string{"articles", "video", "reports"})
	h.cfg.SMTP = smtpURL(h.t, "smtp://"+addr)
	s := h.service()
	ctx := context.Background()
	if _, _, err := s.Build(ctx, digestDay); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	d, err := s.SendNow(ctx, digestDay)
	if err != nil || d.Emails != b.N {
		b.Fatalf("send: %+v, %v", d, err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.StopTimer()
	if n := count(); n != b.N {
		b.Fatalf("the server took %d messages, want %d", n, b.N)
	}
}

// BenchmarkLibraryPool is the baseline: jordan-wright/email's own pool
// sending one pre-rendered digest b.N times to the same server, with the
// same concurrency.
func BenchmarkLibraryPool(b *testing.B) {
	addr, count := benchServer(b)
	raw := sampleDigest(b)
	pool, err := email.NewPool(addr, config.Defaults().Email.Concurrency, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range config.Defaults().Email.Concurrency {
		wg.Go(func() {
			for i := range jobs {
				e := *raw
				e.To = []string{fmt.Sprintf("reader%d@example.org", i)}
				if err := pool.Send(&e, 10*time.Second); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range b.N {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.StopTimer()
	for count() < b.N {
		time.Sleep(time.Millisecond)
	}
}

// sampleDigest is one reader's digest, rendered, as the library's Email.
func sampleDigest(b *testing.B) *email.Email {
	b.Helper()
	h := newHarness(b)
	h.seed(3)
	s := h.service()
	p, err := s.Preview(context.Background(), digestDay, nil)
	if err != nil {
		b.Fatal(err)
	}
	e := email.NewEmail()
	e.From = "digest@almaalouma.example"
	e.Subject = p.Subject
	e.Text, e.HTML = p.Text, p.HTML
	return e
}

// vmHWM returns the process's peak resident memory in bytes.
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}

// TestPeakMemory100k sends a digest to 100,000 subscribers through the
// sink and checks the process's peak resident memory (VmHWM) stays under
// 150 MB. It takes about a minute, so it runs on request:
//
//	NASHRA_DIGEST_100K=1 go test ./digest -run TestPeakMemory100k -v
func TestPeakMemory100k(t *testing.T) {
	if os.Getenv("NASHRA_DIGEST_100K") == "" {
		t.Skip("set NASHRA_DIGEST_100K=1 to send to 100,000 subscribers")
	}
	const readers = 100000
	sink, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	h := newHarness(t)
	h.seed(3)
	h.subscribe(readers, nil, []string{"news"}, []string{"articles", "video", "reports"}, []string{"caricature"})
	h.cfg.SMTP = smtpURL(h.t, "smtp://"+sink.Addr())
	s := h.service()
	before := vmHWM()
	start := time.Now()
	d, err := s.SendNow(context.Background(), digestDay)
	if err != nil || d.Emails != readers || sink.Count() != readers {
		t.Fatalf("send: %+v, %v, %d taken", d, err, sink.Count())
	}
	took := time.Since(start)
	peak := vmHWM()
	t.Logf("%d digests in %s (%.0f a second); VmHWM %.1f MB before sending, %.1f MB after", readers,
		took.Round(time.Second), readers/took.Seconds(), float64(before)/(1<<20), float64(peak)/(1<<20))
	if peak >= 150<<20 {
		t.Fatalf("peak resident memory %.1f MB, want under 150 MB", float64(peak)/(1<<20))
	}
}

// BenchmarkSignupAmongManyClients measures signups through the web form —
// real HTTP on loopback, the digest service, the budgets in a real SQLite
// file — while 60,000 other clients' budgets are live: the median and 99th
// percentile per request, and how much the process's heap grew. "new"
// asks from a new IPv6 /64 each time; "spent" from one whose budget is
// spent (refused on a read).
//
//	go test ./digest -run '^$' -bench SignupAmongManyClients -benchtime 2000x
func BenchmarkSignupAmongManyClients(b *testing.B) {
	dir := b.TempDir()
	h := openHarness(b, dir, newClock(digestDay))
	const others = 60_000
	conn, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "nashra.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO signup_budgets (key, spent, expires_at) SELECT 'ip:2001:db8:' || printf('%x', i) || '::/64', 1, ? FROM seq`,
		others, digestDay.Add(time.Hour).UnixMilli()); err != nil {
		b.Fatal(err)
	}
	conn.Close()
	late := h.startPages()
	h.cfg.Email.SignupsPerIP = 10
	late.s = h.service()
	base := h.cfg.BaseURL
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	var next atomic.Int64
	post := func(b *testing.B, from string) time.Duration {
		n := next.Add(1)
		req, _ := http.NewRequest("POST", base+"/email", strings.NewReader(url.Values{
			"address": {fmt.Sprintf("reader%d@example.org", n)}, "section": {"news"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", from)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start)
	}
	run := func(b *testing.B, client func(i int) string) {
		for i := range 10 { // a client's budget spent, or not: its warm-up
			post(b, client(1<<24+i))
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			lat = append(lat, post(b, client(i)))
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric((float64(after.HeapInuse)-float64(before.HeapInuse))/(1<<20), "heap-grown-MB")
	}
	var round atomic.Int64 // -count runs again: new clients each time
	b.Run("new", func(b *testing.B) {
		r := round.Add(1)
		run(b, func(i int) string { return fmt.Sprintf("2001:%x:%x:%x::1", 0xd000+r, i>>16, i&0xffff) })
	})
	b.Run("spent", func(b *testing.B) { run(b, func(int) string { return "2001:db8:eeee::1" }) })
}
