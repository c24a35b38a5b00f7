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
	Clicks             []int // by clickMedia
	Rank               int   // 0: not in the most-followed list
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
	RankSize   int
}

// rankSize is how many places of the most-followed ranking are shown.
const rankSize = 50

// rankCache keeps the ranking: it reads every click of the window, which
// takes a second at millions of clicks, and it changes slowly. A page
// served after rankTTL gets the ranking kept and has it read again in
// the background; only the first page after a start waits for it.
type rankCache struct {
	mu         sync.Mutex
	at         time.Time
	places     map[int64]int
	ranked     bool
	refreshing bool
}

const rankTTL = time.Minute

func (d *Dashboard) ranks(ctx context.Context) (map[int64]int, bool, error) {
	if d.opts.Ranking == nil {
		return nil, false, nil
	}
	c := &d.rankings
	c.mu.Lock()
	places, ranked, at := c.places, c.ranked, c.at
	stale := places != nil && d.now().Sub(at) >= rankTTL && !c.refreshing
	if stale {
		c.refreshing = true
	}
	c.mu.Unlock()
	if places == nil {
		return d.rank(ctx)
	}
	if stale {
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ctxTimeout)
			defer cancel()
			if _, _, err := d.rank(ctx); err != nil {
				d.log.Warn("dashboard: ranking", "err", err)
			}
		}()
	}
	return places, ranked, nil
}

// rank reads the ranking and keeps it; the lock is not held meanwhile, so
// that pages are not kept waiting by a refresh.
func (d *Dashboard) rank(ctx context.Context) (map[int64]int, bool, error) {
	res, err := d.opts.Ranking.Rank(ctx, "", time.Time{}, rankSize)
	c := &d.rankings
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
	if err != nil {
		return nil, false, err
	}
	c.places = make(map[int64]int, len(res.Articles))
	for i, a := range res.Articles {
		c.places[a.ID] = i + 1
	}
	c.at, c.ranked = d.now(), res.MostFollowed
	return c.places, c.ranked, nil
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
	places, ranked, err := d.ranks(ctx)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data.Ranked, data.Total = ranked, total
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
