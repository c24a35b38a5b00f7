package telegramtest_test

import (
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra/telegram/telegramtest"
)

// fixedClock is a fake clock that only moves with Server.Advance, so the
// flood tests do not depend on how fast the machine is.
func fixedClock() telegramtest.Option {
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	return telegramtest.WithClock(func() time.Time { return start })
}

func TestPrivateChatLimit(t *testing.T) {
	l := telegramtest.DefaultLimits()
	l.PrivateBurst = 1
	srv, bot := newBot(t, fixedClock(), telegramtest.WithLimits(l))
	u := srv.AddUser(tgbotapi.User{})

	if _, err := bot.Send(tgbotapi.NewMessage(u.ID, "1")); err != nil {
		t.Fatal(err)
	}
	srv.Advance(500 * time.Millisecond)
	_, err := bot.Send(tgbotapi.NewMessage(u.ID, "2"))
	e := apiError(t, err)
	if e.Code != 429 || e.RetryAfter != 1 || e.Message != "Too Many Requests: retry after 1" {
		t.Fatalf("second message within 1 s: %+v", e)
	}

	// Sending again before retry_after has passed makes the wait longer.
	_, err = bot.Send(tgbotapi.NewMessage(u.ID, "3"))
	if e := apiError(t, err); e.Code != 429 || e.RetryAfter != 2 {
		t.Fatalf("ignoring retry_after: %+v", e)
	}
	st := srv.Stats()
	if st.ChatViolations[u.ID] != 2 || st.Violations != 1 || st.TooManyRequests != 2 || st.GlobalViolations != 0 || st.MaxRetryAfter != 2 {
		t.Errorf("stats = %+v", st)
	}

	srv.Advance(2 * time.Second)
	if _, err := bot.Send(tgbotapi.NewMessage(u.ID, "4")); err != nil {
		t.Errorf("after waiting retry_after: %v", err)
	}
	if got := len(srv.Sent(u.ID)); got != 2 {
		t.Errorf("accepted %d messages, want 2", got)
	}
}

