package outbox

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/almaalouma/nashra/config"
)

// Limiter keeps the bot-wide limit and Telegram's pauses of the whole bot.
//
// Every request to Telegram counts — a post, each item of an album, a
// reply, an edit, a delete, and each further try within one send (a photo
// refused by URL, then uploaded) — at the instant it has gone out, in a
// sliding log of the requests of the last window: one may go when fewer
// than n went within the window before it. There is no burst on top, so a
// bucket-shaped limit is met as well as a windowed one.
//
// The window is n/global_per_second plus telegram.limits.window_margin.
// Telegram counts requests when they arrive: two made a window apart
// arrive closer than that by the difference of their latencies, so the
// margin is the jitter the Limiter absorbs, and it costs its share of the
// rate: 1 s / (1 s + 40 ms) is 0.96 of the limit.
//
// Within the window requests are also kept apart by three quarters of
// their mean spacing: a window's worth never goes as one clump (after a
// quiet spell, or a stall while the store is busy) that would then leave
// the rest of the window silent, and an answer to a reader never waits
// long for a place. The window stays the binding limit, so this costs no
// rate.
//
// A request holds a place from its admission until it has gone out (a new
// connection's handshake, an upload's body), and counts from then. Places
// are handed out in order, as tickets: the scheduler takes one for a job's
// first request shortly before it is free (DispatchLead), so that the
// worker builds the request meanwhile and makes it the moment it may.
type Limiter struct {
	now     func() time.Time
	n       int
	window  time.Duration
	spacing time.Duration

	mu     sync.Mutex
	log    []time.Time // requests of the last window, oldest first
	held   []uint64    // tickets of the places held, in order
	ticket uint64      // the last ticket handed out
	until  time.Time   // Telegram's pause of the whole bot
}

// DispatchLead is how long before its place is free the scheduler may hand
// a job out. Building a post takes a few milliseconds, and every window
// would lose them otherwise.
const DispatchLead = 20 * time.Millisecond

// heldPoll is how often a request looks again when only places held by
// earlier tickets, whose requests have not gone out yet, stand before it.
const heldPoll = 5 * time.Millisecond

func NewLimiter(l config.Limits, now func() time.Time) *Limiter {
	n := max(1, int(l.GlobalPerSecond))
	window := time.Duration(float64(n)/l.GlobalPerSecond*float64(time.Second)) + l.WindowMargin.D()
	return &Limiter{now: now, n: n, window: window, spacing: window / time.Duration(n) * 3 / 4}
}

// prune forgets requests that left the window; l.mu must be held.
func (l *Limiter) prune(now time.Time) {
	i := 0
	for i < len(l.log) && !l.log[i].After(now.Add(-l.window)) {
		i++
	}
	l.log = l.log[i:]
}

// freeAt is the earliest instant a request may go with ahead places held
// before it, as far as known now; l.mu must be held and the log pruned.
// When places held and not gone yet stand in the way, that is a window
// from now at the soonest, and known is false.
func (l *Limiter) freeAt(now time.Time, ahead int) (at time.Time, known bool) {
	at, known = now, true
	switch k := len(l.log) + ahead + 1 - l.n; {
	case k <= 0:
	case k <= len(l.log):
		at = l.log[k-1].Add(l.window)
	default:
		at, known = now.Add(l.window), false
	}
	if len(l.log) > 0 {
		at = Later(at, l.log[len(l.log)-1].Add(l.spacing*time.Duration(ahead+1)))
	}
	return Later(at, l.until), known
}

// Next returns when the place after those held is free.
func (l *Limiter) Next(now time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	at, _ := l.freeAt(now, len(l.held))
	return at
}

// Reserve hands out the next place if it is free within DispatchLead; 0
// when it is not.
func (l *Limiter) Reserve(now time.Time) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	if at, _ := l.freeAt(now, len(l.held)); at.After(now.Add(DispatchLead)) {
		return 0
	}
	return l.hand()
}

// hand adds a ticket after those held; l.mu must be held.
func (l *Limiter) hand() uint64 {
	l.ticket++
	l.held = append(l.held, l.ticket)
	return l.ticket
}

// ErrPaused is a request not made: Telegram's pause of the bot lasts
// beyond the time the send may take. The work waits for the pause in the
// queue instead, with no attempt counted.
var ErrPaused = errors.New("not sent: telegram's retry_after outlasts the send's time")

