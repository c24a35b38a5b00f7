package telegramtest

import (
	"testing"
	"time"
)

// Messages are admitted in the order the fake handles them, which their
// latencies can make differ from the order they arrive in: the window must
// hold at most limit messages wherever it is laid, not only where it ends
// at the message being admitted.
func TestWindowOutOfOrder(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	var f chatFlood
	// At most three in any second.
	for _, at := range []int{0, 900, 1950, 1000, 990} {
		if d := f.windowWait(ms(at), time.Second, 3); d != 0 {
			t.Fatalf("message at %d ms refused for %v", at, d)
		}
		f.record(ms(at))
	}
	// 950 leaves room in the window ending at 950 (0, 900 and it), but
	// the one ending at 990, already admitted, would hold 0, 900, 950 and
	// 990.
	d := f.windowWait(ms(950), time.Second, 3)
	if d != 50*time.Millisecond {
		t.Fatalf("950 ms: wait %v, want 50ms (until 0 leaves the window)", d)
	}
}
