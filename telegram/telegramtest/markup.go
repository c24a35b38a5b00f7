package telegramtest

import (
	"encoding/json"
	"net/url"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// markup is a validated reply_markup.
type markup struct {
	raw    json.RawMessage
	inline *tgbotapi.InlineKeyboardMarkup // nil unless an inline keyboard
}

// inlineRaw is what a message carries back: only inline keyboards stay
// attached to a message.
func (m markup) inlineRaw() json.RawMessage {
	if m.inline == nil {
		return nil
	}
	return m.raw
}

// buttonActions are the fields of which an inline button needs one.
var buttonActions = []string{"url", "callback_data", "login_url", "switch_inline_query",
	"switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "callback_game",
	"pay", "web_app", "copy_text"}

// parseMarkup validates a reply_markup parameter as Telegram does: inline
// keyboard buttons need text and an action, URL buttons a valid URL,
// callback buttons 1–64 bytes of data.
func parseMarkup(v string) (markup, *apiError) {
	v = strings.TrimSpace(v)
	if v == "" {
		return markup{}, nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal([]byte(v), &fields) != nil {
		return markup{}, badRequest("can't parse reply keyboard markup JSON object")
	}
	m := markup{raw: json.RawMessage(v)}
	rawRows, ok := fields["inline_keyboard"]
	if !ok {
		for _, k := range []string{"keyboard", "remove_keyboard", "force_reply"} {
			if _, ok := fields[k]; ok {
				return m, nil
			}
		}
		return markup{}, badRequest("can't parse reply keyboard markup JSON object")
	}
	var rows [][]map[string]json.RawMessage
	if json.Unmarshal(rawRows, &rows) != nil {
		return markup{}, badRequest("can't parse inline keyboard button: field \"inline_keyboard\" must be an Array of Arrays")
	}
	for _, row := range rows {
		for _, b := range row {
			if e := checkButton(b); e != nil {
				return markup{}, e
			}
		}
	}
	m.inline = &tgbotapi.InlineKeyboardMarkup{}
	if json.Unmarshal(m.raw, m.inline) != nil {
		return markup{}, badRequest("can't parse reply keyboard markup JSON object")
	}
	return m, nil
}

func checkButton(b map[string]json.RawMessage) *apiError {
	var text string
	if json.Unmarshal(b["text"], &text) != nil {
		return badRequest("can't parse inline keyboard button: Can't find field \"text\"")
	}
	if strings.TrimSpace(text) == "" {
		return badRequest("BUTTON_TEXT_INVALID")
	}
	if raw, ok := b["url"]; ok {
		var u string
		if json.Unmarshal(raw, &u) != nil || !buttonURL(u) {
			return badRequest("BUTTON_URL_INVALID")
		}
	}
	if raw, ok := b["callback_data"]; ok {
		var data string
		if json.Unmarshal(raw, &data) != nil || len(data) < 1 || len(data) > 64 {
			return badRequest("BUTTON_DATA_INVALID")
		}
	}
	for _, k := range buttonActions {
		if _, ok := b[k]; ok {
			return nil
		}
	}
	return badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
}

// buttonURL accepts http(s) URLs with a host, and tg: links.
func buttonURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "http", "https":
		return u.Host != "" && !strings.ContainsAny(u.Host, " <>\"")
	case "tg":
		return u.Opaque != "" || u.Host != ""
	}
	return false
}
