package telegramtest

import (
	"fmt"
	"math"
	"time"
)

// Limits are the flood limits the fake enforces for the bot. Every message
// counts: send*, copyMessage and edit*; getters, deleteMessage,
// sendChatAction and answerCallbackQuery do not. A zero rate lifts that
// limit, so Limits{} turns flood control off.
type Limits struct {
	// GlobalPerSecond and GlobalBurst bound messages over all chats with a
	// token bucket (Telegram: about 30 per second). A burst below 1 counts
	// as 1, here and for PrivateBurst.
	GlobalPerSecond float64
	GlobalBurst     int
	// PaidPerSecond replaces GlobalPerSecond for messages sent with
	// allow_paid_broadcast=true, and for all messages while
	// SetPaidBroadcast(true) is on (Telegram: up to 1000 per second). Its
	// burst is one second's worth.
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

// DefaultLimits returns Telegram's documented limits.
func DefaultLimits() Limits {
	return Limits{
		GlobalPerSecond:  30,
		GlobalBurst:      30,
		PaidPerSecond:    1000,
		PrivatePerSecond: 1,
		PrivateBurst:     3,
		GroupPerMinute:   20,
		Penalty:          time.Second,
	}
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
	// PenaltyViolations counts the 429s (already in the counts above) for
	// messages sent while a retry_after was still running.
	PenaltyViolations int
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
	window []time.Time // accepted messages in the last minute, oldest first
	until  time.Time   // no message before this time
}

// bucketWait returns how long until the token bucket has a token (0: now).
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

// windowWait returns how long until the sliding window has room (0: now).
func (f *chatFlood) windowWait(now time.Time, limit int) time.Duration {
	for len(f.window) > 0 && !now.Before(f.window[0].Add(time.Minute)) {
		f.window = f.window[1:]
	}
	if len(f.window) < limit {
		return 0
	}
	return f.window[0].Add(time.Minute).Sub(now)
}

// admit applies the flood limits to one message into c and either takes
// the message into account or returns the 429 answer. s.mu must be held.
func (s *Server) admit(c *chat, paid bool, now time.Time) *apiError {
	l := s.limits
	global, rate, burst := &s.flood.global, l.GlobalPerSecond, l.GlobalBurst
	if paid || s.paid {
		global, rate = &s.flood.paid, l.PaidPerSecond
		burst = int(math.Ceil(rate))
	}
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
		s.stats.PenaltyViolations++
		return s.tooMany(0, global.until.Sub(now))
	}
	if (privateOn || groupOn) && now.Before(local.until) {
		local.until = local.until.Add(l.Penalty)
		s.stats.PenaltyViolations++
		return s.tooMany(c.info.ID, local.until.Sub(now))
	}

	// Check every scope before taking from any, so a refused message
	// costs nothing.
	if globalOn {
		if d := global.bucketWait(now, rate, burst); d > 0 {
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
		if d := local.windowWait(now, l.GroupPerMinute); d > 0 {
			local.until = now.Add(roundUp(d))
			return s.tooMany(c.info.ID, local.until.Sub(now))
		}
	}

	if globalOn {
		global.tokens--
	}
	if privateOn {
		local.tokens--
	}
	if groupOn {
		local.window = append(local.window, now)
	}
	return nil
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
