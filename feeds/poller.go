// Package feeds polls the site's section feeds and turns their items into
// stored articles: it fetches (conditional GET, size and redirect limits,
// timeouts), parses every common feed format in any declared charset (or
// the site's legacy one), whatever illegal characters one item carries,
// normalises each item (canonical link, plain-text title and summary,
// sanitized content, full-size lead image, the byline as author),
// deduplicates through the store, and decides when each feed is polled
// next. A new article's hand-off is its stored state "new"; nothing is sent
// from here.
package feeds

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-co-op/gocron/v2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/arabic"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/store"
)

// Store is what the poller needs from the store; *store.DB implements it.
// Every method fails only when the database does, with an error saying
// which operation failed.
type Store interface {
	// Feeds lists the active feeds.
	Feeds(ctx context.Context) ([]nashra.Feed, error)
	// Feed returns the feed with the given id, or store.ErrNotFound.
	Feed(ctx context.Context, id int64) (nashra.Feed, error)
	// DueFeeds lists up to limit active feeds whose next check is at or
	// before now, the most overdue first.
	DueFeeds(ctx context.Context, now time.Time, limit int) ([]nashra.Feed, error)
	// UpdateFeedState saves what a poll learnt about a feed.
	UpdateFeedState(ctx context.Context, f nashra.Feed) error
	// SaveItems stores one poll's items, matching them to known articles
	// by GUID then link, whoever else stores the same items at the same
	// moment; classify sets the State of the items never seen before, and
	// must not touch the store. It sets the ID of the items it stored as
	// new. The items the database refuses are listed in the result, the
	// others stored; on error nothing is.
	SaveItems(ctx context.Context, section string, items []nashra.Article, now time.Time,
		classify func(fresh []*nashra.Article)) (store.SaveResult, error)
	// RaiseAlert records an alert unless the same one is still unsent, and
	// reports whether it did.
	RaiseAlert(ctx context.Context, a nashra.Alert) (bool, error)
}

// dueLimit bounds the feeds one tick takes; the rest wait for the next.
const dueLimit = 1000

// maxErrorText bounds the error text kept on a feed, in runes.
const maxErrorText = 500

// Poller polls feeds and stores their items. Its methods are safe for
// concurrent use, though the scheduler's singleton mode never needs it.
type Poller struct {
	// Now is the poller's clock: time.Now unless a test sets another
	// before the first poll.
	Now func() time.Time
	// OnNew, when set, is called after a poll stored new or revised
	// articles, so that the delivery engine hands them on, or corrects
	// what it sent, at once instead of at its next look.
	OnNew func()
	// Push, when set, sees the feeds' answers for their hubs and relaxes
	// the schedule of the feeds a hub pushes.
	Push Push

	store     Store
	cfg       config.Poll
	userAgent string
	client    *http.Client
	log       *slog.Logger
	metrics   *metrics
	norm      normalizer
	exclude   map[string]bool   // matchKey of cfg.ExcludeCategories
	legacy    encoding.Encoding // the site's legacy charset
	names     map[string]string // sections' Arabic names by slug, for the editors' alerts

	mu           sync.Mutex
	stale        map[int64]bool            // feeds found stale at their last success
	failingSince map[int64]time.Time       // first failure seen of feeds that never succeeded
	undecodable  map[int64]map[string]bool // GUIDs of the items each feed holds back, the admins told
	flights      map[int64]*flight         // by feed id
	wake         chan struct{}             // tells Serve a poll was asked or ended
}

// NewPoller returns a poller of the feeds in st, configured by cfg's poll
// section, the site's legacy charset and the user agent; metrics are
// registered on reg unless it is nil; logger nil means slog.Default().
func NewPoller(st Store, cfg *config.Config, reg prometheus.Registerer, logger *slog.Logger) (*Poller, error) {
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	legacy, _ := charset.Lookup(cfg.Site.LegacyCharset)
	names := make(map[string]string, len(cfg.Sections))
	for _, s := range cfg.Sections {
		names[s.Slug] = s.Name
	}
	return &Poller{
		names:        names,
		Now:          time.Now,
		store:        st,
		cfg:          cfg.Poll,
		userAgent:    cfg.UserAgent,
		client:       newClient(cfg.Poll),
		log:          logger,
		metrics:      m,
		norm:         normalizer{generic: normalizedSet(cfg.Poll.GenericAuthors)},
		exclude:      normalizedSet(cfg.Poll.ExcludeCategories),
		legacy:       legacy,
		stale:        make(map[int64]bool),
		failingSince: make(map[int64]time.Time),
		undecodable:  make(map[int64]map[string]bool),
		flights:      make(map[int64]*flight),
		wake:         make(chan struct{}, 1),
	}, nil
}

