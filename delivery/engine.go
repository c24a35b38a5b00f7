package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/arabic"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/store"
)

// Engine is the delivery engine: it hands new articles on (fan-out), runs
// the dispatcher while it holds the store's lease, and takes replies and
// the editors' controls from the bot. Create it with New and start it with
// Run.
type Engine struct {
	cfg      config.Delivery
	limits   config.Limits
	loc      *time.Location // the site's: quiet hours and hourly bundles are local
	eng      *outbox.Engine
	lease    *outbox.Lease
	retry    outbox.Retry
	st       Store
	snd      Sender
	now      func() time.Time
	log      *slog.Logger
	m        *metrics
	controls *Controls
	lim      *outbox.Limiter
	breaking map[string]bool
	never    map[string]bool
	// followers, when set, names the chats that follow an article's
	// keywords and tags, and those that mute it.
	followers Followers
	// renderers make, at send time, the messages queued under their
	// method (the Telegram digest).
	renderers map[string]Renderer
	// topicGone, when set, is told of a forum topic Telegram refused a
	// post in.
	topicGone func(ctx context.Context, chatID, threadID int64, reason string)

	// articleWake and replyWake carry Notify and EnqueueReply to the running
	// dispatcher; a pending wake-up is enough, so they hold one.
	articleWake chan struct{}
	replyWake   chan struct{}

	mu      sync.Mutex
	running *session

	// Counters since start, for /stats.
	sent        atomic.Int64
	rateLimited atomic.Int64
	globalPause atomic.Int64
	violations  atomic.Int64
	errMu       sync.Mutex
	errs        map[string]int64
}

// New returns an engine configured by cfg — its delivery section,
// Telegram's limits, the categories never pushed, the site's time zone and
// the lease — holding leases as holder (empty: a new outbox.NewHolder) and
// sending through snd, keeping its state in st. now (nil: time.Now) must
// advance like real time; log may be nil to discard; the metrics are
// registered on reg unless it is nil.
func New(cfg *config.Config, holder string, st Store, snd Sender, now func() time.Time, log *slog.Logger,
	reg prometheus.Registerer) (*Engine, error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	// The housekeeper's pace: the lease's row says whether the editors
	// paused, which must take effect within a tick.
	eng := outbox.NewEngine(st, store.QueueTelegram, holder, cfg.LeaseDuration.D(), now, log, m.queue)
	lease := eng.Lease().RenewEvery(min(time.Second, cfg.Delivery.HandOnInterval.D()))
	e := &Engine{
		cfg: cfg.Delivery, limits: cfg.Telegram.Limits, loc: cfg.Site.Location, eng: eng, lease: lease,
		retry: outbox.Retry{Max: cfg.Delivery.MaxAttempts, Base: cfg.Delivery.RetryBase.D(), Limit: cfg.Delivery.RetryMax.D()},
		st:    st, snd: snd, now: now, log: log.With("holder", lease.Holder()), m: m,
		controls: NewControls(st, now), lim: outbox.NewLimiter(cfg.Telegram.Limits, now),
		// The poller excludes the categories never pushed already; the
		// fan-out checks again.
		breaking: normalized(cfg.Delivery.BreakingCategories), never: normalized(cfg.Poll.ExcludeCategories),
		articleWake: make(chan struct{}, 1), replyWake: make(chan struct{}, 1),
		errs: map[string]int64{}, renderers: map[string]Renderer{},
	}
	lease.OnRenew(func(_ context.Context, d store.Lease) { e.withSession(func(s *session) { s.renewed(d) }) })
	return e, nil
}

func normalized(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[arabic.Normalize(s)] = true
	}
	return m
}

func carries(a nashra.Article, set map[string]bool) bool {
	for _, c := range a.Categories {
		if set[arabic.Normalize(c)] {
			return true
		}
	}
	return false
}

// Followers says who follows an article beyond its sections;
// *subscribers.Service implements it.
type Followers interface {
	// Followers returns the chats (and forum topics) an article goes to
	// because of the keywords and tags they follow, with the reason for
	// each, and those that mute a phrase of it. It does no I/O.
	Followers(a nashra.Article) ([]nashra.FollowDelivery, []nashra.Topic)
}

// SetFollowers makes the fan-out deliver articles to the chats f says
// follow them by keyword or tag, and drop them from the section pushes of
// the chats that mute them. Call it before Run.
func (e *Engine) SetFollowers(f Followers) { e.followers = f }

// Renderer makes the message a chat gets for a reply queued under its
// method, when it is sent rather than when it is queued: the Telegram
// digest, queued once per chat when it is built and rendered with the
// chat's sections and links as it goes out. *digest.Service implements
// it.
type Renderer interface {
	// Render returns the message for chatID of the reply queued with
	// params; ok is false when there is nothing to send any more (the
	// reader turned the digest off, nothing new in their sections).
	Render(ctx context.Context, chatID int64, params map[string]string) (r Reply, ok bool, err error)
}

// SetRenderer makes replies queued under method go out as r renders them.
// Call it before Run.
func (e *Engine) SetRenderer(method string, r Renderer) { e.renderers[method] = r }

// SetTopicGone sets what is told when Telegram refuses a post because its
// forum topic was deleted or closed: reason is Telegram's description.
// Call it before Run.
func (e *Engine) SetTopicGone(f func(ctx context.Context, chatID, threadID int64, reason string)) {
	e.topicGone = f
}

// Notify tells the engine articles were stored or revised: new ones are
// handed on and corrections queued at once. Without it new articles are
// found within delivery.hand_on_interval and revisions within 30 seconds.
func (e *Engine) Notify() { wake(e.articleWake) }

