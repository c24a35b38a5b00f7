// Package outbox is the machinery every sender of nashra's queues shares:
// the store's leases that let one instance at a time send (Lease), the
// batched writer of outcomes (Writer), the strict bot-wide limiter of
// Telegram's requests (Limiter), the pacer of a rate (Pacer), and the
// backoff of retries. The Telegram dispatcher (delivery) and the email
// digest's sender (digest) are built on it, so that both claim, pace,
// retry, record and hand over alike.
package outbox

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends; it reports whether ctx is still alive.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Later returns the later of a and b.
func Later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
