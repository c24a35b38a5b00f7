package outbox

import (
	"math/rand/v2"
	"time"
)

// Backoff is the wait before retry number attempt (1 for the first retry):
// base doubled for each earlier attempt, capped at limit, then jittered to
// between half and all of it so that the retries of a burst spread out.
// The mail sender retries with it too, and waits with it for a server it
// cannot reach, so that both send logs back off alike.
func Backoff(attempt int, base, limit time.Duration) time.Duration {
	d := base << min(max(attempt-1, 0), 30)
	if d <= 0 || d > limit {
		d = limit
	}
	return d/2 + rand.N(d/2+1)
}
