package nashra

import "time"

// EmailState says where an email subscriber stands.
type EmailState string

// The states of an email subscriber.
const (
	// EmailPending: signed up, not confirmed yet; forgotten after a while.
	EmailPending EmailState = "pending"
	// EmailActive: confirmed; gets the digest.
	EmailActive EmailState = "active"
	// EmailPaused: confirmed, but the reader paused the digest.
	EmailPaused EmailState = "paused"
	// EmailUnsubscribed: the reader left; never mailed again unless they
	// sign up and confirm anew.
	EmailUnsubscribed EmailState = "unsubscribed"
	// EmailBounced: the address was refused permanently too many times.
	EmailBounced EmailState = "bounced"
)

// EmailSubscriber is a reader of the email digest.
type EmailSubscriber struct {
	ID      int64
	Address string
	// Sections are the slugs chosen, in ascending order; nil means every
	// section, including those added later.
	Sections    []string
	State       EmailState
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ConfirmedAt time.Time
	RequestedAt time.Time
	// Bounces counts permanent refusals since the last successful send.
	Bounces    int
	LastBounce string
}

// Subscribed reports whether the state is one of a subscriber who has
// confirmed and not left: active or paused. Such a subscriber who signs up
// again gets a notice with their preference link, not a confirmation.
func (s EmailState) Subscribed() bool { return s == EmailActive || s == EmailPaused }

// Subscribed reports whether the subscriber has confirmed and not left.
func (s EmailSubscriber) Subscribed() bool { return s.State.Subscribed() }
