package feeds

import (
	"slices"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
)

// classify sets the state of the items a poll sees for the first time, of
// total items in the poll, and reports whether the flood guard tripped.
// The first poll of a feed marks everything seen, so that a fresh install
// does not push the whole feed to every reader.
func (p *Poller) classify(fresh []*nashra.Article, total int, baseline bool) bool {
	var pushable []*nashra.Article
	for _, a := range fresh {
		switch {
		case baseline:
			a.State = nashra.ArticleSeen
		case p.excluded(a):
			a.State = nashra.ArticleExcluded
		default:
			a.State = nashra.ArticleNew
			pushable = append(pushable, a)
		}
	}
	fg := p.cfg.FloodGuard
	if baseline || len(fresh) < total || len(fresh) < fg.MinItems {
		return false
	}
	switch fg.Action {
	case config.FloodHold:
		for _, a := range pushable {
			a.State = nashra.ArticleHeld
		}
	case config.FloodLatest:
		slices.SortStableFunc(pushable, func(a, b *nashra.Article) int { return b.PublishedAt.Compare(a.PublishedAt) })
		for _, a := range pushable[min(fg.Latest, len(pushable)):] {
			a.State = nashra.ArticleSeen
		}
	}
	return true
}

// excluded reports whether a carries one of the excluded categories.
func (p *Poller) excluded(a *nashra.Article) bool {
	for _, c := range a.Categories {
		if p.exclude[matchKey(c)] {
			return true
		}
	}
	return false
}
