// Package bot is nashra's Telegram side: it turns updates into commands
// that change readers', groups' and channels' subscriptions, renders
// articles as posts, and sends them (Sender, used by the delivery engine).
// Command code never sends: it queues replies through an Outbox.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/telegram"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/feeds"
	"github.com/almaalouma/nashra/ranking"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/subscribers"
)

// Outbox queues replies durably for the delivery engine's reply lane.
type Outbox interface {
	// EnqueueReply stores r and wakes the dispatcher; it returns once r is
	// stored, not sent.
	EnqueueReply(ctx context.Context, r delivery.Reply) error
}

// Controls are the editors' levers on the delivery engine.
type Controls interface {
	// Pause stops all pushes (replies still go out) until Resume.
	Pause(ctx context.Context) error
	// Resume lets pushes go out again.
	Resume(ctx context.Context) error
	// CancelArticle cancels what remains of an article's fan-out and returns
	// how many deliveries it cancelled.
	CancelArticle(ctx context.Context, articleID int64) (int, error)
	// Retract cancels an article's pending deliveries and deletes the
	// messages already sent where Telegram still allows it; it returns how
	// many messages it will delete.
	Retract(ctx context.Context, articleID int64) (int, error)
	// Broadcast sends r to every active reader, each with its own chat_id
	// in place of r.ChatID, behind fan-outs rather than in the reply lane;
	// it returns how many readers it queued.
	Broadcast(ctx context.Context, r delivery.Reply) (int, error)
	// Stats returns the engine's figures by name for /stats: "paused" (1
	// when paused), "pending_<lane>", "held", "stale", "dead",
	// "sent_last_hour", "sent", "rate_limited", "errors_<kind>"… Known
	// names are shown in Arabic (see statLabels); others as they are.
	Stats(ctx context.Context) (map[string]int64, error)
}

// Ranking ranks articles by what readers opened; *ranking.Ranker
// implements it.
type Ranking interface {
	// Top returns up to limit articles of section (all when empty), best
	// first; mostFollowed is false when there were no signals and the list
	// is only the latest.
	Top(ctx context.Context, section string, limit int) (as []nashra.Article, mostFollowed bool, err error)
	// Stats returns the window's best articles with their unique clicks
	// and the clicks by medium, for admins' /stats.
	Stats(ctx context.Context, limit int) (ranking.Stats, error)
}

// Digest builds today's digest on an admin's demand.
type Digest interface {
	// Build builds and queues the digest of at's local day, unless the
	// day has one (created false); an empty window is recorded, not sent.
	Build(ctx context.Context, at time.Time) (d nashra.Digest, created bool, err error)
}

// EmailSignup starts the email digest's double opt-in; *subscribers.Service
// implements it.
type EmailSignup interface {
	// RequestSignup sends a confirmation email to address for sections
	// (all when empty), as asked by from. It never says whether the
	// address was known; an address that cannot be used is a
	// *subscribers.AddressError, and subscribers.ErrTooManySignups says
	// the user asked too often lately, here or through the web form.
	RequestSignup(ctx context.Context, from subscribers.Requester, address string, sections []string) error
}

// Feeding says how the feeds hear of new articles, for admins' /stats.
type Feeding interface {
	// Feeding counts the active feeds by how they are fed now: "push" (a
	// hub pushes), "ping" (the site's publish pings) or "poll" (polling
	// only); and returns when the last push came, zero when none did.
	Feeding(ctx context.Context) (byHow map[string]int, lastPush time.Time, err error)
}

// HeldArticles are the flood guard's controls; *feeds.FloodGuard
// implements them, and the dashboard uses the same.
type HeldArticles interface {
	// Held returns up to limit held articles, oldest first.
	Held(ctx context.Context, limit int) ([]nashra.Article, error)
	// Release hands held articles on to the delivery engine (all when ids
	// is nil) and returns how many were still held.
	Release(ctx context.Context, ids []int64) (int, error)
}

// Dashboard signs admins in to the web dashboard; *dashboard.Dashboard
// implements it.
type Dashboard interface {
	// SignInLink returns a one-time link that signs admin in, valid for a
	// few minutes.
	SignInLink(ctx context.Context, admin int64) (string, error)
	// SignOutAll ends every session of admin and the links not used yet;
	// it returns how many sessions it ended.
	SignOutAll(ctx context.Context, admin int64) (int, error)
}

// Leadership says when this instance leads those sharing its store: only
// the leader may call getUpdates (Telegram answers a second poller with 409
// Conflict).
type Leadership interface {
	// Lead calls fn at the start of each term as the leader, with a context
	// that ends with the term, until ctx ends.
	Lead(ctx context.Context, fn func(ctx context.Context))
}

