package nashra

import "time"

// FollowKind says what a chat's follow does.
type FollowKind string

// The kinds of follow.
const (
	// FollowKeyword delivers the articles in which a phrase occurs, after
	// Arabic normalisation and light morphology.
	FollowKeyword FollowKind = "follow"
	// FollowMute drops the articles in which a phrase occurs from the
	// chat's section pushes.
	FollowMute FollowKind = "mute"
	// FollowTag delivers the articles that carry a feed category or tag.
	FollowTag FollowKind = "tag"
)

// Follow is a keyword, a mute or a tag a chat follows, in a forum topic of
// it or not.
type Follow struct {
	ID     int64
	ChatID int64
	// ThreadID is the forum topic whose posts it feeds, 0 outside topics.
	ThreadID int64
	Kind     FollowKind
	// Key is the phrase's normalised form: two phrases with the same key
	// are the same follow.
	Key string
	// Phrase is as the reader wrote it.
	Phrase    string
	CreatedAt time.Time
}

// Topic is a chat, or a forum topic of it (ThreadID not 0).
type Topic struct {
	ChatID, ThreadID int64
}

// FollowDelivery is a chat, or a forum topic of it, an article goes to
// because of what it follows.
type FollowDelivery struct {
	ChatID, ThreadID int64
	// Reason is what the post says it was sent for: the phrase followed, or
	// the tag after '#'.
	Reason string
}
