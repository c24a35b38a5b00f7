package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/almaalouma/nashra/delivery"
)

// cmdDeliveries gives editors the delivery engine's controls from the
// command line; they work on the store, and a running nashra follows within
// a second.
func cmdDeliveries(ctx context.Context, env *cliEnv, args []string) error {
	fs := flags(env, "deliveries")
	if err := parse(fs, args, len(args)); err != nil {
		return err
	}
	want := map[string]int{"pause": 1, "resume": 1, "stats": 1, "cancel": 2, "retract": 2}
	if fs.NArg() == 0 || want[fs.Arg(0)] != fs.NArg() {
		fs.Usage()
		return usageError{"deliveries takes pause, resume, stats, cancel ARTICLE_ID or retract ARTICLE_ID"}
	}
	var articleID int64
	if fs.NArg() == 2 {
		id, err := strconv.ParseInt(fs.Arg(1), 10, 64)
		if err != nil || id <= 0 {
			return usageError{fmt.Sprintf("want an article id, got %q", fs.Arg(1))}
		}
		articleID = id
	}
	cfg, db, err := openConfigured(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	ctl := delivery.NewControls(db, nil)
	switch fs.Arg(0) {
	case "pause":
		if err := ctl.Pause(ctx); err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, "pushes paused; replies to readers still go out")
	case "resume":
		if err := ctl.Resume(ctx); err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, "pushes resumed")
	case "cancel":
		n, err := ctl.CancelArticle(ctx, articleID)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "article %d: %d deliveries cancelled\n", articleID, n)
	case "retract":
		n, err := ctl.Retract(ctx, articleID)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "article %d: pending deliveries cancelled, %d messages to delete\n", articleID, n)
	default:
		f, err := ctl.Figures(ctx)
		if err != nil {
			return err
		}
		printFigures(env, f, cfg.Site.Location)
	}
	return nil
}

// printFigures writes the figures, their times in loc, the site's zone.
func printFigures(env *cliEnv, f delivery.Figures, loc *time.Location) {
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	paused := "no"
	if f.Paused {
		paused = "since " + f.PausedAt.In(loc).Format(time.DateTime)
	}
	fmt.Fprintf(w, "paused\t%s\n", paused)
	dispatcher := f.Dispatcher
	if dispatcher == "" {
		dispatcher = "none running"
	}
	fmt.Fprintf(w, "dispatcher\t%s\n", dispatcher)
	lanes := make([]string, 0, len(f.Due))
	for lane := range f.Due {
		lanes = append(lanes, lane)
	}
	slices.Sort(lanes)
	for _, lane := range lanes {
		fmt.Fprintf(w, "due %s\t%d\n", lane, f.Due[lane])
	}
	fmt.Fprintf(w, "held\t%d\nstale\t%d\ndead\t%d\nsent last hour\t%d\n", f.Held, f.Stale, f.Dead, f.SentLastHour)
	if !f.OldestDue.IsZero() {
		fmt.Fprintf(w, "oldest due since\t%s\n", f.OldestDue.In(loc).Format(time.DateTime))
	}
	w.Flush()
	if len(f.RecentDead) > 0 {
		fmt.Fprintln(env.stdout, "\nlast dead deliveries:")
		w = tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ARTICLE\tCHAT\tATTEMPTS\tERROR")
		for _, d := range f.RecentDead {
			fmt.Fprintf(w, "%d\t%d\t%d\t%s: %s\n", d.ArticleID, d.ChatID, d.Attempts, d.ErrorKind, d.LastError)
		}
		w.Flush()
	}
}
