// Package feeds polls the site's section feeds and turns their items into
// stored articles: it fetches (conditional GET, size and redirect limits,
// timeouts), parses every common feed format in any declared charset (or
// the site's legacy one), whatever illegal characters one item carries,
// normalises each item (canonical link, plain-text title and summary,
// sanitized content, full-size lead image, the byline as author),
// deduplicates through the store, and decides when each feed is polled
// next. A new article's hand-off is its stored state "new"; nothing is sent
// from here.
package feeds

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/net/html/charset"
)

// Flood guard actions: what happens to a poll whose items are all new.
const (
	// FloodHold holds every new item until an admin decides.
	FloodHold = "hold"
	// FloodLatest lets the newest FloodGuard.Latest items through and marks
	// the rest seen.
	FloodLatest = "latest"
	// FloodPush lets everything through; only the alert is raised.
	FloodPush = "push"
)

// FloodGuard stops a poll whose every item is new (a changed feed, a site
// migration rewriting GUIDs, a feed back from a long outage) from pushing a
// burst of posts to every reader.
type FloodGuard struct {
	// MinItems is the smallest all-new poll that trips the guard; default 5.
	MinItems int
	// Action is FloodHold, FloodLatest or FloodPush; default FloodHold.
	Action string
	// Latest is how many of the newest items FloodLatest lets through;
	// default 3.
	Latest int
}

// Config is what the poller needs to know; the caller fills it, usually
// from DefaultConfig and the YAML file. Zero fields take their defaults.
type Config struct {
	// Interval is the normal time between two checks of a feed; default 5m.
	Interval time.Duration
	// MinInterval and MaxInterval bound every next check, whatever
	// Retry-After, Cache-Control or the error backoff ask; defaults 1m, 6h.
	MinInterval time.Duration
	MaxInterval time.Duration
	// PushInterval is the time between two checks of a feed whose updates
	// a WebSub hub pushes: polls are then only the safety net; default 15m.
	PushInterval time.Duration
	// OnDemandGap is the least time between the start of a feed's poll and
	// a poll of it asked by a push or a publish ping; default 1s.
	OnDemandGap time.Duration
	// Timeout bounds a whole fetch, from dialling to the last byte;
	// default 10s.
	Timeout time.Duration
	// MaxBodyBytes is the largest feed accepted, after decompression;
	// default 10 MiB.
	MaxBodyBytes int64
	// MaxRedirects is how many redirects a fetch follows; default 5.
	MaxRedirects int
	// Workers is how many feeds are fetched at once; default 4.
	Workers int
	// UserAgent names nashra to the site; default
	// "nashra/dev (+https://github.com/almaalouma/nashra)".
	UserAgent string
	// StaleAfter is how long a feed may answer without anything new before
	// admins hear it is stale; default 48h.
	StaleAfter time.Duration
	// FailingAlertAfter is how long a feed may fail without a break before
	// admins hear it; default 1h.
	FailingAlertAfter time.Duration
	// ExcludeCategories lists categories and tags whose items are stored
	// as excluded and never pushed; compared after Arabic normalisation,
	// so "إعلان" also matches "اعلان" and "الإعلان". Default: إعلان,
	// sponsored.
	ExcludeCategories []string
	// GenericAuthors are accounts, not writers: an item whose only author
	// is one of them gets no author unless its body carries a byline.
	// Default: admin, المعلومة, almaalouma.
	GenericAuthors []string
	// FloodGuard handles a poll whose items are all new.
	FloodGuard FloodGuard
	// LegacyCharset is the encoding of a feed that is not UTF-8 and names
	// no charset: the site's own from before UTF-8; default windows-1256.
	LegacyCharset string
}

// DefaultConfig returns the configuration used for Almaalouma when nothing
// else is said.
func DefaultConfig() Config {
	return Config{
		Interval:          5 * time.Minute,
		MinInterval:       time.Minute,
		MaxInterval:       6 * time.Hour,
		PushInterval:      15 * time.Minute,
		OnDemandGap:       time.Second,
		Timeout:           10 * time.Second,
		MaxBodyBytes:      10 << 20,
		MaxRedirects:      5,
		Workers:           4,
		UserAgent:         "nashra/dev (+https://github.com/almaalouma/nashra)",
		StaleAfter:        48 * time.Hour,
		FailingAlertAfter: time.Hour,
		ExcludeCategories: []string{"إعلان", "sponsored"},
		GenericAuthors:    []string{"admin", "المعلومة", "almaalouma"},
		FloodGuard:        FloodGuard{MinItems: 5, Action: FloodHold, Latest: 3},
		LegacyCharset:     "windows-1256",
	}
}

// withDefaults fills the zero fields of c from DefaultConfig. A nil list
// takes the default; an empty non-nil list means "none".
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setZero(&c.Interval, d.Interval)
	setZero(&c.MinInterval, d.MinInterval)
	setZero(&c.MaxInterval, d.MaxInterval)
	setZero(&c.PushInterval, d.PushInterval)
	setZero(&c.OnDemandGap, d.OnDemandGap)
	setZero(&c.Timeout, d.Timeout)
	setZero(&c.MaxBodyBytes, d.MaxBodyBytes)
	setZero(&c.MaxRedirects, d.MaxRedirects)
	setZero(&c.Workers, d.Workers)
	setZero(&c.UserAgent, d.UserAgent)
	setZero(&c.StaleAfter, d.StaleAfter)
	setZero(&c.FailingAlertAfter, d.FailingAlertAfter)
	setZero(&c.FloodGuard.MinItems, d.FloodGuard.MinItems)
	setZero(&c.FloodGuard.Action, d.FloodGuard.Action)
	setZero(&c.FloodGuard.Latest, d.FloodGuard.Latest)
	setZero(&c.LegacyCharset, d.LegacyCharset)
	if c.ExcludeCategories == nil {
		c.ExcludeCategories = d.ExcludeCategories
	}
	if c.GenericAuthors == nil {
		c.GenericAuthors = d.GenericAuthors
	}
	return c
}

// setZero sets *field to def when it is the zero value.
func setZero[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// Validate reports the first inconsistency of c once defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Interval < 0 || c.MinInterval < 0 || c.MaxInterval < 0 || c.PushInterval < 0 || c.OnDemandGap < 0 || c.Timeout < 0 ||
		c.StaleAfter < 0 || c.FailingAlertAfter < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if c.MinInterval > c.MaxInterval {
		errs = append(errs, fmt.Errorf("min interval %s exceeds max interval %s", c.MinInterval, c.MaxInterval))
	}
	if c.MaxBodyBytes < 0 || c.MaxRedirects < 0 || c.Workers < 0 {
		errs = append(errs, errors.New("limits must not be negative"))
	}
	switch c.FloodGuard.Action {
	case FloodHold, FloodLatest, FloodPush:
	default:
		errs = append(errs, fmt.Errorf("flood guard action %q: want %s, %s or %s",
			c.FloodGuard.Action, FloodHold, FloodLatest, FloodPush))
	}
	if c.FloodGuard.MinItems < 0 || c.FloodGuard.Latest < 0 {
		errs = append(errs, errors.New("flood guard counts must not be negative"))
	}
	if enc, _ := charset.Lookup(c.LegacyCharset); enc == nil {
		errs = append(errs, fmt.Errorf("legacy charset %q: unknown", c.LegacyCharset))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("feeds config: %w", err)
	}
	return nil
}
