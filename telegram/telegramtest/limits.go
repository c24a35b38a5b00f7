package telegramtest

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Model is how the fake counts the bot-wide limit. Telegram does not
// publish its algorithm; the two models are the plausible readings of "about
// 30 messages per second", and code meant for Telegram should pass both.
type Model int

const (
	// SlidingWindow, the strict model and the default: at most
	// GlobalPerSecond messages arrive within any one second, with nothing on
	// top; a private chat is a token bucket of PrivatePerSecond with
	// PrivateBurst (1 in DefaultLimits); a group or channel a sliding 60 s
	// window.
	SlidingWindow Model = iota
	// TokenBucket: the bot-wide limit is a token bucket of GlobalPerSecond
	// holding GlobalBurst, which lets a full second's worth go at once after
	// a quiet moment; private chats and groups as in SlidingWindow.
	TokenBucket
)

func (m Model) String() string {
	if m == TokenBucket {
		return "token bucket"
	}
	return "sliding window"
}

// Limits are the flood limits the fake enforces for the bot. Every message
// counts: send*, copyMessage and edit*; getters, deleteMessage,
// sendChatAction and answerCallbackQuery do not. A message counts at the
// instant it arrives: when the fake received the request plus the latency
// (see WithLatency). A zero rate lifts that limit, so Limits{} turns flood
// control off.
type Limits struct {
	// Model says how GlobalPerSecond and PaidPerSecond are counted.
	Model Model
	// GlobalPerSecond bounds messages over all chats (Telegram: about 30
	// per second). GlobalBurst is the token bucket's size in the
	// TokenBucket model; a burst below 1 counts as 1, here and for
	// PrivateBurst.
	GlobalPerSecond float64
	GlobalBurst     int
	// PaidPerSecond replaces GlobalPerSecond for messages sent with
	// allow_paid_broadcast=true, and for all messages while
	// SetPaidBroadcast(true) is on (Telegram: up to 1000 per second). In the
	// TokenBucket model its burst is one second's worth.
	PaidPerSecond float64
	// PrivatePerSecond and PrivateBurst bound messages to one private chat
	// with a token bucket (Telegram: 1 per second, short bursts tolerated).
	PrivatePerSecond float64
	PrivateBurst     int
	// GroupPerMinute bounds messages to one group, supergroup or channel:
	// at most that many in any 60 s window (Telegram: 20 per minute).
	GroupPerMinute int
	// Penalty is added to a running retry_after each time a message is
	// sent into its scope before it has passed: ignoring a 429 makes the
	// wait longer, as in Telegram.
	Penalty time.Duration
}

// DefaultLimits returns Telegram's documented limits under the strictest
// plausible reading: the SlidingWindow model, and no burst into a private
// chat.
func DefaultLimits() Limits {
	return Limits{
		Model:            SlidingWindow,
		GlobalPerSecond:  30,
		GlobalBurst:      30,
		PaidPerSecond:    1000,
		PrivatePerSecond: 1,
		PrivateBurst:     1,
		GroupPerMinute:   20,
		Penalty:          time.Second,
	}
}

// BucketLimits returns Telegram's documented limits read as token buckets:
// a second's worth of messages may go at once bot-wide, three into a
// private chat.
func BucketLimits() Limits {
	l := DefaultLimits()
	l.Model, l.PrivateBurst = TokenBucket, 3
	return l
}

// Stats counts calls and flood-limit violations. Stats returns a copy.
type Stats struct {
	// Calls counts API requests by method name, whatever their outcome.
	Calls map[string]int
	// Messages counts messages accepted (sent, copied or edited).
	Messages int
	// TooManyRequests counts 429 answers: GlobalViolations plus the sum of
	// ChatViolations. Faults injected with FailNext are not counted.
	TooManyRequests int
	// GlobalViolations counts messages refused by the bot-wide limit.
	GlobalViolations int
	// ChatViolations counts messages refused by a chat's limit, by chat id.
	ChatViolations map[int64]int
	// Violations counts the messages sent into a scope (the bot, a chat)
	// whose retry_after was still running: each got a 429, already counted
	// above, and made the wait longer. Code that obeys retry_after has none.
	Violations int
	// MaxRetryAfter is the largest retry_after answered, in seconds.
	MaxRetryAfter int
}

