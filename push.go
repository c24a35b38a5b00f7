package nashra

import "time"

// FeedPush is what a feed says of how it can be pushed, and the publish
// pings that asked for it.
type FeedPush struct {
	FeedID int64
	// Hub and Topic are the WebSub hub the feed's last full answer named
	// and the topic (its rel="self") to subscribe to; empty when it named
	// no hub.
	Hub          string
	Topic        string
	DiscoveredAt time.Time
	LastPingAt   time.Time
	Pings        int
}

// The states of a WebSub subscription.
const (
	// WebSubRequested: subscribe asked, never verified.
	WebSubRequested = "requested"
	// WebSubActive: verified; past LeaseUntil it has lapsed.
	WebSubActive = "active"
	// WebSubDenied: the hub refused the subscription.
	WebSubDenied = "denied"
	// WebSubUnsubscribing: unsubscribe asked.
	WebSubUnsubscribing = "unsubscribing"
)

// The modes of the requests a hub verifies (hub.mode).
const (
	HubSubscribe   = "subscribe"
	HubUnsubscribe = "unsubscribe"
)

// WebSubSubscription is one of nashra's subscriptions to a WebSub hub.
type WebSubSubscription struct {
	// Callback is the random last segment of the callback URL.
	Callback string
	FeedID   int64
	Hub      string
	Topic    string
	Secret   string
	State    string
	// Pending is the mode of the request the hub has yet to verify, ""
	// when none.
	Pending      string
	RequestedAt  time.Time
	LeaseSeconds int
	LeaseUntil   time.Time
	VerifiedAt   time.Time
	LastPushAt   time.Time
	Pushes       int
	// Signature is the strongest signature method the hub used.
	Signature string
	// Recent are the digests of the last bodies accepted.
	Recent []string
	// MissedAt is when a scheduled poll found articles the hub had not
	// announced; zero once a push came after.
	MissedAt time.Time
	// SilentSince is when the hub was judged to have stopped delivering.
	SilentSince   time.Time
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
}

// Pushing reports whether the hub is taken to push the feed's updates at
// now: verified, within its lease, and not judged silent.
func (s WebSubSubscription) Pushing(now time.Time) bool {
	return s.State == WebSubActive && now.Before(s.LeaseUntil) && s.SilentSince.IsZero()
}
