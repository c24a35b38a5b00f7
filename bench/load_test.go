// Package bench holds the delivery engine's load scenarios: the real engine
// and store, the bot's real Sender and client library (and for readers'
// messages the real bot), against the strict fake Bot API (telegramtest)
// with Telegram's limits, under both of its models of the bot-wide limit,
// and a distant server's latency with its jitter. They take minutes, so
// they run only with NASHRA_LOAD=1; see README.md for the commands and the
// figures.
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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/almaalouma/nashra/telegram"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/subscribers"
	"github.com/almaalouma/nashra/telegram/telegramtest"
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

// jitter is the spread of the fake's latency above its base: what
// telegram.limits.window_margin (40 ms by default) must absorb.
const jitter = 30 * time.Millisecond

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
	if _, err := db.SyncSections(ctx, []nashra.Section{{Slug: "news", Name: "أخبار"}}); err != nil {
		t.Fatal(err)
	}
	seedReaders(t, w.path, readers)
	if err := db.SeedChannels(ctx, []nashra.ChannelLink{{Section: "news", Channel: strconv.Itoa(channelID)}}, time.Now()); err != nil {
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
	if n == 0 {
		return
	}
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
	res, err := w.db.SaveItems(context.Background(), "news", []nashra.Article{{GUID: guid, Link: "https://a.example/" + guid,
		Title: "عنوان " + guid, Summary: "ملخص الخبر", PublishedAt: now}}, now, func(fresh []*nashra.Article) {
		for _, a := range fresh {
			a.State = nashra.ArticleNew
		}
	})
	if err != nil || len(res.New) != 1 {
		t.Fatalf("add article: %+v %v", res, err)
	}
	return res.New[0]
}

// sender returns the bot's real Sender talking to the fake.
func (w *world) sender(log *slog.Logger, loc *time.Location) *telegram.Sender {
	api := telegram.NewAPI(w.fake.Token(), w.fake.Endpoint(), nil)
	catalog := nashra.NewCatalog([]nashra.Section{{Slug: "news", Name: "أخبار"}})
	return telegram.NewSender(api, telegram.NewRenderer("المعلومة", loc, catalog, nil), telegram.WithSenderLogger(log))
}

// bot returns the real bot, handing its replies to eng; HandleUpdate
// stands in for Telegram delivering readers' messages.
func (w *world) bot(eng *delivery.Engine, loc *time.Location) *bot.Bot {
	api := telegram.NewAPI(w.fake.Token(), w.fake.Endpoint(), nil)
	catalog := nashra.NewCatalog([]nashra.Section{{Slug: "news", Name: "أخبار"}})
	cfg := config.Defaults()
	return bot.New(cfg, api, telegram.NewRenderer("المعلومة", loc, catalog, nil), w.db, subscribers.New(cfg, w.db, catalog), eng,
		bot.WithLogger(slog.New(slog.DiscardHandler)))
}

// message is a reader's private message, as Telegram delivers it.
func message(updateID int, from int64, text string) telegram.Update {
	user := &tgbotapi.User{ID: from, FirstName: "قارئ", LanguageCode: "ar"}
	return telegram.Update{Update: tgbotapi.Update{UpdateID: updateID, Message: &tgbotapi.Message{MessageID: updateID, From: user,
		Chat: &tgbotapi.Chat{ID: from, Type: "private"}, Date: int(time.Now().Unix()), Text: text}}}
}