// SetLimits replaces the flood limits. The state of the limits that stay
// on (tokens, windows, running retry_after) is kept.
func (s *Server) SetLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = l
}

// SetPaidBroadcast switches paid broadcast mode: while on, every message is
// counted against Limits.PaidPerSecond instead of GlobalPerSecond, as if
// sent with allow_paid_broadcast=true. Per-chat limits still apply.
func (s *Server) SetPaidBroadcast(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paid = on
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Calls = make(map[string]int, len(s.stats.Calls))
	for k, v := range s.stats.Calls {
		st.Calls[k] = v
	}
	st.ChatViolations = make(map[int64]int, len(s.stats.ChatViolations))
	for k, v := range s.stats.ChatViolations {
		st.ChatViolations[k] = v
	}
	return st
}

// floodState is the state of the limits: the two bot-wide scopes (ordinary
// and paid) and one scope per chat.
type floodState struct {
	global chatFlood
	paid   chatFlood
	chats  map[int64]*chatFlood
}

// chatFlood is one scope: a token bucket or a sliding window, and the end
// of the retry_after last answered for it.
type chatFlood struct {
	tokens float64
	last   time.Time
	filled bool        // the bucket has been initialised (full)
	window []time.Time // accepted messages of the last span, in time order
	until  time.Time   // no message before this time
}

// bucketWait returns how long until the token bucket has a token (0: now).
// Messages may be admitted slightly out of their arrival order (their
// latencies differ); the bucket does not run backwards.
func (f *chatFlood) bucketWait(now time.Time, rate float64, burst int) time.Duration {
	capacity := float64(max(burst, 1))
	if !f.filled {
		f.tokens, f.last, f.filled = capacity, now, true
	}
	if elapsed := now.Sub(f.last).Seconds(); elapsed > 0 {
		f.tokens = math.Min(capacity, f.tokens+elapsed*rate)
		f.last = now
	}
	if f.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - f.tokens) / rate * float64(time.Second))
}

// windowWait returns how long until a message arriving at now fits the
// sliding window: at most limit messages in any span, a window (x−span, x].
// Messages may be admitted slightly out of arrival order (their latencies
// differ), so every window that would hold now is checked: those ending at
// now and at each later message before now+span.
func (f *chatFlood) windowWait(now time.Time, span time.Duration, limit int) time.Duration {
	// Keep two spans behind the newest message: one admitted late may
	// still fall among them.
	if n := len(f.window); n > 0 {
		horizon := later(now, f.window[n-1]).Add(-2 * span)
		f.window = f.window[f.after(horizon):]
	}
	for i, end := f.after(now), now; ; i++ {
		first := f.after(end.Add(-span))
		if f.after(end)-first >= limit {
			// Room comes when the oldest message of that window leaves it.
			return f.window[first].Add(span).Sub(now)
		}
		if i == len(f.window) || !f.window[i].Before(now.Add(span)) {
			return 0
		}
		end = f.window[i]
	}
}

// after returns the index of the first message in the window after t.
func (f *chatFlood) after(t time.Time) int {
	i, _ := slices.BinarySearchFunc(f.window, t, func(e, t time.Time) int {
		if e.After(t) {
			return 1
		}
		return -1
	})
	return i
}