func TestPrivateBurstAndOtherChats(t *testing.T) {
	srv, bot := newBot(t, fixedClock(), telegramtest.WithLimits(telegramtest.BucketLimits()))
	a := srv.AddUser(tgbotapi.User{})
	b := srv.AddUser(tgbotapi.User{})
	for i := range 3 {
		if _, err := bot.Send(tgbotapi.NewMessage(a.ID, "burst")); err != nil {
			t.Fatalf("message %d of the burst: %v", i+1, err)
		}
	}
	if _, err := bot.Send(tgbotapi.NewMessage(a.ID, "4th")); apiError(t, err).Code != 429 {
		t.Errorf("4th message: %v", err)
	}
	// Another chat is not affected, and edits count too.
	m, err := bot.Send(tgbotapi.NewMessage(b.ID, "other chat"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := bot.Send(tgbotapi.NewEditMessageText(b.ID, m.MessageID, "edit"+string(rune('0'+i)))); err != nil {
			t.Fatalf("edit %d: %v", i, err)
		}
	}
	if _, err := bot.Send(tgbotapi.NewEditMessageText(b.ID, m.MessageID, "too many")); apiError(t, err).Code != 429 {
		t.Errorf("edit beyond the burst: %v", err)
	}
	// answerCallbackQuery and getters do not count.
	if _, err := bot.GetChat(tgbotapi.ChatInfoConfig{ChatConfig: tgbotapi.ChatConfig{ChatID: b.ID}}); err != nil {
		t.Errorf("getChat: %v", err)
	}
}

func TestGroupLimit(t *testing.T) {
	srv, bot := newBot(t, fixedClock())
	g := srv.AddChat(tgbotapi.Chat{Type: "supergroup"})
	for i := range 20 {
		if _, err := bot.Send(tgbotapi.NewMessage(g.ID, "x")); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		srv.Advance(time.Second)
	}
	_, err := bot.Send(tgbotapi.NewMessage(g.ID, "21st"))
	if e := apiError(t, err); e.Code != 429 || e.RetryAfter != 40 {
		t.Fatalf("21st message within a minute: %+v", e)
	}
	srv.Advance(40 * time.Second)
	if _, err := bot.Send(tgbotapi.NewMessage(g.ID, "later")); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

func TestGlobalLimitAndPaidBroadcast(t *testing.T) {
	l := telegramtest.DefaultLimits()
	l.GlobalPerSecond, l.GlobalBurst = 5, 5
	srv, bot := newBot(t, fixedClock(), telegramtest.WithLimits(l))
	var users []tgbotapi.User
	for range 8 {
		users = append(users, srv.AddUser(tgbotapi.User{}))
	}
	for _, u := range users[:5] {
		if _, err := bot.Send(tgbotapi.NewMessage(u.ID, "x")); err != nil {
			t.Fatal(err)
		}
	}
	_, err := bot.Send(tgbotapi.NewMessage(users[5].ID, "x"))
	if e := apiError(t, err); e.Code != 429 || e.RetryAfter != 1 {
		t.Fatalf("6th message in a second: %+v", e)
	}
	if st := srv.Stats(); st.GlobalViolations != 1 || len(st.ChatViolations) != 0 {
		t.Errorf("stats = %+v", st)
	}

	// allow_paid_broadcast is counted against the paid rate.
	resp, err := bot.MakeRequest("sendMessage", tgbotapi.Params{
		"chat_id": jsonInt(users[6].ID), "text": "paid", "allow_paid_broadcast": "true"})
	if err != nil || !resp.Ok {
		t.Errorf("paid broadcast: %v", err)
	}
	srv.SetPaidBroadcast(true)
	if _, err := bot.Send(tgbotapi.NewMessage(users[7].ID, "x")); err != nil {
		t.Errorf("paid broadcast mode: %v", err)
	}
	if r := srv.Sent(users[6].ID)[0]; !r.AllowPaidBroadcast {
		t.Errorf("record = %+v", r)
	}

	srv.SetLimits(telegramtest.Limits{})
	for range 10 {
		if _, err := bot.Send(tgbotapi.NewMessage(users[0].ID, "x")); err != nil {
			t.Fatalf("limits lifted: %v", err)
		}
	}
}

// The two models of the bot-wide limit differ after a full second's worth:
// a token bucket refills continuously, a sliding window only lets the next
// message through once the oldest is a second old.
func TestGlobalModels(t *testing.T) {
	for _, model := range []telegramtest.Model{telegramtest.SlidingWindow, telegramtest.TokenBucket} {
		t.Run(model.String(), func(t *testing.T) {
			l := telegramtest.DefaultLimits()
			l.Model, l.GlobalPerSecond, l.GlobalBurst = model, 5, 5
			srv, bot := newBot(t, fixedClock(), telegramtest.WithLimits(l))
			send := func() error {
				_, err := bot.Send(tgbotapi.NewMessage(srv.AddUser(tgbotapi.User{}).ID, "x"))
				return err
			}
			for range 5 {
				if err := send(); err != nil {
					t.Fatal(err)
				}
			}
			srv.Advance(500 * time.Millisecond)
			err := send()
			if model == telegramtest.TokenBucket {
				if err != nil {
					t.Fatalf("half a second later the bucket holds 2.5 tokens: %v", err)
				}
				return
			}
			if e := apiError(t, err); e.Code != 429 || e.RetryAfter != 1 {
				t.Fatalf("6th message within a second: %+v", e)
			}
			// Waiting out the retry_after (1 s from the refusal) is enough,
			// and a message exactly a second after the first five shares
			// no window with them.
			srv.Advance(time.Second)
			for i := range 5 {
				if err := send(); err != nil {
					t.Fatalf("message %d of the next second: %v", i+1, err)
				}
			}
			if st := srv.Stats(); st.GlobalViolations != 1 || st.Violations != 0 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

// A 429 from the bot-wide limit, for whichever chat, pauses the whole bot:
// any message before retry_after has passed is a violation.
func TestBotFloodWait(t *testing.T) {
	srv, bot := newBot(t, fixedClock())
	a, b := srv.AddUser(tgbotapi.User{}), srv.AddUser(tgbotapi.User{})
	srv.FailNextInChat(a.ID, 1, telegramtest.BotFloodWait(3))
	if e := apiError(t, sendErr(bot, a.ID)); e.Code != 429 || e.RetryAfter != 3 {
		t.Fatalf("the injected 429: %+v", e)
	}
	srv.Advance(2 * time.Second)
	if e := apiError(t, sendErr(bot, b.ID)); e.Code != 429 || e.RetryAfter != 2 {
		t.Fatalf("another chat inside the bot's retry_after: %+v", e)
	}
	if st := srv.Stats(); st.Violations != 1 || st.GlobalViolations != 1 {
		t.Errorf("stats = %+v", st)
	}
	srv.Advance(2 * time.Second)
	if err := sendErr(bot, b.ID); err != nil {
		t.Errorf("after the retry_after and its penalty: %v", err)
	}
}

func sendErr(bot *tgbotapi.BotAPI, chatID int64) error {
	_, err := bot.Send(tgbotapi.NewMessage(chatID, "x"))
	return err
}

// TestConcurrentBroadcast sends from many goroutines, as the dispatcher and
// the load benchmarks do, in paid broadcast mode.
func TestConcurrentBroadcast(t *testing.T) {
	srv := telegramtest.NewServer(telegramtest.WithLatency(time.Millisecond, 3*time.Millisecond))
	defer srv.Close()
	srv.SetPaidBroadcast(true)
	bot, err := srv.BotAPI(nil)
	if err != nil {
		t.Fatal(err)
	}
	var channels []int64
	for range 20 {
		channels = append(channels, srv.AddChat(tgbotapi.Chat{Type: "channel"}).ID)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Go(func() {
			if _, err := bot.Send(tgbotapi.NewMessage(channels[i%20], "خبر")); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := srv.Stats(); st.Messages != 200 || st.TooManyRequests != 0 {
		t.Errorf("stats = %+v", st)
	}
	for _, id := range channels {
		seen := map[int]bool{}
		for _, r := range srv.Sent(id) {
			seen[r.MessageID] = true
		}
		if len(seen) != 10 || !seen[1] || !seen[10] {
			t.Errorf("channel %d message ids = %v", id, seen)
		}
	}
}
