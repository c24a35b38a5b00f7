package nashra

import "time"

// ChatKind is Telegram's type of chat.
type ChatKind string

// Telegram's chat types.
const (
	ChatPrivate    ChatKind = "private"
	ChatGroup      ChatKind = "group"
	ChatSupergroup ChatKind = "supergroup"
	ChatChannel    ChatKind = "channel"
)

// Chat is a Telegram chat nashra writes to: a reader, a group or a channel.
type Chat struct {
	ID             int64
	Kind           ChatKind
	Title          string
	Username       string
	Language       string
	Active         bool
	InactiveReason string
	Settings       ChatSettings
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Delivery modes a reader can choose.
const (
	ModeInstant = "instant"
	ModeHourly  = "hourly"
	ModeDigest  = "digest"
)

// Quiet-hours behaviours.
const (
	QuietHold   = "hold"
	QuietSilent = "silent"
)

// ChatSettings are a reader's choices of how news reaches them.
type ChatSettings struct {
	Mode string // ModeInstant, ModeHourly or ModeDigest
	// QuietStart and QuietEnd are minutes after local midnight; equal
	// values mean no quiet hours.
	QuietStart int
	QuietEnd   int
	QuietMode  string // QuietHold or QuietSilent
	// Digest is true when the chat also wants the daily digest in Telegram.
	Digest bool
	// BreakingSound makes breaking news ring even in quiet hours; without
	// it breaking news comes at once then too, silently.
	BreakingSound bool
	// Bundle lets a flood of waiting news (more than BundleOver items)
	// come as one list; without it every item comes as a full post.
	Bundle bool
}

// BundleOver is how many waiting items still come as full posts, one after
// another: a few seconds apart at Telegram's pace, which beats a bare list
// of titles. Only more than that is a flood worth one list.
const BundleOver = 3

// DefaultChatSettings are a new reader's: instant news, quiet from 23:00 to
// 07:00, held until morning, floods bundled.
var DefaultChatSettings = ChatSettings{Mode: ModeInstant, QuietStart: 23 * 60, QuietEnd: 7 * 60, QuietMode: QuietHold, Bundle: true}

// DefaultSettings are a new chat's settings by its kind: a group or a
// channel is read by many people at every hour, so it has no quiet hours
// unless its administrators set them.
func DefaultSettings(kind ChatKind) ChatSettings {
	s := DefaultChatSettings
	if kind != ChatPrivate {
		s.QuietStart, s.QuietEnd = 0, 0
	}
	return s
}

// Quiet reports whether t falls in the chat's quiet hours, counted in loc,
// the site's time zone.
func (s ChatSettings) Quiet(t time.Time, loc *time.Location) bool {
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

// QuietUntil returns the first end of the chat's quiet hours after t.
func (s ChatSettings) QuietUntil(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	end := time.Date(l.Year(), l.Month(), l.Day(), s.QuietEnd/60, s.QuietEnd%60, 0, 0, loc)
	if !end.After(t) {
		end = end.AddDate(0, 0, 1)
	}
	return end
}

// Sources of a channel mapping.
const (
	SourceConfig  = "config"
	SourceRuntime = "runtime"
)

// ChannelLink maps a section to a Telegram channel.
type ChannelLink struct {
	Section string
	Channel string // @username or -100… id as configured
	Source  string // SourceConfig or SourceRuntime
	// ChatID is the numeric id once resolved, zero before.
	ChatID int64
	// CanPost is nil until checked.
	CanPost   *bool
	CheckedAt time.Time
}