// take waits until the request of ticket may go (0: a request without a
// ticket, which gets the next one) and returns its ticket, or ErrPaused, or
// ctx's error.
func (l *Limiter) take(ctx context.Context, ticket uint64) (uint64, error) {
	for {
		l.mu.Lock()
		now := l.now()
		l.prune(now)
		ahead := len(l.held)
		if ticket != 0 {
			ahead = slices.Index(l.held, ticket)
		}
		at, known := l.freeAt(now, ahead)
		if !at.After(now) {
			if ticket == 0 {
				ticket = l.hand()
			}
			l.mu.Unlock()
			return ticket, nil
		}
		paused := !l.until.Before(at)
		l.mu.Unlock()
		// The clock may be another than the context's, advancing alike.
		if deadline, ok := ctx.Deadline(); ok && paused && at.Sub(now) > time.Until(deadline) {
			return ticket, ErrPaused
		}
		wait := at.Sub(now)
		if !known {
			wait = heldPoll
		}
		if !Sleep(ctx, wait) {
			return ticket, ctx.Err()
		}
	}
}

// made counts ticket's request at the instant it went, and frees the
// place it held.
func (l *Limiter) made(ticket uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drop(ticket)
	l.log = append(l.log, l.now())
}

// Release gives back ticket's place: its request will not be made.
func (l *Limiter) Release(ticket uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drop(ticket)
}

func (l *Limiter) drop(ticket uint64) {
	if i := slices.Index(l.held, ticket); i >= 0 {
		l.held = slices.Delete(l.held, i, i+1)
	}
}

// Fill counts a full window's worth of requests made at at: a term taking
// over from another holder does not know when that one last sent. That is
// no request before a window has passed.
func (l *Limiter) Fill(at time.Time) { l.Pause(at.Add(l.window)) }

// PausedUntil returns the end of Telegram's latest pause of the bot.
func (l *Limiter) PausedUntil() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.until
}

// Pause keeps every request back until until, at least.
func (l *Limiter) Pause(until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.until = Later(l.until, until)
}

// RateLimited records a 429 answered at end and pauses every request for
// retry. fresh says no pause was running when the answer came. A 429 that
// comes while one runs is for a request that went out before the first
// answer was in and reached Telegram inside its retry_after: a violation,
// which lengthens the pause, and its retry_after says by how much.
func (l *Limiter) RateLimited(end time.Time, retry time.Duration) (fresh bool, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fresh = !end.Before(l.until)
	l.until = Later(l.until, end.Add(retry))
	return fresh, l.until
}

// turnKey carries a job's turn in the context of its send.
type turnKey struct{}

// Turn is a job's right to make requests to Telegram: the place the
// scheduler reserved for the first, and the requests admitted and not yet
// counted.
type Turn struct {
	lim *Limiter

	mu     sync.Mutex
	ticket uint64 // the reserved place, until its request is admitted
	open   []func()
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
	t, _ := ctx.Value(turnKey{}).(*Turn)
	if t == nil {
		return func() {}, nil
	}
	t.mu.Lock()
	ticket := t.ticket
	t.ticket = 0
	t.mu.Unlock()
	ticket, err = t.lim.take(ctx, ticket)
	if err != nil {
		if ticket != 0 {
			t.lim.Release(ticket)
		}
		return nil, err
	}
	var once sync.Once
	sent = func() { once.Do(func() { t.lim.made(ticket) }) }
	t.mu.Lock()
	t.open = append(t.open, sent)
	t.mu.Unlock()
	return sent, nil
}

// Turn gives a job the place ticket (from Reserve) for its first request.
func (l *Limiter) Turn(ticket uint64) *Turn { return &Turn{lim: l, ticket: ticket} }

// WithTurn returns a context whose sends make their requests in t: the
// context a Sender is called with.
func WithTurn(ctx context.Context, t *Turn) context.Context {
	return context.WithValue(ctx, turnKey{}, t)
}

// Settle ends the turn after the send. An unused place is given back, or,
// when the Sender was called and never admitted a request, counted now,
// later than any request it made, which errs on the safe side; so are the
// requests admitted and never said sent.
func (t *Turn) Settle(called bool) {
	t.mu.Lock()
	open, ticket := t.open, t.ticket
	t.open, t.ticket = nil, 0
	t.mu.Unlock()
	for _, sent := range open {
		sent()
	}
	switch {
	case ticket != 0 && called:
		t.lim.made(ticket)
	case ticket != 0:
		t.lim.Release(ticket)
	}
}
