package ranking

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/almaalouma/nashra/store"
)

// entry is a candidate with its signals and score.
type entry struct {
	store.Candidate
	score   float64
	uniques int
	listed  bool
}

// params are the parts of Config the score uses.
type params struct {
	halfLife time.Duration
	boost    float64
}

// rank scores the candidates at now and orders them best first.
//
// The score of an article is
//
//	score = Σ 0.5^((now − t_c) / halfLife)  +  boost · listed
//
// summed over the article's unique clicks c in the window (t_c: the middle
// of the hour of the click, or of its day once the rows are purged), with
// listed = 1 when the site's own "الأكثر متابعة" block named the article
// during the window. A fresh unique click is worth 1 and half that after
// halfLife. Equal scores go newest first (published, then first seen), then by id, highest
// first: articles without any signal are simply the latest. The second
// result says whether any candidate had a signal, that is whether the order
// may be called most-followed.
func rank(cands []store.Candidate, clicks []store.ClickBucket, listed []int64, now time.Time, p params) ([]entry, bool) {
	es := make([]entry, len(cands))
	byID := make(map[int64]*entry, len(cands))
	for i, c := range cands {
		es[i] = entry{Candidate: c}
		byID[c.ID] = &es[i]
	}
	// Sum in a fixed order, so that equal signals give bit-equal scores
	// whatever order the store returned them in.
	clicks = slices.Clone(clicks)
	slices.SortFunc(clicks, func(a, b store.ClickBucket) int {
		return cmp.Or(cmp.Compare(a.ArticleID, b.ArticleID), a.At.Compare(b.At), cmp.Compare(a.Medium, b.Medium))
	})
	for _, c := range clicks {
		e := byID[c.ArticleID]
		if e == nil || c.Uniques <= 0 {
			continue
		}
		age := max(now.Sub(c.At), 0)
		e.score += float64(c.Uniques) * math.Exp2(-float64(age)/float64(p.halfLife))
		e.uniques += c.Uniques
	}
	for _, id := range listed {
		if e := byID[id]; e != nil && !e.listed {
			e.listed = true
			e.score += p.boost
		}
	}
	signals := false
	for _, e := range es {
		if e.score > 0 {
			signals = true
			break
		}
	}
	slices.SortStableFunc(es, func(a, b entry) int {
		return cmp.Or(cmp.Compare(b.score, a.score), b.NewsTime.Compare(a.NewsTime), b.FirstSeenAt.Compare(a.FirstSeenAt),
			cmp.Compare(b.ID, a.ID))
	})
	return es, signals
}
