package bot_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/almaalouma/nashra/telegram"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/ranking"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/store/sqlitetest"
	"github.com/almaalouma/nashra/subscribers"
	"github.com/almaalouma/nashra/telegram/telegramtest"
)

// adminID is the Telegram user configured as nashra's admin in tests.
const adminID = 4242

// baghdad is the site's time zone, as nashra runs by default.
var baghdad = config.Defaults().Site.Location

// catalog is the built-in sections, as nashra runs by default.
func catalog() *nashra.Catalog {
	var secs []nashra.Section
	for _, s := range config.Defaults().Sections {
		secs = append(secs, nashra.Section{Slug: s.Slug, Name: s.Name, Aliases: s.Aliases})
	}
	return nashra.NewCatalog(secs)
}

// openStore opens a migrated store in a temporary folder with the built-in
// sections.
func openStore(t testing.TB) *store.DB {
	t.Helper()
	var specs []nashra.Section
	for _, s := range config.Defaults().Sections {
		specs = append(specs, nashra.Section{Slug: s.Slug, Name: s.Name, Feeds: s.FeedURLs()})
	}
	return sqlitetest.Open(t, specs...)
}

// sendNow is the tests' Outbox: it stores each reply as the delivery
// engine does, then sends it at once with the real Sender, standing in for
// the engine's reply lane. A reply Telegram refuses fails the test. Once
// a test runs the engine (engineRuns), replies are no longer stored, so
// that the engine does not send them a second time; a reply refused
// because its forum topic is closed is then given up, as the engine does.
type sendNow struct {
	t          testing.TB
	db         *store.DB
	sender     *telegram.Sender
	mu         sync.Mutex
	failed     []error
	engineRuns bool
}

func (o *sendNow) EnqueueReply(ctx context.Context, r delivery.Reply) error {
	o.mu.Lock()
	engineRuns := o.engineRuns
	o.mu.Unlock()
	if !engineRuns {
		if _, err := o.db.EnqueueReply(ctx, nashra.QueuedReply{ChatID: r.ChatID, Lane: nashra.ReplyLane, Method: r.Method,
			Params: r.Params, Merge: r.Merge}, time.Now()); err != nil {
			return err
		}
	}
	if _, err := o.sender.Reply(ctx, r); err != nil && !(engineRuns && telegram.Classify(err).Kind == delivery.TopicGone) {
		o.mu.Lock()
		o.failed = append(o.failed, fmt.Errorf("%s to %d: %w (params %v)", r.Method, r.ChatID, err, r.Params))
		o.mu.Unlock()
	}
	return nil
}

// harness runs a bot against the fake Bot API by long polling, end to end.
type harness struct {
	t      *testing.T
	tg     *telegramtest.Server
	db     *store.DB
	api    *telegram.API
	sender *telegram.Sender
	bot    *bot.Bot
	outbox *sendNow
	subs   *subscribers.Service
	cfg    *config.Config
	ctx    context.Context
}

type harnessOption func(*harness, *[]bot.Option)

func withBotOption(o bot.Option) harnessOption {
	return func(_ *harness, opts *[]bot.Option) { *opts = append(*opts, o) }
}

func withConfig(f func(*config.Config)) harnessOption {
	return func(h *harness, _ *[]bot.Option) { f(h.cfg) }
}

// newHarness starts a fake Telegram (flood limits off: the dispatcher
// paces sends, not the bot) and a bot polling it.
func newHarness(t *testing.T, opts ...harnessOption) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background()}
	h.tg = telegramtest.NewServer(telegramtest.WithLimits(telegramtest.Limits{}))
	t.Cleanup(h.tg.Close)
	h.db = openStore(t)
	sections := catalog()
	h.api = telegram.NewAPI(h.tg.Token(), h.tg.Endpoint(), nil)
	render := telegram.NewRenderer("المعلومة", baghdad, sections, nil)
	h.sender = telegram.NewSender(h.api, render, telegram.WithSenderLogger(quietLog()))
	h.outbox = &sendNow{t: t, db: h.db, sender: h.sender}
	h.cfg = config.Defaults()
	h.cfg.Admins = []int64{adminID}
	botOpts := []bot.Option{bot.WithLogger(quietLog())}
	for _, o := range opts {
		o(h, &botOpts)
	}
	h.tg.AddUser(tgbotapi.User{ID: adminID, FirstName: "مدير", LanguageCode: "ar"})
	h.subs = subscribers.New(h.cfg, h.db, sections, subscribers.WithLogger(quietLog()))
	h.bot = bot.New(h.cfg, h.api, render, h.db, h.subs, h.outbox, botOpts...)
	return h
}

// start runs the bot until the test ends, then checks that Telegram
// accepted every reply.
func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.bot.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				h.t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			h.t.Error("Run did not return after cancel")
		}
		h.outbox.mu.Lock()
		defer h.outbox.mu.Unlock()
		for _, err := range h.outbox.failed {
			h.t.Errorf("Telegram refused a reply: %v", err)
		}
	})
	// The menu is published once connected: wait for it, so that tests
	// start with the bot polling.
	waitFor(h.t, "bot connected", func() bool {
		return len(h.tg.Commands(tgbotapi.BotCommandScope{}, "ar")) > 0
	})
}

