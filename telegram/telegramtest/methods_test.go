package telegramtest_test

import (
	"bytes"
	"image"
	"image/png"
	"mime/multipart"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra/telegram/telegramtest"
)

func pngImage(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPhotoUploadAndReuse(t *testing.T) {
	srv, bot := newBot(t, telegramtest.WithLimits(telegramtest.Limits{}))
	u := srv.AddUser(tgbotapi.User{})
	ch := srv.AddChat(tgbotapi.Chat{Type: "channel", UserName: "news"})

	up := tgbotapi.NewPhoto(u.ID, tgbotapi.FileBytes{Name: "cover.png", Bytes: pngImage(t, 1000, 500)})
	up.Caption = "<b>غلاف</b>"
	up.ParseMode = tgbotapi.ModeHTML
	m, err := bot.Send(up)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Photo) != 4 || m.Caption != "غلاف" || len(m.CaptionEntities) != 1 {
		t.Fatalf("photo message = %+v", m)
	}
	if big := m.Photo[3]; big.Width != 1000 || big.Height != 500 || m.Photo[0].Width != 90 || m.Photo[0].Height != 45 {
		t.Errorf("sizes = %+v", m.Photo)
	}
	fileID := m.Photo[len(m.Photo)-1].FileID
	info, ok := srv.File(fileID)
	if !ok || info.Kind != "photo" || info.Name != "cover.png" || info.SHA256 == "" {
		t.Errorf("File = %+v, %v", info, ok)
	}
	if r := srv.Sent(u.ID)[0]; r.Method != "sendPhoto" || r.FileID != fileID || r.Plain != "غلاف" {
		t.Errorf("record = %+v", r)
	}

	again, err := bot.Send(tgbotapi.NewPhoto(ch.ID, tgbotapi.FileID(m.Photo[0].FileID)))
	if err != nil || again.Photo[3].FileID != fileID || again.SenderChat == nil || again.SenderChat.ID != ch.ID {
		t.Errorf("resend by file_id: %v %+v", err, again)
	}

	for name, file := range map[string]tgbotapi.RequestFileData{
		"unknown file_id": tgbotapi.FileID("AgACAgIAAxkBAAIunknown"),
		"not an image":    tgbotapi.FileBytes{Name: "x.png", Bytes: []byte("not a png")},
		"too narrow":      tgbotapi.FileBytes{Name: "x.png", Bytes: pngImage(t, 2100, 100)},
	} {
		_, err := bot.Send(tgbotapi.NewPhoto(u.ID, file))
		// Uploads come back without Code: the library's UploadFiles drops it.
		if e := apiError(t, err); !strings.HasPrefix(e.Message, "Bad Request: ") {
			t.Errorf("%s: %+v", name, e)
		}
	}

	doc, err := bot.Send(tgbotapi.NewDocument(u.ID, tgbotapi.FileBytes{Name: "report.pdf", Bytes: []byte("%PDF-1.4")}))
	if err != nil || doc.Document.FileName != "report.pdf" || doc.Document.MimeType != "application/pdf" {
		t.Fatalf("document: %v %+v", err, doc.Document)
	}
	_, err = bot.Send(tgbotapi.NewPhoto(u.ID, tgbotapi.FileID(doc.Document.FileID)))
	if e := apiError(t, err); e.Message != "Bad Request: can't use file of type Document as Photo" {
		t.Errorf("document as photo: %+v", e)
	}
}

// TestMultipartAttach uploads with "attach://<part>", as a client other
// than the library may.
func TestMultipartAttach(t *testing.T) {
	srv, _ := newBot(t)
	u := srv.AddUser(tgbotapi.User{})
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("chat_id", jsonInt(u.ID))
	_ = mw.WriteField("photo", "attach://pic")
	_ = mw.WriteField("caption", "صورة")
	part, _ := mw.CreateFormFile("pic", "pic.png")
	_, _ = part.Write(pngImage(t, 64, 64))
	mw.Close()
	status, out := rawCall(t, srv, srv.Token(), "sendPhoto", mw.FormDataContentType(), body.String())
	if status != 200 {
		t.Fatalf("sendPhoto: %d %v", status, out)
	}
	photo := out["result"].(map[string]any)["photo"].([]any)
	if len(photo) != 1 || photo[0].(map[string]any)["width"] != 64.0 {
		t.Errorf("photo = %v", photo)
	}
}

