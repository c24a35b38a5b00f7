package telegramtest_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra/telegram/telegramtest"
)

// newBot starts a fake server and a real client bound to it.
func newBot(t *testing.T, opts ...telegramtest.Option) (*telegramtest.Server, *tgbotapi.BotAPI) {
	t.Helper()
	srv := telegramtest.NewServer(opts...)
	t.Cleanup(srv.Close)
	bot, err := tgbotapi.NewBotAPIWithClient(srv.Token(), srv.Endpoint(), &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("NewBotAPIWithClient: %v", err)
	}
	return srv, bot
}

// apiError asserts err is the library's decoded Bot API error.
func apiError(t *testing.T, err error) *tgbotapi.Error {
	t.Helper()
	var e *tgbotapi.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *tgbotapi.Error", err, err)
	}
	return e
}

// rawCall posts a request without the library, to check the wire format.
func rawCall(t *testing.T, srv *telegramtest.Server, token, method, contentType, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(srv.URL()+"/bot"+token+"/"+method, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s answered non-JSON %q", method, data)
	}
	return resp.StatusCode, out
}

func TestGetMeAtConstruction(t *testing.T) {
	srv := telegramtest.NewServer()
	defer srv.Close()
	bot, err := tgbotapi.NewBotAPIWithAPIEndpoint(srv.Token(), srv.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	if !bot.Self.IsBot || bot.Self.UserName != "nashra_test_bot" || bot.Self.ID != 7000000001 {
		t.Errorf("Self = %+v", bot.Self)
	}
	if got := srv.Stats().Calls["getMe"]; got != 1 {
		t.Errorf("getMe calls = %d, want 1", got)
	}

	_, err = tgbotapi.NewBotAPIWithAPIEndpoint("1:wrong", srv.Endpoint())
	if e := apiError(t, err); e.Code != 401 || e.Message != "Unauthorized" {
		t.Errorf("wrong token: %+v", e)
	}
}

func TestWireFormat(t *testing.T) {
	srv, _ := newBot(t, telegramtest.WithLimits(telegramtest.Limits{}))
	u := srv.AddUser(tgbotapi.User{FirstName: "Ali"})

	status, body := rawCall(t, srv, srv.Token(), "noSuchMethod", "application/json", "{}")
	if status != 404 || body["description"] != "Not Found" || body["error_code"] != 404.0 || body["ok"] != false {
		t.Errorf("unknown method: %d %v", status, body)
	}
	status, body = rawCall(t, srv, "123:bad", "getMe", "application/json", "")
	if status != 401 || body["description"] != "Unauthorized" {
		t.Errorf("bad token: %d %v", status, body)
	}

	// JSON body, method name in another case.
	status, body = rawCall(t, srv, srv.Token(), "SENDMESSAGE", "application/json",
		`{"chat_id":`+jsonInt(u.ID)+`,"text":"<b>مرحبا</b> &amp; hi","parse_mode":"HTML","disable_notification":true,`+
			`"link_preview_options":{"is_disabled":true},"reply_markup":{"inline_keyboard":[[{"text":"ok","callback_data":"x"}]]}}`)
	if status != 200 || body["ok"] != true {
		t.Fatalf("JSON body: %d %v", status, body)
	}
	msg := body["result"].(map[string]any)
	if msg["text"] != "مرحبا & hi" || msg["from"].(map[string]any)["is_bot"] != true {
		t.Errorf("result = %v", msg)
	}
	ents := msg["entities"].([]any)
	if e := ents[0].(map[string]any); e["type"] != "bold" || e["offset"] != 0.0 || e["length"] != 5.0 {
		t.Errorf("entities = %v", ents)
	}

	// Query string parameters.
	q := url.Values{"chat_id": {jsonInt(u.ID)}, "text": {"from the query"}}
	status, body = rawCall(t, srv, srv.Token(), "sendMessage?"+q.Encode(), "", "")
	if status != 200 {
		t.Fatalf("query string: %d %v", status, body)
	}

	sent := srv.Sent(u.ID)
	if len(sent) != 2 {
		t.Fatalf("Sent = %d records, want 2", len(sent))
	}
	r := sent[0]
	if r.Method != "sendMessage" || r.Plain != "مرحبا & hi" || r.Text != "<b>مرحبا</b> &amp; hi" || r.ParseMode != "HTML" ||
		!r.DisableNotification || string(r.LinkPreviewOptions) != `{"is_disabled":true}` ||
		r.Keyboard == nil || *r.Keyboard.InlineKeyboard[0][0].CallbackData != "x" || r.MessageID != 1 {
		t.Errorf("record = %+v", r)
	}
	if sent[1].Plain != "from the query" || sent[1].MessageID != 2 {
		t.Errorf("second record = %+v", sent[1])
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestSendMessage(t *testing.T) {
	srv, bot := newBot(t)
	u := srv.AddUser(tgbotapi.User{FirstName: "Zainab", UserName: "zainab"})

	cfg := tgbotapi.NewMessage(u.ID, `<a href="https://almaalouma.net/a/1">خبر</a> <i>عاجل</i>`)
	cfg.ParseMode = tgbotapi.ModeHTML
	cfg.DisableWebPagePreview = true
	cfg.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonURL("اقرأ", "https://almaalouma.net/a/1")))
	msg, err := bot.Send(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Text != "خبر عاجل" || msg.Chat.ID != u.ID || msg.From.ID != bot.Self.ID || msg.MessageID != 1 {
		t.Errorf("message = %+v", msg)
	}
	if len(msg.Entities) != 2 || msg.Entities[0].Type != "text_link" || msg.Entities[0].URL != "https://almaalouma.net/a/1" ||
		msg.Entities[1].Type != "italic" || msg.Entities[1].Offset != 4 {
		t.Errorf("entities = %+v", msg.Entities)
	}
	if msg.ReplyMarkup == nil || *msg.ReplyMarkup.InlineKeyboard[0][0].URL != "https://almaalouma.net/a/1" {
		t.Errorf("reply markup = %+v", msg.ReplyMarkup)
	}
	if r := srv.Sent(u.ID)[0]; !r.DisableWebPagePreview || r.Time.IsZero() {
		t.Errorf("record = %+v", r)
	}
}

// TestErrorBodies checks each refusal decodes into tgbotapi.Error with the
// code, the message and the parameters Telegram sends.
func TestErrorBodies(t *testing.T) {
	srv, bot := newBot(t)
	admin := srv.AddUser(tgbotapi.User{FirstName: "Admin"})
	blocked := srv.AddUser(tgbotapi.User{FirstName: "Blocked"})
	srv.BlockBot(blocked.ID)
	gone := srv.AddUser(tgbotapi.User{FirstName: "Gone"})
	srv.DeactivateUser(gone.ID)
	stranger := tgbotapi.User{ID: 555, FirstName: "Never started"}
	group := srv.AddChat(tgbotapi.Chat{Type: "group", Title: "نقاش"})
	srv.SetMember(group.ID, tgbotapi.ChatMember{User: &stranger, Status: "member"})
	kicked := srv.AddChat(tgbotapi.Chat{Type: "supergroup", Title: "Kicked"})
	srv.KickBot(kicked.ID, admin.ID)
	oldGroup := srv.AddChat(tgbotapi.Chat{Type: "group"})
	newID := srv.MigrateGroup(oldGroup.ID, admin.ID)
	channel := srv.AddChat(tgbotapi.Chat{Type: "channel", UserName: "@almaalouma_news"})
	notAdmin := srv.AddChat(tgbotapi.Chat{Type: "channel", UserName: "readonly"})
	srv.SetBotMember(notAdmin.ID, tgbotapi.ChatMember{Status: "administrator", CanEditMessages: true})
	leftChannel := srv.AddChat(tgbotapi.Chat{Type: "channel"})
	srv.SetBotMember(leftChannel.ID, tgbotapi.ChatMember{Status: "left"})

	tests := []struct {
		name    string
		cfg     tgbotapi.MessageConfig
		code    int
		message string
		migrate int64
	}{
		{"unknown chat", tgbotapi.NewMessage(-42, "x"), 400, "Bad Request: chat not found", 0},
		{"unknown username", tgbotapi.NewMessageToChannel("@nobody", "x"), 400, "Bad Request: chat not found", 0},
		{"blocked", tgbotapi.NewMessage(blocked.ID, "x"), 403, "Forbidden: bot was blocked by the user", 0},
		{"deactivated", tgbotapi.NewMessage(gone.ID, "x"), 403, "Forbidden: user is deactivated", 0},
		{"not started", tgbotapi.NewMessage(stranger.ID, "x"), 403, "Forbidden: bot can't initiate conversation with a user", 0},
		{"kicked", tgbotapi.NewMessage(kicked.ID, "x"), 403, "Forbidden: bot was kicked from the supergroup chat", 0},
		{"migrated", tgbotapi.NewMessage(oldGroup.ID, "x"), 400, "Bad Request: group chat was upgraded to a supergroup chat", newID},
		{"channel without post right", tgbotapi.NewMessageToChannel("@readonly", "x"), 400, "Bad Request: need administrator rights in the channel chat", 0},
		{"channel left", tgbotapi.NewMessage(leftChannel.ID, "x"), 403, "Forbidden: bot is not a member of the channel chat", 0},
		{"empty text", tgbotapi.NewMessage(admin.ID, " \n "), 400, "Bad Request: message text is empty", 0},
		{"bad HTML", htmlMessage(admin.ID, "<div>x</div>"), 400, `Bad Request: can't parse entities: Unsupported start tag "div" at byte offset 0`, 0},
	}
	for _, tt := range tests {
		_, err := bot.Send(tt.cfg)
		e := apiError(t, err)
		if e.Code != tt.code || e.Message != tt.message || e.MigrateToChatID != tt.migrate {
			t.Errorf("%s: got %d %q migrate=%d, want %d %q migrate=%d", tt.name, e.Code, e.Message, e.MigrateToChatID, tt.code, tt.message, tt.migrate)
		}
	}

	// The channel by @username and the migrated supergroup work.
	if _, err := bot.Send(tgbotapi.NewMessageToChannel("@Almaalouma_News", "عاجل")); err != nil {
		t.Errorf("channel by username: %v", err)
	}
	if m, err := bot.Send(tgbotapi.NewMessage(newID, "x")); err != nil || m.Chat.Type != "supergroup" {
		t.Errorf("migrated supergroup: %v %+v", err, m.Chat)
	}
	if got := len(srv.Sent(channel.ID)); got != 1 {
		t.Errorf("channel records = %d", got)
	}
}

func htmlMessage(chatID int64, text string) tgbotapi.MessageConfig {
	m := tgbotapi.NewMessage(chatID, text)
	m.ParseMode = tgbotapi.ModeHTML
	return m
}

func TestParseModes(t *testing.T) {
	srv, bot := newBot(t)
	u := srv.AddUser(tgbotapi.User{})
	literal := tgbotapi.NewMessage(u.ID, "<b>not bold</b> &nbsp;")
	if m, err := bot.Send(literal); err != nil || m.Text != "<b>not bold</b> &nbsp;" || len(m.Entities) != 0 {
		t.Errorf("no parse_mode: %v %q %v", err, m.Text, m.Entities)
	}
	srv.Advance(time.Second)
	md := tgbotapi.NewMessage(u.ID, "*bold*")
	md.ParseMode = tgbotapi.ModeMarkdownV2
	_, err := bot.Send(md)
	if e := apiError(t, err); e.Code != 400 || !strings.HasPrefix(e.Message, "Bad Request: unsupported parse_mode") {
		t.Errorf("MarkdownV2: %+v", e)
	}
}