// Result is what polling one feed did.
type Result struct {
	FeedID  int64
	FeedURL string
	Section string
	// Status is the HTTP status of the answer (304 when unchanged), 0 when
	// none came.
	Status int
	// Items is how many items the feed held, New how many were stored as
	// new for readers; Held, Excluded and Seen count the other first
	// sightings (flood guard, excluded category, baseline or flood guard's
	// older items), Updated and Unchanged the items already known.
	Items, New, Held, Excluded, Seen, Updated, Unchanged int
	// Baseline is true for the feed's first successful poll.
	Baseline bool
	// Refused lists the items the store could not take while it took the
	// others; the next poll fetches the feed in full and tries them again.
	Refused []store.ItemError
	// Err is why the poll failed; the feed keeps its text.
	Err         error
	Duration    time.Duration
	NextCheckAt time.Time
}

// RefusedText says how many items the store refused and why the first
// was, "" when it took them all.
func (r Result) RefusedText() string {
	if len(r.Refused) == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d items not stored, tried again at the next poll: %v", len(r.Refused), r.Items, r.Refused[0])
}

// StatusText is Status as a table shows it: "200", "304", or "error" when
// no answer came.
func (r Result) StatusText() string {
	if r.Status == 0 {
		return "error"
	}
	return strconv.Itoa(r.Status)
}

// PollDue polls the active feeds whose next check has come, poll.workers
// at a time, and returns what each poll did. It returns early, with the
// results so far and the context's error, when ctx is done.
func (p *Poller) PollDue(ctx context.Context) ([]Result, error) {
	read := time.Now()
	fs, err := p.store.DueFeeds(ctx, p.Now(), dueLimit)
	if err != nil {
		return nil, fmt.Errorf("poll due feeds: %w", err)
	}
	return p.pollFeeds(ctx, fs, read, TriggerSchedule)
}

// PollAll polls every active feed now, whatever its schedule, as the
// "nashra poll" command does.
func (p *Poller) PollAll(ctx context.Context) ([]Result, error) {
	read := time.Now()
	fs, err := p.store.Feeds(ctx)
	if err != nil {
		return nil, fmt.Errorf("poll all feeds: %w", err)
	}
	return p.pollFeeds(ctx, fs, read, TriggerAll)
}

// tick is how often the scheduled job asks the store what is due: often,
// since asking costs one indexed query and the feeds' own schedules say
// when each is polled.
const tick = 30 * time.Second

// Register adds to s the job that polls the due feeds every 30 seconds (or
// every MinInterval, when shorter), starting at once. Singleton mode makes
// a tick that comes while the previous poll still runs wait for the next.
func (p *Poller) Register(s gocron.Scheduler) (gocron.Job, error) {
	j, err := s.NewJob(
		gocron.DurationJob(min(tick, p.cfg.MinInterval.D())),
		gocron.NewTask(func(ctx context.Context) {
			if _, err := p.PollDue(ctx); err != nil && ctx.Err() == nil {
				p.log.Error("poll due feeds", "err", err)
			}
		}),
		gocron.WithName("poll feeds"),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
		gocron.WithStartAt(gocron.WithStartImmediately()),
	)
	if err != nil {
		return nil, fmt.Errorf("register feed poller: %w", err)
	}
	return j, nil
}

// pollFeeds polls fs, read from the store at read, with a bounded pool of
// workers. A feed whose poll runs already is skipped on the schedule (that
// poll is its check), and otherwise polled after it; a feed polled since
// read is read again, so that no poll starts from a state another saved
// over.
func (p *Poller) pollFeeds(ctx context.Context, fs []nashra.Feed, read time.Time, t Trigger) ([]Result, error) {
	results := make([]Result, len(fs))
	polled := make([]bool, len(fs))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(p.cfg.Workers, len(fs)) {
		wg.Go(func() {
			for i := range jobs {
				ok, stale := p.claim(ctx, fs[i].ID, t != TriggerSchedule, read)
				if !ok {
					continue
				}
				if stale {
					f, err := p.store.Feed(ctx, fs[i].ID)
					if err != nil || !f.Active {
						p.land(fs[i].ID)
						continue
					}
					fs[i] = f
				}
				results[i] = p.pollFeed(ctx, fs[i], t)
				polled[i] = true
				p.land(fs[i].ID)
			}
		})
	}
send:
	for i := range fs {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break send
		}
	}
	close(jobs)
	wg.Wait()
	out := results[:0]
	fresh := false
	for i, r := range results {
		if polled[i] {
			out = append(out, r)
			// A revision too: the engine corrects sent posts at once.
			fresh = fresh || r.New > 0 || r.Updated > 0
		}
	}
	if fresh && p.OnNew != nil {
		p.OnNew()
	}
	return out, ctx.Err()
}

