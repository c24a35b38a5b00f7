package nashra

import "time"

// DigestState says what became of a day's digest.
type DigestState string

// The states of a day's digest. A day without a digest row is still due.
const (
	// DigestSending: its messages are being sent.
	DigestSending DigestState = "sending"
	// DigestSent: no message of it is left to send.
	DigestSent DigestState = "sent"
	// DigestEmpty: nothing new was published in its window; nothing sent.
	DigestEmpty DigestState = "empty"
	// DigestMissed: not started before the day's cut-off hour.
	DigestMissed DigestState = "missed"
)

// DigestPicks are the articles of a digest, by id.
type DigestPicks struct {
	// Lead is the lead story; 0 when the window held nothing.
	Lead     int64           `json:"lead,omitempty"`
	Sections []DigestSection `json:"sections,omitempty"`
	// MostFollowed says readers' signals ranked the lead; false means the
	// order is only recency, and readers are told "the latest".
	MostFollowed bool `json:"most_followed,omitempty"`
}

// DigestSection is one section's picks, best first.
type DigestSection struct {
	Section  string  `json:"section"`
	Articles []int64 `json:"articles"`
	// MostFollowed says at least one of them was ranked by signals.
	MostFollowed bool `json:"most_followed,omitempty"`
}

// Digest is one day's digest.
type Digest struct {
	ID int64
	// Day is the local date, YYYY-MM-DD in the site's time zone.
	Day     string
	State   DigestState
	Subject string
	// Picks are the articles over every section, as the archive shows them.
	Picks DigestPicks
	// WindowStart and WindowEnd bound the articles it covers.
	WindowStart time.Time
	WindowEnd   time.Time
	CreatedAt   time.Time
	FinishedAt  time.Time
	// Emails and Chats count the messages it queued.
	Emails int
	Chats  int
}

// Empty reports whether the picks hold no article at all.
func (p DigestPicks) Empty() bool { return p.Lead == 0 }
