package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/feeds/ping"
	"github.com/almaalouma/nashra/feeds/websub"
)

// wirePush adds what tells nashra of new articles at once: the WebSub
// subscriber, whose callbacks every instance answers, and the publish
// ping, when a secret is set.
func (m *Main) wirePush(cfg *config.Config, log *slog.Logger) error {
	if cfg.WebSub.Enabled {
		sub, err := websub.New(m.db, m.poller, cfg, m.reg, log)
		if err != nil {
			return err
		}
		m.websub = sub
		m.poller.Push = sub
		// A hub sends the whole feed: the callback takes as much as a poll.
		m.web.HandleLarge(websub.Route, sub, cfg.Poll.MaxBodyBytes)
	} else {
		// Hubs still holding a subscription from when it was on drop it.
		m.web.Handle(websub.Route, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "websub is off", http.StatusGone)
		}))
	}
	if cfg.Hooks.PublishSecret != "" {
		h, err := ping.New(m.db, m.poller, cfg, m.reg, log)
		if err != nil {
			return err
		}
		m.web.Handle(ping.Route, h)
	}
	return nil
}

// startPush runs the polls pushes and pings ask for, on every instance,
// and the subscriber's upkeep on the leader.
func (m *Main) startPush(ctx context.Context) {
	m.wg.Go(func() { m.poller.Serve(ctx) })
	if m.websub != nil {
		m.wg.Go(func() { m.leader.Lead(ctx, m.websub.Maintain) })
	}
}

// printFeeding prints how each feed hears of new articles, for `nashra
// sections`.
func printFeeding(ctx context.Context, w io.Writer, st websub.StatusStore, cfg *config.Config, now time.Time) error {
	statuses, err := websub.Statuses(ctx, st, now)
	if err != nil {
		return err
	}
	when := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.In(cfg.Site.Location).Format("2006-01-02 15:04:05")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SECTION\tFEED\tFED BY\tHUB\tSUBSCRIPTION\tLEASE UNTIL\tLAST PUSH\tLAST PING")
	for _, s := range statuses {
		by := s.By
		switch {
		case s.By == websub.FedByPush:
			by = "push"
		case s.By == websub.FedByPing:
			by = "ping"
		case cfg.Hooks.PublishSecret != "":
			by = "poll only (ping ready, none yet)"
		default:
			by = "poll only"
		}
		state := cmp.Or(s.State, "-")
		if s.LastError != "" && s.By != websub.FedByPush {
			state += " (" + s.LastError + ")"
		}
		lease := "-"
		if !s.LeaseUntil.IsZero() {
			lease = when(s.LeaseUntil)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Feed.SectionSlug, s.Feed.URL, by, cmp.Or(s.Hub, "-"), state,
			lease, when(s.LastPush), when(s.LastPing))
	}
	return tw.Flush()
}
