package nashra

import "time"

// Click is one counted click on a tracked link.
type Click struct {
	ArticleID int64
	// Medium is where the link was shown.
	Medium Medium
	// Reader identifies who clicked, for uniqueness: "s:<id>" for an email
	// subscriber, "c:<id>" for a private chat, "v:<hash>" for an anonymous
	// visitor of one day.
	Reader string
	// Network is a key of an anonymous visitor's source network for the
	// day (never the address itself): the readers of one network count
	// for an article up to a cap a day. Empty for personal links.
	Network string
	At      time.Time
}

// Medium is where a link to an article was shown, for the counts by medium;
// the values are stored and configured as they are.
type Medium string

// The media of tracked links.
const (
	// MediumTelegram: posts to readers and groups.
	MediumTelegram Medium = "telegram"
	// MediumChannel: posts to channels.
	MediumChannel Medium = "channel"
	// MediumEmail: the email digest.
	MediumEmail Medium = "email"
	// MediumWeb: nashra's own pages (the digest archive).
	MediumWeb Medium = "web"
)
