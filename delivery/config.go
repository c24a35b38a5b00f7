package delivery

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes the delivery engine. The config package maps the YAML keys
// delivery.* (and telegram.limits.*) onto it; DefaultConfig gives every
// field a working value.
type Config struct {
	// GlobalPerSecond is the bot's budget for all messages (Telegram: 30;
	// up to 1000 with paid broadcasts). Replies, edits and deletes count.
	GlobalPerSecond float64
	// ChatPerSecond bounds messages to one private chat (Telegram: 1).
	ChatPerSecond float64
	// GroupPerMinute bounds messages to one group or channel (Telegram: 20).
	GroupPerMinute float64
	// WindowMargin widens the window in which GlobalPerSecond is counted
	// beyond one second: Telegram counts requests when they arrive, and
	// two sent a second apart arrive closer when the first took longer. It
	// is the jitter of the latency to Telegram that nashra absorbs, and it
	// costs its share of the rate (40 ms: 0.96 of the limit).
	WindowMargin time.Duration
	// Concurrency is how many sends may be in flight at once. It is also
	// the bound on duplicates after a kill -9: each in-flight send may have
	// reached Telegram without its acknowledgement being stored.
	Concurrency int
	// LeaseDuration is how long the dispatcher's lease and its claims on
	// rows last without renewal: after a crash, another instance (or the
	// restarted one) waits at most this long before it takes over.
	LeaseDuration time.Duration
	// SendTimeout bounds one call to Telegram, including at shutdown, when
	// in-flight sends are finished rather than abandoned.
	SendTimeout time.Duration
	// StaleAfter drops a row that has been due this long as stale: news
	// that old is not pushed as if it were news.
	StaleAfter time.Duration
	// ReplyStaleAfter drops a reply nobody could send for this long: the
	// reader has moved on.
	ReplyStaleAfter time.Duration
	// MaxAttempts is how many times a transient failure (5xx, timeout, a
	// proxy's HTML) is tried before the row is dead.
	MaxAttempts int
	// RetryBase and RetryMax bound the exponential backoff between
	// attempts; each wait is jittered to between half and all of it.
	RetryBase time.Duration
	RetryMax  time.Duration
	// BreakingCategories put an article carrying one of them (category or
	// tag, compared after Arabic normalisation) in the breaking lane.
	BreakingCategories []string
	// NeverPush lists categories never pushed; the poller excludes them
	// already, the fan-out checks again.
	NeverPush []string
	// BundleMax is how many articles one coalesced message lists; a reader
	// with more pending gets the rest in the following bundle(s).
	BundleMax int
	// CorrectionWindow is how long after its push a post is edited in place
	// when its article's title or summary changes; zero turns corrections
	// off.
	CorrectionWindow time.Duration
	// EditReaders extends corrections to readers' private copies (channels
	// and groups are always edited); each edit costs a message's budget.
	EditReaders bool
	// Retention is how long finished rows are kept before compaction; at
	// least the 48 hours in which a retraction can delete a message, and the
	// correction window.
	Retention time.Duration
	// Location is the site's time zone, in which quiet hours and hourly
	// bundles are counted.
	Location *time.Location
	// HandOnInterval is how often new articles are looked for when nobody
	// calls Notify.
	HandOnInterval time.Duration
	// Instance names this process in leases; empty means host, pid and a
	// random suffix, so that a restarted process is a new holder.
	Instance string
}

// DefaultConfig returns Telegram's published limits and the defaults the
// delivery issue asks for.
func DefaultConfig() Config {
	loc, err := time.LoadLocation("Asia/Baghdad")
	if err != nil {
		// Iraq has kept UTC+3 all year since 2008.
		loc = time.FixedZone("Asia/Baghdad", 3*3600)
	}
	return Config{
		GlobalPerSecond:    30,
		ChatPerSecond:      1,
		GroupPerMinute:     20,
		WindowMargin:       40 * time.Millisecond,
		Concurrency:        8,
		LeaseDuration:      15 * time.Second,
		SendTimeout:        30 * time.Second,
		StaleAfter:         6 * time.Hour,
		ReplyStaleAfter:    10 * time.Minute,
		MaxAttempts:        8,
		RetryBase:          5 * time.Second,
		RetryMax:           15 * time.Minute,
		BreakingCategories: []string{"عاجل"},
		NeverPush:          []string{"إعلان", "إعلانات", "sponsored", "محتوى مدفوع"},
		BundleMax:          5,
		CorrectionWindow:   6 * time.Hour,
		Retention:          72 * time.Hour,
		Location:           loc,
		HandOnInterval:     time.Second,
	}
}

// deleteWindow is how long Telegram lets a bot delete its messages (48 h),
// less a margin for the queue in between.
const deleteWindow = 47 * time.Hour

// Validate reports every field out of range.
func (c Config) Validate() error {
	var errs []error
	positive := func(name string, v float64) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be greater than 0, got %v", name, v))
		}
	}
	positive("global_per_second", c.GlobalPerSecond)
	positive("chat_per_second", c.ChatPerSecond)
	positive("group_per_minute", c.GroupPerMinute)
	positive("concurrency", float64(c.Concurrency))
	positive("max_attempts", float64(c.MaxAttempts))
	positive("bundle_max", float64(c.BundleMax))
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"lease_duration", c.LeaseDuration}, {"send_timeout", c.SendTimeout}, {"stale_after", c.StaleAfter},
		{"reply_stale_after", c.ReplyStaleAfter}, {"retry_base", c.RetryBase}, {"retry_max", c.RetryMax},
		{"hand_on_interval", c.HandOnInterval},
	} {
		positive(d.name, float64(d.v))
	}
	if c.WindowMargin < 0 || c.WindowMargin > time.Second {
		errs = append(errs, fmt.Errorf("window_margin must be between 0 and 1s, got %s", c.WindowMargin))
	}
	if c.CorrectionWindow < 0 {
		errs = append(errs, fmt.Errorf("correction_window must not be negative, got %s", c.CorrectionWindow))
	}
	if c.LeaseDuration > 0 && c.LeaseDuration < 2*time.Second {
		errs = append(errs, fmt.Errorf("lease_duration must be at least 2s, got %s", c.LeaseDuration))
	}
	if c.Retention < 48*time.Hour || c.Retention < c.CorrectionWindow || c.Retention < c.StaleAfter {
		errs = append(errs, fmt.Errorf("retention must cover the 48h deletion window, correction_window and stale_after, got %s", c.Retention))
	}
	if c.Location == nil {
		errs = append(errs, errors.New("location must be set"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delivery config: %w", err)
	}
	return nil
}