// Option changes how the bot is built.
type Option func(*Bot)

// WithControls gives the bot the editors' controls; without them the admin
// commands say they are not available.
func WithControls(c Controls) Option { return func(b *Bot) { b.controls = c } }

// WithRanking gives /top a ranking; without it /top says none exists yet.
func WithRanking(r Ranking) Option { return func(b *Bot) { b.ranking = r } }

// WithDigest lets admins build today's digest with /senddigest.
func WithDigest(d Digest) Option { return func(b *Bot) { b.digest = d } }

// WithEmailSignup lets /email start the email double opt-in.
func WithEmailSignup(e EmailSignup) Option { return func(b *Bot) { b.email = e } }

// WithLeadership makes the bot publish its commands, check the channels,
// alert the admins and receive updates by long polling (or set the
// webhook) only while l says this instance leads; any instance serves the
// webhook. Without it this instance always does.
func WithLeadership(l Leadership) Option { return func(b *Bot) { b.leadership = l } }

// WithFeeding lets /stats say how the feeds are fed.
func WithFeeding(f Feeding) Option { return func(b *Bot) { b.feeding = f } }

// WithWebhookSecret sets the secret Telegram is asked to send with every
// webhook call, and the webhook handler checks in
// X-Telegram-Bot-Api-Secret-Token; see WebhookSecret.
func WithWebhookSecret(secret string) Option { return func(b *Bot) { b.webhookSecret = secret } }

// WithFloodGuard gives /held and /release the flood guard's controls;
// without it they work on the store alone, and a release waits for the
// delivery engine's next look.
func WithFloodGuard(g HeldArticles) Option { return func(b *Bot) { b.held = g } }

// WithDashboard lets admins sign in to the web dashboard with /dashboard
// and sign out everywhere with /logout_all.
func WithDashboard(d Dashboard) Option { return func(b *Bot) { b.dashboard = d } }

// WithLogger sets the logger (slog.Default otherwise).
func WithLogger(l *slog.Logger) Option { return func(b *Bot) { b.log = l } }

// WithClock sets the clock, for tests.
func WithClock(now func() time.Time) Option { return func(b *Bot) { b.now = now } }

// Bot handles Telegram updates.
type Bot struct {
	// cfg is the site, the digest's time, the admins and, set, the
	// webhook's URL, which switches from long polling to a webhook.
	cfg           config.Config
	sections      *nashra.Catalog
	subs          *subscribers.Service
	webhookSecret string
	api           *telegram.API
	db            Store
	render        *telegram.Renderer
	outbox        Outbox
	controls      Controls
	ranking       Ranking
	digest        Digest
	email         EmailSignup
	feeding       Feeding
	held          HeldArticles
	dashboard     Dashboard
	// leadership is nil when this instance is the only one.
	leadership Leadership
	log        *slog.Logger
	now        func() time.Time
	admins     map[int64]bool

	members *memberCache
	pending *pendingActions

	selfMu sync.RWMutex
	self   botUser
}

type botUser struct {
	id       int64
	username string
}

// Store is what the bot reads and records itself; what chats follow goes
// through the subscribers.
type Store interface {
	feeds.HeldStore
	Article(ctx context.Context, id int64) (nashra.Article, error)
	LatestArticles(ctx context.Context, section string, limit int) ([]nashra.Article, error)
	Feeds(ctx context.Context) ([]nashra.Feed, error)
	// ClaimUpdate reports whether this instance is the first to see the
	// update: Telegram may deliver one twice.
	ClaimUpdate(ctx context.Context, updateID int, now time.Time) (bool, error)
	// CountReplies and LastReplyMerge ration the answers to one chat.
	CountReplies(ctx context.Context, chatID int64, merge string, since time.Time) (int, error)
	LastReplyMerge(ctx context.Context, chatID int64, since time.Time) (string, error)
	SetChannelMembers(ctx context.Context, chatID int64, members int, at time.Time) error
	RaiseAlert(ctx context.Context, a nashra.Alert) (bool, error)
	UnsentAlerts(ctx context.Context) ([]nashra.Alert, error)
	MarkAlertSent(ctx context.Context, id int64, now time.Time) error
	// The figures of /stats.
	CountArticles(ctx context.Context) (int, error)
	CountChats(ctx context.Context) (store.ChatCounts, error)
	FollowedDeliveries(ctx context.Context, since time.Time) (int, error)
	TopFollows(ctx context.Context, kind nashra.FollowKind, limit int) ([]store.FollowCount, error)
}

