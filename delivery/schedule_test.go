package delivery

import (
	"testing"
	"time"

	"github.com/almaalouma/nashra"
)

func TestWhenFollowsReadersChoices(t *testing.T) {
	bg := time.FixedZone("Asia/Baghdad", 3*3600)
	at := func(h, m int) time.Time { return time.Date(2026, 11, 28, h, m, 0, 0, bg) }
	hold := nashra.DefaultChatSettings // quiet 23:00–07:00, held
	silent := hold
	silent.QuietMode = nashra.QuietSilent
	hourly := hold
	hourly.Mode = nashra.ModeHourly
	noQuiet := hourly
	noQuiet.QuietStart, noQuiet.QuietEnd = 0, 0
	dayQuiet := hold
	dayQuiet.QuietStart, dayQuiet.QuietEnd = 13*60, 14*60

	for _, tc := range []struct {
		name       string
		s          *nashra.ChatSettings
		created    time.Time
		now        time.Time
		wantHold   time.Time
		wantSilent bool
	}{
		{"channel", nil, at(23, 30), at(23, 30), time.Time{}, false},
		{"instant by day", &hold, at(15, 0), at(15, 0), time.Time{}, false},
		{"held at night until morning", &hold, at(23, 30), at(23, 30), at(7, 0).AddDate(0, 0, 1), false},
		{"held after midnight until 07:00 the same day", &hold, at(2, 0), at(2, 0), at(7, 0), false},
		{"quiet ends at 07:00 sharp", &hold, at(7, 0), at(7, 0), time.Time{}, false},
		{"silent at night", &silent, at(23, 30), at(23, 30), time.Time{}, true},
		{"quiet hours within a day", &dayQuiet, at(13, 15), at(13, 15), at(14, 0), false},
		{"hourly waits for the top of the hour", &noQuiet, at(15, 20), at(15, 21), at(16, 0), false},
		{"hourly goes once the hour came", &noQuiet, at(15, 20), at(16, 0), time.Time{}, false},
		{"hourly slot in quiet hours waits for morning", &hourly, at(22, 40), at(22, 41), at(7, 0).AddDate(0, 0, 1), false},
		{"hourly slot reached inside quiet hours", &hourly, at(22, 40), at(23, 0), at(7, 0).AddDate(0, 0, 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, s := when(tc.s, tc.created, tc.now, bg, false)
			if !h.Equal(tc.wantHold) || s != tc.wantSilent {
				t.Errorf("when = %v, silent %v; want %v, %v", h, s, tc.wantHold, tc.wantSilent)
			}
		})
	}
}