func TestPhotoURL(t *testing.T) {
	srv, bot := newBot(t, telegramtest.WithLimits(telegramtest.Limits{}))
	u := srv.AddUser(tgbotapi.User{})
	const good, bad = "https://almaalouma.net/img/ok.jpg", "https://almaalouma.net/img/404.jpg"
	srv.FailURL(bad, "")
	first, err := bot.Send(tgbotapi.NewPhoto(u.ID, tgbotapi.FileURL(good)))
	if err != nil {
		t.Fatal(err)
	}
	second, _ := bot.Send(tgbotapi.NewPhoto(u.ID, tgbotapi.FileURL(good)))
	if first.Photo[len(first.Photo)-1].FileID != second.Photo[len(second.Photo)-1].FileID {
		t.Error("the same URL gave two files")
	}
	_, err = bot.Send(tgbotapi.NewPhoto(u.ID, tgbotapi.FileURL(bad)))
	if e := apiError(t, err); e.Code != 400 || e.Message != "Bad Request: failed to get HTTP URL content" {
		t.Errorf("unfetchable URL: %+v", e)
	}
	_, err = bot.Send(tgbotapi.NewPhoto(u.ID, tgbotapi.FileID("not-a-file")))
	if e := apiError(t, err); e.Message != "Bad Request: wrong file identifier/HTTP URL specified" {
		t.Errorf("garbage file_id: %+v", e)
	}
}

func TestInlineKeyboard(t *testing.T) {
	srv, bot := newBot(t, telegramtest.WithLimits(telegramtest.Limits{}))
	u := srv.AddUser(tgbotapi.User{})
	send := func(b tgbotapi.InlineKeyboardButton) error {
		cfg := tgbotapi.NewMessage(u.ID, "x")
		cfg.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(b))
		_, err := bot.Send(cfg)
		return err
	}
	if err := send(tgbotapi.NewInlineKeyboardButtonData("64", strings.Repeat("d", 64))); err != nil {
		t.Errorf("64 bytes of callback_data: %v", err)
	}
	// 33 two-byte letters: 66 bytes.
	for name, b := range map[string]tgbotapi.InlineKeyboardButton{
		"65 bytes": tgbotapi.NewInlineKeyboardButtonData("65", strings.Repeat("d", 65)),
		"66 bytes": tgbotapi.NewInlineKeyboardButtonData("ar", strings.Repeat("ع", 33)),
		"empty":    tgbotapi.NewInlineKeyboardButtonData("empty", ""),
	} {
		if e := apiError(t, send(b)); e.Message != "Bad Request: BUTTON_DATA_INVALID" {
			t.Errorf("%s: %+v", name, e)
		}
	}
	for _, link := range []string{"javascript:alert(1)", "almaalouma.net", "https://"} {
		if e := apiError(t, send(tgbotapi.NewInlineKeyboardButtonURL("x", link))); e.Message != "Bad Request: BUTTON_URL_INVALID" {
			t.Errorf("URL %q: %+v", link, e)
		}
	}
	if err := send(tgbotapi.NewInlineKeyboardButtonURL("tg", "tg://resolve?domain=almaalouma")); err != nil {
		t.Errorf("tg:// URL: %v", err)
	}
	_, err := bot.MakeRequest("sendMessage", tgbotapi.Params{"chat_id": jsonInt(u.ID), "text": "x",
		"reply_markup": `{"inline_keyboard":[[{"text":"no action"}]]}`})
	if e := apiError(t, err); e.Message != "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard" {
		t.Errorf("button without action: %+v", e)
	}
}

func TestEditAndDelete(t *testing.T) {
	srv, bot := newBot(t, fixedClock(), telegramtest.WithLimits(telegramtest.Limits{}))
	u := srv.AddUser(tgbotapi.User{})
	cfg := tgbotapi.NewMessage(u.ID, "v1")
	cfg.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("a", "a")))
	m, err := bot.Send(cfg)
	if err != nil {
		t.Fatal(err)
	}

	edit := tgbotapi.NewEditMessageText(u.ID, m.MessageID, "<b>v2</b>")
	edit.ParseMode = tgbotapi.ModeHTML
	edited, err := bot.Send(edit)
	if err != nil || edited.Text != "v2" || edited.EditDate == 0 || edited.ReplyMarkup != nil {
		t.Fatalf("editMessageText: %v %+v", err, edited)
	}
	_, err = bot.Send(edit)
	if e := apiError(t, err); !strings.HasPrefix(e.Message, "Bad Request: message is not modified") {
		t.Errorf("same edit: %+v", e)
	}
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("b", "b")))
	if _, err := bot.Send(tgbotapi.NewEditMessageReplyMarkup(u.ID, m.MessageID, kb)); err != nil {
		t.Errorf("editMessageReplyMarkup: %v", err)
	}
	_, err = bot.Send(tgbotapi.NewEditMessageCaption(u.ID, m.MessageID, "c"))
	if e := apiError(t, err); e.Message != "Bad Request: there is no caption in the message to edit" {
		t.Errorf("caption of a text: %+v", e)
	}
	_, err = bot.Send(tgbotapi.NewEditMessageText(u.ID, 999, "x"))
	if e := apiError(t, err); e.Message != "Bad Request: message to edit not found" {
		t.Errorf("missing message: %+v", e)
	}

	r := srv.Sent(u.ID)[0]
	if len(r.Edits) != 2 || r.Plain != "v1" || r.Current().Plain != "v2" || r.Current().Keyboard == nil ||
		r.Edits[0].Method != "editMessageText" || r.Edits[0].Keyboard != nil {
		t.Errorf("record = %+v", r)
	}

	old, _ := bot.Send(tgbotapi.NewMessage(u.ID, "old"))
	if _, err := bot.Request(tgbotapi.NewDeleteMessage(u.ID, m.MessageID)); err != nil {
		t.Fatal(err)
	}
	_, err = bot.Request(tgbotapi.NewDeleteMessage(u.ID, m.MessageID))
	if e := apiError(t, err); e.Message != "Bad Request: message to delete not found" {
		t.Errorf("deleting twice: %+v", e)
	}
	srv.Advance(48*time.Hour + time.Second)
	_, err = bot.Request(tgbotapi.NewDeleteMessage(u.ID, old.MessageID))
	if e := apiError(t, err); e.Code != 400 || e.Message != "Bad Request: message can't be deleted" {
		t.Errorf("deleting after 48 h: %+v", e)
	}
	if r := srv.Sent(u.ID)[0]; !r.Deleted || r.DeletedAt.IsZero() {
		t.Errorf("deleted record = %+v", r)
	}
}

