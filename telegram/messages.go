package telegram

import (
	"encoding/json"
	"strconv"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/delivery"
)

// NoPreview turns link previews off: a message listing links would
// otherwise show the first one's preview.
const NoPreview = `{"is_disabled":true}`

// readMore labels a post's button to an article that is read; followTag starts a tag
// button's label.
const (
	readMore  = "اقرأ المزيد"
	followTag = "تابع "
)

// TextMessage is a sendMessage in HTML, without link previews, with an
// optional inline keyboard: the form of the bot's replies and of the
// Telegram digest.
func TextMessage(chatID int64, html string, kb *tgbotapi.InlineKeyboardMarkup) delivery.Reply {
	p := map[string]string{
		"chat_id":              strconv.FormatInt(chatID, 10),
		"text":                 html,
		"parse_mode":           tgbotapi.ModeHTML,
		"link_preview_options": NoPreview,
	}
	SetMarkup(p, kb)
	return delivery.Reply{ChatID: chatID, Method: "sendMessage", Params: p}
}

// Quoting makes a message in a group answer the message messageID (a
// command), so that the group sees who asked; a deleted command does not
// stop it. A messageID of 0 leaves r as it is.
func Quoting(r delivery.Reply, messageID int) delivery.Reply {
	if messageID != 0 {
		r.Params["reply_parameters"] = `{"message_id":` + strconv.Itoa(messageID) + `,"allow_sending_without_reply":true}`
	}
	return r
}

// EditMarkup replaces the inline keyboard of a message in place.
func EditMarkup(chatID int64, messageID int, kb *tgbotapi.InlineKeyboardMarkup) delivery.Reply {
	p := map[string]string{
		"chat_id":    strconv.FormatInt(chatID, 10),
		"message_id": strconv.Itoa(messageID),
	}
	SetMarkup(p, kb)
	return delivery.Reply{ChatID: chatID, Method: "editMessageReplyMarkup", Params: p}
}

// EditText replaces the HTML text and the keyboard of a message in place,
// without link previews.
func EditText(chatID int64, messageID int, html string, kb *tgbotapi.InlineKeyboardMarkup) delivery.Reply {
	p := map[string]string{
		"chat_id":              strconv.FormatInt(chatID, 10),
		"message_id":           strconv.Itoa(messageID),
		"text":                 html,
		"parse_mode":           tgbotapi.ModeHTML,
		"link_preview_options": NoPreview,
	}
	SetMarkup(p, kb)
	return delivery.Reply{ChatID: chatID, Method: "editMessageText", Params: p}
}

// AnswerCallback answers a callback query; text, when set, shows as a
// short notice, or as an alert box when alert is true.
func AnswerCallback(chatID int64, queryID, text string, alert bool) delivery.Reply {
	p := map[string]string{"callback_query_id": queryID}
	if text != "" {
		p["text"] = text
	}
	if alert {
		p["show_alert"] = "true"
	}
	return delivery.Reply{ChatID: chatID, Method: "answerCallbackQuery", Params: p}
}

// SetMarkup puts an inline keyboard in a request's parameters; nil leaves
// them without one.
func SetMarkup(p map[string]string, kb *tgbotapi.InlineKeyboardMarkup) {
	if kb == nil {
		return
	}
	b, err := json.Marshal(kb)
	if err != nil {
		panic(err) // a keyboard of strings always marshals
	}
	p["reply_markup"] = string(b)
}

// readMoreKeyboard is a post's URL button to its article, labelled as
// Renderer.Button says; nil when link is not a web address (Telegram would
// refuse the whole message).
func readMoreKeyboard(label, link string) *tgbotapi.InlineKeyboardMarkup {
	if !IsWebURL(link) {
		return nil
	}
	kb := tgbotapi.NewInlineKeyboardMarkup([]tgbotapi.InlineKeyboardButton{tgbotapi.NewInlineKeyboardButtonURL(label, link)})
	return &kb
}

// Tag buttons under a reader's copy of a post: "تابع #الكهرباء" follows the
// article's category. The callback data names the article and the
// category's place in it, never the tag itself, which may pass Telegram's
// 64 bytes.
const (
	// CallbackFollowTag starts the data of a tag button; the article's id,
	// ':' and the category's index follow.
	CallbackFollowTag = "ft:"
	maxTagButtons     = 4
	maxTagButtonLen   = 40 // UTF-16 units of the tag on a button
)

// postKeyboard is a post's keyboard: "اقرأ المزيد", and in a reader's own
// chat a button to follow each of the article's categories that is not a
// section.
func (s *Sender) postKeyboard(a nashra.Article, medium nashra.Medium, chat int64) *tgbotapi.InlineKeyboardMarkup {
	kb := readMoreKeyboard(s.render.Button(a), s.render.Link(a, medium, chat))
	if chat == 0 || a.ID == 0 {
		return kb
	}
	var row []tgbotapi.InlineKeyboardButton
	var rows [][]tgbotapi.InlineKeyboardButton
	n := 0
	for i, c := range a.Categories {
		tag := Hashtag(c)
		if tag == "#" || Len(tag) > maxTagButtonLen || s.render.isSection(c) {
			continue
		}
		row = append(row, tgbotapi.NewInlineKeyboardButtonData(followTag+tag, CallbackFollowTag+strconv.FormatInt(a.ID, 10)+":"+strconv.Itoa(i)))
		if len(row) == 2 {
			rows, row = append(rows, row), nil
		}
		if n++; n == maxTagButtons {
			break
		}
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return kb
	}
	if kb == nil {
		kb = &tgbotapi.InlineKeyboardMarkup{}
	}
	kb.InlineKeyboard = append(kb.InlineKeyboard, rows...)
	return kb
}

// CutHTMLLines keeps whole lines of a message whose lines each close their
// own tags, within limit UTF-16 units of visible text, so that a long list
// is cut without breaking its markup.
func CutHTMLLines(h string, limit int) string {
	var out strings.Builder
	n := 0
	for line := range strings.SplitAfterSeq(h, "\n") {
		l := Len(Visible(line))
		if n+l > limit-2 {
			out.WriteString("…")
			break
		}
		n += l
		out.WriteString(line)
	}
	return strings.TrimRight(out.String(), "\n")
}
