package nashra

import "time"

// Feed is one polled feed and its schedule.
type Feed struct {
	ID            int64
	SectionSlug   string
	URL           string
	Active        bool
	ETag          string
	LastModified  string
	NextCheckAt   time.Time
	CheckedAt     time.Time
	LastSuccessAt time.Time
	LastNewAt     time.Time
	// BaselinedAt is zero until the first successful poll, whose items are
	// marked seen rather than new.
	BaselinedAt time.Time
	ErrorCount  int
	// LastError is why the last poll failed or, when ErrorCount is zero,
	// which items the last poll could not store.
	LastError   string
	LastErrorAt time.Time
	LastStatus  int
}
