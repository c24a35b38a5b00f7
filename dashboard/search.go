package dashboard

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/almaalouma/nashra/arabic"
)

// titleIndex finds articles by their Arabic title as readers type it:
// both sides normalised by the arabic package (hamza forms, taa marbuta,
// alef maqsura, diacritics, tatweel), so that "اعلان" finds "إعلان". SQL
// cannot normalise Arabic, so the index holds the normalised titles in
// memory, read once and then only what was stored or revised since.
type titleIndex struct {
	st Store

	mu      sync.Mutex
	keys    map[int64]string
	lastID  int64
	checked time.Time // when the store was last read
}

func newTitleIndex(st Store) *titleIndex { return &titleIndex{st: st, keys: map[int64]string{}} }

// titleRefresh is how stale the index may be when a search comes.
const titleRefresh = 10 * time.Second

// maxMatches bounds what one search lists.
const maxMatches = 500

// search returns the ids of the articles whose title holds every word of
// query, newest first, at most maxMatches.
func (x *titleIndex) search(ctx context.Context, query string, now time.Time) ([]int64, error) {
	words := strings.Fields(arabic.Normalize(query))
	if len(words) == 0 {
		return []int64{}, nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if now.Sub(x.checked) > titleRefresh {
		// Revisions since a little before the last read: a title revised
		// while it was read is read again.
		ts, err := x.st.ArticleTitles(ctx, x.lastID, x.checked.Add(-time.Minute))
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			x.keys[t.ID] = arabic.Normalize(t.Title)
			x.lastID = max(x.lastID, t.ID)
		}
		x.checked = now
	}
	ids := []int64{}
	for id, key := range x.keys {
		if !containsAll(key, words) {
			continue
		}
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b int64) int { return cmp.Compare(b, a) })
	return ids[:min(len(ids), maxMatches)], nil
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}
