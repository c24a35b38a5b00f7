package delivery_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/store/sqlitetest"
)

// call is one call the fake sender received.
type call struct {
	method   string // post, reply method, edit, delete
	chat     int64
	text     string // a reply's
	articles []int64
	silent   bool
	plain    bool
	msgID    int
	made     time.Time // when the request went, counted by the limiter
	at       time.Time // when it was answered
}

// fakeSender records calls and answers as fail says, after latency.
type fakeSender struct {
	mu      sync.Mutex
	calls   []call
	next    int
	latency time.Duration
	// fail decides the answer to a call; nil means success.
	fail func(c call, n int) error
	// seen counts calls per chat, for fail.
	seen map[int64]int
}

// record makes one request, counted by the dispatcher's limit as a real
// Sender's are.
func (f *fakeSender) record(ctx context.Context, c call) (call, error) {
	sent, err := outbox.Admit(ctx)
	if err != nil {
		return c, err
	}
	sent()
	c.made = time.Now()
	time.Sleep(f.latency)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen == nil {
		f.seen = map[int64]int{}
	}
	f.seen[c.chat]++
	c.at = time.Now()
	if f.fail != nil {
		if err := f.fail(c, f.seen[c.chat]); err != nil {
			return c, err
		}
	}
	f.next++
	c.msgID = f.next
	f.calls = append(f.calls, c)
	return c, nil
}

func (f *fakeSender) Post(ctx context.Context, p delivery.Post) (delivery.Sent, error) {
	var ids []int64
	for _, a := range p.Articles {
		ids = append(ids, a.ID)
	}
	c, err := f.record(ctx, call{method: "post", chat: p.Target.ChatID, articles: ids, silent: p.Target.Silent, plain: p.Plain})
	return delivery.Sent{MessageID: c.msgID}, err
}

func (f *fakeSender) Reply(ctx context.Context, r delivery.Reply) (delivery.Sent, error) {
	if id := r.Params["chat_id"]; r.Method != "answerCallbackQuery" && id != fmt.Sprint(r.ChatID) {
		return delivery.Sent{}, &delivery.SendError{Kind: delivery.Rejected, Reason: "chat_id param " + id}
	}
	c, err := f.record(ctx, call{method: r.Method, chat: r.ChatID, text: r.Params["text"]})
	return delivery.Sent{MessageID: c.msgID}, err
}

func (f *fakeSender) Edit(ctx context.Context, t delivery.Target, messageID int, caption bool, a nashra.Article) error {
	_, err := f.record(ctx, call{method: "edit", chat: t.ChatID, articles: []int64{a.ID}, msgID: messageID})
	return err
}

func (f *fakeSender) Delete(ctx context.Context, chatID int64, messageID int) error {
	_, err := f.record(ctx, call{method: "delete", chat: chatID, msgID: messageID})
	return err
}

// tries counts the calls to a chat, failed ones included.
func (f *fakeSender) tries(chat int64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[chat]
}

// count returns how many calls succeeded.
func (f *fakeSender) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeSender) all() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeSender) to(chat int64) []call {
	var out []call
	for _, c := range f.all() {
		if c.chat == chat {
			out = append(out, c)
		}
	}
	return out
}

// got returns, per chat, the articles posted to it, counting repeats.
func (f *fakeSender) got() map[int64][]int64 {
	m := map[int64][]int64{}
	for _, c := range f.all() {
		if c.method == "post" {
			m[c.chat] = append(m[c.chat], c.articles...)
		}
	}
	return m
}

// testConfig is fast: limits high enough for tests to take milliseconds,
// short leases and backoff.
func testConfig() *config.Config {
	cfg := config.Defaults()
	cfg.Telegram.Limits.GlobalPerSecond = 500
	cfg.Telegram.Limits.ChatPerSecond = 50
	cfg.Telegram.Limits.GroupPerMinute = 3000
	cfg.LeaseDuration = config.Duration(2 * time.Second)
	cfg.Delivery.RetryBase = config.Duration(20 * time.Millisecond)
	cfg.Delivery.RetryMax = config.Duration(100 * time.Millisecond)
	cfg.Delivery.MaxAttempts = 3
	cfg.Delivery.HandOnInterval = config.Duration(50 * time.Millisecond)
	return cfg
}

func openStore(t testing.TB, path string) *store.DB {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "n.db")
	}
	return sqlitetest.OpenAt(t, path,
		nashra.Section{Slug: "news", Name: "أخبار", Feeds: []string{"https://a.example/news/feed/"}},
		nashra.Section{Slug: "articles", Name: "مقالات", Feeds: []string{"https://a.example/articles/feed/"}})
}

// addChats creates chats of kind with ids first…first+n-1, subscribed to
// news, with settings s (nil: the defaults without quiet hours, so that a
// test does not depend on the hour it runs).
func addChats(t testing.TB, db *store.DB, kind nashra.ChatKind, first int64, n int, s *nashra.ChatSettings) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	settings := nashra.DefaultChatSettings
	settings.QuietStart, settings.QuietEnd = 0, 0
	if s != nil {
		settings = *s
	}
	for i := range int64(n) {
		id := first + i
		if first < 0 {
			id = first - i
		}
		if _, _, err := db.TouchChat(ctx, nashra.Chat{ID: id, Kind: kind}, now); err != nil {
			t.Fatal(err)
		}
		if err := db.SetChatSettings(ctx, id, settings, now); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Subscribe(ctx, id, []string{"news"}, now); err != nil {
			t.Fatal(err)
		}
	}
}

// addArticle stores a new article in news, first seen at seen.
func addArticle(t testing.TB, db *store.DB, guid string, seen time.Time, cats ...string) int64 {
	t.Helper()
	it := nashra.Article{GUID: guid, Link: "https://a.example/" + guid, Title: "عنوان " + guid, Summary: "ملخص",
		Categories: cats, PublishedAt: seen}
	res, err := db.SaveItems(context.Background(), "news", []nashra.Article{it}, seen, func(fresh []*nashra.Article) {
		for _, a := range fresh {
			a.State = nashra.ArticleNew
		}
	})
	if err != nil || len(res.New) != 1 {
		t.Fatalf("add article: %+v %v", res, err)
	}
	return res.New[0]
}

// running is an engine running in the background of a test.
type running struct {
	eng  *delivery.Engine
	stop context.CancelFunc
	done chan error
}

// start runs an engine with cfg, set up first by each of setup.
func start(t testing.TB, db *store.DB, snd delivery.Sender, cfg *config.Config, setup ...func(*delivery.Engine)) *running {
	t.Helper()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	eng, err := delivery.New(cfg, "", db, snd, nil, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range setup {
		f(eng)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{eng: eng, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- eng.Run(ctx) }()
	t.Cleanup(r.shutdown)
	return r
}

// shutdown stops the engine and waits for Run to return.
func (r *running) shutdown() {
	r.stop()
	if err := <-r.done; err != nil {
		panic(err)
	}
	r.done <- nil // later calls return at once
}

// eventually waits up to timeout for cond.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
