// Package bench holds the delivery engine's load scenarios: the real engine
// and store, the bot's real Sender and client library, against the strict
// fake Bot API (telegramtest) with Telegram's limits and a distant server's
// latency. They take minutes, so they run only with NASHRA_LOAD=1; see
// README.md for the commands and the figures.
package bench

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/bot/telegramtest"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/subscribers"
)

const channelID = -1001234567890

func needLoad(t *testing.T) {
	if os.Getenv("NASHRA_LOAD") == "" {
		t.Skip("load scenario: set NASHRA_LOAD=1")
	}
}

// world is a store with readers and a channel, and the fake Telegram that
// knows the same chats.
type world struct {
	path string
	db   *store.DB
	fake *telegramtest.Server
}

func newWorld(t *testing.T, readers int, limits telegramtest.Limits, latencyMin, latencyMax time.Duration) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{path: filepath.Join(t.TempDir(), "n.db")}
	db, err := store.Open(ctx, "sqlite:"+w.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w.db = db
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SyncSections(ctx, []store.SectionSpec{{Slug: "news", Name: "أخبار"}}); err != nil {
		t.Fatal(err)
	}
	seedReaders(t, w.path, readers)
	if err := db.SeedChannels(ctx, []store.ChannelLink{{Section: "news", Channel: strconv.Itoa(channelID)}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	w.fake = telegramtest.NewServer(telegramtest.WithLimits(limits), telegramtest.WithLatency(latencyMin, latencyMax))
	t.Cleanup(w.fake.Close)
	for id := 1; id <= readers; id++ {
		w.fake.AddUser(tgbotapi.User{ID: int64(id)})
	}
	w.fake.AddChat(tgbotapi.Chat{ID: channelID, Type: "channel"})
	return w
}

// seedReaders creates readers 1…n subscribed to news, with no quiet hours,
// in two statements: through the store's methods it would take minutes.
func seedReaders(t *testing.T, path string, n int) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	now := time.Now().UnixMilli()
	if _, err := raw.Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO chats (id, kind, quiet_start, quiet_end, created_at, updated_at) SELECT i, 'private', 0, 0, ?, ? FROM seq`,
		n, now, now); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO subscriptions (chat_id, section_slug, created_at) SELECT id, 'news', ? FROM chats`, now); err != nil {
		t.Fatal(err)
	}
}

// addArticle stores a new article and returns its id.
func (w *world) addArticle(t *testing.T, guid string) int64 {
	t.Helper()
	now := time.Now()
	res, err := w.db.SaveItems(context.Background(), "news", []store.Article{{GUID: guid, Link: "https://a.example/" + guid,
		Title: "عنوان " + guid, Summary: "ملخص الخبر", PublishedAt: now}}, now, func(fresh []*store.Article) {
		for _, a := range fresh {
			a.State = store.StateNew
		}
	})
	if err != nil || len(res.New) != 1 {
		t.Fatalf("add article: %+v %v", res, err)
	}
	return res.New[0]
}

// sender returns the bot's real Sender talking to the fake.
func (w *world) sender(log *slog.Logger, loc *time.Location) *bot.Sender {
	api := bot.NewAPI(w.fake.Token(), w.fake.Endpoint(), nil)
	catalog := subscribers.NewCatalog([]subscribers.Section{{Slug: "news", Name: "أخبار"}})
	return bot.NewSender(api, bot.NewRenderer("المعلومة", loc, catalog, nil), bot.WithSenderLogger(log))
}

