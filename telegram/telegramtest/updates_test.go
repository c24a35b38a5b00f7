package telegramtest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra/telegram/telegramtest"
)

func TestGetUpdatesOffset(t *testing.T) {
	srv, bot := newBot(t)
	u := srv.AddUser(tgbotapi.User{FirstName: "Huda"})
	var ids []int
	for _, text := range []string{"/start", "/subscribe news", "hello"} {
		ids = append(ids, srv.PushMessage(telegramtest.Incoming{From: u.ID, Text: text}).UpdateID)
	}

	got, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(got) != 3 || got[0].UpdateID != ids[0] {
		t.Fatalf("first poll: %v %+v", err, got)
	}
	m := got[1].Message
	if !m.IsCommand() || m.Command() != "subscribe" || m.CommandArguments() != "news" || m.From.ID != u.ID || m.Chat.Type != "private" {
		t.Errorf("command message = %+v", m)
	}
	// Unconfirmed updates come again.
	if again, _ := bot.GetUpdates(tgbotapi.UpdateConfig{Limit: 1}); len(again) != 1 || again[0].UpdateID != ids[0] {
		t.Errorf("second poll = %+v", again)
	}
	// An offset confirms everything below it, for good.
	if rest, _ := bot.GetUpdates(tgbotapi.UpdateConfig{Offset: ids[2]}); len(rest) != 1 || rest[0].UpdateID != ids[2] {
		t.Errorf("offset poll = %+v", rest)
	}
	if rest, _ := bot.GetUpdates(tgbotapi.UpdateConfig{}); len(rest) != 1 || rest[0].UpdateID != ids[2] {
		t.Errorf("updates below the offset came back: %+v", rest)
	}
	if rest, _ := bot.GetUpdates(tgbotapi.UpdateConfig{Offset: ids[2] + 1}); len(rest) != 0 || srv.Pending() != 0 {
		t.Errorf("after confirming all: %+v, pending %d", rest, srv.Pending())
	}
}

func TestGetUpdatesLongPoll(t *testing.T) {
	srv, bot := newBot(t)
	u := srv.AddUser(tgbotapi.User{})

	start := time.Now()
	got, err := bot.GetUpdates(tgbotapi.UpdateConfig{Timeout: 1})
	if err != nil || len(got) != 0 || time.Since(start) < time.Second {
		t.Fatalf("empty long poll: %v %v after %v", err, got, time.Since(start))
	}

	go func() {
		time.Sleep(100 * time.Millisecond)
		srv.PushMessage(telegramtest.Incoming{From: u.ID, Text: "hi"})
	}()
	start = time.Now()
	got, err = bot.GetUpdates(tgbotapi.UpdateConfig{Timeout: 5})
	if err != nil || len(got) != 1 || time.Since(start) > 2*time.Second {
		t.Fatalf("long poll woken by an update: %v %v after %v", err, got, time.Since(start))
	}
}

