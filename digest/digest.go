// Package digest builds the daily Arabic digest — the most-followed pieces
// of the last 24 hours, a lead story and each chosen section's top three —
// for confirmed email subscribers and for Telegram readers who asked for
// it, and renders it: the mails, the Telegram messages, the archive. It
// also composes the mails of the email double opt-in (package subscribers
// decides them).
//
// A digest is rendered once per distinct set of sections; only the
// per-recipient links are filled in per message. Building queues one row
// per (digest, recipient) in the send log, which package mail sends,
// composing each mail here (Compose) as it goes out; the Telegram digest
// is queued once per chat in the delivery engine's queue and rendered by
// Render as it goes out.
package digest

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/ranking"
)

// Store is what the digest needs of the store. *store.DB implements it;
// the methods and their errors are documented there.
type Store interface {
	// Digests and their articles.
	CreateDigest(ctx context.Context, d nashra.Digest, telegram bool) (nashra.Digest, bool, error)
	Digest(ctx context.Context, day string) (nashra.Digest, error)
	DigestByID(ctx context.Context, id int64) (nashra.Digest, error)
	Digests(ctx context.Context, limit int) ([]nashra.Digest, error)
	DigestEdition(ctx context.Context, digestID int64, sections string, pick func() (nashra.DigestPicks, error)) (nashra.DigestPicks, error)
	FinishDigests(ctx context.Context, now time.Time) ([]nashra.Digest, error)
	Article(ctx context.Context, id int64) (nashra.Article, error)
	Chat(ctx context.Context, id int64) (nashra.Chat, error)

	// The send log.
	SendCounts(ctx context.Context, digestID int64) (map[nashra.SendMedium]map[nashra.DeliveryState]int, error)
	CompactSendLog(ctx context.Context, before time.Time) (int, error)
}

// Ranker chooses a digest's articles; *ranking.Ranker implements it. The
// selection's MostFollowed is false when the order is only recency: the
// digest then says "الأحدث", never "الأكثر متابعة".
type Ranker interface {
	// Digest returns the lead story among sections and up to perSection
	// articles of each of sections, for the window ending at until.
	Digest(ctx context.Context, until time.Time, sections []string, perSection int) (ranking.Selection, error)
}

// Links makes the article links readers follow; *links.Builder
// implements it with tracked /r/ links.
type Links interface {
	// Email returns the link to a in the message sent at sentAt to the
	// email subscriber subscriberID.
	Email(a nashra.Article, subscriberID int64, sentAt time.Time) string
	// Article returns the link to a shown in medium "web".
	Article(a nashra.Article, medium nashra.Medium) string
	// Post returns the link to a in a Telegram message to chat: a private
	// chat's (above 0) are its reader's own, whose clicks then count once;
	// a group's are anonymous.
	Post(a nashra.Article, medium nashra.Medium, chat int64) string
}

// Subscribers say what a chat follows; *subscribers.Service implements
// them.
type Subscribers interface {
	// Subscriptions returns the sections a chat follows.
	Subscriptions(ctx context.Context, chatID int64) ([]string, error)
}

// Deps are the parts the digest works with.
type Deps struct {
	Store  Store
	Ranker Ranker
	// Links makes article links; nil: every link goes straight to the site.
	Links Links
	// Tokens signs the confirmation, preference and unsubscribe links.
	Tokens *links.ActionSigner
	// Sections are the configured sections.
	Sections *nashra.Catalog
	// Telegram queues the Telegram digest too, for the delivery engine to
	// send as Render makes it; false: email only.
	Telegram bool
	// Subscribers say which sections each Telegram reader's digest covers;
	// needed with Telegram.
	Subscribers Subscribers
	// Now is the clock (nil: time.Now); it must advance like real time.
	Now func() time.Time
	// Log may be nil to discard.
	Log *slog.Logger
	// Registerer gets the metrics; nil: not registered.
	Registerer prometheus.Registerer
	// MailQueued wakes the mail sender once a digest's mails are queued;
	// nil: the sender finds them when it next looks.
	MailQueued func()
}

// Service is the digest: build it with New, register its daily job with
// Register; it composes the mails package mail sends.
type Service struct {
	cfg      config.Config
	st       Store
	ranker   Ranker
	links    Links
	tokens   *links.ActionSigner
	sections *nashra.Catalog
	telegram bool
	subs     Subscribers
	now      func() time.Time
	log      *slog.Logger
	m        *metrics
	queued   func()

	composer *composer
	editions *editionCache

	buildMu sync.Mutex
}

// New builds the digest, configured by cfg: the site, the digest and email
// sections, the base URL. Its only I/O is reading the DKIM key.
func New(cfg *config.Config, deps Deps) (*Service, error) {
	if deps.Store == nil || deps.Ranker == nil || deps.Tokens == nil || deps.Sections == nil || len(deps.Sections.Sections()) == 0 {
		return nil, errors.New("digest: store, ranker, tokens and sections are required")
	}
	if deps.Telegram && deps.Subscribers == nil {
		return nil, errors.New("digest: the Telegram digest needs the subscribers")
	}
	s := &Service{
		cfg: *cfg, st: deps.Store, ranker: deps.Ranker, links: deps.Links, tokens: deps.Tokens,
		sections: deps.Sections, telegram: deps.Telegram, subs: deps.Subscribers, now: deps.Now, log: deps.Log,
		queued: deps.MailQueued,
	}
	if s.queued == nil {
		s.queued = func() {}
	}
	if s.links == nil {
		s.links = directLinks{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if s.m, err = newMetrics(deps.Registerer); err != nil {
		return nil, err
	}
	if s.composer, err = newComposer(cfg); err != nil {
		return nil, err
	}
	s.editions = newEditionCache()
	return s, nil
}

// directLinks links straight to the site when tracked links are off.
type directLinks struct{}

func (directLinks) Email(a nashra.Article, _ int64, _ time.Time) string    { return a.Link }
func (directLinks) Article(a nashra.Article, _ nashra.Medium) string       { return a.Link }
func (directLinks) Post(a nashra.Article, _ nashra.Medium, _ int64) string { return a.Link }
