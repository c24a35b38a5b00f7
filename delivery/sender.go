// Package delivery carries messages from the store to Telegram: a durable
// outbox of one row per (chat, article), a dispatcher that claims rows with
// leases and sends them within Telegram's limits, and the lane for replies
// to readers, which takes turns with the pushes so that neither can hold
// the other back.
package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/almaalouma/nashra"
)

// Target is the chat a message goes to.
type Target struct {
	ChatID int64
	Kind   nashra.ChatKind
	// Silent sends without a notification sound (quiet hours, "silent").
	Silent bool
	// ThreadID is the forum topic of the chat the message goes to, 0
	// outside topics.
	ThreadID int64
	// Reason is why the chat gets a post it does not follow the section
	// of: the phrase it follows, or '#' and the tag; empty otherwise.
	Reason string
}

// Post asks for articles to be posted to one chat: one article is a full
// post; several are a coalesced bundle listing them.
type Post struct {
	Target   Target
	Articles []nashra.Article
	// Reasons, for a bundle, is each article's reason (as Target.Reason),
	// in the order of Articles; nil when none has one.
	Reasons []string
	// Plain asks for the post without parse_mode: Telegram refused its
	// HTML once, and a post is never lost for its markup.
	Plain bool
}

// Reply is an answer the bot queued for a reader: a Bot API method with its
// parameters, exactly as they will be sent.
type Reply struct {
	ChatID int64
	Method string
	Params map[string]string
	// Merge names what the reply answers ("start", "text", an edit of one
	// message…). While it waits, a newer reply to the same chat with the
	// same Merge takes its place, and a chat keeps only its few newest
	// such replies: a reader who floods the bot gets a few answers, not
	// one per message. Empty: the reply is always sent (a digest, a
	// notice).
	Merge string
}

// Sent is what Telegram answered to a successful send.
type Sent struct {
	MessageID int
	// Caption is true when the post went out as a photo or document, whose
	// text is a caption: a correction edits the caption, not the text.
	Caption bool
}

// Sender talks to Telegram. Its methods return a *SendError when Telegram
// (or the way to it) refused, so that the dispatcher can decide what next.
// Before each request to Telegram a method makes (each try, each item of
// an album) it calls Admit with the context it was given, and the sent
// function once the request has been written out: that is how the
// dispatcher keeps every request within the bot-wide limit.
type Sender interface {
	// Post sends a post or a bundle.
	Post(ctx context.Context, p Post) (Sent, error)
	// Reply sends a queued reply.
	Reply(ctx context.Context, r Reply) (Sent, error)
	// Edit replaces the text (or caption) of a post already sent with the
	// article's current title and summary.
	Edit(ctx context.Context, t Target, messageID int, caption bool, a nashra.Article) error
	// Delete removes a message sent earlier; Telegram allows it for 48 hours.
	Delete(ctx context.Context, chatID int64, messageID int) error
}

// ErrorKind says what a failed send means for the row and the chat.
type ErrorKind int

// The kinds of send failures.
const (
	// Transient: 5xx, a timeout, a non-JSON answer from a proxy: retry with
	// backoff.
	Transient ErrorKind = iota
	// RateLimited: 429; RetryAfter says how long the scope must rest.
	RateLimited
	// ChatGone: blocked, deactivated, kicked, chat not found: the chat is
	// marked inactive and its pending rows cancelled.
	ChatGone
	// Migrated: the group became a supergroup; MigrateTo is its new id.
	Migrated
	// BadMarkup: Telegram could not parse the HTML; resend once as plain
	// text and log it as a bug.
	BadMarkup
	// Rejected: any other permanent refusal (a 400 for this message).
	Rejected
	// TopicGone: the forum topic the post went to was deleted or closed:
	// the post goes once more to the general topic, and what the topic
	// followed with it.
	TopicGone
)

func (k ErrorKind) String() string {
	switch k {
	case Transient:
		return "transient"
	case RateLimited:
		return "rate_limited"
	case ChatGone:
		return "chat_gone"
	case Migrated:
		return "migrated"
	case BadMarkup:
		return "bad_markup"
	case TopicGone:
		return "topic_gone"
	default:
		return "rejected"
	}
}

// SendError is a send that failed, classified.
type SendError struct {
	Kind       ErrorKind
	RetryAfter time.Duration // RateLimited
	MigrateTo  int64         // Migrated
	// Reason is Telegram's description (never the request URL, which holds
	// the token).
	Reason string
	Err    error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("send %s: %s", e.Kind, e.Reason)
}

func (e *SendError) Unwrap() error { return e.Err }
