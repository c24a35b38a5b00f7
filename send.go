package nashra

import "time"

// SendKind says what a send-log row carries.
type SendKind string

// The kinds of send-log rows.
const (
	SendDigest  SendKind = "digest"
	SendConfirm SendKind = "confirm"
	SendNotice  SendKind = "notice"
)

// SendMedium says how a send-log row reaches its recipient.
type SendMedium string

// The media of the send log.
const (
	// SendEmail: RecipientID is an email subscriber.
	SendEmail SendMedium = "email"
	// SendTelegram: the Telegram digest, queued with the bot's
	// replies; SendCounts counts it under this medium.
	SendTelegram SendMedium = "telegram"
)

// Send is a claimed send-log row.
type Send struct {
	ID          int64
	Kind        SendKind
	Medium      SendMedium
	DigestID    int64
	RecipientID int64
	// Sections are the email subscriber's sections when the row was made
	// (nil: all); Telegram rows carry none.
	Sections  []string
	Attempts  int
	CreatedAt time.Time
	// Address is the email subscriber's; empty for Telegram.
	Address string
}