// EnqueueReply stores a reply for the reply lane and wakes the dispatcher;
// it returns once the reply is stored, not sent. r.ChatID is authoritative:
// the dispatcher sets Params["chat_id"] from it (except for
// answerCallbackQuery), so a reply follows a group that migrated.
func (e *Engine) EnqueueReply(ctx context.Context, r Reply) error {
	if _, err := e.st.EnqueueReply(ctx, nashra.QueuedReply{ChatID: r.ChatID, Lane: nashra.ReplyLane, Method: r.Method,
		Params: r.Params, Merge: r.Merge}, e.now()); err != nil {
		return err
	}
	wake(e.replyWake)
	return nil
}

// Broadcast queues r for every active reader, each with its own chat_id,
// behind the fan-outs; it returns how many readers it queued.
func (e *Engine) Broadcast(ctx context.Context, r Reply) (int, error) {
	params := maps.Clone(r.Params)
	delete(params, "chat_id")
	n, err := e.st.EnqueueBroadcast(ctx, r.Method, params, e.now())
	if err != nil {
		return 0, err
	}
	e.log.Info("broadcast queued", "readers", n)
	wake(e.replyWake)
	return n, nil
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Pause stops all pushes; see Controls.Pause. The running dispatcher
// releases what it holds at once.
func (e *Engine) Pause(ctx context.Context) error {
	if err := e.controls.Pause(ctx); err != nil {
		return err
	}
	e.log.Warn("pushes paused by an editor")
	e.lease.Refresh()
	return nil
}

// Resume lets pushes go out again.
func (e *Engine) Resume(ctx context.Context) error {
	if err := e.controls.Resume(ctx); err != nil {
		return err
	}
	e.log.Warn("pushes resumed by an editor")
	e.lease.Refresh()
	return nil
}

// Paused reports whether pushes are paused, and since when.
func (e *Engine) Paused(ctx context.Context) (bool, time.Time, error) { return e.controls.Paused(ctx) }

// CancelArticle cancels what remains of an article's fan-out; see
// Controls.CancelArticle. Rows the dispatcher here holds are dropped too.
func (e *Engine) CancelArticle(ctx context.Context, articleID int64) (int, error) {
	n, err := e.controls.CancelArticle(ctx, articleID)
	if err != nil {
		return 0, err
	}
	e.log.Warn("article's fan-out cancelled by an editor", "article_id", articleID, "cancelled", n)
	e.withSession(func(s *session) { s.dropArticle(articleID) })
	return n, nil
}

// Retract cancels an article's fan-out and deletes what was sent of it;
// see Controls.Retract.
func (e *Engine) Retract(ctx context.Context, articleID int64) (int, error) {
	n, err := e.controls.Retract(ctx, articleID)
	if err != nil {
		return 0, err
	}
	e.log.Warn("article retracted by an editor", "article_id", articleID, "deleting", n)
	e.withSession(func(s *session) {
		s.dropArticle(articleID)
		wake(s.e.replyWake)
	})
	return n, nil
}

// Figures returns the delivery figures, with this process's counters.
func (e *Engine) Figures(ctx context.Context) (Figures, error) {
	f, err := e.controls.Figures(ctx)
	if err != nil {
		return f, err
	}
	f.Live = map[string]int64{"sent": e.sent.Load(), "rate_limited": e.rateLimited.Load(), "global_pauses": e.globalPause.Load(),
		"retry_after_violations": e.violations.Load()}
	e.errMu.Lock()
	for k, v := range e.errs {
		f.Live["errors_"+k] = v
	}
	e.errMu.Unlock()
	return f, nil
}

// Stats returns the figures by name for the bot's /stats; see
// Figures.Stats.
func (e *Engine) Stats(ctx context.Context) (map[string]int64, error) {
	f, err := e.Figures(ctx)
	if err != nil {
		return nil, fmt.Errorf("delivery stats: %w", err)
	}
	return f.Stats(), nil
}

func (e *Engine) countError(kind ErrorKind) {
	e.m.errors.WithLabelValues(kind.String()).Inc()
	e.errMu.Lock()
	e.errs[kind.String()]++
	e.errMu.Unlock()
}

func (e *Engine) withSession(f func(*session)) {
	e.mu.Lock()
	s := e.running
	e.mu.Unlock()
	if s != nil {
		f(s)
	}
}

// Run hands articles on and dispatches while this instance holds the
// dispatcher's lease, waiting for it while another instance does, until
// ctx ends. Then it stops claiming, lets the sends in flight finish (each
// bounded by delivery.SendTimeout), gives back what it had claimed and the
// lease, and returns nil. It returns an error only when it could not start.
func (e *Engine) Run(ctx context.Context) error {
	if e.snd == nil {
		return errors.New("delivery: no sender")
	}
	e.eng.Run(ctx, func(ctx context.Context, t outbox.Term) {
		if err := e.lead(ctx, t); err != nil {
			e.log.Error("dispatcher stopped", "err", err)
		}
	})
	return nil
}

// lead runs one term as the dispatcher.
func (e *Engine) lead(ctx context.Context, t outbox.Term) error {
	scopes, err := e.st.LimiterScopes(ctx, e.now())
	if err != nil {
		return err
	}
	e.log.Info("dispatching", "previous", t.Previous, "paused", t.Lease.Paused, "scopes", len(scopes))
	if t.Previous != "" && t.Previous != e.lease.Holder() {
		// Whoever sent before may have sent a full window's worth just now.
		e.lim.Fill(e.now())
	}
	s := newSession(ctx, e, t.Lease, scopes)
	e.mu.Lock()
	e.running = s
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.running = nil
		e.mu.Unlock()
	}()
	s.run()
	return nil
}
