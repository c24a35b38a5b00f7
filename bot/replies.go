package bot

import (
	"strconv"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/telegram"
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

// editMarkupReply replaces the keyboard of a message in place.
func editMarkupReply(chatID int64, messageID int, kb *tgbotapi.InlineKeyboardMarkup) delivery.Reply {
	r := telegram.EditMarkup(chatID, messageID, kb)
	r.Merge = editMerge("markup", messageID)
	return r
}

// editMerge makes the edits of one message of one kind replace each other.
func editMerge(kind string, messageID int) string {
	return "edit-" + kind + ":" + strconv.Itoa(messageID)
}

// editTextReply replaces the text and keyboard of a message in place.
func editTextReply(chatID int64, messageID int, html string, kb *tgbotapi.InlineKeyboardMarkup) delivery.Reply {
	r := telegram.EditText(chatID, messageID, html, kb)
	r.Merge = editMerge("text", messageID)
	return r
}

// answerReply answers a callback query. Of taps in quick succession, the
// last is answered; the others' buttons stop spinning on their own.
func answerReply(chatID int64, queryID, text string, alert bool) delivery.Reply {
	r := telegram.AnswerCallback(chatID, queryID, text, alert)
	r.Merge = "answer"
	return r
}
