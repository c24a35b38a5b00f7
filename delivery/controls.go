package delivery

import (
	"context"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/store"
)

// deleteWindow is how long Telegram lets a bot delete its messages (48 h),
// less a margin for the queue in between.
const deleteWindow = 47 * time.Hour

// dispatcherName is the Telegram dispatcher's row in the store.
const dispatcherName = string(store.QueueTelegram)

// Controls are the editors' levers on the delivery engine, working on the
// store alone: the command line uses them while nashra runs elsewhere, and
// the running dispatcher sees the change within a second. Engine has the
// same methods and also tells its own dispatcher at once.
//
// Pause stops all pushes — articles and broadcasts — until Resume: nothing
// more is claimed, and what was claimed goes back to the queue. Replies to
// readers, corrections and retractions still go out.
type Controls struct {
	*outbox.Gate
	st  ControlStore
	now func() time.Time
}

// NewControls returns the controls over st; now may be nil for time.Now.
func NewControls(st ControlStore, now func() time.Time) *Controls {
	if now == nil {
		now = time.Now
	}
	return &Controls{Gate: outbox.NewGate(st, store.QueueTelegram, now), st: st, now: now}
}

// CancelArticle cancels what remains of an article's fan-out and returns
// how many deliveries it cancelled. Sends already on their way (at most the
// rows a running dispatcher holds in memory, a few seconds' worth) still
// go out and are recorded as sent.
func (c *Controls) CancelArticle(ctx context.Context, articleID int64) (int, error) {
	return c.st.CancelArticleDeliveries(ctx, articleID, "editor")
}

// Retract cancels an article's pending deliveries and queues the deletion
// of the messages already sent, where Telegram still allows it (48 hours);
// it returns how many messages will be deleted. A coalesced bundle listing
// the article is deleted whole. Messages older than the window stay, and
// the log says how many.
func (c *Controls) Retract(ctx context.Context, articleID int64) (int, error) {
	now := c.now()
	r, err := c.st.RetractArticle(ctx, articleID, "editor", now, now.Add(-deleteWindow))
	if err != nil {
		return 0, err
	}
	return r.Deleting, nil
}

// Figures are the delivery engine's numbers for admins.
type Figures struct {
	Paused   bool
	PausedAt time.Time
	// Dispatcher is the instance holding the dispatcher's lease, empty when
	// none does.
	Dispatcher string
	// Due counts rows waiting to be sent, by lane: replies, edits,
	// breaking, channels, groups, private, broadcast.
	Due map[string]int
	// Held counts rows waiting for quiet hours, an hourly bundle or a
	// retry's backoff.
	Held         int
	Stale, Dead  int
	SentLastHour int
	// OldestDue is when the oldest row at the head of a lane was created;
	// zero when none is due.
	OldestDue time.Time
	// RecentDead are the last rows given up, with their errors.
	RecentDead []nashra.Delivery
	// Live are this process's counters since start (sent, rate_limited,
	// global_pauses, retry_after_violations, errors by kind); empty when
	// the dispatcher runs elsewhere.
	Live map[string]int64
}

// Figures reads the delivery figures from the store.
func (c *Controls) Figures(ctx context.Context) (Figures, error) {
	now := c.now()
	d, err := c.st.Lease(ctx, dispatcherName)
	if err != nil {
		return Figures{}, err
	}
	counts, err := c.st.CountOutbox(ctx, now.Add(-time.Hour))
	if err != nil {
		return Figures{}, err
	}
	dead, err := c.st.DeadDeliveries(ctx, 5)
	if err != nil {
		return Figures{}, err
	}
	f := Figures{
		Paused: d.Paused, PausedAt: d.PausedAt,
		Due: map[string]int{
			laneNames[prioReply]: counts.Replies, laneNames[prioWork]: counts.Work, laneNames[prioBroadcast]: counts.Broadcasts,
		},
		Held: counts.Held, Stale: counts.Stale, Dead: counts.Dead, SentLastHour: counts.SentSince,
		OldestDue: counts.OldestDue, RecentDead: dead,
	}
	if d.Until.After(now) {
		f.Dispatcher = d.Holder
	}
	for lane := nashra.LaneBreaking; lane <= nashra.LanePrivate; lane++ {
		f.Due[laneNames[rowPrio(lane)]] = counts.Due[lane]
	}
	return f, nil
}

// Stats returns the figures by name for the bot's /stats: paused (0 or 1),
// pending_<lane>, sent_last_hour, stale, dead, and, when the dispatcher runs
// in this process, sent, rate_limited, global_pauses and
// retry_after_violations.
func (f Figures) Stats() map[string]int64 {
	m := map[string]int64{
		"paused": 0, "sent_last_hour": int64(f.SentLastHour), "stale": int64(f.Stale), "dead": int64(f.Dead),
		"held": int64(f.Held),
	}
	if f.Paused {
		m["paused"] = 1
	}
	for lane, n := range f.Due {
		m["pending_"+lane] = int64(n)
	}
	for k, v := range f.Live {
		m[k] = v
	}
	return m
}
