package nashra

import "time"

// DeliveryState says where an outbox row stands.
type DeliveryState string

// The states of an outbox row. Pending, held and claimed rows are open; the
// others are final.
const (
	// DeliveryPending: due, waiting to be claimed.
	DeliveryPending DeliveryState = "pending"
	// DeliveryHeld: waits until NotBefore (quiet hours, the hourly bundle, a
	// retry's backoff).
	DeliveryHeld DeliveryState = "held"
	// DeliveryClaimed: leased by a dispatcher until its lease ends.
	DeliveryClaimed DeliveryState = "claimed"
	// DeliverySent: Telegram took it; MessageID says which message.
	DeliverySent DeliveryState = "sent"
	// DeliveryCancelled: an editor cancelled or retracted it, or the chat
	// went away.
	DeliveryCancelled DeliveryState = "cancelled"
	// DeliveryStale: it waited longer than news stays news.
	DeliveryStale DeliveryState = "stale"
	// DeliveryDead: retried to the limit, or refused for good; the error is
	// kept for admins.
	DeliveryDead DeliveryState = "dead"
	// DeliveryRetracted: sent, then deleted from the chat by a retraction.
	DeliveryRetracted DeliveryState = "retracted"
)

// DeliveryBounced is the final state of a send-log row whose address was
// refused permanently. The send log shares the outbox's other states.
const DeliveryBounced DeliveryState = "bounced"

// Lane orders outbox rows: a lower lane is claimed first. Replies to
// readers have a table of their own and go before every lane.
type Lane int

// The lanes of the outbox.
const (
	LaneBreaking Lane = 1
	LaneChannels Lane = 2
	LaneGroups   Lane = 3
	LanePrivate  Lane = 4
)

// The work left on a sent message.
const (
	TodoEdit   = "edit"
	TodoDelete = "delete"
)

// Delivery is one outbox row: an article for a chat.
type Delivery struct {
	ID        int64
	ArticleID int64
	ChatID    int64
	// ThreadID is the forum topic the post goes to, 0 outside topics.
	ThreadID int64
	Kind     ChatKind
	Lane     Lane
	// Reason is why a chat that does not follow the article's sections
	// gets it: the phrase it follows, or '#' and the tag; empty for a
	// section's post.
	Reason    string
	State     DeliveryState
	CreatedAt time.Time
	// DueAt is when the reader wants it; staleness counts from here.
	DueAt     time.Time
	NotBefore time.Time
	// Plain is set once Telegram refused the HTML of this post.
	Plain     bool
	Attempts  int
	ErrorKind string
	LastError string
	// Set once sent.
	MessageID    int
	Caption      bool
	Bundled      bool
	SentAt       time.Time
	SentRevision int
	// Todo is TodoEdit or TodoDelete when a sent message needs work.
	Todo string
	// Settings are the chat's when it is a known reader or group, nil for
	// a channel known only from the section mapping, or a chat deleted
	// since the fan-out. Filled by claims.
	Settings *ChatSettings
	// ChatActive is false when the chat was marked inactive since the
	// fan-out (it blocked the bot); true when unknown.
	ChatActive bool
}

// The lanes of the replies table.
const (
	// ReplyLane: answers to readers, taking turns with the pushes.
	ReplyLane = 0
	// BroadcastLane: an admin's message to every reader, sent behind the
	// fan-outs.
	BroadcastLane = 5
)

// MethodDigest is the method of a queued Telegram digest: not a Bot API
// method, but the dispatcher's cue to have the digest rendered for the
// chat when it is sent. Its Params carry "digest_id".
const MethodDigest = "digest"

// QueuedReply is an answer the bot queued for a reader: a Bot API method
// and its parameters, exactly as they will be sent, except chat_id, which
// is set from ChatID.
type QueuedReply struct {
	ID     int64
	ChatID int64
	Lane   int
	Method string
	Params map[string]string
	// Merge says what the reply answers: queued replies to one chat with
	// the same Merge replace each other, the newest winning. Empty: never
	// merged.
	Merge     string
	CreatedAt time.Time
	Attempts  int
}
