package bot

import (
	"fmt"
	"slices"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
)

// Callback data, all well under Telegram's 64 bytes: a prefix and a short
// argument (a slug is at most 32 bytes).
const (
	cbSection  = "sec:" // + slug: toggle a section
	cbSettings = "set:" // + one of the set* operations
	cbConfirm  = "ok:"  // + pending action token
	cbDecline  = "no:"  // + pending action token
	cbNoop     = "noop" // a label button
)

// Settings operations.
const (
	setInstant    = "m:" + nashra.ModeInstant
	setHourly     = "m:" + nashra.ModeHourly
	setDigestOnly = "m:" + nashra.ModeDigest
	setHold       = "q:" + nashra.QuietHold
	setSilent     = "q:" + nashra.QuietSilent
	setQuietOff   = "qoff"
	setQuietOn    = "qon"
	setStartDown  = "qs:-"
	setStartUp    = "qs:+"
	setEndDown    = "qe:-"
	setEndUp      = "qe:+"
	setDigest     = "d"
	// setQuietOffHere turns quiet hours off from the welcome, whose
	// keyboard of sections stays.
	setQuietOffHere = "qoff:w"
	// setBreakingSound and setBundle toggle those choices.
	setBreakingSound = "bs"
	setBundle        = "b"
)

func button(text, data string) tgbotapi.InlineKeyboardButton {
	return tgbotapi.NewInlineKeyboardButtonData(text, data)
}

// check marks a chosen option.
func check(on bool, text string) string {
	if on {
		return "✅ " + text
	}
	return text
}

// sectionsKeyboard lists the sections two by two, ✅ on those followed.
func sectionsKeyboard(cat *nashra.Catalog, followed []string) *tgbotapi.InlineKeyboardMarkup {
	var rows [][]tgbotapi.InlineKeyboardButton
	var row []tgbotapi.InlineKeyboardButton
	for _, s := range cat.Sections() {
		row = append(row, button(check(slices.Contains(followed, s.Slug), s.Name), cbSection+s.Slug))
		if len(row) == 2 {
			rows = append(rows, row)
			row = nil
		}
	}
	if row != nil {
		rows = append(rows, row)
	}
	kb := tgbotapi.NewInlineKeyboardMarkup(rows...)
	return &kb
}

// settingsKeyboard shows a chat's delivery choices as buttons.
func settingsKeyboard(s nashra.ChatSettings) *tgbotapi.InlineKeyboardMarkup {
	rows := [][]tgbotapi.InlineKeyboardButton{
		{
			button(check(s.Mode == nashra.ModeInstant, btnInstant), cbSettings+setInstant),
			button(check(s.Mode == nashra.ModeHourly, btnHourly), cbSettings+setHourly),
			button(check(s.Mode == nashra.ModeDigest, btnDigestOnly), cbSettings+setDigestOnly),
		},
	}
	if s.QuietStart != s.QuietEnd {
		rows = append(rows,
			[]tgbotapi.InlineKeyboardButton{
				button(btnMinus, cbSettings+setStartDown),
				button(fmt.Sprintf(btnQuietStart, clock(s.QuietStart)), cbNoop),
				button(btnPlus, cbSettings+setStartUp),
			},
			[]tgbotapi.InlineKeyboardButton{
				button(btnMinus, cbSettings+setEndDown),
				button(fmt.Sprintf(btnQuietEnd, clock(s.QuietEnd)), cbNoop),
				button(btnPlus, cbSettings+setEndUp),
			},
			[]tgbotapi.InlineKeyboardButton{
				button(check(s.QuietMode == nashra.QuietHold, btnQuietHold), cbSettings+setHold),
				button(check(s.QuietMode == nashra.QuietSilent, btnQuietSilent), cbSettings+setSilent),
			},
			[]tgbotapi.InlineKeyboardButton{button(btnQuietOff, cbSettings+setQuietOff)},
		)
	} else {
		rows = append(rows, []tgbotapi.InlineKeyboardButton{button(btnQuietOn, cbSettings+setQuietOn)})
	}
	if s.QuietStart != s.QuietEnd {
		rows = append(rows, []tgbotapi.InlineKeyboardButton{button(toggle(s.BreakingSound, btnBreakingSound), cbSettings+setBreakingSound)})
	}
	rows = append(rows,
		[]tgbotapi.InlineKeyboardButton{button(toggle(s.Bundle, btnBundle), cbSettings+setBundle)},
		[]tgbotapi.InlineKeyboardButton{button(toggle(s.Digest, btnDigest), cbSettings+setDigest)})
	kb := tgbotapi.NewInlineKeyboardMarkup(rows...)
	return &kb
}

