package ranking

import (
	"context"
	"fmt"

	"github.com/go-co-op/gocron/v2"
)

// Register schedules the daily purge of old click rows (at PurgeAt, and
// once at start, as a restart may skip the hour) and, when a site URL is
// configured, the reading of its most-followed block every Site.Interval
// from start.
func (r *Ranker) Register(s gocron.Scheduler) ([]gocron.Job, error) {
	purge, err := s.NewJob(
		gocron.DailyJob(1, gocron.NewAtTimes(gocron.NewAtTime(uint(r.cfg.PurgeAt.Hour), uint(r.cfg.PurgeAt.Minute), 0))),
		gocron.NewTask(func(ctx context.Context) {
			if _, err := r.Purge(ctx); err != nil && ctx.Err() == nil {
				r.log.Error("purge clicks", "err", err)
			}
		}),
		gocron.WithName("purge clicks"),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
		gocron.WithStartAt(gocron.WithStartImmediately()),
	)
	if err != nil {
		return nil, fmt.Errorf("register click purge: %w", err)
	}
	jobs := []gocron.Job{purge}
	if r.site == "" {
		return jobs, nil
	}
	site, err := s.NewJob(
		gocron.DurationJob(r.cfg.SiteInterval.D()),
		gocron.NewTask(func(ctx context.Context) {
			res, err := r.RefreshSite(ctx)
			if err != nil {
				if ctx.Err() == nil {
					r.log.Warn("site most-followed list", "url", r.site, "err", err)
				}
				return
			}
			r.log.Info("site most-followed list read", "url", r.site, "links", res.Links, "matched", len(res.Matched))
		}),
		gocron.WithName("read site most-followed"),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
		gocron.WithStartAt(gocron.WithStartImmediately()),
	)
	if err != nil {
		return nil, fmt.Errorf("register site most-followed reading: %w", err)
	}
	return append(jobs, site), nil
}

// Purge deletes the click rows older than the retention period (whole UTC
// days) and returns how many; their daily counts stay.
func (r *Ranker) Purge(ctx context.Context) (int, error) {
	n, err := r.st.PurgeClicks(ctx, r.now().Add(-r.retention))
	if err != nil {
		return 0, err
	}
	r.log.Info("clicks purged", "rows", n, "retention", r.retention.String())
	return n, nil
}
