package delivery_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/almaalouma/nashra/telegram"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/telegram/telegramtest"
)

// jitter is the spread of the latencies the engine's tests give the fake
// Bot API on top of its base latency. The default WindowMargin (40 ms)
// absorbs it; the tests give the engine more, testMargin, because on a
// busy machine, under the race detector, the fake itself may take a
// hundred milliseconds and more to get round to a request, which it counts
// as latency. What they check is that the engine keeps to its window,
// never bursts and obeys retry_after; the default margin is measured
// against the same jitter by the load scenarios in bench.
const (
	jitter     = 30 * time.Millisecond
	testMargin = 250 * time.Millisecond
)

// fakeWorld is a store and the fake Telegram knowing the same readers,
// groups and channel.
type fakeWorld struct {
	db      *store.DB
	fake    *telegramtest.Server
	readers int
	group   int64
	channel int64
}

func newFakeWorld(t *testing.T, limits telegramtest.Limits, latency time.Duration, readers int) *fakeWorld {
	t.Helper()
	w := &fakeWorld{db: openStore(t, ""), readers: readers, group: -1001000000001, channel: -1001234567890}
	w.fake = telegramtest.NewServer(telegramtest.WithLimits(limits), telegramtest.WithLatency(latency, latency+jitter))
	t.Cleanup(w.fake.Close)
	for id := int64(1); id <= int64(readers); id++ {
		w.fake.AddUser(tgbotapi.User{ID: id})
	}
	addChats(t, w.db, nashra.ChatPrivate, 1, readers, nil)
	w.fake.AddChat(tgbotapi.Chat{ID: w.group, Type: "supergroup"})
	addChats(t, w.db, nashra.ChatSupergroup, w.group, 1, nil)
	w.fake.AddChat(tgbotapi.Chat{ID: w.channel, Type: "channel"})
	if err := w.db.SeedChannels(context.Background(), []nashra.ChannelLink{{Section: "news", Channel: fmt.Sprint(w.channel)}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	return w
}

// sender is the bot's real Sender talking to the fake.
func (w *fakeWorld) sender(cfg *config.Config) *telegram.Sender {
	api := telegram.NewAPI(w.fake.Token(), w.fake.Endpoint(), nil)
	catalog := nashra.NewCatalog([]nashra.Section{{Slug: "news", Name: "أخبار"}})
	return telegram.NewSender(api, telegram.NewRenderer("المعلومة", cfg.Site.Location, catalog, nil), telegram.WithSenderLogger(slog.New(slog.DiscardHandler)))
}

// A push with replies to readers, some to the same readers, a group and a
// channel each getting two posts: against both models of Telegram's
// bot-wide limit, at 30 and 60 messages per second, with a distant
// server's latency and its jitter, not one request is refused and none
// goes into a retry_after.
func TestNoRequestOverTheLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("sends a few hundred messages at Telegram's pace")
	}
	for _, tc := range []struct {
		rate    float64
		latency time.Duration
	}{{30, 100 * time.Millisecond}, {60, 50 * time.Millisecond}} {
		for _, limits := range []telegramtest.Limits{telegramtest.DefaultLimits(), telegramtest.BucketLimits()} {
			limits.GlobalPerSecond, limits.GlobalBurst = tc.rate, int(tc.rate)
			t.Run(fmt.Sprintf("%s/%v per s/latency %v", limits.Model, tc.rate, tc.latency), func(t *testing.T) {
				ctx := context.Background()
				readers := int(tc.rate) * 4
				w := newFakeWorld(t, limits, tc.latency, readers)
				cfg := testConfig()
				cfg.Telegram.Limits.GlobalPerSecond, cfg.Telegram.Limits.ChatPerSecond, cfg.Telegram.Limits.GroupPerMinute, cfg.Telegram.Limits.WindowMargin = tc.rate, 1, 20, config.Duration(testMargin)
				// The answers to a burst of /start from the first readers,
				// who also get the push.
				replies := int(tc.rate)
				eng, err := delivery.New(cfg, "", w.db, w.sender(cfg), nil, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				for id := 1; id <= replies; id++ {
					if err := eng.EnqueueReply(ctx, delivery.Reply{ChatID: int64(id), Method: "sendMessage",
						Params: map[string]string{"text": "أهلًا بك"}, Merge: "start"}); err != nil {
						t.Fatal(err)
					}
				}
				addArticle(t, w.db, "art-1", time.Now())
				r := run(t, eng)
				eventually(t, 20*time.Second, "the first posts", func() bool { return len(w.fake.Sent(w.channel)) == 1 })
				addArticle(t, w.db, "art-2", time.Now())
				r.eng.Notify()
				eventually(t, 60*time.Second, "every article everywhere", func() bool {
					got := received(w.fake)
					for id := int64(1); id <= int64(readers); id++ {
						if !containsAll(got[id], []string{"art-1", "art-2"}) {
							return false
						}
					}
					return len(got[w.channel]) == 2 && len(got[w.group]) == 2
				})
				st := w.fake.Stats()
				if st.TooManyRequests != 0 || st.Violations != 0 {
					t.Errorf("%d 429s (%d bot-wide), %d sends inside a retry_after", st.TooManyRequests, st.GlobalViolations, st.Violations)
				}
				if n := len(w.fake.Sent(1)); n < 2 {
					t.Errorf("reader 1 got %d messages, want the answer and the posts", n)
				}
			})
		}
	}
}

// A 429 for a chat sent to at its own pace, from a limit nashra cannot see
// (another process using the token), pauses everything at once: the fake
// counts as violations only the sends already on their way, the engine
// counts the same, and everything arrives once the pause is over.
func TestAmbiguous429AgainstTheFake(t *testing.T) {
	ctx := context.Background()
	w := newFakeWorld(t, telegramtest.DefaultLimits(), 50*time.Millisecond, 90)
	w.fake.FailNextInChat(40, 1, telegramtest.BotFloodWait(2))
	cfg := testConfig()
	cfg.Telegram.Limits.GlobalPerSecond, cfg.Telegram.Limits.ChatPerSecond, cfg.Telegram.Limits.GroupPerMinute, cfg.Telegram.Limits.WindowMargin = 30, 1, 20, config.Duration(testMargin)
	reg := prometheus.NewRegistry()
	eng, err := delivery.New(cfg, "", w.db, w.sender(cfg), nil, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	addArticle(t, w.db, "art-1", time.Now())
	run(t, eng)
	eventually(t, 30*time.Second, "every reader's post", func() bool { return len(w.fake.SentAll()) == 92 })
	st := w.fake.Stats()
	stats, err := eng.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stats["global_pauses"] != 1 || stats["retry_after_violations"] != int64(st.Violations) || st.Violations > cfg.Delivery.Concurrency {
		t.Errorf("engine: %d pauses, %d violations; the fake counted %d violations (at most %d sends in flight)",
			stats["global_pauses"], stats["retry_after_violations"], st.Violations, cfg.Delivery.Concurrency)
	}
	if p, v := value(t, reg, "nashra_delivery_global_pauses_total"), value(t, reg, "nashra_delivery_retry_after_violations_total"); p != 1 || v != float64(st.Violations) {
		t.Errorf("metrics: %v pauses, %v violations", p, v)
	}
	if st.TooManyRequests != st.Violations {
		t.Errorf("%d 429s from the fake's own limits, %d of them violations", st.TooManyRequests, st.Violations)
	}
	t.Logf("sends in flight that met the pause: %d", st.Violations)
}

// run runs an engine built by the test until the test ends.
func run(t *testing.T, eng *delivery.Engine) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{eng: eng, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- eng.Run(ctx) }()
	t.Cleanup(r.shutdown)
	return r
}