// pollFeed fetches one feed, stores its items and saves its new state;
// the caller has claimed it.
func (p *Poller) pollFeed(ctx context.Context, f nashra.Feed, t Trigger) Result {
	started := time.Now()
	now := p.Now()
	log := p.log.With("feed_id", f.ID, "feed_url", f.URL, "section", f.SectionSlug, "trigger", t)
	res := Result{FeedID: f.ID, FeedURL: f.URL, Section: f.SectionSlug, Baseline: f.BaselinedAt.IsZero()}

	r, err := p.fetch(ctx, f, now)
	if r != nil {
		res.Status = r.status
	}
	var reason string
	if err != nil {
		reason = fetchFailure(err)
		err = fmt.Errorf("fetch feed %d: %w", f.ID, err)
	} else if r.status != http.StatusNotModified {
		if p.Push != nil {
			p.Push.Fetched(ctx, f, r.header, r.body, r.url)
		}
		reason, err = p.ingest(ctx, f, r, now, &res, log)
		if err == nil && t != TriggerPush && !res.Baseline && res.New+res.Held+res.Excluded > 0 && p.Push != nil {
			p.Push.Missed(ctx, f, now)
		}
	}
	res.Duration = time.Since(started)
	if err != nil && ctx.Err() != nil {
		// Shutting down: not the feed's fault, and nothing to record.
		res.Err = err
		return res
	}
	res.Err = err
	p.record(ctx, f, r, &res, reason, now, log)
	p.observe(res, reason)
	return res
}

// ingest parses a fetched feed and stores its items. On error it says
// which step failed, for the metrics.
func (p *Poller) ingest(ctx context.Context, f nashra.Feed, r *response, now time.Time, res *Result, log *slog.Logger) (string, error) {
	got, err := p.items(r, now, log)
	if err != nil {
		return "parse", fmt.Errorf("parse feed %d: %w", f.ID, err)
	}
	p.holdUndecodable(ctx, f, got.undecodable, now, log)
	items, undated := got.items, got.undated
	res.Items = len(items)

	var fresh []*nashra.Article
	flooded := false
	saved, err := p.store.SaveItems(ctx, f.SectionSlug, items, now, func(fr []*nashra.Article) {
		fresh = fr
		flooded = p.classify(fr, len(items), res.Baseline)
	})
	if err != nil {
		return "store", fmt.Errorf("store feed %d: %w", f.ID, err)
	}
	res.Updated, res.Unchanged, res.Refused = saved.Updated, saved.Unchanged, saved.Failed
	for _, e := range saved.Failed {
		p.metrics.refused.Inc()
		log.Error("feed item not stored; tried again at the next poll", "guid", e.GUID, "err", e.Err)
	}
	if len(saved.Failed) > 0 && len(saved.Failed) == len(items) {
		return "store", fmt.Errorf("store feed %d: none of its %d items stored: %w", f.ID, len(items), saved.Failed[0])
	}
	for _, a := range fresh {
		if a.ID == 0 {
			// Refused, or stored first by another poll worker or instance
			// (counted as updated or unchanged).
			continue
		}
		switch a.State {
		case nashra.ArticleNew:
			res.New++
		case nashra.ArticleHeld:
			res.Held++
		case nashra.ArticleExcluded:
			res.Excluded++
		default:
			res.Seen++
		}
		p.metrics.articles.WithLabelValues(string(a.State)).Inc()
		if !res.Baseline && !undated[a.GUID] {
			p.metrics.delay.Observe(max(now.Sub(a.PublishedAt), 0).Seconds())
		}
		if a.State != nashra.ArticleSeen {
			log.Info("new article", "article_id", a.ID, "state", a.State, "title", a.Title)
		}
	}
	if flooded {
		msg := p.floodMessage(f, len(fresh), p.cfg.FloodGuard)
		p.raise(ctx, AlertFloodGuard, f, msg, now, log)
	}
	return "", nil
}

// parsed is what a fetched feed holds.
type parsed struct {
	items []nashra.Article
	// undated holds the GUIDs of the items the feed gave no date.
	undated map[string]bool
	// undecodable are the items held back: readers would see U+FFFD, bytes
	// that no encoding made sense of, in their title, summary or author.
	undecodable []nashra.Article
}

