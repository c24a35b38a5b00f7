// Package ranking ranks articles by what readers open: unique clicks on
// tracked links, weighed by how recent they are, plus a boost for the
// articles the site itself lists as most followed. It serves the bot's
// /top and /stats and the digest's picks, and keeps the click rows within
// their retention period.
//
// The score (see rank) is Σ 0.5^(age of click / half-life) over an
// article's unique clicks in the window, plus the site boost when the site
// lists it. Ties, and articles without signals, go newest first. When no
// article of the window has any signal the order is the latest, and
// results say so (MostFollowed false): callers must then say "الأحدث",
// never "الأكثر متابعة".
package ranking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/store"
)

// Store is what the ranking needs from the store.
type Store interface {
	// RankCandidates returns the articles first seen in [since, until), of
	// section when it is not empty.
	RankCandidates(ctx context.Context, section string, since, until time.Time) ([]store.Candidate, error)
	// ClickBuckets returns the unique clicks made in [since, until).
	ClickBuckets(ctx context.Context, since, until time.Time) ([]store.ClickBucket, error)
	// SiteMostFollowed returns the site's list when read at or after since.
	SiteMostFollowed(ctx context.Context, since time.Time) ([]int64, error)
	// SetSiteMostFollowed replaces the site's list.
	SetSiteMostFollowed(ctx context.Context, ids []int64, at time.Time) error
	// Article returns one article, store.ErrNotFound when it is gone.
	Article(ctx context.Context, id int64) (nashra.Article, error)
	// ClicksByMedium returns the counts by medium since a day.
	ClicksByMedium(ctx context.Context, since time.Time) ([]store.MediumClicks, error)
	// PurgeClicks deletes the click rows of the days before one.
	PurgeClicks(ctx context.Context, before time.Time) (int, error)
}

// Ranker ranks articles; its methods serve /top, /stats and the digest.
type Ranker struct {
	cfg config.Ranking
	// site is the page read for the site's most-followed list; empty when
	// that signal is off (a negative site boost), and boost is then 0.
	site      string
	boost     float64
	retention time.Duration // of click rows
	userAgent string
	st        Store
	client    *http.Client
	log       *slog.Logger
	now       func() time.Time
}

// Option changes how a Ranker is built.
type Option func(*Ranker)

// WithLogger sets the logger (slog.Default otherwise).
func WithLogger(l *slog.Logger) Option { return func(r *Ranker) { r.log = l } }

// WithClock sets the clock, for tests.
func WithClock(now func() time.Time) Option { return func(r *Ranker) { r.now = now } }

