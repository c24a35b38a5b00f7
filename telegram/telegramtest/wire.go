package telegramtest

import (
	"encoding/json"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// The types below are the JSON shapes the real Bot API sends. They are kept
// apart from tgbotapi's types because those marshal absent objects as null
// and drop is_bot=false, which Telegram never does, and they lack fields newer
// than Bot API 5.5 (custom_emoji_id, link_preview_options).

type wireUser struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name,omitempty"`
	Username     string `json:"username,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`
}

type wireChat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title,omitempty"`
	Username  string `json:"username,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	IsForum   bool   `json:"is_forum,omitempty"`
}

// entity is a MessageEntity; offsets and lengths are in UTF-16 code units.
type entity struct {
	Type          string `json:"type"`
	Offset        int    `json:"offset"`
	Length        int    `json:"length"`
	URL           string `json:"url,omitempty"`
	Language      string `json:"language,omitempty"`
	CustomEmojiID string `json:"custom_emoji_id,omitempty"`
}

type photoSize struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FileSize     int    `json:"file_size,omitempty"`
}

type wireDocument struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int    `json:"file_size,omitempty"`
}

type wireMessage struct {
	MessageID          int             `json:"message_id"`
	MessageThreadID    int64           `json:"message_thread_id,omitempty"`
	IsTopicMessage     bool            `json:"is_topic_message,omitempty"`
	From               *wireUser       `json:"from,omitempty"`
	SenderChat         *wireChat       `json:"sender_chat,omitempty"`
	Date               int64           `json:"date"`
	Chat               wireChat        `json:"chat"`
	ReplyToMessage     *wireMessage    `json:"reply_to_message,omitempty"`
	EditDate           int64           `json:"edit_date,omitempty"`
	Text               string          `json:"text,omitempty"`
	Entities           []entity        `json:"entities,omitempty"`
	LinkPreviewOptions json.RawMessage `json:"link_preview_options,omitempty"`
	Photo              []photoSize     `json:"photo,omitempty"`
	Document           *wireDocument   `json:"document,omitempty"`
	Caption            string          `json:"caption,omitempty"`
	CaptionEntities    []entity        `json:"caption_entities,omitempty"`
	MigrateToChatID    int64           `json:"migrate_to_chat_id,omitempty"`
	MigrateFromChatID  int64           `json:"migrate_from_chat_id,omitempty"`
	ReplyMarkup        json.RawMessage `json:"reply_markup,omitempty"`
}

type wireCallbackQuery struct {
	ID           string       `json:"id"`
	From         wireUser     `json:"from"`
	Message      *wireMessage `json:"message,omitempty"`
	ChatInstance string       `json:"chat_instance"`
	Data         string       `json:"data,omitempty"`
}

type wireChatMemberUpdated struct {
	Chat          wireChat       `json:"chat"`
	From          wireUser       `json:"from"`
	Date          int64          `json:"date"`
	OldChatMember map[string]any `json:"old_chat_member"`
	NewChatMember map[string]any `json:"new_chat_member"`
}

func userToWire(u tgbotapi.User) wireUser {
	return wireUser{
		ID:           u.ID,
		IsBot:        u.IsBot,
		FirstName:    u.FirstName,
		LastName:     u.LastName,
		Username:     u.UserName,
		LanguageCode: u.LanguageCode,
	}
}

func (u wireUser) api() tgbotapi.User {
	return tgbotapi.User{
		ID:           u.ID,
		IsBot:        u.IsBot,
		FirstName:    u.FirstName,
		LastName:     u.LastName,
		UserName:     u.Username,
		LanguageCode: u.LanguageCode,
	}
}

func (c wireChat) api() tgbotapi.Chat {
	return tgbotapi.Chat{
		ID:        c.ID,
		Type:      c.Type,
		Title:     c.Title,
		UserName:  c.Username,
		FirstName: c.FirstName,
		LastName:  c.LastName,
	}
}

// memberJSON renders a ChatMember the way Bot API 6+ does: each status has
// its own set of fields, and the boolean rights of an administrator are
// always present, false included.
func memberJSON(m tgbotapi.ChatMember, u wireUser, chatType string) map[string]any {
	out := map[string]any{"user": u, "status": m.Status}
	switch m.Status {
	case "creator":
		out["is_anonymous"] = m.IsAnonymous
		if m.CustomTitle != "" {
			out["custom_title"] = m.CustomTitle
		}
	case "administrator":
		out["can_be_edited"] = m.CanBeEdited
		out["is_anonymous"] = m.IsAnonymous
		out["can_manage_chat"] = m.CanManageChat
		out["can_delete_messages"] = m.CanDeleteMessages
		out["can_manage_video_chats"] = m.CanManageVoiceChats
		out["can_restrict_members"] = m.CanRestrictMembers
		out["can_promote_members"] = m.CanPromoteMembers
		out["can_change_info"] = m.CanChangeInfo
		out["can_invite_users"] = m.CanInviteUsers
		if chatType == "channel" {
			out["can_post_messages"] = m.CanPostMessages
			out["can_edit_messages"] = m.CanEditMessages
		} else {
			out["can_pin_messages"] = m.CanPinMessages
		}
		if m.CustomTitle != "" {
			out["custom_title"] = m.CustomTitle
		}
	case "restricted":
		out["is_member"] = m.IsMember
		out["can_send_messages"] = m.CanSendMessages
		out["until_date"] = m.UntilDate
	case "kicked":
		out["until_date"] = m.UntilDate
	}
	return out
}
