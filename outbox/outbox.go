// Package outbox is nashra's one sending engine (Engine): for each of the
// store's queues, the lease that lets one instance at a time send (Lease),
// the recovery, renewal and release of claims, claiming (Poll), workers
// that send through a Sender and store outcomes with the batched Writer
// (Work), retries with backoff (Retry) and the queue's pause (Gate); with
// the strict bot-wide limiter of Telegram's requests (Limiter) and the
// pacer of a rate (Pacer). The Telegram dispatcher (delivery) and the
// email sender (mail) are two senders on it, so that both claim, send,
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
