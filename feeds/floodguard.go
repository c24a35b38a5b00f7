package feeds

import (
	"context"
	"fmt"

	"github.com/almaalouma/nashra"
)

// HeldStore is what the flood guard's controls need of the store.
type HeldStore interface {
	// ArticlesInState returns up to limit articles in state, oldest first.
	ArticlesInState(ctx context.Context, state nashra.ArticleState, limit int) ([]nashra.Article, error)
	// SetArticleState moves the articles ids still in state from to state
	// to and returns how many it moved.
	SetArticleState(ctx context.Context, ids []int64, from, to nashra.ArticleState) (int, error)
}

// FloodGuard holds the editors' decisions on what the flood guard stopped
// (an all-new poll of poll.flood_guard.min_items or more, under the action
// "hold"): release, to push it like any new article, or drop, never to
// push it. The bot's /held and /release and the dashboard both use it.
type FloodGuard struct {
	st HeldStore
	// released is called after articles were released, so that the
	// delivery engine takes them at once; nil when nothing waits.
	released func()
}

// NewFloodGuard returns the controls over st; released, when not nil, is
// called after a release (the delivery engine's Notify).
func NewFloodGuard(st HeldStore, released func()) *FloodGuard {
	return &FloodGuard{st: st, released: released}
}

// maxHeld bounds what one "release all" moves: a flood guard trips on a
// whole feed at most, so this is never reached in practice.
const maxHeld = 10000

// Held returns up to limit held articles, oldest first.
func (g *FloodGuard) Held(ctx context.Context, limit int) ([]nashra.Article, error) {
	as, err := g.st.ArticlesInState(ctx, nashra.ArticleHeld, limit)
	if err != nil {
		return nil, fmt.Errorf("held articles: %w", err)
	}
	return as, nil
}

// Release hands held articles on to the delivery engine, every held one
// when ids is nil, and returns how many it released; an id that is not
// held (released or dropped meanwhile, or never held) is left alone.
func (g *FloodGuard) Release(ctx context.Context, ids []int64) (int, error) {
	if ids == nil {
		held, err := g.Held(ctx, maxHeld)
		if err != nil {
			return 0, err
		}
		ids = make([]int64, len(held))
		for i, a := range held {
			ids[i] = a.ID
		}
	}
	n, err := g.st.SetArticleState(ctx, ids, nashra.ArticleHeld, nashra.ArticleNew)
	if err != nil {
		return 0, fmt.Errorf("release held articles: %w", err)
	}
	if n > 0 && g.released != nil {
		g.released()
	}
	return n, nil
}

// Drop makes held articles never pushed (they stay stored and listed, as
// excluded ones are) and returns how many it dropped.
func (g *FloodGuard) Drop(ctx context.Context, ids []int64) (int, error) {
	n, err := g.st.SetArticleState(ctx, ids, nashra.ArticleHeld, nashra.ArticleExcluded)
	if err != nil {
		return 0, fmt.Errorf("drop held articles: %w", err)
	}
	return n, nil
}
