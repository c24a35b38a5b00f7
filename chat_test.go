package nashra

import (
	"testing"
	"time"
)

func TestQuietHoursAcrossMidnight(t *testing.T) {
	bg := time.FixedZone("Asia/Baghdad", 3*3600)
	at := func(h, m int) time.Time { return time.Date(2026, 11, 28, h, m, 0, 0, bg) }
	s := DefaultChatSettings // 23:00–07:00
	for _, tc := range []struct {
		t     time.Time
		quiet bool
		until time.Time
	}{
		{at(22, 59), false, at(7, 0).AddDate(0, 0, 1)},
		{at(23, 0), true, at(7, 0).AddDate(0, 0, 1)},
		{at(3, 0), true, at(7, 0)},
		{at(7, 0), false, at(7, 0).AddDate(0, 0, 1)},
		// The site's zone decides, not the clock's: 20:30 UTC is 23:30 in Baghdad.
		{time.Date(2026, 11, 28, 20, 30, 0, 0, time.UTC), true, at(7, 0).AddDate(0, 0, 1)},
	} {
		if got := s.Quiet(tc.t, bg); got != tc.quiet {
			t.Errorf("Quiet(%s) = %v, want %v", tc.t, got, tc.quiet)
		}
		if got := s.QuietUntil(tc.t, bg); !got.Equal(tc.until) {
			t.Errorf("QuietUntil(%s) = %s, want %s", tc.t, got, tc.until)
		}
	}
	none := s
	none.QuietStart, none.QuietEnd = 9*60, 9*60
	if none.Quiet(at(9, 0), bg) || none.Quiet(at(23, 30), bg) {
		t.Error("equal start and end must mean no quiet hours")
	}
}
