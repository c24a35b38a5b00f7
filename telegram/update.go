package telegram

import (
	"encoding/json"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// Update is an update as Telegram sends it, with the forum topic that the
// client library's types (Bot API 5.5) do not know: forum topics came with
// Bot API 6.3.
type Update struct {
	tgbotapi.Update
	// Thread is the forum topic of the update's message, or of the message
	// a pressed button is under; 0 outside topics.
	Thread int64
}

// topicFields are the fields of a message that say its forum topic.
// message_thread_id alone also names a reply thread in a group without
// topics: only is_topic_message makes it a topic.
type topicFields struct {
	MessageThreadID int64 `json:"message_thread_id"`
	IsTopicMessage  bool  `json:"is_topic_message"`
}

func (t *topicFields) thread() int64 {
	if t == nil || !t.IsTopicMessage {
		return 0
	}
	return t.MessageThreadID
}

// UnmarshalJSON reads the update and its forum topic.
func (u *Update) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &u.Update); err != nil {
		return err
	}
	var t struct {
		Message       *topicFields `json:"message"`
		CallbackQuery *struct {
			Message *topicFields `json:"message"`
		} `json:"callback_query"`
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	u.Thread = t.Message.thread()
	if t.CallbackQuery != nil {
		u.Thread = t.CallbackQuery.Message.thread()
	}
	return nil
}
