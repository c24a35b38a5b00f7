package delivery

import (
	"context"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/store"
)

// ControlStore is what the editors' controls need of the store; the command
// line uses them without a running engine. *store.DB implements it.
type ControlStore interface {
	outbox.PauseStore
	CancelArticleDeliveries(ctx context.Context, articleID int64, by string) (int, error)
	RetractArticle(ctx context.Context, articleID int64, by string, now, deletableSince time.Time) (store.Retraction, error)
	CountOutbox(ctx context.Context, since time.Time) (store.OutboxCounts, error)
	DeadDeliveries(ctx context.Context, limit int) ([]nashra.Delivery, error)
}

// Store is what the engine needs of the store. *store.DB implements it; the
// methods and their errors are documented there.
type Store interface {
	ControlStore

	// Articles.
	ArticlesInState(ctx context.Context, state nashra.ArticleState, limit int) ([]nashra.Article, error)
	Article(ctx context.Context, id int64) (nashra.Article, error)
	SetArticleState(ctx context.Context, ids []int64, from, to nashra.ArticleState) (int, error)
	HandOn(ctx context.Context, f store.FanOut) (store.FanOutResult, error)
	ExpandFanOut(ctx context.Context) (store.Expanded, bool, error)

	// The outbox and its claims.
	ClaimDeliveries(ctx context.Context, holder string, maxLane nashra.Lane, limit int, leaseUntil time.Time) ([]nashra.Delivery, error)
	ClaimDeliveryTodo(ctx context.Context, holder string, limit int, now, leaseUntil time.Time) ([]nashra.Delivery, error)
	ClaimReplies(ctx context.Context, holder string, maxLane, limit int, now, leaseUntil time.Time) ([]nashra.QueuedReply, error)
	ReleaseHeldDeliveries(ctx context.Context, now time.Time) (int, error)
	UpdateOutbox(ctx context.Context, holder string, updates []store.OutboxUpdate, scopes []store.Scope) error
	LimiterScopes(ctx context.Context, now time.Time) ([]store.Scope, error)
	EnqueueReply(ctx context.Context, r nashra.QueuedReply, now time.Time) (int64, error)
	EnqueueBroadcast(ctx context.Context, method string, params map[string]string, now time.Time) (int, error)
	MarkCorrections(ctx context.Context, revisedSince, sentSince time.Time, kinds []nashra.ChatKind) (int, error)
	CompactOutbox(ctx context.Context, before time.Time, limit int) (int, error)

	// What Telegram's answers change about chats.
	CancelChatDeliveries(ctx context.Context, chatID int64, kind, reason string) (int, error)
	MoveChatDeliveries(ctx context.Context, from, to int64) (int, error)
	SetChatActive(ctx context.Context, id int64, active bool, reason string, now time.Time) error
	MoveChat(ctx context.Context, from, to int64, now time.Time) error
	SetChannelState(ctx context.Context, channel string, chatID int64, canPost bool, now time.Time) error
	RaiseAlert(ctx context.Context, a nashra.Alert) (bool, error)

	// The dispatcher's lease and its queue's claims.
	outbox.ClaimStore
}
