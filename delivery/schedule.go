package delivery

import (
	"time"

	"github.com/almaalouma/nashra"
)

// when decides, by a reader's choices, whether a row created at created may
// go at now: hold is the time to hold it until (zero: now), and silent says
// to send it without a sound. Rows for channels, or chats whose settings
// are unknown, go at once. Breaking news is never held, by the hourly
// bundle or quiet hours: in quiet hours it comes silently, unless the
// reader asked for its sound.
func when(s *nashra.ChatSettings, created, now time.Time, loc *time.Location, breaking bool) (hold time.Time, silent bool) {
	if s == nil {
		return time.Time{}, false
	}
	if breaking {
		return time.Time{}, s.Quiet(now, loc) && !s.BreakingSound
	}
	at := now
	if s.Mode == nashra.ModeHourly {
		// The bundle of the hour goes at the top of the next one.
		c := created.In(loc)
		slot := time.Date(c.Year(), c.Month(), c.Day(), c.Hour(), 0, 0, 0, loc).Add(time.Hour)
		if now.Before(slot) {
			hold, at = slot, slot
		}
	}
	if !s.Quiet(at, loc) {
		return hold, false
	}
	if s.QuietMode == nashra.QuietSilent {
		return hold, hold.IsZero()
	}
	return s.QuietUntil(at, loc), false
}
