package ranking

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/store/sqlitetest"
)

// openStore opens a migrated store in a temporary folder with the seven
// sections.
func openStore(t testing.TB) *store.DB {
	t.Helper()
	var specs []nashra.Section
	for _, s := range []string{"news", "articles", "infographics", "video", "caricature", "reports", "translation"} {
		specs = append(specs, nashra.Section{Slug: s, Name: s})
	}
	return sqlitetest.Open(t, specs...)
}

// addArticle stores a new article of section first seen at seen.
func addArticle(t testing.TB, db *store.DB, section, link, title string, seen time.Time) int64 {
	t.Helper()
	res, err := db.SaveItems(context.Background(), section, []nashra.Article{{GUID: link, Link: link, Title: title}}, seen,
		func(fresh []*nashra.Article) {
			for _, a := range fresh {
				a.State = nashra.ArticleHanded
			}
		})
	if err != nil || len(res.New) != 1 {
		t.Fatalf("save %s: %+v %v", link, res, err)
	}
	return res.New[0]
}

const (
	linkPeople    = "https://almaalouma.net/%D8%A7%D9%84%D9%86%D8%A7%D8%B3-%D8%B9%D9%84%D9%89-%D8%AF%D9%8A%D9%86/"
	linkVisit     = "https://almaalouma.net/%D8%B2%D9%8A%D8%A7%D8%B1%D8%A9-%D8%A7%D9%84%D8%B3%D9%88%D8%AF%D8%A7%D9%86%D9%8A/"
	linkCyber     = "https://almaalouma.net/%D8%A7%D9%84%D8%A3%D9%85%D9%86-%D8%A7%D9%84%D8%B3%D9%8A%D8%A8%D8%B1%D8%A7%D9%86%D9%8A/"
	linkStarlink  = "https://almaalouma.net/%D8%A5%D9%8A%D8%B1%D8%A7%D9%86-%D8%B3%D8%AA%D8%A7%D8%B1%D9%84%D9%8A%D9%86%D9%83/"
	linkRapproche = "https://almaalouma.net/%D8%A7%D9%84%D8%AA%D9%82%D8%A7%D8%B1%D8%A8-%D8%A7%D9%84%D8%B1%D9%88%D8%B3%D9%8A/"
)

// serveHome serves testdata/home.html, a homepage in the site's shape.
func serveHome(t testing.TB) *httptest.Server {
	t.Helper()
	page, err := os.ReadFile("testdata/home.html")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.Write(page)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// siteAt is the default configuration, reading the site's list at url.
func siteAt(url string) *config.Config {
	c := config.Defaults()
	c.Site.URL = url
	return c
}

// withoutSite is the default configuration with the site's signal off:
// a test that serves no homepage must not read the real one.
func withoutSite() *config.Config {
	c := config.Defaults()
	c.Ranking.SiteBoost = -1
	return c
}

func newRanker(t testing.TB, cfg *config.Config, st Store, now func() time.Time) *Ranker {
	t.Helper()
	r := New(cfg, st, WithLogger(slog.New(slog.DiscardHandler)), WithClock(now))
	return r
}

func TestRefreshSite(t *testing.T) {
	db := openStore(t)
	ctx := context.Background()
	now := time.Now()
	people := addArticle(t, db, "articles", linkPeople, "الناس على دين الملوك", now.Add(-3*time.Hour))
	visit := addArticle(t, db, "articles", linkVisit, "زيارة السوداني", now.Add(-2*time.Hour))
	addArticle(t, db, "articles", linkCyber, "الأمن السيبراني", now.Add(-3*365*24*time.Hour)) // listed, but years old
	addArticle(t, db, "articles", linkStarlink, "ستارلينك", now.Add(-time.Hour))              // in the next block only
	addArticle(t, db, "articles", linkRapproche, "التقارب", now.Add(-time.Hour))              // the page's lead, not listed
	home := serveHome(t)

	for _, tc := range []struct {
		name     string
		selector string
	}{
		{"found by its heading", ""},
		{"found by a selector", ".widget-tabs .widget-body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := siteAt(home.URL)
			cfg.Ranking.SiteSelector = tc.selector
			r := newRanker(t, cfg, db, func() time.Time { return now })
			res, err := r.RefreshSite(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Links != 4 || !slices.Equal(res.Matched, []int64{people, visit}) {
				t.Fatalf("links %d matched %v, want 4 and [%d %d]", res.Links, res.Matched, people, visit)
			}
			top, err := r.Rank(ctx, "", time.Time{}, 5)
			if err != nil {
				t.Fatal(err)
			}
			if !top.MostFollowed || top.Articles[0].ID != visit || top.Articles[1].ID != people || !top.Articles[0].Listed {
				t.Fatalf("ranking after the site's list: %+v", top)
			}
		})
	}

	t.Run("markup changed", func(t *testing.T) {
		cfg := siteAt(home.URL)
		cfg.Ranking.SiteHeading = "الأكثر قراءة"
		r := newRanker(t, cfg, db, time.Now)
		if _, err := r.RefreshSite(ctx); err == nil || !strings.Contains(err.Error(), errNoBlock.Error()) {
			t.Fatalf("err = %v, want %v", err, errNoBlock)
		}
	})
	t.Run("page too large", func(t *testing.T) {
		cfg := siteAt(home.URL)
		cfg.Ranking.SiteMaxBytes = 1000
		r := newRanker(t, cfg, db, time.Now)
		if _, err := r.RefreshSite(ctx); err == nil {
			t.Fatal("a page over MaxBytes was read")
		}
	})
	t.Run("site down", func(t *testing.T) {
		r := newRanker(t, siteAt(home.URL+"/missing"), db, time.Now)
		if _, err := r.RefreshSite(ctx); err == nil {
			t.Fatal("a 404 was read as a list")
		}
	})
}

func TestMatchKey(t *testing.T) {
	base, _ := url.Parse("https://almaalouma.net/category/news/")
	stored := matchKey(linkPeople, nil)
	for _, raw := range []string{
		linkPeople,
		"https://almaalouma.net/الناس-على-دين/",
		"https://almaalouma.net/%d8%a7%d9%84%d9%86%d8%a7%d8%b3-%d8%b9%d9%84%d9%89-%d8%af%d9%8a%d9%86",
		"http://WWW.Almaalouma.NET:80/الناس-على-دين/?utm_source=x&fbclid=y#comments",
		"/الناس-على-دين/",
		"//almaalouma.net/الناس-على-دين",
	} {
		if got := matchKey(raw, base); got != stored {
			t.Errorf("matchKey(%q) = %q, want %q", raw, got, stored)
		}
	}
	for _, raw := range []string{"", "#tab-all", "javascript:void(0)", "mailto:a@b.c", "https://almaalouma.net/other/"} {
		if got := matchKey(raw, base); got == stored {
			t.Errorf("matchKey(%q) matches the article", raw)
		}
	}
	if matchKey("https://almaalouma.net/?p=123", nil) == matchKey("https://almaalouma.net/?p=124", nil) {
		t.Error("WordPress short links of two posts match")
	}
}
