package telegramtest

import (
	"encoding/json"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// Record is a message the bot sent (sendMessage, sendPhoto, sendDocument or
// copyMessage), with the edits and the deletion applied to it since.
type Record struct {
	Method    string
	ChatID    int64
	MessageID int
	// Time is the fake's time when the message was accepted.
	Time time.Time
	// Content is the text or caption as sent.
	Content
	// FileID is the photo's (its largest size) or the document's file_id;
	// see File.
	FileID                string
	DisableNotification   bool
	DisableWebPagePreview bool
	// LinkPreviewOptions is the link_preview_options object as sent.
	LinkPreviewOptions json.RawMessage
	AllowPaidBroadcast bool
	ReplyToMessageID   int
	// ThreadID is the forum topic the message went to, 0 outside topics.
	ThreadID int64
	// Params holds every parameter as received (uploaded files excluded).
	Params map[string]string
	// Edits are the successful edit* calls on the message, in order.
	Edits     []Edit
	Deleted   bool
	DeletedAt time.Time
}

// Content is the text (or caption) and keyboard of a message.
type Content struct {
	// Text is the text or caption as sent, markup included.
	Text string
	// Plain is what the reader sees: tags removed, character references
	// decoded, surrounding white space stripped as Telegram strips it.
	Plain     string
	ParseMode string
	// ReplyMarkup is the reply_markup object as sent; Keyboard is the same
	// when it is an inline keyboard.
	ReplyMarkup json.RawMessage
	Keyboard    *tgbotapi.InlineKeyboardMarkup
}

// Edit is an accepted editMessageText, editMessageCaption or
// editMessageReplyMarkup call, with the message's content after it.
type Edit struct {
	Method string
	Time   time.Time
	Content
}

// Current returns the message's content after its edits.
func (r Record) Current() Content {
	if len(r.Edits) == 0 {
		return r.Content
	}
	return r.Edits[len(r.Edits)-1].Content
}

// Sent returns the messages the bot sent to a chat, in order, with their
// edits and deletions.
func (s *Server) Sent(chatID int64) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range s.records {
		if r.ChatID == chatID {
			out = append(out, r.clone())
		}
	}
	return out
}

// SentAll returns the messages the bot sent to all chats, in order.
func (s *Server) SentAll() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, len(s.records))
	for i, r := range s.records {
		out[i] = r.clone()
	}
	return out
}

// clone copies the parts of a record that later edits change.
func (r *Record) clone() Record {
	c := *r
	c.Edits = append([]Edit(nil), r.Edits...)
	return c
}
