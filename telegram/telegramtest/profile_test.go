package telegramtest_test

import (
	"strconv"
	"strings"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra/telegram/telegramtest"
)

// TestProfile: the bot's description and short description are kept per
// language within Telegram's limits, counted in UTF-16 code units.
func TestProfile(t *testing.T) {
	srv, bot := newBot(t, telegramtest.WithLimits(telegramtest.Limits{}))
	call := func(method string, p tgbotapi.Params) error {
		_, err := bot.MakeRequest(method, p)
		return err
	}
	long := strings.Repeat("خبر ", 128) // 512 units: fits exactly
	if err := call("setMyDescription", tgbotapi.Params{"description": long[:len(long)-1] + "ر", "language_code": "ar"}); err != nil {
		t.Fatalf("512 units refused: %v", err)
	}
	if err := call("setMyDescription", tgbotapi.Params{"description": long + "🔴"}); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("514 units: %v", err)
	}
	short := strings.Repeat("ع", 119) + "🔴" // 121 units: an emoji counts two
	if err := call("setMyShortDescription", tgbotapi.Params{"short_description": short}); err == nil {
		t.Error("121 units accepted as a short description")
	}
	if err := call("setMyShortDescription", tgbotapi.Params{"short_description": "أخبار المعلومة", "language_code": "arabic"}); err == nil {
		t.Error("a language code of six letters accepted")
	}
	if err := call("setMyShortDescription", tgbotapi.Params{"short_description": "أخبار المعلومة"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.ShortDescription(""); got != "أخبار المعلومة" {
		t.Errorf("short description %q", got)
	}
	if got := srv.Description("ar"); got != long[:len(long)-1]+"ر" {
		t.Errorf("description %q", got)
	}
	if got := srv.Description(""); got != "" {
		t.Errorf("default description %q, want none (no fallback in the helper)", got)
	}
	// Clearing removes it.
	if err := call("setMyShortDescription", tgbotapi.Params{}); err != nil || srv.ShortDescription("") != "" {
		t.Errorf("clear: %v, %q", err, srv.ShortDescription(""))
	}
}

// TestGetChatMemberStrict: a user_id is required, and in a channel only an
// administrator bot may look at members.
func TestGetChatMemberStrict(t *testing.T) {
	srv, bot := newBot(t, telegramtest.WithLimits(telegramtest.Limits{}))
	owner := srv.AddUser(tgbotapi.User{FirstName: "مالك"})
	ch := srv.AddChat(tgbotapi.Chat{Type: "channel", UserName: "mychan"})
	srv.SetMember(ch.ID, tgbotapi.ChatMember{User: &owner, Status: "creator"})
	get := func(p tgbotapi.Params) (*tgbotapi.APIResponse, error) { return bot.MakeRequest("getChatMember", p) }

	if _, err := get(tgbotapi.Params{"chat_id": "@mychan"}); err == nil || !strings.Contains(err.Error(), "user_id") {
		t.Errorf("without user_id: %v", err)
	}
	srv.SetBotMember(ch.ID, tgbotapi.ChatMember{Status: "member"})
	if _, err := get(tgbotapi.Params{"chat_id": "@mychan", "user_id": "1"}); err == nil {
		t.Error("a member bot saw a channel's members")
	}
	srv.SetBotMember(ch.ID, tgbotapi.ChatMember{Status: "administrator", CanPostMessages: true})
	resp, err := get(tgbotapi.Params{"chat_id": "@mychan", "user_id": strconv.FormatInt(owner.ID, 10)})
	if err != nil || !strings.Contains(string(resp.Result), `"creator"`) {
		t.Errorf("administrator bot: %v %s", err, resp.Result)
	}
}