// run starts the engine in this process.
func (w *world) run(t *testing.T, cfg delivery.Config) *delivery.Engine {
	t.Helper()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	eng, err := delivery.New(cfg, w.db, w.sender(log, cfg.Location), nil, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		eng.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return eng
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// Sustained throughput over 10,000 messages against Telegram's limits with
// 50–100 ms of latency: the fraction of the configured global limit, and
// not a single 429.
func TestLoadThroughput(t *testing.T) {
	needLoad(t)
	n := 10_000
	if v, err := strconv.Atoi(os.Getenv("NASHRA_LOAD_MESSAGES")); err == nil {
		n = v
	}
	w := newWorld(t, n, telegramtest.DefaultLimits(), 50*time.Millisecond, 100*time.Millisecond)
	w.addArticle(t, "t1")
	cfg := delivery.DefaultConfig()
	start := time.Now()
	w.run(t, cfg)
	waitFor(t, time.Duration(float64(n)/cfg.GlobalPerSecond*1.5+30)*time.Second, "every message", func() bool {
		return w.fake.Stats().Messages >= n
	})
	recs := w.fake.SentAll()
	first, last := recs[0].Time, recs[len(recs)-1].Time
	rate := float64(len(recs)-1) / last.Sub(first).Seconds()
	st := w.fake.Stats()
	chatViolations := 0
	for _, v := range st.ChatViolations {
		chatViolations += v
	}
	t.Logf("%d messages in %v (first after %v): %.2f/s = %.3f of the %v/s limit; 429s %d, per-chat violations %d",
		len(recs), last.Sub(first).Round(time.Millisecond), first.Sub(start).Round(time.Millisecond), rate,
		rate/cfg.GlobalPerSecond, cfg.GlobalPerSecond, st.TooManyRequests, chatViolations)
	if rate/cfg.GlobalPerSecond < 0.95 || st.TooManyRequests != 0 || chatViolations != 0 {
		t.Errorf("throughput %.3f of the limit, %d 429s, %d per-chat violations", rate/cfg.GlobalPerSecond, st.TooManyRequests, chatViolations)
	}
}

// During a push to 100,000 readers, with a new article (itself a
// 100,000-row fan-out) every 10 s: detection to channel post, a /start
// answered, and the longest pause between two sends.
func TestLoadPush100k(t *testing.T) {
	needLoad(t)
	const readers = 100_000
	duration := 3 * time.Minute
	if v, err := time.ParseDuration(os.Getenv("NASHRA_LOAD_DURATION")); err == nil {
		duration = v
	}
	w := newWorld(t, readers, telegramtest.DefaultLimits(), 50*time.Millisecond, 100*time.Millisecond)
	cfg := delivery.DefaultConfig()
	w.addArticle(t, "p0")
	eng := w.run(t, cfg)
	waitFor(t, time.Minute, "the push to start", func() bool { return w.fake.Stats().Messages > 100 })

	detected := map[string]time.Time{}
	replied := map[int64]time.Time{}
	ctx := context.Background()
	end := time.Now().Add(duration)
	nextArticle, nextReply := time.Now(), time.Now()
	for i, j := 0, 0; time.Now().Before(end); {
		now := time.Now()
		if !now.Before(nextArticle) {
			i++
			guid := fmt.Sprintf("p%d", i)
			detected["https://a.example/"+guid] = time.Now()
			w.addArticle(t, guid)
			eng.Notify()
			nextArticle = now.Add(10 * time.Second)
		}
		if !now.Before(nextReply) {
			j++
			id := int64(500_000 + j)
			w.fake.AddUser(tgbotapi.User{ID: id})
			replied[id] = time.Now()
			if err := eng.EnqueueReply(ctx, delivery.Reply{ChatID: id, Method: "sendMessage",
				Params: map[string]string{"text": "أهلًا بك", "parse_mode": "HTML"}}); err != nil {
				t.Fatal(err)
			}
			nextReply = now.Add(500 * time.Millisecond)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(5 * time.Second) // let the last ones arrive

	recs := w.fake.SentAll()
	var channelLat, replyLat, gaps []time.Duration
	var prev time.Time
	for _, r := range recs {
		if !prev.IsZero() {
			gaps = append(gaps, r.Time.Sub(prev))
		}
		prev = r.Time
		switch {
		case r.ChatID == channelID:
			for link, at := range detected {
				// Quoted, so that p1 does not match p10.
				if strings.Contains(r.Params["link_preview_options"]+r.Params["reply_markup"], `"`+link+`"`) {
					channelLat = append(channelLat, r.Time.Sub(at))
				}
			}
		case !replied[r.ChatID].IsZero():
			replyLat = append(replyLat, r.Time.Sub(replied[r.ChatID]))
		}
	}
	st := w.fake.Stats()
	window := recs[len(recs)-1].Time.Sub(recs[0].Time)
	t.Logf("%d messages in %v: %.2f/s; 429s %d", len(recs), window.Round(time.Second), float64(len(recs))/window.Seconds(), st.TooManyRequests)
	t.Logf("detection → channel post: %d articles, p50 %v, p95 %v, max %v", len(channelLat),
		percentile(channelLat, .5), percentile(channelLat, .95), percentile(channelLat, 1))
	t.Logf("/start answered: %d replies of %d, p50 %v, p95 %v, max %v", len(replyLat), len(replied),
		percentile(replyLat, .5), percentile(replyLat, .95), percentile(replyLat, 1))
	t.Logf("pause between consecutive sends: p50 %v, p99 %v, max %v", percentile(gaps, .5), percentile(gaps, .99), percentile(gaps, 1))
	if percentile(channelLat, .95) > 5*time.Second || percentile(replyLat, .95) > 2*time.Second || st.TooManyRequests != 0 {
		t.Errorf("targets missed: channel p95 %v (5s), reply p95 %v (2s), 429s %d",
			percentile(channelLat, .95), percentile(replyLat, .95), st.TooManyRequests)
	}
}

// With the limits lifted, the engine alone in its own process drains
// 100,000 rows as fast as it can: messages per second, CPU per message and
// the peak resident set (VmHWM), the fake Telegram answering at once.
func TestLoadLifted(t *testing.T) {
	needLoad(t)
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("NASHRA_LOAD_MESSAGES")); err == nil {
		n = v
	}
	concurrency := "32"
	if v := os.Getenv("NASHRA_LOAD_CONCURRENCY"); v != "" {
		concurrency = v
	}
	w := newWorld(t, n, telegramtest.Limits{}, 0, 0)
	w.addArticle(t, "l1")
	bin := filepath.Join(t.TempDir(), "deliverd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/almaalouma/nashra/delivery/internal/deliverd").CombinedOutput(); err != nil {
		t.Fatalf("build deliverd: %v\n%s", err, out)
	}
	hwm := filepath.Join(t.TempDir(), "hwm")
	cmd := exec.Command(bin, "-db", w.path, "-api", w.fake.Endpoint(), "-token", w.fake.Token(), "-hwm", hwm,
		"-rate", "1000000", "-chat-rate", "1000", "-group-rate", "1000000", "-concurrency", concurrency,
		"-cpuprofile", os.Getenv("NASHRA_LOAD_CPUPROFILE"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The fake's counter, not its records: copying 100,000 records every
	// 50 ms would take the CPU being measured.
	waitFor(t, 10*time.Minute, "every message", func() bool { return w.fake.Stats().Messages >= n+1 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	recs := w.fake.SentAll()
	window := recs[len(recs)-1].Time.Sub(recs[0].Time)
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	peak, _ := os.ReadFile(hwm)
	kb, _ := strconv.Atoi(string(peak))
	t.Logf("%d messages in %v: %.0f/s with concurrency %s; engine process CPU %v = %.0f µs/message (%.0f messages/s per core); VmHWM %d kB",
		len(recs), window.Round(time.Millisecond), float64(len(recs))/window.Seconds(), concurrency, cpu.Round(time.Millisecond),
		float64(cpu.Microseconds())/float64(len(recs)), float64(len(recs))/cpu.Seconds(), kb)
	if kb > 100*1024 {
		t.Errorf("peak resident set %d kB, want under 100 MB", kb)
	}
}
