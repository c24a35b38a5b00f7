package delivery

import (
	"time"

	"github.com/almaalouma/nashra/store"
)

// when decides, by a reader's choices, whether a row created at created may
// go at now: hold is the time to hold it until (zero: now), and silent says
// to send it without a sound. Rows for channels, or chats whose settings
// are unknown, go at once.
func when(s *store.ChatSettings, created, now time.Time, loc *time.Location) (hold time.Time, silent bool) {
	if s == nil {
		return time.Time{}, false
	}
	at := now
	if s.Mode == store.ModeHourly {
		// The bundle of the hour goes at the top of the next one.
		c := created.In(loc)
		slot := time.Date(c.Year(), c.Month(), c.Day(), c.Hour(), 0, 0, 0, loc).Add(time.Hour)
		if now.Before(slot) {
			hold, at = slot, slot
		}
	}
	if !quiet(s, at, loc) {
		return hold, false
	}
	if s.QuietMode == store.QuietSilent {
		return hold, hold.IsZero()
	}
	return quietEnd(s, at, loc), false
}

// quiet reports whether t falls in the chat's quiet hours.
func quiet(s *store.ChatSettings, t time.Time, loc *time.Location) bool {
	if s.QuietStart == s.QuietEnd {
		return false
	}
	l := t.In(loc)
	m := l.Hour()*60 + l.Minute()
	if s.QuietStart < s.QuietEnd {
		return m >= s.QuietStart && m < s.QuietEnd
	}
	return m >= s.QuietStart || m < s.QuietEnd
}

// quietEnd returns the first end of quiet hours after t.
func quietEnd(s *store.ChatSettings, t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	end := time.Date(l.Year(), l.Month(), l.Day(), s.QuietEnd/60, s.QuietEnd%60, 0, 0, loc)
	if !end.After(t) {
		end = end.AddDate(0, 0, 1)
	}
	return end
}