func TestCommands(t *testing.T) {
	srv, bot := newBot(t)
	g := srv.AddChat(tgbotapi.Chat{Type: "supergroup"})
	cmds := []tgbotapi.BotCommand{{Command: "start", Description: "ابدأ"}, {Command: "sections", Description: "الأقسام"}}
	if _, err := bot.Request(tgbotapi.NewSetMyCommandsWithScopeAndLanguage(tgbotapi.NewBotCommandScopeAllPrivateChats(), "ar", cmds...)); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.Request(tgbotapi.NewSetMyCommandsWithScope(tgbotapi.NewBotCommandScopeChatAdministrators(g.ID), cmds[:1]...)); err != nil {
		t.Fatal(err)
	}
	got, err := bot.GetMyCommandsWithConfig(tgbotapi.NewGetMyCommandsWithScopeAndLanguage(tgbotapi.NewBotCommandScopeAllPrivateChats(), "ar"))
	if err != nil || len(got) != 2 || got[1].Command != "sections" {
		t.Errorf("getMyCommands = %+v, %v", got, err)
	}
	if def, _ := bot.GetMyCommands(); len(def) != 0 {
		t.Errorf("default scope = %+v", def)
	}
	if c := srv.Commands(tgbotapi.BotCommandScope{Type: "chat_administrators", ChatID: g.ID}, ""); len(c) != 1 {
		t.Errorf("Commands = %+v", c)
	}
	for name, bad := range map[string]tgbotapi.BotCommand{
		"upper case":       {Command: "Start", Description: "x"},
		"too long":         {Command: strings.Repeat("a", 33), Description: "x"},
		"no description":   {Command: "start"},
		"long description": {Command: "start", Description: strings.Repeat("ت", 257)},
	} {
		if _, err := bot.Request(tgbotapi.NewSetMyCommands(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestChatMembers(t *testing.T) {
	srv, bot := newBot(t)
	owner := tgbotapi.User{ID: 42, FirstName: "Owner"}
	ch := srv.AddChat(tgbotapi.Chat{Type: "channel", UserName: "news"})
	srv.SetMember(ch.ID, tgbotapi.ChatMember{User: &owner, Status: "creator"})

	me, err := bot.GetChatMember(tgbotapi.GetChatMemberConfig{ChatConfigWithUser: tgbotapi.ChatConfigWithUser{ChatID: ch.ID, UserID: bot.Self.ID}})
	if err != nil || me.Status != "administrator" || !me.CanPostMessages {
		t.Errorf("bot in channel = %+v, %v", me, err)
	}
	admins, err := bot.GetChatAdministrators(tgbotapi.ChatAdministratorsConfig{ChatConfig: tgbotapi.ChatConfig{SuperGroupUsername: "@news"}})
	if err != nil || len(admins) != 2 || admins[0].User.ID != owner.ID || admins[0].Status != "creator" {
		t.Errorf("administrators = %+v, %v", admins, err)
	}
	chat, err := bot.GetChat(tgbotapi.ChatInfoConfig{ChatConfig: tgbotapi.ChatConfig{SuperGroupUsername: "@news"}})
	if err != nil || chat.ID != ch.ID || chat.Type != "channel" || chat.UserName != "news" {
		t.Errorf("getChat = %+v, %v", chat, err)
	}
	nobody, err := bot.GetChatMember(tgbotapi.GetChatMemberConfig{ChatConfigWithUser: tgbotapi.ChatConfigWithUser{ChatID: ch.ID, UserID: owner.ID + 1}})
	if e := apiError(t, err); e.Message != "Bad Request: user not found" {
		t.Errorf("unknown user: %+v %+v", e, nobody)
	}
}
