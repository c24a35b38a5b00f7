package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/almaalouma/nashra/feeds"
)

func cmdPoll(ctx context.Context, env *cliEnv, args []string) error {
	if err := parse(flags(env, "poll"), args, 0); err != nil {
		return err
	}
	cfg, db, err := openConfigured(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	// A one-off poll has nobody to scrape its metrics.
	p, err := feeds.NewPoller(db, cfg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	results, err := p.PollAll(ctx)
	printResults(env.stdout, results)
	return err
}

// printResults prints one line per feed: what it answered and what it gave.
func printResults(w io.Writer, results []feeds.Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SECTION\tFEED\tSTATUS\tITEMS\tNEW\tHELD\tEXCLUDED\tUPDATED\tSEEN\tTIME\tERROR")
	for _, r := range results {
		errText := "-"
		switch {
		case r.Err != nil:
			errText = r.Err.Error()
		case len(r.Refused) > 0:
			errText = r.RefusedText()
		}
		seen := r.Seen + r.Unchanged
		note := ""
		if r.Baseline {
			note = " (first poll: marked seen)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d%s\t%s\t%s\n", r.Section, r.FeedURL, r.StatusText(), r.Items,
			r.New, r.Held, r.Excluded, r.Updated, seen, note, r.Duration.Round(time.Millisecond), errText)
	}
	tw.Flush()
}