// record adds an accepted message to the window, in time order.
func (f *chatFlood) record(at time.Time) {
	f.window = slices.Insert(f.window, f.after(at), at)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// globalScope returns the bot-wide scope a message counts in, its rate and
// its burst.
func (s *Server) globalScope(paid bool) (*chatFlood, float64, int) {
	l := s.limits
	if paid || s.paid {
		return &s.flood.paid, l.PaidPerSecond, int(math.Ceil(l.PaidPerSecond))
	}
	return &s.flood.global, l.GlobalPerSecond, l.GlobalBurst
}

// globalWait applies the bot-wide model: how long until a message arriving
// at now may go (0: now).
func (s *Server) globalWait(f *chatFlood, rate float64, burst int, now time.Time) time.Duration {
	if s.limits.Model == TokenBucket {
		return f.bucketWait(now, rate, burst)
	}
	// GlobalPerSecond = 2.5 is two messages in any 0.8 s.
	n := max(1, int(rate))
	return f.windowWait(now, time.Duration(float64(n)/rate*float64(time.Second)), n)
}

// admit applies the flood limits to one message into c arriving at now
// and either takes the message into account or returns the 429 answer.
// s.mu must be held.
func (s *Server) admit(c *chat, paid bool, now time.Time) *apiError {
	l := s.limits
	global, rate, burst := s.globalScope(paid)
	local := s.flood.chats[c.info.ID]
	if local == nil {
		local = &chatFlood{}
		s.flood.chats[c.info.ID] = local
	}

	private := c.info.Type == "private"
	globalOn := rate > 0
	privateOn := private && l.PrivatePerSecond > 0
	groupOn := !private && l.GroupPerMinute > 0

	// Sending into a scope whose retry_after is still running is a
	// violation in itself and makes the wait longer. A lifted limit has no
	// penalty either.
	if globalOn && now.Before(global.until) {
		global.until = global.until.Add(l.Penalty)
		s.stats.Violations++
		return s.tooMany(0, global.until.Sub(now))
	}
	if (privateOn || groupOn) && now.Before(local.until) {
		local.until = local.until.Add(l.Penalty)
		s.stats.Violations++
		return s.tooMany(c.info.ID, local.until.Sub(now))
	}

	// Check every scope before taking from any, so a refused message
	// costs nothing.
	if globalOn {
		if d := s.globalWait(global, rate, burst, now); d > 0 {
			global.until = now.Add(roundUp(d))
			return s.tooMany(0, global.until.Sub(now))
		}
	}
	if privateOn {
		if d := local.bucketWait(now, l.PrivatePerSecond, l.PrivateBurst); d > 0 {
			local.until = now.Add(roundUp(d))
			return s.tooMany(c.info.ID, local.until.Sub(now))
		}
	}
	if groupOn {
		if d := local.windowWait(now, time.Minute, l.GroupPerMinute); d > 0 {
			local.until = now.Add(roundUp(d))
			return s.tooMany(c.info.ID, local.until.Sub(now))
		}
	}

	if globalOn {
		if l.Model == TokenBucket {
			global.tokens--
		} else {
			global.record(now)
		}
	}
	if privateOn {
		local.tokens--
	}
	if groupOn {
		local.record(now)
	}
	return nil
}

// pauseBot starts a bot-wide retry_after of d from now, as Telegram's
// global limit does; see BotFloodWait.
func (s *Server) pauseBot(paid bool, now time.Time, d time.Duration) {
	global, _, _ := s.globalScope(paid)
	global.until = later(global.until, now.Add(d))
}

// tooMany counts a violation of the scope chatID (0: bot-wide) and builds
// Telegram's 429 answer.
func (s *Server) tooMany(chatID int64, wait time.Duration) *apiError {
	if chatID == 0 {
		s.stats.GlobalViolations++
	} else {
		s.stats.ChatViolations[chatID]++
	}
	s.stats.TooManyRequests++
	retry := int(roundUp(wait) / time.Second)
	s.stats.MaxRetryAfter = max(s.stats.MaxRetryAfter, retry)
	return &apiError{
		code:        429,
		description: fmt.Sprintf("Too Many Requests: retry after %d", retry),
		retryAfter:  retry,
	}
}

// roundUp rounds d up to whole seconds, at least one: retry_after is an
// integer, and waiting it out must be enough.
func roundUp(d time.Duration) time.Duration {
	return max(time.Second, (d+time.Second-1)/time.Second*time.Second)
}