// run starts the engine in this process.
func (w *world) run(t *testing.T, cfg *config.Config) *delivery.Engine {
	t.Helper()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	eng, err := delivery.New(cfg, "", w.db, w.sender(log, cfg.Site.Location), nil, log, nil)
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

// arrivals returns when the fake counted each message (its arrival),
// in time order.
func arrivals(recs []telegramtest.Record) []time.Time {
	ts := make([]time.Time, len(recs))
	for i, r := range recs {
		ts[i] = r.Time
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	return ts
}

// steadyRate is the rate the engine holds while there is work: limit
// messages per the mean time between a message and the limit-th after it.
// The first second's worth may go at once, and each later second repeats
// its shape, so the mean over all of them is the sustained pace.
func steadyRate(ts []time.Time, limit int) float64 {
	if len(ts) <= limit {
		return 0
	}
	var sum time.Duration
	for i := limit; i < len(ts); i++ {
		sum += ts[i].Sub(ts[i-limit])
	}
	return float64(limit) / (sum.Seconds() / float64(len(ts)-limit))
}

// fullest returns the most messages that arrived within any one second.
func fullest(ts []time.Time) int {
	most := 0
	for i, j := 0, 0; j < len(ts); j++ {
		for ts[j].Sub(ts[i]) >= time.Second {
			i++
		}
		most = max(most, j-i+1)
	}
	return most
}

// models are the fake's two readings of Telegram's bot-wide limit.
var models = []telegramtest.Limits{telegramtest.DefaultLimits(), telegramtest.BucketLimits()}

// atRate returns the limits at rate per second, in both models.
func atRate(l telegramtest.Limits, rate float64) telegramtest.Limits {
	l.GlobalPerSecond, l.GlobalBurst = rate, int(rate)
	return l
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// Sustained throughput against Telegram's limits under both of the fake's
// models, at 30 and at 60 messages per second, with a base latency of 50
// or 100 ms and 30 ms of jitter: the fraction of the configured limit held
// after the first second, and not a single 429 or send inside a
// retry_after.
func TestLoadThroughput(t *testing.T) {
	needLoad(t)
	seconds := 40
	if v, err := strconv.Atoi(os.Getenv("NASHRA_LOAD_SECONDS")); err == nil {
		seconds = v
	}
	for _, limits := range models {
		for _, rate := range []float64{30, 60} {
			for _, base := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond} {
				name := fmt.Sprintf("%s/%v per s/latency %v+%v", limits.Model, rate, base, jitter)
				t.Run(name, func(t *testing.T) {
					n := int(rate) * seconds
					w := newWorld(t, n, atRate(limits, rate), base, base+jitter)
					w.addArticle(t, "t1")
					cfg := config.Defaults()
					cfg.Telegram.Limits.GlobalPerSecond = rate
					start := time.Now()
					w.run(t, cfg)
					waitFor(t, time.Duration(seconds*3+30)*time.Second, "every message", func() bool {
						return w.fake.Stats().Messages >= n+1
					})
					ts := arrivals(w.fake.SentAll())
					st := w.fake.Stats()
					steady := steadyRate(ts, int(rate))
					t.Logf("%d messages, first after %v: %.2f/s sustained = %.3f of the limit; most in one second %d; 429s %d, violations %d",
						len(ts), ts[0].Sub(start).Round(time.Millisecond), steady, steady/rate, fullest(ts), st.TooManyRequests, st.Violations)
					if steady/rate < 0.95 || st.TooManyRequests != 0 || st.Violations != 0 {
						t.Errorf("throughput %.3f of the limit, %d 429s, %d violations", steady/rate, st.TooManyRequests, st.Violations)
					}
				})
			}
		}
	}
}

// 600 readers send /start at once, through the real bot: every one
// answered, as fast as the limit allows, without a 429, under both models
// and at both rates.
func TestLoadStart600(t *testing.T) {
	needLoad(t)
	const readers = 600
	for _, limits := range models {
		for _, rate := range []float64{30, 60} {
			t.Run(fmt.Sprintf("%s/%v per s", limits.Model, rate), func(t *testing.T) {
				w := newWorld(t, 0, atRate(limits, rate), 80*time.Millisecond, 80*time.Millisecond+jitter)
				cfg := config.Defaults()
				cfg.Telegram.Limits.GlobalPerSecond = rate
				eng := w.run(t, cfg)
				b := w.bot(eng, cfg.Site.Location)
				for id := int64(1); id <= readers; id++ {
					w.fake.AddUser(tgbotapi.User{ID: id})
				}
				ctx := context.Background()
				start := time.Now()
				var wg sync.WaitGroup
				for id := range readers {
					wg.Go(func() {
						if err := b.HandleUpdate(ctx, message(id+1, int64(id+1), "/start")); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
				queued := time.Since(start)
				waitFor(t, 2*time.Minute, "every answer", func() bool { return w.fake.Stats().Messages >= readers })
				ts := arrivals(w.fake.SentAll())
				st := w.fake.Stats()
				took := ts[len(ts)-1].Sub(start)
				// The limit's pace with the window's margin.
				ideal := time.Duration(float64(readers) / rate * float64(cfg.Telegram.Limits.WindowMargin.D()+time.Second))
				t.Logf("%d answers (all queued after %v) in %v: %.2f/s sustained = %.3f of the limit (%v at the limit's pace less the margin); 429s %d, violations %d",
					len(ts), queued.Round(time.Millisecond), took.Round(time.Millisecond), steadyRate(ts, int(rate)),
					steadyRate(ts, int(rate))/rate, ideal.Round(time.Millisecond), st.TooManyRequests, st.Violations)
				if len(ts) != readers || st.TooManyRequests != 0 || st.Violations != 0 {
					t.Errorf("%d answers, %d 429s, %d violations", len(ts), st.TooManyRequests, st.Violations)
				}
			})
		}
	}
}

// 40 readers send 100 messages of plain text each, through the real bot,
// then an article is published: the channel's post must not wait behind
// the answers (target: within 5 s of the article's detection), and a
// flooding reader gets a few answers, not a hundred. 1,000 other readers
// get the push.
func TestLoadReplyFlood(t *testing.T) {
	needLoad(t)
	const flooders, each, readers = 40, 100, 1000
	w := newWorld(t, readers, telegramtest.DefaultLimits(), 50*time.Millisecond, 50*time.Millisecond+jitter)
	cfg := config.Defaults()
	eng := w.run(t, cfg)
	b := w.bot(eng, cfg.Site.Location)
	for i := range flooders {
		w.fake.AddUser(tgbotapi.User{ID: int64(10_000 + i)})
	}
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range flooders {
		wg.Go(func() {
			for j := range each {
				id := 10_000 + i
				if err := b.HandleUpdate(ctx, message(i*each+j+1, int64(id), "مرحبا")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	flooded := time.Since(start)
	detected := time.Now()
	w.addArticle(t, "flood")
	eng.Notify()
	waitFor(t, time.Minute, "the channel's post", func() bool { return len(w.fake.Sent(channelID)) == 1 })
	post := w.fake.Sent(channelID)[0].Time.Sub(detected)
	waitFor(t, 3*time.Minute, "the push", func() bool { return w.fake.Stats().Messages >= readers+1 })
	time.Sleep(5 * time.Second) // any answer still queued would go now
	most, total := 0, 0
	for i := range flooders {
		n := len(w.fake.Sent(int64(10_000 + i)))
		most, total = max(most, n), total+n
	}
	st := w.fake.Stats()
	t.Logf("%d messages from %d readers handled in %v; detection → channel post %v; answers per flooding reader: at most %d (%d in all); 429s %d, violations %d",
		flooders*each, flooders, flooded.Round(time.Millisecond), post.Round(time.Millisecond), most, total, st.TooManyRequests, st.Violations)
	if post > 5*time.Second || most > 5 || st.TooManyRequests != 0 || st.Violations != 0 {
		t.Errorf("channel post after %v (5 s), %d answers to one reader, %d 429s, %d violations", post, most, st.TooManyRequests, st.Violations)
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
	w := newWorld(t, readers, telegramtest.DefaultLimits(), 50*time.Millisecond, 50*time.Millisecond+jitter)
	cfg := config.Defaults()
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
	for _, r := range recs {
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
	ts := arrivals(recs)
	for i := 1; i < len(ts); i++ {
		gaps = append(gaps, ts[i].Sub(ts[i-1]))
	}
	t.Logf("%d messages in %v: %.2f/s sustained; most in one second %d; 429s %d, violations %d", len(recs),
		ts[len(ts)-1].Sub(ts[0]).Round(time.Second), steadyRate(ts, int(cfg.Telegram.Limits.GlobalPerSecond)), fullest(ts), st.TooManyRequests, st.Violations)
	t.Logf("detection → channel post: %d articles, p50 %v, p95 %v, max %v", len(channelLat),
		percentile(channelLat, .5), percentile(channelLat, .95), percentile(channelLat, 1))
	t.Logf("/start answered: %d replies of %d, p50 %v, p95 %v, max %v", len(replyLat), len(replied),
		percentile(replyLat, .5), percentile(replyLat, .95), percentile(replyLat, 1))
	t.Logf("pause between consecutive sends: p50 %v, p99 %v, max %v", percentile(gaps, .5), percentile(gaps, .99), percentile(gaps, 1))
	if percentile(channelLat, .95) > 5*time.Second || percentile(replyLat, .95) > time.Second || st.TooManyRequests != 0 || st.Violations != 0 {
		t.Errorf("targets missed: channel p95 %v (5s), reply p95 %v (1s), 429s %d, violations %d",
			percentile(channelLat, .95), percentile(replyLat, .95), st.TooManyRequests, st.Violations)
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
