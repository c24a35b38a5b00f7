package telegramtest_test

import (
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra/telegram/telegramtest"
)

func TestFaults(t *testing.T) {
	srv, bot := newBot(t)
	u := srv.AddUser(tgbotapi.User{})
	other := srv.AddUser(tgbotapi.User{})
	srv.SetLimits(telegramtest.Limits{})

	srv.FailNext("sendMessage", 2, telegramtest.ServerError())
	for range 2 {
		_, err := bot.Send(tgbotapi.NewMessage(u.ID, "x"))
		if e := apiError(t, err); e.Code != 500 || e.Message != "Internal Server Error" {
			t.Errorf("500: %+v", e)
		}
	}
	if _, err := bot.Send(tgbotapi.NewMessage(u.ID, "x")); err != nil {
		t.Errorf("after the faults: %v", err)
	}

	// A proxy's HTML page is not JSON: the library fails to decode it.
	srv.FailNextInChat(other.ID, 1, telegramtest.BadGateway())
	if _, err := bot.Send(tgbotapi.NewMessage(u.ID, "other chat")); err != nil {
		t.Errorf("a chat without fault: %v", err)
	}
	_, err := bot.Send(tgbotapi.NewMessage(other.ID, "x"))
	var apiErr *tgbotapi.Error
	if err == nil || errors.As(err, &apiErr) {
		t.Errorf("502 HTML: %v", err)
	}

	srv.FailNext("", 1, telegramtest.FloodWait(7))
	_, err = bot.Send(tgbotapi.NewMessage(u.ID, "x"))
	if e := apiError(t, err); e.Code != 429 || e.RetryAfter != 7 {
		t.Errorf("injected 429: %+v", e)
	}
	if st := srv.Stats(); st.TooManyRequests != 0 {
		t.Errorf("an injected 429 was counted as a violation: %+v", st)
	}
}

func TestHangAndProcessed(t *testing.T) {
	srv, bot := newBot(t, telegramtest.WithLimits(telegramtest.Limits{}))
	u := srv.AddUser(tgbotapi.User{})
	bot.Client = &http.Client{Timeout: 200 * time.Millisecond}

	srv.FailNext("sendMessage", 1, telegramtest.Fault{Hang: true, Processed: true})
	start := time.Now()
	_, err := bot.Send(tgbotapi.NewMessage(u.ID, "lost answer"))
	var nerr net.Error
	if !errors.As(err, &nerr) || !nerr.Timeout() {
		t.Errorf("hang: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("hang lasted %v", d)
	}
	// The message was sent although the client never heard back.
	if sent := srv.Sent(u.ID); len(sent) != 1 || sent[0].Plain != "lost answer" {
		t.Errorf("records = %+v", sent)
	}

	srv.FailNext("sendMessage", 1, telegramtest.Fault{Delay: 50 * time.Millisecond})
	start = time.Now()
	if _, err := bot.Send(tgbotapi.NewMessage(u.ID, "slow")); err != nil || time.Since(start) < 50*time.Millisecond {
		t.Errorf("slow call: %v after %v", err, time.Since(start))
	}
}

func TestLatency(t *testing.T) {
	srv, bot := newBot(t, telegramtest.WithLatency(30*time.Millisecond, 40*time.Millisecond))
	start := time.Now()
	if _, err := bot.GetMe(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("call took %v, want at least 30ms", d)
	}
	srv.SetLatency(0, 0)
}
