package telegram

import (
	"encoding/json"
	"strconv"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra/delivery"
)

// NoPreview turns link previews off: a message listing links would
// otherwise show the first one's preview.
const NoPreview = `{"is_disabled":true}`

// readMore labels a post's button to an article that is read.
const readMore = "اقرأ المزيد"

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