func TestGetUpdatesConflict(t *testing.T) {
	srv, bot := newBot(t)
	first := make(chan error, 1)
	go func() {
		_, err := bot.GetUpdates(tgbotapi.UpdateConfig{Timeout: 5})
		first <- err
	}()
	waitFor(t, func() bool { return srv.Stats().Calls["getUpdates"] == 1 })
	time.Sleep(50 * time.Millisecond) // let the first poll start waiting

	second := make(chan error, 1)
	go func() {
		_, err := bot.GetUpdates(tgbotapi.UpdateConfig{Timeout: 1})
		second <- err
	}()
	e := apiError(t, <-first)
	if e.Code != 409 || e.Message != "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running" {
		t.Errorf("terminated poll: %+v", e)
	}
	if err := <-second; err != nil {
		t.Errorf("newer poll: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
	}
}

func TestAllowedUpdates(t *testing.T) {
	srv, bot := newBot(t)
	u := srv.AddUser(tgbotapi.User{})
	if _, err := bot.GetUpdates(tgbotapi.UpdateConfig{AllowedUpdates: []string{"callback_query"}}); err != nil {
		t.Fatal(err)
	}
	srv.PushMessage(telegramtest.Incoming{From: u.ID, Text: "dropped"})
	if srv.Pending() != 0 {
		t.Errorf("a message was queued although only callback_query is allowed")
	}
	// The setting persists until changed; an empty list restores the default.
	if _, err := bot.GetUpdates(tgbotapi.UpdateConfig{}); err != nil {
		t.Fatal(err)
	}
	srv.PushMessage(telegramtest.Incoming{From: u.ID, Text: "still dropped"})
	resp, err := bot.MakeRequest("getUpdates", tgbotapi.Params{"allowed_updates": "[]"})
	if err != nil || string(resp.Result) != "[]" {
		t.Fatal(err)
	}
	srv.PushMessage(telegramtest.Incoming{From: u.ID, Text: "kept"})
	if srv.Pending() != 1 {
		t.Errorf("pending = %d, want 1", srv.Pending())
	}
}

func TestGroupUpdates(t *testing.T) {
	srv, bot := newBot(t)
	admin := srv.AddUser(tgbotapi.User{FirstName: "Admin"})
	g := srv.AddChat(tgbotapi.Chat{Type: "supergroup", Title: "قراء"})
	ch := srv.AddChat(tgbotapi.Chat{Type: "channel", UserName: "news"})

	anon := srv.PushMessage(telegramtest.Incoming{ChatID: g.ID, Anonymous: true, Text: "/digest@nashra_test_bot now"})
	m := anon.Message
	if m.From.ID != telegramtest.GroupAnonymousBotID || m.From.UserName != "GroupAnonymousBot" || m.SenderChat.ID != g.ID ||
		m.CommandWithAt() != "digest@nashra_test_bot" || m.CommandArguments() != "now" {
		t.Errorf("anonymous admin message = %+v", m)
	}
	post := srv.PushMessage(telegramtest.Incoming{ChatID: ch.ID, Text: "منشور"})
	if post.ChannelPost == nil || post.ChannelPost.SenderChat.ID != ch.ID || post.ChannelPost.From != nil {
		t.Errorf("channel post = %+v", post)
	}
	kick := srv.KickBot(g.ID, admin.ID)
	if mcm := kick.MyChatMember; mcm == nil || mcm.OldChatMember.Status != "member" || mcm.NewChatMember.Status != "kicked" ||
		mcm.NewChatMember.User.ID != bot.Self.ID || mcm.From.ID != admin.ID {
		t.Errorf("my_chat_member = %+v", kick.MyChatMember)
	}
	got, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(got) != 3 {
		t.Fatalf("updates: %v %d", err, len(got))
	}
}

func TestCallbackQuery(t *testing.T) {
	srv, bot := newBot(t, fixedClock())
	u := srv.AddUser(tgbotapi.User{})
	cfg := tgbotapi.NewMessage(u.ID, "اختر")
	cfg.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonData("أخبار", "sec:news")))
	m, err := bot.Send(cfg)
	if err != nil {
		t.Fatal(err)
	}
	up := srv.PushCallbackQuery(telegramtest.Callback{From: u.ID, MessageID: m.MessageID, Data: "sec:news"})
	q := up.CallbackQuery
	if q.Data != "sec:news" || q.Message.MessageID != m.MessageID || q.From.ID != u.ID || up.CallbackData() != "sec:news" {
		t.Errorf("callback query = %+v", q)
	}
	if _, err := bot.Request(tgbotapi.NewCallback(q.ID, "تم")); err != nil {
		t.Fatal(err)
	}
	_, err = bot.Request(tgbotapi.NewCallback(q.ID, "again"))
	if e := apiError(t, err); e.Code != 400 || e.Message != "Bad Request: query is too old and response timeout expired or query ID is invalid" {
		t.Errorf("second answer: %+v", e)
	}
	late := srv.PushCallbackQuery(telegramtest.Callback{From: u.ID, MessageID: m.MessageID, Data: "sec:news"})
	srv.Advance(telegramtest.CallbackQueryTTL + time.Second)
	if _, err := bot.Request(tgbotapi.NewCallback(late.CallbackQuery.ID, "")); err == nil {
		t.Error("an expired query was answered")
	}
	if a := srv.CallbackAnswers(); len(a) != 1 || a[0].Text != "تم" || a[0].QueryID != q.ID {
		t.Errorf("answers = %+v", a)
	}
}