// New returns a ranker over st, configured by cfg's ranking section, the
// site's URL and the clicks' retention. It does no I/O: Register schedules
// the site reading and the purge.
func New(cfg *config.Config, st Store, opts ...Option) *Ranker {
	rc := cfg.Ranking
	r := &Ranker{
		cfg: rc, retention: cfg.Tracking.Retention.D(), userAgent: cfg.UserAgent,
		st: st, log: slog.Default(), now: time.Now,
		client: &http.Client{Timeout: rc.SiteTimeout.D()},
	}
	if rc.SiteBoost >= 0 {
		r.site, r.boost = cfg.Site.URL, rc.SiteBoost
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Scored is a ranked article with what ranked it.
type Scored struct {
	nashra.Article
	// Score is the article's score at the end of the window.
	Score float64
	// Uniques counts its unique clicks in the window, undecayed.
	Uniques int
	// Listed says the site's own most-followed list named it.
	Listed bool
}

// Result is a ranking.
type Result struct {
	Articles []Scored
	// MostFollowed is false when no article of the window had a click or a
	// place on the site's list: the order is then only the latest, and
	// must be called so.
	MostFollowed bool
	// Since and Until bound the window.
	Since, Until time.Time
}

// Rank returns up to limit articles of section (all when empty) first seen
// in the window ending at until (now when zero), best first.
func (r *Ranker) Rank(ctx context.Context, section string, until time.Time, limit int) (Result, error) {
	es, signals, res, err := r.entries(ctx, section, until)
	if err != nil {
		return Result{}, err
	}
	res.MostFollowed = signals
	if res.Articles, err = r.load(ctx, es[:min(limit, len(es))]); err != nil {
		return Result{}, err
	}
	return res, nil
}

// Top returns up to limit articles of section (all when empty) of the
// window ending now, best first; mostFollowed is false when there were no
// signals and the list is only the latest. It is the bot's Ranking.
func (r *Ranker) Top(ctx context.Context, section string, limit int) (as []nashra.Article, mostFollowed bool, err error) {
	res, err := r.Rank(ctx, section, time.Time{}, limit)
	if err != nil {
		return nil, false, err
	}
	as = make([]nashra.Article, len(res.Articles))
	for i, s := range res.Articles {
		as[i] = s.Article
	}
	return as, res.MostFollowed, nil
}

// Selection is the digest's choice: a lead story, then each section's
// picks.
type Selection struct {
	// Lead is the best article of the chosen sections; nil when the window
	// holds none.
	Lead *Scored
	// Sections holds the picks of each chosen section, in the order asked,
	// without the lead and without an article already picked for an
	// earlier section; a section with nothing new is left out.
	Sections []SectionPicks
	// MostFollowed says the lead was ranked by signals; false means the
	// whole selection is only the latest.
	MostFollowed bool
	// Since and Until bound the window.
	Since, Until time.Time
}

// SectionPicks are one section's articles in a digest.
type SectionPicks struct {
	Section  string
	Articles []Scored
	// MostFollowed says at least one of them was ranked by signals.
	MostFollowed bool
}

// Digest returns the digest's selection for the window ending at until
// (now when zero): the lead story among sections (all when empty), then up
// to perSection articles for each of sections, in the order given.
func (r *Ranker) Digest(ctx context.Context, until time.Time, sections []string, perSection int) (Selection, error) {
	es, _, res, err := r.entries(ctx, "", until)
	if err != nil {
		return Selection{}, err
	}
	sel := Selection{Since: res.Since, Until: res.Until}
	if len(sections) > 0 {
		es = slices.DeleteFunc(es, func(e entry) bool {
			return !slices.ContainsFunc(e.Sections, func(s string) bool { return slices.Contains(sections, s) })
		})
	}
	if len(es) == 0 {
		return sel, nil
	}
	lead, err := r.load(ctx, es[:1])
	if err != nil {
		return Selection{}, err
	}
	if len(lead) == 0 {
		return sel, nil // deleted since it was ranked: a rare race, no digest
	}
	sel.Lead = &lead[0]
	sel.MostFollowed = lead[0].Score > 0
	picked := map[int64]bool{es[0].ID: true}
	for _, sec := range sections {
		var chosen []entry
		for _, e := range es {
			if len(chosen) == perSection {
				break
			}
			if !picked[e.ID] && slices.Contains(e.Sections, sec) {
				picked[e.ID] = true
				chosen = append(chosen, e)
			}
		}
		as, err := r.load(ctx, chosen)
		if err != nil {
			return Selection{}, err
		}
		if len(as) == 0 {
			continue
		}
		sel.Sections = append(sel.Sections, SectionPicks{Section: sec, Articles: as,
			MostFollowed: slices.ContainsFunc(as, func(s Scored) bool { return s.Score > 0 })})
	}
	return sel, nil
}

// Stats are the admins' figures.
type Stats struct {
	// Top are the best articles of the window.
	Top          []Scored
	MostFollowed bool
	// ByMedium counts clicks by medium over the UTC days of the window.
	ByMedium     []store.MediumClicks
	Since, Until time.Time
}

// Stats returns the window's top limit articles and the clicks by medium,
// for /stats.
func (r *Ranker) Stats(ctx context.Context, limit int) (Stats, error) {
	res, err := r.Rank(ctx, "", time.Time{}, limit)
	if err != nil {
		return Stats{}, err
	}
	byMedium, err := r.st.ClicksByMedium(ctx, res.Since)
	if err != nil {
		return Stats{}, fmt.Errorf("ranking stats: %w", err)
	}
	return Stats{Top: res.Articles, MostFollowed: res.MostFollowed, ByMedium: byMedium, Since: res.Since, Until: res.Until}, nil
}

// entries ranks the candidates of section in the window ending at until.
func (r *Ranker) entries(ctx context.Context, section string, until time.Time) ([]entry, bool, Result, error) {
	if until.IsZero() {
		until = r.now()
	}
	since := until.Add(-r.cfg.Window.D())
	res := Result{Since: since, Until: until}
	cands, err := r.st.RankCandidates(ctx, section, since, until)
	if err != nil {
		return nil, false, res, fmt.Errorf("rank: %w", err)
	}
	if len(cands) == 0 {
		return nil, false, res, nil
	}
	clicks, err := r.st.ClickBuckets(ctx, since, until)
	if err != nil {
		return nil, false, res, fmt.Errorf("rank: %w", err)
	}
	var listed []int64
	if r.site != "" && r.boost > 0 {
		if listed, err = r.st.SiteMostFollowed(ctx, since); err != nil {
			return nil, false, res, fmt.Errorf("rank: %w", err)
		}
	}
	es, signals := rank(cands, clicks, listed, until, params{halfLife: r.cfg.HalfLife.D(), boost: r.boost})
	return es, signals, res, nil
}

// load reads the articles of es, in order; one that was deleted meanwhile
// is left out.
func (r *Ranker) load(ctx context.Context, es []entry) ([]Scored, error) {
	out := make([]Scored, 0, len(es))
	for _, e := range es {
		a, err := r.st.Article(ctx, e.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("rank: %w", err)
		}
		out = append(out, Scored{Article: a, Score: e.score, Uniques: e.uniques, Listed: e.listed})
	}
	return out, nil
}