// stopKeyboard asks a reader, or a group's administrator, to confirm /stop.
func stopKeyboard(token string) *tgbotapi.InlineKeyboardMarkup {
	kb := tgbotapi.NewInlineKeyboardMarkup([]tgbotapi.InlineKeyboardButton{
		button(btnStop, cbConfirm+token),
		button(btnCancel, cbDecline+token),
	})
	return &kb
}

// toggle shows an option that is on or off: ✅ or ⬜.
func toggle(on bool, text string) string {
	if on {
		return "✅ " + text
	}
	return "⬜ " + text
}

// welcomeKeyboard is the keyboard of sections a reader sees on /start,
// with, while the reader has quiet hours, the one tap that turns them off.
func welcomeKeyboard(cat *nashra.Catalog, followed []string, s nashra.ChatSettings) *tgbotapi.InlineKeyboardMarkup {
	kb := sectionsKeyboard(cat, followed)
	if s.QuietStart != s.QuietEnd {
		kb.InlineKeyboard = append(kb.InlineKeyboard,
			[]tgbotapi.InlineKeyboardButton{button(btnNightToo, cbSettings+setQuietOffHere)})
	}
	return kb
}

// confirmKeyboard asks an admin to confirm a pending action.
func confirmKeyboard(token string) *tgbotapi.InlineKeyboardMarkup {
	kb := tgbotapi.NewInlineKeyboardMarkup([]tgbotapi.InlineKeyboardButton{
		button(btnConfirm, cbConfirm+token),
		button(btnCancel, cbDecline+token),
	})
	return &kb
}

// clock writes minutes after midnight as "23:00".
func clock(minutes int) string {
	return fmt.Sprintf("%02d:%02d", minutes/60, minutes%60)
}

// applySetting changes settings by one operation from a settings button,
// and reports whether op was known.
func applySetting(s nashra.ChatSettings, op string) (nashra.ChatSettings, bool) {
	const day, hour = 24 * 60, 60
	step := func(v, by, other int) int {
		v = ((v+by)%day + day) % day
		if v == other { // equal ends would mean no quiet hours at all
			v = ((v+by)%day + day) % day
		}
		return v
	}
	switch op {
	case setInstant, setHourly, setDigestOnly:
		s.Mode = op[2:]
		if s.Mode == nashra.ModeDigest {
			s.Digest = true // "the digest only" must at least bring the digest
		}
	case setHold, setSilent:
		s.QuietMode = op[2:]
	case setQuietOff, setQuietOffHere:
		s.QuietStart, s.QuietEnd = 0, 0
	case setBreakingSound:
		s.BreakingSound = !s.BreakingSound
	case setBundle:
		s.Bundle = !s.Bundle
	case setQuietOn:
		s.QuietStart, s.QuietEnd = nashra.DefaultChatSettings.QuietStart, nashra.DefaultChatSettings.QuietEnd
	case setStartDown:
		s.QuietStart = step(s.QuietStart, -hour, s.QuietEnd)
	case setStartUp:
		s.QuietStart = step(s.QuietStart, hour, s.QuietEnd)
	case setEndDown:
		s.QuietEnd = step(s.QuietEnd, -hour, s.QuietStart)
	case setEndUp:
		s.QuietEnd = step(s.QuietEnd, hour, s.QuietStart)
	case setDigest:
		s.Digest = !s.Digest
		if !s.Digest && s.Mode == nashra.ModeDigest {
			// "The digest only" without the digest would be nothing at all.
			s.Mode = nashra.ModeInstant
		}
	default:
		return s, false
	}
	return s, true
}