func TestWebhook(t *testing.T) {
	srv, bot := newBot(t)
	u := srv.AddUser(tgbotapi.User{})
	received := make(chan tgbotapi.Update, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Telegram-Bot-Api-Secret-Token") != "s3cret_-" {
			http.Error(w, "bad secret", http.StatusUnauthorized)
			return
		}
		var up tgbotapi.Update
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &up); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		received <- up
	}))
	defer hook.Close()

	_, err := bot.MakeRequest("setWebhook", tgbotapi.Params{"url": "http://example.org/hook"})
	if e := apiError(t, err); e.Message != "Bad Request: bad webhook: An HTTPS URL must be provided for webhook" {
		t.Errorf("plain HTTP webhook: %+v", e)
	}
	if _, err := bot.MakeRequest("setWebhook", tgbotapi.Params{"url": hook.URL, "secret_token": "s3cret_-"}); err != nil {
		t.Fatal(err)
	}
	_, err = bot.GetUpdates(tgbotapi.UpdateConfig{})
	if e := apiError(t, err); e.Code != 409 || e.Message != "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" {
		t.Errorf("getUpdates with a webhook: %+v", e)
	}

	srv.PushMessage(telegramtest.Incoming{From: u.ID, Text: "/start"})
	srv.PushMessage(telegramtest.Incoming{From: u.ID, Text: "/help"})
	info, err := bot.GetWebhookInfo()
	if err != nil || info.URL != hook.URL || info.PendingUpdateCount != 2 {
		t.Errorf("webhook info = %+v, %v", info, err)
	}
	if n, err := srv.DeliverWebhook(context.Background()); err != nil || n != 2 {
		t.Fatalf("DeliverWebhook = %d, %v", n, err)
	}
	if up := <-received; up.Message.Text != "/start" {
		t.Errorf("first update = %+v", up.Message)
	}
	if srv.WebhookSecret() != "s3cret_-" || srv.Pending() != 0 {
		t.Errorf("secret %q, pending %d", srv.WebhookSecret(), srv.Pending())
	}

	// A failing webhook keeps the update and reports the error.
	if _, err := bot.MakeRequest("setWebhook", tgbotapi.Params{"url": hook.URL, "secret_token": "wrong"}); err != nil {
		t.Fatal(err)
	}
	srv.PushMessage(telegramtest.Incoming{From: u.ID, Text: "x"})
	if n, err := srv.DeliverWebhook(context.Background()); err == nil || n != 0 || srv.Pending() != 1 {
		t.Errorf("failing webhook: %d, %v, pending %d", n, err, srv.Pending())
	}
	if info, _ := bot.GetWebhookInfo(); info.LastErrorMessage != "Wrong response from the webhook: 401 Unauthorized" {
		t.Errorf("last error = %q", info.LastErrorMessage)
	}
	if _, err := bot.Request(tgbotapi.DeleteWebhookConfig{DropPendingUpdates: true}); err != nil || srv.Pending() != 0 {
		t.Errorf("deleteWebhook: %v, pending %d", err, srv.Pending())
	}
	if _, err := bot.GetUpdates(tgbotapi.UpdateConfig{}); err != nil {
		t.Errorf("getUpdates after deleteWebhook: %v", err)
	}
}