// New builds the bot for cfg: its commands change what chats follow
// through subs, and it reads articles, feeds and figures from db. It does
// no I/O: Run connects, seeds the channel mapping and starts receiving
// updates.
func New(cfg *config.Config, api *telegram.API, render *telegram.Renderer, db Store, subs *subscribers.Service, outbox Outbox,
	opts ...Option) *Bot {
	b := &Bot{
		cfg: *cfg, sections: subs.Sections(), subs: subs, api: api, db: db, render: render, outbox: outbox,
		log: slog.Default(), now: time.Now, admins: map[int64]bool{},
		members: newMemberCache(2 * time.Minute),
		pending: newPendingActions(time.Hour),
		held:    feeds.NewFloodGuard(db, nil),
	}
	for _, id := range cfg.Admins {
		b.admins[id] = true
	}
	for _, o := range opts {
		o(b)
	}
	return b
}

// Run connects to Telegram (retrying while it is unreachable), publishes
// the command list, checks the channels, alerts admins of what needs them
// and receives updates, by long polling or through the webhook, until ctx
// ends. With WithLeadership, all but connecting happens in the leader's
// terms.
func (b *Bot) Run(ctx context.Context) error {
	if err := b.connect(ctx); err != nil {
		return nil // ctx ended while Telegram was unreachable
	}
	if b.leadership == nil {
		return b.lead(ctx)
	}
	b.leadership.Lead(ctx, func(ctx context.Context) {
		if err := b.lead(ctx); err != nil {
			b.log.Error("telegram: stopped receiving updates", "err", err)
		}
	})
	return nil
}

// lead does the work of the one instance that talks to Telegram for the
// bot, until ctx ends.
func (b *Bot) lead(ctx context.Context) error {
	if err := b.setCommands(ctx); err != nil {
		b.log.Warn("telegram: publish commands", "err", err)
	}
	if err := b.setProfile(ctx); err != nil {
		b.log.Warn("telegram: set the bot's description", "err", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { b.checkChannels(ctx) })
	wg.Go(func() { b.alertLoop(ctx) })
	defer wg.Wait()
	if b.cfg.Telegram.WebhookURL != "" {
		b.setWebhook(ctx)
		<-ctx.Done()
		return nil
	}
	return b.poll(ctx)
}

// connect calls getMe until it succeeds or ctx ends.
func (b *Bot) connect(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		me, err := b.api.Me(ctx)
		if err == nil {
			b.selfMu.Lock()
			b.self = botUser{id: me.ID, username: me.UserName}
			b.selfMu.Unlock()
			b.log.Info("telegram: connected", "bot", me.UserName)
			return nil
		}
		wait := outbox.Backoff(attempt, time.Second, 5*time.Minute)
		b.log.Warn("telegram: not reachable, retrying", "err", err, "in", wait)
		if !outbox.Sleep(ctx, wait) {
			return ctx.Err()
		}
	}
}

// me returns the bot's id and username, zero before connecting.
func (b *Bot) me() botUser {
	b.selfMu.RLock()
	defer b.selfMu.RUnlock()
	return b.self
}

// isAdmin reports whether a Telegram user is one of nashra's admins.
func (b *Bot) isAdmin(userID int64) bool { return b.admins[userID] }

// send queues a message to a chat.
func (b *Bot) send(ctx context.Context, chatID int64, html string, kb *tgbotapi.InlineKeyboardMarkup) error {
	return b.enqueue(ctx, telegram.TextMessage(chatID, html, kb))
}

func (b *Bot) enqueue(ctx context.Context, r delivery.Reply) error {
	if err := b.outbox.EnqueueReply(ctx, r); err != nil {
		return fmt.Errorf("queue %s to %d: %w", r.Method, r.ChatID, err)
	}
	return nil
}

// notifyAdmins queues a message to every admin's private chat.
func (b *Bot) notifyAdmins(ctx context.Context, html string) error {
	var errs []error
	for _, id := range b.cfg.Admins {
		errs = append(errs, b.send(ctx, id, html, nil))
	}
	return errors.Join(errs...)
}

// WebhookPath is the path of the webhook URL, where the web server mounts
// WebhookHandler; "/telegram/webhook" when the URL names none.
func (b *Bot) WebhookPath() string {
	u, err := url.Parse(b.cfg.Telegram.WebhookURL)
	if err != nil || strings.Trim(u.Path, "/") == "" {
		return "/telegram/webhook"
	}
	return u.Path
}
