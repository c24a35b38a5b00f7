package outbox

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	base, limit := 5*time.Second, 15*time.Minute
	for _, tc := range []struct {
		attempt int
		full    time.Duration
	}{{1, 5 * time.Second}, {2, 10 * time.Second}, {4, 40 * time.Second}, {9, limit}, {80, limit}} {
		for range 50 {
			d := Backoff(tc.attempt, base, limit)
			if d < tc.full/2 || d > tc.full {
				t.Fatalf("attempt %d: %s outside [%s, %s]", tc.attempt, d, tc.full/2, tc.full)
			}
		}
	}
}
