package websub

import (
	"context"
	"time"

	"github.com/almaalouma/nashra"
)

// How a feed hears of new articles, the values of Status.By.
const (
	// FedByPush: a hub pushes, within its lease.
	FedByPush = "push"
	// FedByPing: no hub pushes, but the site's publish pings came.
	FedByPing = "ping"
	// FedByPoll: polling only.
	FedByPoll = "poll"
)

// Status is how one feed is fed now.
type Status struct {
	Feed nashra.Feed
	// By is FedByPush, FedByPing or FedByPoll.
	By string
	// Hub is the hub the feed names, "" when none.
	Hub string
	// State is that of the feed's subscription to its hub: active,
	// lapsed, silent (the hub stopped delivering), requested, denied,
	// unsubscribing; "" when there is none.
	State      string
	LeaseUntil time.Time
	LastPush   time.Time
	Pushes     int
	LastPing   time.Time
	Pings      int
	// LastError is why the last request to the hub failed.
	LastError string
}

// StatusStore is what Statuses reads; *store.DB implements it.
type StatusStore interface {
	Feeds(ctx context.Context) ([]nashra.Feed, error)
	FeedPushes(ctx context.Context) ([]nashra.FeedPush, error)
	WebSubSubscriptions(ctx context.Context) ([]nashra.WebSubSubscription, error)
}

// Statuses says how each active feed is fed at now.
func Statuses(ctx context.Context, st StatusStore, now time.Time) ([]Status, error) {
	fs, err := st.Feeds(ctx)
	if err != nil {
		return nil, err
	}
	pushes, err := st.FeedPushes(ctx)
	if err != nil {
		return nil, err
	}
	subs, err := st.WebSubSubscriptions(ctx)
	if err != nil {
		return nil, err
	}
	byFeed := map[int64]nashra.FeedPush{}
	for _, p := range pushes {
		byFeed[p.FeedID] = p
	}
	out := make([]Status, 0, len(fs))
	for _, f := range fs {
		p := byFeed[f.ID]
		st := Status{Feed: f, By: FedByPoll, Hub: p.Hub, LastPing: p.LastPingAt, Pings: p.Pings}
		if !p.LastPingAt.IsZero() {
			st.By = FedByPing
		}
		for _, sub := range subs {
			if sub.FeedID != f.ID || sub.Hub != p.Hub || sub.Topic != p.Topic {
				continue
			}
			st.State, st.LeaseUntil, st.LastPush, st.Pushes, st.LastError =
				subState(sub, now), sub.LeaseUntil, sub.LastPushAt, sub.Pushes, sub.LastError
			if sub.Pushing(now) {
				st.By = FedByPush
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// subState names a subscription's state as an operator reads it.
func subState(s nashra.WebSubSubscription, now time.Time) string {
	switch {
	case s.State != nashra.WebSubActive:
		return s.State
	case !now.Before(s.LeaseUntil):
		return "lapsed"
	case !s.SilentSince.IsZero():
		return "silent"
	}
	return s.State
}

// Feeding counts the active feeds by how they are fed now (FedByPush,
// FedByPing, FedByPoll) and returns when the last push came, for admins'
// /stats.
func (s *Subscriber) Feeding(ctx context.Context) (map[string]int, time.Time, error) {
	statuses, err := Statuses(ctx, s.store, s.Now())
	if err != nil {
		return nil, time.Time{}, err
	}
	byHow := map[string]int{}
	var last time.Time
	for _, st := range statuses {
		byHow[st.By]++
		if st.LastPush.After(last) {
			last = st.LastPush
		}
	}
	return byHow, last, nil
}
