package feeds

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/almaalouma/nashra/config"
)

// hints is what a response said about when to come back.
type hints struct {
	retryAfter time.Duration // Retry-After of a 429 or 503
	maxAge     time.Duration // Cache-Control max-age of a success
	gone       bool          // 410: the feed is not coming back soon
}

// nextCheck returns when a feed should be polled again after a poll at now
// that left it with errorCount consecutive failures (0 after a success).
// jitter, in [0, 1), spreads the retries of feeds that failed together
// (one site, one outage) by ±20 %, so they do not all return at once.
//
// A success waits Interval, or longer when Cache-Control promises nothing
// new before then. A failure backs off exponentially from Interval, and
// never returns before a Retry-After. 410 Gone waits MaxInterval. The result
// is always within [MinInterval, MaxInterval] of now.
func nextCheck(c config.Poll, now time.Time, errorCount int, h hints, jitter float64) time.Time {
	interval, minInterval, maxInterval := c.Interval.D(), c.MinInterval.D(), c.MaxInterval.D()
	var d time.Duration
	switch {
	case h.gone:
		d = maxInterval
	case errorCount > 0:
		d = interval
		for i := 1; i < errorCount && d < maxInterval; i++ {
			d *= 2
		}
		d = min(d, maxInterval)
		d = time.Duration(float64(d) * (0.8 + 0.4*min(max(jitter, 0), 1)))
		d = max(d, h.retryAfter)
	default:
		d = max(interval, h.maxAge)
	}
	return now.Add(min(max(d, minInterval), maxInterval))
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return seconds(s)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// maxAge reads the max-age of a Cache-Control header; no-cache and no-store
// mean nothing can be promised.
func maxAge(h http.Header) time.Duration {
	var age time.Duration
	for _, d := range strings.Split(h.Get("Cache-Control"), ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(name) {
		case "no-cache", "no-store":
			return 0
		case "max-age":
			if s, err := strconv.Atoi(strings.Trim(val, `"`)); err == nil {
				age = seconds(s)
			}
		}
	}
	return age
}

// seconds converts a header's count of seconds, bounded so that a hostile
// value can neither overflow nor go negative.
func seconds(s int) time.Duration {
	const year = 366 * 24 * 60 * 60
	return time.Duration(min(max(s, 0), year)) * time.Second
}
