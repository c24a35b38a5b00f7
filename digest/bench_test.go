package digest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jordan-wright/email"

	"github.com/almaalouma/nashra/digest/internal/smtpsink"
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
	h.cfg.SMTPURL = "smtp://" + addr
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
	pool, err := email.NewPool(addr, DefaultConfig().Concurrency, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range DefaultConfig().Concurrency {
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
	h.cfg.SMTPURL = "smtp://" + sink.Addr()
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
