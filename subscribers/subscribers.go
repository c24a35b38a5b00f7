// Package subscribers knows who follows what: readers, groups and channels
// in Telegram and the email digest's subscribers, and the sections each
// follows. Its Service is the one the bot, the web pages and the digest
// call to subscribe, unsubscribe, change preferences, sign up and confirm;
// the rules those follow — the signup budgets, the per-address limits,
// what "every section" means, how long an unconfirmed signup is kept —
// live here, and the store only persists their outcome.
package subscribers

import (
	"context"
	"iter"
	"log/slog"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/store"
)

// Store is what the subscribers need of the store.
type Store interface {
	// Chats and what they follow.
	TouchChat(ctx context.Context, c nashra.Chat, now time.Time) (nashra.Chat, bool, error)
	Chat(ctx context.Context, id int64) (nashra.Chat, error)
	SetChatSettings(ctx context.Context, id int64, s nashra.ChatSettings, now time.Time) error
	SetChatActive(ctx context.Context, id int64, active bool, reason string, now time.Time) error
	MoveChat(ctx context.Context, from, to int64, now time.Time) error
	DeleteChat(ctx context.Context, id int64) error
	Subscribe(ctx context.Context, chatID int64, slugs []string, now time.Time) ([]string, error)
	Unsubscribe(ctx context.Context, chatID int64, slugs []string) ([]string, error)
	Subscriptions(ctx context.Context, chatID int64) ([]string, error)
	SubscribeIn(ctx context.Context, chatID, threadID int64, slugs []string, now time.Time) ([]string, error)

	// Keywords, mutes and tags followed, and the log of their changes.
	AddFollow(ctx context.Context, f nashra.Follow, limit int, now time.Time) (bool, error)
	RemoveFollow(ctx context.Context, chatID, threadID int64, kind nashra.FollowKind, key string, now time.Time) (nashra.Follow, error)
	RemoveFollowByID(ctx context.Context, chatID, id int64, now time.Time) (nashra.Follow, error)
	MoveTopicToGeneral(ctx context.Context, chatID, threadID int64, now time.Time) (int, error)
	ChatFollows(ctx context.Context, chatID int64) ([]nashra.Follow, error)
	AllFollows(ctx context.Context) iter.Seq2[nashra.Follow, error]
	LastFollowChange(ctx context.Context) (int64, error)
	FollowChanges(ctx context.Context, after int64, limit int) ([]int64, int64, error)
	ForgetFollowChanges(ctx context.Context, before time.Time) (int, error)
	TopFollows(ctx context.Context, kind nashra.FollowKind, limit int) ([]store.FollowCount, error)

	// Channels and the sections mapped to them.
	ChannelLinks(ctx context.Context) ([]nashra.ChannelLink, error)
	LinkChannel(ctx context.Context, section, channel string, now time.Time) error
	UnlinkChannel(ctx context.Context, section, channel string, now time.Time) (bool, error)
	SetChannelState(ctx context.Context, channel string, chatID int64, canPost bool, now time.Time) error

	// Email subscribers.
	RequestEmailSignup(ctx context.Context, r store.SignupRequest) (int64, store.SignupOutcome, error)
	EmailSubscriber(ctx context.Context, id int64) (nashra.EmailSubscriber, error)
	ConfirmEmailSubscriber(ctx context.Context, id int64, now time.Time) (nashra.EmailSubscriber, error)
	SetEmailPreferences(ctx context.Context, id int64, sections []string, paused bool, now time.Time) (nashra.EmailSubscriber, error)
	UnsubscribeEmail(ctx context.Context, id int64, now time.Time) (nashra.EmailSubscriber, error)
	ForgetUnconfirmedEmails(ctx context.Context, before time.Time) (int, error)
}

// Service is the subscribers: build it with New.
type Service struct {
	cfg      config.Email
	st       Store
	sections *nashra.Catalog
	now      func() time.Time
	log      *slog.Logger
	// queued is told when a signup queued a mail, so that the mail goes
	// out at once rather than at the sender's next look.
	queued func()
	// follows is every chat's follows in memory, for the fan-out.
	follows index
	metrics *followMetrics // nil until RegisterMetrics
}

// Option changes how a Service is built.
type Option func(*Service)

// WithClock sets the clock, for tests.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLogger sets the logger (slog.Default otherwise).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithMailQueued sets what is told when a signup queued a mail: the email
// sender's wake-up.
func WithMailQueued(f func()) Option { return func(s *Service) { s.queued = f } }

// New returns the subscribers kept in st, of the sections readers can
// follow, under cfg's email rules (signup limits, how long an unconfirmed
// signup is kept).
func New(cfg *config.Config, st Store, sections *nashra.Catalog, opts ...Option) *Service {
	s := &Service{cfg: cfg.Email, st: st, sections: sections, now: time.Now, log: slog.Default(), queued: func() {}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Sections returns the sections readers can follow.
func (s *Service) Sections() *nashra.Catalog { return s.sections }