// items parses a fetched feed into articles, the first of each GUID and
// link only. A panic in the parsers on a hostile document fails this feed,
// not the process.
func (p *Poller) items(r *response, now time.Time, log *slog.Logger) (got parsed, err error) {
	defer func() {
		if v := recover(); v != nil {
			got, err = parsed{}, fmt.Errorf("panic: %v", v)
		}
	}()
	feed, err := parseFeed(r.body, r.contentType, p.legacy)
	if err != nil {
		return parsed{}, err
	}
	base := r.url
	if u := resolveURL(feed.Link, r.url); isWebURL(u) {
		base = u
	}
	got = parsed{items: make([]nashra.Article, 0, len(feed.Items)), undated: make(map[string]bool)}
	seen := make(map[string]bool, 2*len(feed.Items))
	for _, it := range feed.Items {
		if it == nil {
			continue
		}
		a, dated, err := p.norm.normalize(it, base, now)
		if err != nil {
			log.Warn("skip feed item", "title", truncate(arabic.CleanLine(it.Title), maxTitle), "err", err)
			continue
		}
		// A feed that lists an item twice would otherwise fail the whole
		// batch on the store's unique GUID and link.
		if seen[a.GUID] || seen[a.Link] {
			continue
		}
		seen[a.GUID], seen[a.Link] = true, true
		if strings.ContainsRune(a.Title+a.Summary+a.Author, utf8.RuneError) {
			got.undecodable = append(got.undecodable, a)
			continue
		}
		if !dated {
			got.undated[a.GUID] = true
		}
		got.items = append(got.items, a)
	}
	return got, nil
}

// record saves the feed's state after a poll at now that got r (nil when
// no answer came) and failed, if it did, at the step reason names; and it
// raises the alerts the feed's health calls for.
func (p *Poller) record(ctx context.Context, f nashra.Feed, r *response, res *Result, reason string, now time.Time, log *slog.Logger) {
	before := f
	f.CheckedAt = now
	f.LastStatus = res.Status
	var h hints
	if r != nil {
		h = r.hints
	}
	switch {
	case res.Err != nil:
		f.ErrorCount++
		f.LastError = truncate(arabic.CleanLine(res.Err.Error()), maxErrorText)
		f.LastErrorAt = now
		log.Warn("poll feed", "status", res.Status, "errors", f.ErrorCount, "err", res.Err)
	case r.status == http.StatusNotModified:
		f.ErrorCount, f.LastError, f.LastSuccessAt = 0, "", now
		// A 304 may carry fresher validators; it need not.
		if r.etag != "" {
			f.ETag = r.etag
		}
		if r.lastModified != "" {
			f.LastModified = r.lastModified
		}
	default:
		f.ErrorCount, f.LastError, f.LastSuccessAt = 0, "", now
		// The validators are saved only now, after the items: a crash in
		// between refetches the feed instead of losing its new items to a 304.
		f.ETag, f.LastModified = r.etag, r.lastModified
		if len(res.Refused) > 0 {
			// Nor may a 304 hide the items the store refused: the next
			// poll fetches the feed in full and tries them again. The feed
			// itself is fine, and keeps its schedule.
			f.ETag, f.LastModified = "", ""
			f.LastError = truncate(arabic.CleanLine(res.RefusedText()), maxErrorText)
			f.LastErrorAt = now
		}
		if f.BaselinedAt.IsZero() {
			f.BaselinedAt = now
		}
		if res.New+res.Held+res.Excluded+res.Seen > 0 {
			f.LastNewAt = now
		}
	}
	cfg := p.cfg
	if f.ErrorCount == 0 && p.Push != nil && p.Push.Pushing(ctx, f, now) {
		// A hub announces what is new: polls are the safety net only.
		cfg.Interval, cfg.MaxInterval = cfg.PushInterval, max(cfg.MaxInterval, cfg.PushInterval)
	}
	f.NextCheckAt = nextCheck(cfg, now, f.ErrorCount, h, rand.Float64())
	res.NextCheckAt = f.NextCheckAt
	if err := p.store.UpdateFeedState(ctx, f); err != nil {
		log.Error("save feed state", "err", err)
		res.Err = errors.Join(res.Err, err)
		return
	}
	p.checkHealth(ctx, before, f, reason, now, log)
}

// observe counts a poll in the metrics; reason says which step failed.
func (p *Poller) observe(res Result, reason string) {
	p.metrics.duration.Observe(res.Duration.Seconds())
	switch {
	case res.Err != nil:
		p.metrics.polls.WithLabelValues(resultError).Inc()
		p.metrics.errors.WithLabelValues(cmp.Or(reason, "store")).Inc()
	case res.Status == http.StatusNotModified:
		p.metrics.polls.WithLabelValues(resultNotModified).Inc()
	default:
		p.metrics.polls.WithLabelValues(resultOK).Inc()
	}
}

// fetchFailure names the reason a fetch failed, for the metrics.
func fetchFailure(err error) string {
	var se *StatusError
	var ne net.Error
	switch {
	case errors.As(err, &se):
		return "http"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "network"
}
