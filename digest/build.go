package digest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/arabic"
	"github.com/almaalouma/nashra/ranking"
	"github.com/almaalouma/nashra/store"
)

// dayLayout is how days are written in the store and in archive URLs.
const dayLayout = "2006-01-02"

// Register adds to s the digest's jobs: every minute, whether today's
// digest is due (the store says; gocron only ticks, so a restart loses
// nothing) and whether a send has finished; every hour, compacting the
// send log.
func (s *Service) Register(sched gocron.Scheduler) error {
	if _, err := sched.NewJob(gocron.CronJob("* * * * *", false),
		gocron.NewTask(func(ctx context.Context) {
			if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("digest: tick", "err", err)
			}
		}),
		gocron.WithName("digest"),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
		gocron.WithStartAt(gocron.WithStartImmediately()),
	); err != nil {
		return fmt.Errorf("register digest job: %w", err)
	}
	if _, err := sched.NewJob(gocron.DurationJob(time.Hour),
		gocron.NewTask(func(ctx context.Context) {
			if err := s.Housekeep(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("digest: housekeeping", "err", err)
			}
		}),
		gocron.WithName("digest housekeeping"),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
	); err != nil {
		return fmt.Errorf("register digest housekeeping: %w", err)
	}
	return nil
}

// Tick does what is due at now: it records as sent the digests with
// nothing left to send, and builds today's digest once its time has come,
// unless the day has one already or the cut-off hour has passed (then the
// day is recorded as missed). It returns today's digest when it built or
// recorded it, the zero Digest otherwise.
func (s *Service) Tick(ctx context.Context) (nashra.Digest, error) {
	now := s.now()
	if err := s.finish(ctx, now); err != nil {
		return nashra.Digest{}, err
	}
	at := s.digestAt(now)
	if now.Before(at) {
		return nashra.Digest{}, nil
	}
	day := at.Format(dayLayout)
	if _, err := s.st.Digest(ctx, day); !errors.Is(err, store.ErrNotFound) {
		return nashra.Digest{}, err
	}
	if now.In(s.cfg.Site.Location).Hour() >= s.cfg.Digest.CutoffHour {
		d, created, err := s.st.CreateDigest(ctx, nashra.Digest{Day: day, State: nashra.DigestMissed, CreatedAt: now,
			WindowStart: at.Add(-24 * time.Hour), WindowEnd: at}, false)
		if err == nil && created {
			s.log.Warn("digest: missed today's digest (nashra was not running at its time); it is not sent after the cut-off",
				"day", day, "cutoff_hour", s.cfg.Digest.CutoffHour)
		}
		return d, err
	}
	d, _, err := s.Build(ctx, at)
	return d, err
}

// finish records digests whose messages are all settled as sent.
func (s *Service) finish(ctx context.Context, now time.Time) error {
	done, err := s.st.FinishDigests(ctx, now)
	if err != nil {
		return err
	}
	for _, d := range done {
		counts, err := s.st.SendCounts(ctx, d.ID)
		if err != nil {
			return err
		}
		e, t := counts[nashra.SendEmail], counts[nashra.SendTelegram]
		s.log.Info("digest: sent", "day", d.Day, "emails", e[nashra.DeliverySent], "bounced", e[nashra.DeliveryBounced],
			"failed", e[nashra.DeliveryDead]+e[nashra.DeliveryStale], "skipped", e[nashra.DeliveryCancelled],
			"telegram", t[nashra.DeliverySent])
	}
	return nil
}

// Build builds the digest of the local day of at, for the window ending
// at at (now, when at is later), and queues it: one message per active
// subscriber and Telegram digest reader. A day that has a digest already
// is left as it is (created false); a window with no new articles is
// recorded as empty, with nothing sent, and the log says so.
func (s *Service) Build(ctx context.Context, at time.Time) (d nashra.Digest, created bool, err error) {
	// One build at a time here; the store's unique day settles a race
	// between instances.
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	now := s.now()
	until := at
	if until.After(now) {
		until = now
	}
	day := at.In(s.cfg.Site.Location).Format(dayLayout)
	if d, err := s.st.Digest(ctx, day); err == nil {
		return d, false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return d, false, err
	}
	all := s.sections.Among(nil)
	sel, err := s.ranker.Digest(ctx, until, all, s.cfg.Digest.PerSection)
	if err != nil {
		return nashra.Digest{}, false, fmt.Errorf("digest %s: rank: %w", day, err)
	}
	d = nashra.Digest{Day: day, State: nashra.DigestSending, Subject: s.subject(at), Picks: picksOf(sel), CreatedAt: now,
		WindowStart: sel.Since, WindowEnd: sel.Until}
	if d.WindowEnd.IsZero() {
		d.WindowStart, d.WindowEnd = until.Add(-24*time.Hour), until
	}
	if d.Picks.Empty() {
		d.State = nashra.DigestEmpty
	}
	d, created, err = s.st.CreateDigest(ctx, d, s.telegram)
	if err != nil || !created {
		return d, created, err
	}
	if d.State == nashra.DigestEmpty {
		s.log.Info("digest: no new articles in the window: no digest today", "day", day,
			"since", d.WindowStart, "until", d.WindowEnd)
		return d, true, nil
	}
	s.log.Info("digest: queued", "day", day, "emails", d.Emails, "telegram", d.Chats,
		"most_followed", d.Picks.MostFollowed, "articles", countPicks(d.Picks))
	s.queued()
	return d, true, nil
}

// subject is the digest's subject in the site's style:
// "نشرة المعلومة — 28 تشرين الثاني 2026".
func (s *Service) subject(at time.Time) string {
	return "نشرة " + s.cfg.Site.Name + " — " + arabic.Date(at, s.cfg.Site.Location)
}

// picksOf keeps a ranking's selection by article id.
func picksOf(sel ranking.Selection) nashra.DigestPicks {
	var p nashra.DigestPicks
	if sel.Lead == nil {
		return p
	}
	p.Lead, p.MostFollowed = sel.Lead.ID, sel.MostFollowed
	for _, sp := range sel.Sections {
		ds := nashra.DigestSection{Section: sp.Section, MostFollowed: sp.MostFollowed}
		for _, a := range sp.Articles {
			ds.Articles = append(ds.Articles, a.ID)
		}
		p.Sections = append(p.Sections, ds)
	}
	return p
}

func countPicks(p nashra.DigestPicks) int {
	if p.Empty() {
		return 0
	}
	n := 1
	for _, s := range p.Sections {
		n += len(s.Articles)
	}
	return n
}

// Housekeep deletes finished send-log rows older than email.retention.
func (s *Service) Housekeep(ctx context.Context) error {
	_, err := s.st.CompactSendLog(ctx, s.now().Add(-s.cfg.Email.Retention.D()))
	return err
}

// digestAt returns the local digest time of day, on the local date of t.
func (s *Service) digestAt(t time.Time) time.Time {
	return s.cfg.Digest.Time.On(t, s.cfg.Site.Location)
}
