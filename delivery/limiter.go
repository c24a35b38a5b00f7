package delivery

import (
	"context"
	"sync"
	"time"
)

// limiter keeps the bot-wide limit and Telegram's pauses of the whole bot.
//
// Every request to Telegram counts — a post, each item of an album, a
// reply, an edit, a delete, and each further try within one send (a photo
// refused by URL, then uploaded) — at the instant it is made, in a sliding
// log of the requests of the last window: one may go when fewer than n
// were made within the window before it. There is no burst on top, so a
// bucket-shaped limit is met as well as a windowed one.
//
// The window is n/GlobalPerSecond plus Config.WindowMargin. Telegram
// counts requests when they arrive: two made a window apart arrive closer
// than that by the difference of their latencies, so the margin is the
// jitter the limiter absorbs (in latency, and between the instant counted
// and the request leaving), and it costs its share of the rate:
// 1 s / (1 s + 40 ms) is 0.96 of the limit.
//
// The scheduler reserves a place for a job's first request before handing
// the job to a worker, so that priorities are decided with the rate in
// view; the request itself is counted when the Sender makes it (Admit).
type limiter struct {
	now    func() time.Time
	n      int
	window time.Duration

	mu      sync.Mutex
	log     []time.Time // requests of the last window, oldest first
	pending int         // places reserved, their requests not made yet
	until   time.Time   // Telegram's pause of the whole bot
}

// pendingPoll is how often the scheduler looks again when only reserved
// places, not yet used, fill the window.
const pendingPoll = 5 * time.Millisecond

func newLimiter(cfg Config, now func() time.Time) *limiter {
	n := max(1, int(cfg.GlobalPerSecond))
	return &limiter{
		now:    now,
		n:      n,
		window: time.Duration(float64(n)/cfg.GlobalPerSecond*float64(time.Second)) + cfg.WindowMargin,
	}
}

// prune forgets requests that left the window; l.mu must be held.
func (l *limiter) prune(now time.Time) {
	i := 0
	for i < len(l.log) && !l.log[i].After(now.Add(-l.window)) {
		i++
	}
	l.log = l.log[i:]
}

// nextLocked is the earliest instant a place is free, as far as known now;
// l.mu must be held and the log pruned.
func (l *limiter) nextLocked(now time.Time) time.Time {
	if now.Before(l.until) {
		return l.until
	}
	switch k := len(l.log) + l.pending - l.n; {
	case k < 0:
		return now
	case k < len(l.log):
		return l.log[k].Add(l.window)
	default:
		return now.Add(pendingPoll)
	}
}

// next returns when the scheduler may next reserve a place.
func (l *limiter) next(now time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	return l.nextLocked(now)
}

// reserve takes a place for a job's first request if one is free now.
func (l *limiter) reserve(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	if !l.nextLocked(now).After(now) {
		l.pending++
		return true
	}
	return false
}

// unreserve gives back a place whose request will not be made.
func (l *limiter) unreserve() {
	l.mu.Lock()
	l.pending--
	l.mu.Unlock()
}

// take holds a place for a request about to be made, waiting first for a
// free one (none is needed when reserved holds one already) and for the
// end of Telegram's pause. The place counts from then on; made counts the
// request at the instant it went. take returns ctx's error if ctx ends
// first.
func (l *limiter) take(ctx context.Context, reserved bool) error {
	for {
		l.mu.Lock()
		now := l.now()
		l.prune(now)
		at := l.until
		if !reserved {
			at = l.nextLocked(now)
		}
		if !at.After(now) {
			if !reserved {
				l.pending++
			}
			l.mu.Unlock()
			return nil
		}
		l.mu.Unlock()
		if sleepCtx(ctx, at.Sub(now)); ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// made counts a request whose place was held, at the instant it went.
func (l *limiter) made() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending--
	l.log = append(l.log, l.now())
}

// fill counts a full window's worth of requests made at at: a term taking
// over from another holder does not know when that one last sent. That is
// no request before a window has passed.
func (l *limiter) fill(at time.Time) { l.pause(at.Add(l.window)) }

// pause keeps every request back until until, at least.
func (l *limiter) pause(until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.until = later(l.until, until)
}

// rateLimited records a 429 answered at end and pauses every request for
// retry. fresh says no pause was running when the answer came. A 429 that
// comes while one runs is for a request that went out before the first
// answer was in and reached Telegram inside its retry_after: a violation,
// which lengthens the pause, and its retry_after says by how much.
func (l *limiter) rateLimited(end time.Time, retry time.Duration) (fresh bool, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fresh = !end.Before(l.until)
	l.until = later(l.until, end.Add(retry))
	return fresh, l.until
}

// turnKey carries a job's turn in the context of its send.
type turnKey struct{}

// turn is a job's right to make requests to Telegram: the place the
// scheduler reserved for the first, and the requests admitted and not yet
// counted.
type turn struct {
	lim *limiter

	mu       sync.Mutex
	reserved bool // the reserved place is not used yet
	open     []func()
}

// Admit waits until a request to Telegram may be made, and holds its place
// in the bot-wide limit. A Sender calls it right before each request it
// makes for the dispatcher, and calls sent once the request has been
// written out (after any new connection's handshake, after an upload's
// body): the request counts from that instant, when Telegram may start
// counting it too. Outside the dispatcher's sends Admit returns at once
// and sent does nothing. Admit returns ctx's error when ctx ends first.
// sent may be called from any goroutine, more than once.
func Admit(ctx context.Context) (sent func(), err error) {
	t, _ := ctx.Value(turnKey{}).(*turn)
	if t == nil {
		return func() {}, nil
	}
	t.mu.Lock()
	reserved := t.reserved
	t.reserved = false
	t.mu.Unlock()
	if err := t.lim.take(ctx, reserved); err != nil {
		if reserved {
			t.lim.unreserve()
		}
		return nil, err
	}
	var once sync.Once
	sent = func() { once.Do(t.lim.made) }
	t.mu.Lock()
	t.open = append(t.open, sent)
	t.mu.Unlock()
	return sent, nil
}

// settle ends the turn after the send. An unused place is given back, or,
// when the Sender was called and never admitted a request, counted now,
// later than any request it made, which errs on the safe side; so are the
// requests admitted and never said sent.
func (t *turn) settle(called bool) {
	t.mu.Lock()
	open, reserved := t.open, t.reserved
	t.open, t.reserved = nil, false
	t.mu.Unlock()
	for _, sent := range open {
		sent()
	}
	switch {
	case reserved && called:
		t.lim.made()
	case reserved:
		t.lim.unreserve()
	}
}
