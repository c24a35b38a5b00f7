package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/demo"
	"github.com/almaalouma/nashra/telegram/telegramtest"
)

// The whole path with Telegram on: a reader subscribes through the bot, the
// site publishes, the poller stores, the delivery engine fans out, and the
// channel mapped to the section gets the post, through the real client
// library against the strict fake Bot API.
func TestEndToEndTelegram(t *testing.T) {
	site := demo.NewSite(time.Now())
	defer site.Close()
	tg := telegramtest.NewServer()
	defer tg.Close()
	reader := tg.AddUser(tgbotapi.User{FirstName: "قارئ", LanguageCode: "ar"})
	channel := tg.AddChat(tgbotapi.Chat{Type: "channel", Title: "أخبار المعلومة", UserName: "almaalouma_news"})

	vars := demoEnv(t, site)
	vars["NASHRA_TELEGRAM_TOKEN"] = tg.Token()
	vars["NASHRA_TELEGRAM_API"] = tg.Endpoint()
	ctx := context.Background()
	m := startMain(t, vars, func(cfg *config.Config) { cfg.Sections[0].Channels = []string{"@almaalouma_news"} }) // news
	defer m.Close(ctx)
	waitFor(t, func() bool { n, _ := m.db.CountArticles(ctx); return n == len(demo.Initial) })

	tg.PushMessage(telegramtest.Incoming{From: reader.ID, Text: "/start sec_news"})
	waitFor(t, func() bool { return len(tg.Sent(reader.ID)) > 0 })
	if subs, _ := m.db.Subscriptions(ctx, reader.ID); len(subs) != 1 || subs[0] != "news" {
		t.Fatalf("deep link subscribed to %v", subs)
	}

	site.Publish(time.Now(), demo.Fresh...)
	if _, err := m.poller.PollAll(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(tg.Sent(channel.ID)) > 0 })
	post := tg.Sent(channel.ID)[0]
	if !strings.Contains(post.Plain, "مجلس النواب يصوت على قانون الموازنة") || !strings.Contains(post.Plain, "#أخبار") {
		t.Errorf("channel post:\n%s", post.Plain)
	}
	if len(tg.Sent(channel.ID)) != 1 {
		t.Errorf("the news channel got %d posts for one news article", len(tg.Sent(channel.ID)))
	}
	// Its "اقرأ المزيد" button is a tracked link that leads to the article.
	if post.Keyboard == nil || len(post.Keyboard.InlineKeyboard) == 0 || post.Keyboard.InlineKeyboard[0][0].URL == nil {
		t.Fatalf("channel post has no link button: %s", post.ReplyMarkup)
	}
	button := *post.Keyboard.InlineKeyboard[0][0].URL
	_, path, ok := strings.Cut(button, "/r/")
	if !ok || post.Keyboard.InlineKeyboard[0][0].Text != "اقرأ المزيد" {
		t.Fatalf("button %q → %s", post.Keyboard.InlineKeyboard[0][0].Text, button)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get("http://" + m.Addr().String() + "/r/" + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, site.URL()+"/") {
		t.Errorf("tracked link: %d → %q", resp.StatusCode, loc)
	}
	// Every new article was handed on, and nothing broke Telegram's rules.
	waitFor(t, func() bool { as, _ := m.db.ArticlesInState(ctx, nashra.ArticleNew, 10); return len(as) == 0 })
	if st := tg.Stats(); st.TooManyRequests != 0 || st.GlobalViolations != 0 {
		t.Errorf("fake Bot API saw 429s or violations: %+v", st)
	}
}
