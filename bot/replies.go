package bot

import (
	"strconv"
	"time"

	"github.com/almaalouma/nashra/telegram"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra/delivery"
)

// Replies are delivery.Reply values: a Bot API method and its parameters
// exactly as the dispatcher will send them. Each says what it answers
// (Merge): while it waits, a newer answer to the same thing in the same
// chat takes its place, so that a reader tapping or typing fast gets the
// latest answer once.

// mergeText is the Merge of the answers to plain text, which the bot also
// rations: a reader gets at most textBudget of them in textBudgetWindow,
// and no answer to the rest.
const (
	mergeText        = "text"
	textBudget       = 3
	textBudgetWindow = 10 * time.Minute
)

// textReply is a sendMessage in HTML with an optional inline keyboard.
func textReply(chatID int64, html string, kb *tgbotapi.InlineKeyboardMarkup) delivery.Reply {
	return telegram.TextMessage(chatID, html, kb)
}

// quoting makes a reply in a group answer the command it follows, so that
// the group sees who asked; a deleted command does not stop the reply.
func quoting(r delivery.Reply, messageID int) delivery.Reply {
	if messageID != 0 {
		r.Params["reply_parameters"] = `{"message_id":` + strconv.Itoa(messageID) + `,"allow_sending_without_reply":true}`
	}
	return r
}

// editMarkupReply replaces the keyboard of a message in place.
func editMarkupReply(chatID int64, messageID int, kb *tgbotapi.InlineKeyboardMarkup) delivery.Reply {
	p := map[string]string{
		"chat_id":    strconv.FormatInt(chatID, 10),
		"message_id": strconv.Itoa(messageID),
	}
	telegram.SetMarkup(p, kb)
	return delivery.Reply{ChatID: chatID, Method: "editMessageReplyMarkup", Params: p, Merge: editMerge("markup", messageID)}
}

// editMerge makes the edits of one message of one kind replace each other.
func editMerge(kind string, messageID int) string {
	return "edit-" + kind + ":" + strconv.Itoa(messageID)
}

// editTextReply replaces the text and keyboard of a message in place.
func editTextReply(chatID int64, messageID int, html string, kb *tgbotapi.InlineKeyboardMarkup) delivery.Reply {
	p := map[string]string{
		"chat_id":              strconv.FormatInt(chatID, 10),
		"message_id":           strconv.Itoa(messageID),
		"text":                 html,
		"parse_mode":           tgbotapi.ModeHTML,
		"link_preview_options": telegram.NoPreview,
	}
	telegram.SetMarkup(p, kb)
	return delivery.Reply{ChatID: chatID, Method: "editMessageText", Params: p, Merge: editMerge("text", messageID)}
}

// answerReply answers a callback query; text, when set, shows as a short
// notice (an alert box when alert is true).
func answerReply(chatID int64, queryID, text string, alert bool) delivery.Reply {
	p := map[string]string{"callback_query_id": queryID}
	if text != "" {
		p["text"] = text
	}
	if alert {
		p["show_alert"] = "true"
	}
	// Of taps in quick succession, the last is answered; the others'
	// buttons stop spinning on their own.
	return delivery.Reply{ChatID: chatID, Method: "answerCallbackQuery", Params: p, Merge: "answer"}
}
