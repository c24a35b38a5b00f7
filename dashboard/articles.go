package dashboard

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/store"
)

// stateNames are the articles' states as editors read them.
var stateNames = map[nashra.ArticleState]string{
	nashra.ArticleSeen:     "سابق للتشغيل",
	nashra.ArticleNew:      "ينتظر الإرسال",
	nashra.ArticleHeld:     "موقوف",
	nashra.ArticleExcluded: "لا يُرسل",
	nashra.ArticleHanded:   "أُرسل",
}

// sortNames are the orders of the list, as its headers offer them.
var sortNames = map[store.ArticleSort]string{
	store.SortFound:     "الأحدث",
	store.SortFirstPush: "أحدث إرسال",
	store.SortSent:      "الأكثر إرسالًا",
	store.SortClicks:    "الأكثر نقرًا",
}

// pageSize is how many articles one page lists.
const pageSize = 50

type articleRow struct {
	store.ArticleFigures
	Sections           string
	Found, First, Last string
	// Withdrawn is when an editor retracted the article, empty when not:
	// the row stays, marked, since its messages and clicks still count.
	Withdrawn string
	Clicks    []int // by clickMedia
	Rank      int   // 0: not in the most-followed list
}

type sortLink struct {
	Name, Href string
	Current    bool
}

type articlesData struct {
	Query      string
	Sort       store.ArticleSort
	Sorts      []sortLink
	Rows       []articleRow
	Total      int
	Page       int
	Prev, Next string
	Media      []string
	Ranked     bool // the ranking had signals; false: "most followed" is only the latest
	RankReady  bool // false while the ranking is read for the first time
	RankSize   int
}

// rankSize is how many places of the most-followed ranking are shown.
const rankSize = 50

// rankCache keeps the ranking: it reads every click of the window, which
// takes seconds at millions of clicks, and it changes slowly. It is read
// in the background: a page waits for it at most rankWait, and after
// rankTTL it is read again while pages show the one kept.
type rankCache struct {
	mu     sync.Mutex
	at     time.Time
	places map[int64]int
	ranked bool
	// reading is closed when the reading in progress ends; nil when none
	// is in progress.
	reading chan struct{}
}

const (
	rankTTL  = time.Minute
	rankWait = 100 * time.Millisecond
)

// ranks returns the places in the most-followed ranking, by article, and
// whether readers' signals ranked it; ok is false while it is being read
// for the first time.
func (d *Dashboard) ranks(ctx context.Context) (places map[int64]int, ranked, ok bool) {
	if d.opts.Ranking == nil {
		return nil, false, true
	}
	c := &d.rankings
	c.mu.Lock()
	if c.reading == nil && (c.places == nil || d.now().Sub(c.at) >= rankTTL) {
		c.reading = make(chan struct{})
		go d.rank(context.WithoutCancel(ctx), c.reading)
	}
	reading, fresh := c.reading, c.places == nil
	c.mu.Unlock()
	if fresh {
		select {
		case <-reading:
		case <-time.After(rankWait):
		case <-ctx.Done():
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.places, c.ranked, c.places != nil
}

// rank reads the ranking and keeps it, then closes done.
func (d *Dashboard) rank(ctx context.Context, done chan struct{}) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	res, err := d.opts.Ranking.Rank(ctx, "", time.Time{}, rankSize)
	c := &d.rankings
	c.mu.Lock()
	defer c.mu.Unlock()
	defer close(done)
	c.reading = nil
	if err != nil {
		d.log.Warn("dashboard: ranking", "err", err)
		return
	}
	c.places = make(map[int64]int, len(res.Articles))
	for i, a := range res.Articles {
		c.places[a.ID] = i + 1
	}
	c.at, c.ranked = d.now(), res.MostFollowed
}

func (d *Dashboard) articles(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := d.ctx(r)
	defer cancel()
	q := r.URL.Query()
	data := articlesData{Query: strings.TrimSpace(q.Get("q")), Sort: store.ArticleSort(q.Get("sort")), RankSize: rankSize}
	if _, ok := sortNames[data.Sort]; !ok {
		data.Sort = store.SortFound
	}
	data.Page, _ = strconv.Atoi(q.Get("page"))
	data.Page = max(data.Page, 1)
	if len(data.Query) > 200 {
		data.Query = data.Query[:200]
	}
	query := store.ArticleQuery{Sort: data.Sort, Limit: pageSize, Offset: (data.Page - 1) * pageSize}
	if data.Query != "" {
		ids, err := d.titles.search(ctx, data.Query, d.now())
		if err != nil {
			d.fail(w, r, err)
			return
		}
		query.IDs = ids
	}
	figs, total, err := d.st.ArticleFigures(ctx, query)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	places, ranked, ok := d.ranks(ctx)
	data.Ranked, data.RankReady, data.Total = ranked, ok, total
	names := map[string]string{}
	for _, s := range d.cfg.Sections {
		names[s.Slug] = s.Name
	}
	for _, m := range clickMedia {
		data.Media = append(data.Media, m.name)
	}
	for _, f := range figs {
		row := articleRow{ArticleFigures: f, Found: d.when(f.FirstSeenAt), First: d.when(f.FirstSentAt), Last: d.when(f.LastSentAt),
			Rank: places[f.ID]}
		if !f.RetractedAt.IsZero() {
			row.Withdrawn = d.when(f.RetractedAt)
		}
		var secs []string
		for _, s := range f.Sections {
			secs = append(secs, cmp.Or(names[s], s))
		}
		row.Sections = strings.Join(secs, "، ")
		for _, m := range clickMedia {
			row.Clicks = append(row.Clicks, f.Uniques[m.m])
		}
		data.Rows = append(data.Rows, row)
	}
	link := func(sort store.ArticleSort, page int) string {
		v := url.Values{}
		if data.Query != "" {
			v.Set("q", data.Query)
		}
		if sort != store.SortFound {
			v.Set("sort", string(sort))
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		if len(v) == 0 {
			return "/dashboard/articles"
		}
		return "/dashboard/articles?" + v.Encode()
	}
	for _, s := range []store.ArticleSort{store.SortFound, store.SortFirstPush, store.SortSent, store.SortClicks} {
		data.Sorts = append(data.Sorts, sortLink{Name: sortNames[s], Href: link(s, 1), Current: s == data.Sort})
	}
	if data.Page > 1 {
		data.Prev = link(data.Sort, data.Page-1)
	}
	if data.Page*pageSize < total {
		data.Next = link(data.Sort, data.Page+1)
	}
	d.render(w, http.StatusOK, "articles.html", d.page(r, "المقالات", data))
}
