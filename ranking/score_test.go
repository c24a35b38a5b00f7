package ranking

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/almaalouma/nashra/store"
)

func TestRank(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := params{halfLife: 6 * time.Hour, boost: 3}
	// Candidates 1..4, first seen an hour apart: 4 is the newest.
	cands := func(ids ...int64) []store.Candidate {
		var cs []store.Candidate
		for _, id := range ids {
			cs = append(cs, store.Candidate{ID: id, FirstSeenAt: now.Add(time.Duration(id-10) * time.Hour)})
		}
		return cs
	}
	click := func(id int64, ago time.Duration, n int) store.ClickBucket {
		return store.ClickBucket{ArticleID: id, Medium: "telegram", At: now.Add(-ago), Uniques: n}
	}
	for _, tc := range []struct {
		name    string
		cands   []store.Candidate
		clicks  []store.ClickBucket
		listed  []int64
		p       params
		want    []int64
		signals bool
	}{
		{name: "no signals: newest first", cands: cands(1, 2, 3, 4), want: []int64{4, 3, 2, 1}},
		{name: "clicks before recency", cands: cands(1, 2, 3, 4),
			clicks: []store.ClickBucket{click(1, time.Hour, 2), click(3, time.Hour, 1)},
			want:   []int64{1, 3, 4, 2}, signals: true},
		{name: "decay: four clicks two half-lives old weigh what one fresh does, newer wins the tie", cands: cands(1, 2),
			clicks: []store.ClickBucket{click(1, 0, 1), click(2, 12*time.Hour, 4)},
			want:   []int64{2, 1}, signals: true},
		{name: "decay: five old clicks beat one fresh", cands: cands(1, 2),
			clicks: []store.ClickBucket{click(1, 12*time.Hour, 5), click(2, 0, 1)},
			want:   []int64{1, 2}, signals: true},
		{name: "decay: a shorter half-life favours the fresh click", cands: cands(1, 2),
			clicks: []store.ClickBucket{click(1, 12*time.Hour, 5), click(2, 0, 1)}, p: params{halfLife: time.Hour, boost: 3},
			want: []int64{2, 1}, signals: true},
		{name: "site boost counts as three fresh clicks", cands: cands(1, 2, 3),
			clicks: []store.ClickBucket{click(2, 0, 2), click(3, 0, 4)}, listed: []int64{1},
			want: []int64{3, 1, 2}, signals: true},
		{name: "the site list alone is a signal", cands: cands(1, 2), listed: []int64{1},
			want: []int64{1, 2}, signals: true},
		{name: "window: clicks and listings of articles outside it count for nothing", cands: cands(3, 4),
			clicks: []store.ClickBucket{click(1, time.Hour, 50)}, listed: []int64{2},
			want: []int64{4, 3}},
		{name: "boost off", cands: cands(1, 2), listed: []int64{1}, p: params{halfLife: time.Hour},
			want: []int64{2, 1}},
		{name: "equal scores: newer first", cands: cands(1, 2, 3),
			clicks: []store.ClickBucket{click(1, time.Hour, 1), click(3, time.Hour, 1)},
			want:   []int64{3, 1, 2}, signals: true},
		{name: "equal scores and first sight: higher id first",
			cands:  []store.Candidate{{ID: 5, FirstSeenAt: now}, {ID: 9, FirstSeenAt: now}, {ID: 7, FirstSeenAt: now}},
			clicks: []store.ClickBucket{click(5, 0, 1), click(9, 0, 1), click(7, 0, 1)},
			want:   []int64{9, 7, 5}, signals: true},
		{name: "media add up", cands: cands(1, 2),
			clicks: []store.ClickBucket{click(1, 0, 1), {ArticleID: 1, Medium: "email", At: now, Uniques: 1}, click(2, 0, 1)},
			want:   []int64{1, 2}, signals: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pp := tc.p
			if pp == (params{}) {
				pp = p
			}
			es, signals := rank(tc.cands, tc.clicks, tc.listed, now, pp)
			var got []int64
			for _, e := range es {
				got = append(got, e.ID)
			}
			if !slices.Equal(got, tc.want) || signals != tc.signals {
				t.Fatalf("order %v signals %v, want %v %v", got, signals, tc.want, tc.signals)
			}
		})
	}
}

func TestScoreFormula(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	es, _ := rank([]store.Candidate{{ID: 1, FirstSeenAt: now}},
		[]store.ClickBucket{
			{ArticleID: 1, At: now, Uniques: 2},
			{ArticleID: 1, At: now.Add(-6 * time.Hour), Uniques: 4},
			{ArticleID: 1, At: now.Add(time.Hour), Uniques: 1}, // a clock ahead of ours counts as now
		}, []int64{1}, now, params{halfLife: 6 * time.Hour, boost: 3})
	want := 2 + 4*0.5 + 1 + 3.0
	if math.Abs(es[0].score-want) > 1e-9 || es[0].uniques != 7 || !es[0].listed {
		t.Fatalf("score %v uniques %d listed %v, want %v 7 true", es[0].score, es[0].uniques, es[0].listed, want)
	}
}

// The order never depends on the order the store returns rows in.
func TestRankIsDeterministic(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var cands []store.Candidate
	var clicks []store.ClickBucket
	for id := int64(1); id <= 30; id++ {
		cands = append(cands, store.Candidate{ID: id, FirstSeenAt: now.Add(-time.Duration(id%4) * time.Hour)})
		for h := range id % 5 {
			clicks = append(clicks, store.ClickBucket{ArticleID: id, Medium: "web", At: now.Add(-time.Duration(h*7) * time.Hour / 3), Uniques: int(h + 1)})
		}
	}
	first, _ := rank(cands, clicks, nil, now, params{halfLife: 5 * time.Hour})
	for i := range 20 {
		slices.Reverse(cands)
		if i%2 == 0 {
			slices.Reverse(clicks)
		}
		again, _ := rank(cands, clicks, nil, now, params{halfLife: 5 * time.Hour})
		for j := range first {
			if first[j].ID != again[j].ID {
				t.Fatalf("run %d: position %d is %d, was %d", i, j, again[j].ID, first[j].ID)
			}
		}
	}
}
