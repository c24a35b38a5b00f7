package delivery_test

import (
	"database/sql"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDispatch measures the engine alone — store, claims, scheduler,
// acknowledgements — with limits lifted and a sender that answers at once:
// b.N readers get one article each. It reports messages per second and CPU
// microseconds per message of the whole process.
func BenchmarkDispatch(b *testing.B) {
	path := filepath.Join(b.TempDir(), "n.db")
	db := openStore(b, path)
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UnixMilli()
	if _, err := raw.Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO chats (id, kind, quiet_start, quiet_end, created_at, updated_at) SELECT i, 'private', 0, 0, ?, ? FROM seq`,
		b.N, now, now); err != nil {
		b.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO subscriptions (chat_id, section_slug, created_at) SELECT id, 'news', ? FROM chats`, now); err != nil {
		b.Fatal(err)
	}
	raw.Close()
	cfg := testConfig()
	cfg.Telegram.Limits.GlobalPerSecond, cfg.Telegram.Limits.ChatPerSecond, cfg.Delivery.Concurrency = 1e6, 1e3, 32
	snd := &fakeSender{}
	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ResetTimer()
	began := time.Now()
	addArticle(b, db, "bench", time.Now())
	run := start(b, db, snd, cfg)
	for snd.count() < b.N {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(began)
	b.StopTimer()
	run.shutdown()
	var after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
}
