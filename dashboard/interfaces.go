package dashboard

import (
	"context"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/ranking"
	"github.com/almaalouma/nashra/store"
)

// Store is what the dashboard reads and writes; *store.DB implements it.
type Store interface {
	// CreateSignInLink keeps the hash of a one-time link for admin.
	CreateSignInLink(ctx context.Context, hash string, admin int64, now, expires time.Time) error
	// UseSignInLink uses the link once and returns its admin: store.ErrLinkUsed,
	// store.ErrLinkExpired or store.ErrNotFound when it cannot.
	UseSignInLink(ctx context.Context, hash string, now time.Time) (int64, error)
	// CreateSession keeps the hash of a session's token for admin.
	CreateSession(ctx context.Context, hash string, admin int64, now, expires time.Time) error
	// Session returns the admin of a live session, store.ErrNotFound when
	// none is.
	Session(ctx context.Context, hash string, now time.Time) (int64, error)
	// EndSession revokes one session.
	EndSession(ctx context.Context, hash string, now time.Time) error
	// RevokeSessions ends every session and unused link of admin.
	RevokeSessions(ctx context.Context, admin int64, now time.Time) (int, error)

	CountChats(ctx context.Context) (store.ChatCounts, error)
	CountEmailSubscribers(ctx context.Context) (map[nashra.EmailState]int, error)
	ChannelLinks(ctx context.Context) ([]nashra.ChannelLink, error)
	ChannelMembers(ctx context.Context) (map[int64]int, error)
	AudienceHours(ctx context.Context, since time.Time) ([]store.AudienceHour, error)
	DeliveryHours(ctx context.Context, since time.Time) (map[int64]map[nashra.DeliveryState]int, error)
	CountArticlesSince(ctx context.Context, since time.Time) (int, error)
	ClicksByMedium(ctx context.Context, since time.Time) ([]store.MediumClicks, error)
	ArticleFigures(ctx context.Context, q store.ArticleQuery) ([]store.ArticleFigures, int, error)
	ArticleTitles(ctx context.Context, afterID int64, revisedSince time.Time) ([]store.ArticleTitle, error)
	DeliveriesSentSince(ctx context.Context, since time.Time) (int, error)
	LimiterScopes(ctx context.Context, now time.Time) ([]store.Scope, error)
	Feeds(ctx context.Context) ([]nashra.Feed, error)
	FeedPushes(ctx context.Context) ([]nashra.FeedPush, error)
	WebSubSubscriptions(ctx context.Context) ([]nashra.WebSubSubscription, error)
	ArticlesBySection(ctx context.Context) (map[string]int, error)
	Digests(ctx context.Context, limit int) ([]nashra.Digest, error)
	DigestSends(ctx context.Context, medium nashra.SendMedium, ids []int64) (map[int64]map[nashra.DeliveryState]int, error)
}

// Delivery is the delivery engine as editors see it; *delivery.Engine
// implements it, and *delivery.Controls where the engine runs elsewhere.
type Delivery interface {
	// Figures reads the queue, the pause and the recent dead rows.
	Figures(ctx context.Context) (delivery.Figures, error)
	// CancelArticle cancels what remains of an article's fan-out.
	CancelArticle(ctx context.Context, articleID int64) (int, error)
	// Retract cancels an article's pending deliveries and deletes its
	// messages where Telegram still allows it.
	Retract(ctx context.Context, articleID int64) (int, error)
}

// FloodGuard decides on what the flood guard held; *feeds.FloodGuard
// implements it, the same controls as the bot's /held and /release.
type FloodGuard interface {
	Held(ctx context.Context, limit int) ([]nashra.Article, error)
	// Release hands held articles on to the delivery engine.
	Release(ctx context.Context, ids []int64) (int, error)
	// Drop makes held articles never pushed.
	Drop(ctx context.Context, ids []int64) (int, error)
}

// Ranking ranks the most-followed articles; *ranking.Ranker implements it.
type Ranking interface {
	Rank(ctx context.Context, section string, until time.Time, limit int) (ranking.Result, error)
}

// Email is the email digest's sender; *mail.Sender implements it.
type Email interface {
	// Paused reports whether the circuit breaker paused the send.
	Paused(ctx context.Context) (bool, time.Time, error)
	// Resume lifts the circuit breaker's pause.
	Resume(ctx context.Context) error
}
