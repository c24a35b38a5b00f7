package nashra

import "time"

// Alert is something an admin should hear about without asking.
type Alert struct {
	ID        int64
	Kind      string // flood_guard, feed_failing, feed_stale, …
	Subject   string // what it is about: a feed URL, a channel
	Message   string // Arabic, ready to show an admin
	CreatedAt time.Time
}
