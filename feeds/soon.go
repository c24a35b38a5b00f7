package feeds

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/almaalouma/nashra"
)

// Trigger says why a feed is polled.
type Trigger string

// Triggers, the values of the "trigger" metric label.
const (
	// TriggerSchedule: the feed's next check came.
	TriggerSchedule Trigger = "schedule"
	// TriggerAll: every feed polled at once (nashra poll).
	TriggerAll Trigger = "all"
	// TriggerPush: a WebSub hub said the feed changed.
	TriggerPush Trigger = "push"
	// TriggerPing: the site's publish ping asked for the feed.
	TriggerPing Trigger = "ping"
	// TriggerLapse: the feed's push stopped; the poll catches up and puts
	// the feed back on the normal interval.
	TriggerLapse Trigger = "lapse"
)

// Push is what the poller tells and asks the WebSub subscriber. Its
// methods must be quick and safe for concurrent use; they log their own
// failures.
type Push interface {
	// Fetched sees every full answer of a feed (2xx) before it is parsed:
	// its Link headers, or the feed itself, name the feed's hub. final is
	// the URL answered after redirects.
	Fetched(ctx context.Context, f nashra.Feed, header http.Header, body []byte, final *url.URL)
	// Pushing reports whether a hub pushes the feed's updates at now: the
	// feed is then polled every poll.push_interval only, as a safety net.
	Pushing(ctx context.Context, f nashra.Feed, now time.Time) bool
	// Missed is told that a poll started at now, not asked by a push,
	// found articles: while the feed is pushed, its hub may have stopped
	// delivering, unless its push comes after all.
	Missed(ctx context.Context, f nashra.Feed, now time.Time)
}

// flight is the polling of one feed: at most one poll of a feed runs at a
// time, and asks for a poll while one runs make one more poll after it.
type flight struct {
	running bool
	done    chan struct{} // closed when the running poll ends
	// queued asks for a poll as soon as none runs and notBefore has come.
	queued  bool
	trigger Trigger
	// notBefore spaces the polls asked outside the schedule:
	// poll.on_demand_gap after the start of the feed's last poll.
	notBefore time.Time
	// landed is when the feed's last poll ended.
	landed time.Time
}

// PollSoon asks for a poll of feed id outside its schedule, for the
// reason t: at once when none of it runs, else right after the one
// running, and never sooner than poll.on_demand_gap after the feed's last
// poll started. Asks made before that poll starts are one: it reports
// whether this ask added a poll. Serve runs the polls; the caller must
// name configured feeds only.
func (p *Poller) PollSoon(id int64, t Trigger) bool {
	p.mu.Lock()
	fl := p.flightOf(id)
	added := !fl.queued
	if added || t == TriggerPush {
		// A poll a push asked for, among others, is the push's: what it
		// finds was announced.
		fl.queued, fl.trigger = true, t
	}
	p.mu.Unlock()
	if !added {
		p.metrics.onDemand.WithLabelValues(string(t), "coalesced").Inc()
		return false
	}
	p.metrics.onDemand.WithLabelValues(string(t), "queued").Inc()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return true
}

// Serve runs the polls PollSoon asks for, poll.workers at a time, until
// ctx ends; then it waits for those running.
func (p *Poller) Serve(ctx context.Context) {
	sem := make(chan struct{}, p.cfg.Workers)
	done := make(chan struct{})
	running := 0
	for {
		now := time.Now()
		var start []int64
		var next time.Time
		p.mu.Lock()
		for id, fl := range p.flights {
			switch {
			case !fl.queued || fl.running:
			case now.Before(fl.notBefore):
				if next.IsZero() || fl.notBefore.Before(next) {
					next = fl.notBefore
				}
			default:
				start = append(start, id)
			}
		}
		triggers := make([]Trigger, len(start))
		for i, id := range start {
			triggers[i] = p.flights[id].trigger
			p.takeOff(id, now)
		}
		p.mu.Unlock()
		for i, id := range start {
			running++
			go func() {
				defer func() { done <- struct{}{} }()
				sem <- struct{}{}
				defer func() { <-sem }()
				p.pollOne(ctx, id, triggers[i])
			}()
		}
		timer := time.NewTimer(time.Hour)
		if !next.IsZero() {
			timer.Reset(next.Sub(now))
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			for ; running > 0; running-- {
				<-done
			}
			return
		case <-p.wake:
		case <-timer.C:
		case <-done:
			running--
		}
		timer.Stop()
	}
}

// pollOne polls the feed with the latest state the store has of it; the
// caller has claimed it.
func (p *Poller) pollOne(ctx context.Context, id int64, t Trigger) {
	defer p.land(id)
	f, err := p.store.Feed(ctx, id)
	if err != nil {
		if ctx.Err() == nil {
			p.log.Error("poll feed now", "feed_id", id, "trigger", t, "err", err)
		}
		return
	}
	if !f.Active {
		return
	}
	if res := p.pollFeed(ctx, f, t); res.New > 0 && p.OnNew != nil {
		p.OnNew()
	}
}

// flightOf returns the flight of feed id, creating it; p.mu is held.
func (p *Poller) flightOf(id int64) *flight {
	fl := p.flights[id]
	if fl == nil {
		fl = &flight{}
		p.flights[id] = fl
	}
	return fl
}

// takeOff marks feed id's poll running from now, answering every ask
// made so far; p.mu is held and no poll of it runs.
func (p *Poller) takeOff(id int64, now time.Time) {
	fl := p.flightOf(id)
	fl.running, fl.queued, fl.done = true, false, make(chan struct{})
	fl.notBefore = now.Add(p.cfg.OnDemandGap.D())
}

// claim takes feed id for a poll on the schedule, or for every feed, and
// reports whether a poll of it ended after since. When a poll of it runs
// already, it returns false at once unless wait is set; then it waits for
// that poll to end, and takes the feed, unless ctx ends first.
func (p *Poller) claim(ctx context.Context, id int64, wait bool, since time.Time) (ok, stale bool) {
	for {
		p.mu.Lock()
		fl := p.flightOf(id)
		if !fl.running {
			p.takeOff(id, time.Now())
			stale = fl.landed.After(since)
			p.mu.Unlock()
			return true, stale
		}
		done := fl.done
		p.mu.Unlock()
		if !wait {
			return false, false
		}
		select {
		case <-done:
		case <-ctx.Done():
			return false, false
		}
	}
}

// land ends the running poll of feed id, waking Serve when another was
// asked meanwhile.
func (p *Poller) land(id int64) {
	p.mu.Lock()
	fl := p.flights[id]
	fl.running, fl.landed = false, time.Now()
	close(fl.done)
	queued := fl.queued
	p.mu.Unlock()
	if queued {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}