// waitFor polls cond until it holds or five seconds pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// handled waits until the bot confirmed every update pushed, which it does
// after handling them.
func (h *harness) handled() {
	h.t.Helper()
	waitFor(h.t, "updates handled", func() bool { return h.tg.Pending() == 0 })
}

// user registers a reader who has started the bot.
func (h *harness) user(id int64) int64 {
	h.tg.AddUser(tgbotapi.User{ID: id, FirstName: fmt.Sprintf("قارئ %d", id), LanguageCode: "ar"})
	return id
}

// say pushes a message and returns what the bot sent to that chat in
// answer.
func (h *harness) say(in telegramtest.Incoming) []telegramtest.Record {
	h.t.Helper()
	chat := in.ChatID
	if chat == 0 {
		chat = in.From
	}
	before := len(h.tg.Sent(chat))
	h.tg.PushMessage(in)
	h.handled()
	return h.tg.Sent(chat)[before:]
}

// reply pushes a message from a reader in their private chat and returns
// the bot's one answer.
func (h *harness) reply(from int64, text string) telegramtest.Record {
	h.t.Helper()
	got := h.say(telegramtest.Incoming{From: from, Text: text})
	if len(got) != 1 {
		h.t.Fatalf("%q: %d answers, want 1: %+v", text, len(got), plains(got))
	}
	return got[0]
}

// press pushes a button press and returns the answer to the callback
// query.
func (h *harness) press(cb telegramtest.Callback) telegramtest.CallbackAnswer {
	h.t.Helper()
	u := h.tg.PushCallbackQuery(cb)
	h.handled()
	for _, a := range h.tg.CallbackAnswers() {
		if a.QueryID == u.CallbackQuery.ID {
			return a
		}
	}
	h.t.Fatalf("callback %q was not answered", cb.Data)
	return telegramtest.CallbackAnswer{}
}

func (h *harness) subscriptions(chatID int64) []string {
	h.t.Helper()
	subs, err := h.db.Subscriptions(h.ctx, chatID)
	if err != nil {
		h.t.Fatal(err)
	}
	return subs
}

func plains(rs []telegramtest.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Plain)
	}
	return out
}

// buttons returns a keyboard's buttons' text by callback data.
func buttons(kb *tgbotapi.InlineKeyboardMarkup) map[string]string {
	out := map[string]string{}
	if kb == nil {
		return out
	}
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData != nil {
				out[*b.CallbackData] = b.Text
			}
		}
	}
	return out
}

func mustContain(t testing.TB, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%q does not contain %q", got, w)
		}
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Fakes of the parts other packages will provide.

type fakeControls struct {
	mu        sync.Mutex
	paused    bool
	cancelled []int64
	retracted []int64
	broadcast []delivery.Reply
}

func (c *fakeControls) Pause(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.paused = true
	return nil
}

func (c *fakeControls) Resume(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.paused = false
	return nil
}

func (c *fakeControls) CancelArticle(_ context.Context, id int64) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancelled = append(c.cancelled, id)
	return 11, nil
}

func (c *fakeControls) Retract(_ context.Context, id int64) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.retracted = append(c.retracted, id)
	return 2, nil
}

func (c *fakeControls) Broadcast(_ context.Context, r delivery.Reply) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.broadcast = append(c.broadcast, r)
	return 3, nil
}

func (c *fakeControls) Stats(context.Context) (map[string]int64, error) {
	return map[string]int64{"pending_replies": 4, "dead": 1, "custom_figure": 9}, nil
}

type fakeSignup struct {
	mu    sync.Mutex
	asked []string
	err   error
}

// RequestSignup refuses an address as the subscribers do, else records
// the signup.
func (s *fakeSignup) RequestSignup(_ context.Context, from subscribers.Requester, address string, sections []string) error {
	if _, err := subscribers.NormalizeAddress(address); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, from.Key()+" "+address+" "+strings.Join(sections, ","))
	return s.err
}

type fakeRanking struct {
	as           []nashra.Article
	mostFollowed bool
}

func (r fakeRanking) Top(context.Context, string, int) ([]nashra.Article, bool, error) {
	return r.as, r.mostFollowed, nil
}

func (r fakeRanking) Stats(context.Context, int) (ranking.Stats, error) {
	st := ranking.Stats{MostFollowed: r.mostFollowed, ByMedium: []store.MediumClicks{{Medium: "channel", Uniques: 7, Clicks: 9, Capped: 190}, {Medium: "email", Uniques: 2, Clicks: 2}}}
	for i, a := range r.as {
		st.Top = append(st.Top, ranking.Scored{Article: a, Uniques: 11 - i})
	}
	return st, nil
}
