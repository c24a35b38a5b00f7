package feeds

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
)

const (
	firstTitle  = "التقارب الروسي–الأمريكي: مصالح متبادلة أم تنازلات ستراتيجية ؟"
	firstAuthor = "كاظم الطائي"
)

// TestFormats polls a feed of every format and checks what is stored,
// down to the decoded Arabic.
func TestFormats(t *testing.T) {
	tests := []struct {
		name, fixture, contentType string
		items                      int
		guid, title, author, image string
		categories                 []string
	}{
		{"rss2", "almaalouma-articles.rss", "application/rss+xml; charset=UTF-8", 5,
			"https://almaalouma.net/?p=512340", firstTitle, firstAuthor,
			"https://almaalouma.net/wp-content/uploads/2025/02/russia-usa.jpg", []string{"مقالات", "روسيا", "الولايات المتحدة"}},
		{"atom", "almaalouma-news.atom", "application/atom+xml", 2,
			"https://almaalouma.net/?p=512355", "نائب يطالب بحسم ملف الكهرباء قبل حلول الصيف", "",
			"https://almaalouma.net/wp-content/uploads/2025/02/power-lines.jpg", []string{"أخبار", "الكهرباء"}},
		{"rss1-rdf", "almaalouma-reports.rdf", "application/rdf+xml", 2,
			"https://almaalouma.net/2025/02/20/%D8%A7%D9%84%D8%A3%D9%85%D9%86-%D8%A7%D9%84%D8%B3%D9%8A%D8%A8%D8%B1%D8%A7%D9%86%D9%8A-%D9%81%D9%8A-%D8%AC%D8%A7%D9%85%D8%B9%D8%A7%D8%AA-%D8%A7%D9%84%D8%B9%D8%B1%D8%A7%D9%82/",
			"الأمن السيبراني في جامعات العراق لأول مرة", "عادل الشرار", "", []string{"تقارير"}},
		{"json-feed", "almaalouma-infographics.json", "application/feed+json", 2,
			"https://almaalouma.net/?p=512330", "إنفوجرافيك.. صادرات النفط العراقية لشهر كانون الثاني", "",
			"https://almaalouma.net/wp-content/uploads/2025/02/oil-exports.png", []string{"إنفوجرافيك", "النفط"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSite(t)
			s.serve("/feed", tt.contentType, fixture(t, tt.fixture))
			db := newStore(t)
			addFeeds(t, db, "articles", s.URL+"/feed")
			p, _ := newTestPoller(t, db, testConfig())
			r := pollOne(t, p)
			if r.Err != nil || r.Status != 200 || r.Items != tt.items || r.Seen != tt.items || !r.Baseline {
				t.Fatalf("result %+v", r)
			}
			var got *nashra.Article
			for _, a := range articles(t, db) {
				if a.GUID == tt.guid {
					got = &a
				}
			}
			if got == nil {
				t.Fatalf("no article %s", tt.guid)
			}
			if got.Title != tt.title || got.Author != tt.author || got.ImageURL != tt.image ||
				strings.Join(got.Categories, "|") != strings.Join(tt.categories, "|") {
				t.Errorf("got title %q author %q image %q categories %q", got.Title, got.Author, got.ImageURL, got.Categories)
			}
			if got.State != nashra.ArticleSeen || len(got.Sections) != 1 || got.Sections[0] != "articles" {
				t.Errorf("state %s sections %v", got.State, got.Sections)
			}
		})
	}
}

// TestWordPressItems checks the normalisation of the site's own feed, item
// by item: bylines over the account name, full-size images over
// thumbnails, tracking parameters gone.
func TestWordPressItems(t *testing.T) {
	s := newSite(t)
	s.serve("/feed", "application/rss+xml", fixture(t, "almaalouma-articles.rss"))
	db := newStore(t)
	addFeeds(t, db, "articles", s.URL+"/feed")
	p, _ := newTestPoller(t, db, testConfig())
	pollOne(t, p)
	byGUID := map[string]nashra.Article{}
	for _, a := range articles(t, db) {
		byGUID[strings.TrimPrefix(a.GUID, "https://almaalouma.net/?p=")] = a
	}
	up := "https://almaalouma.net/wp-content/uploads/2025/02/"
	tests := []struct {
		id, author, image, summaryStart string
	}{
		// dc:creator is the site's account; the byline names the writer.
		{"512340", "كاظم الطائي", up + "russia-usa.jpg", "في ظل التغيرات السياسية المتسارعة"},
		// A lazy-loaded image: the largest of its srcset, not the thumbnail.
		{"512311", "عادل الشرار", up + "starlink.jpg", "تحدثت تقارير"},
		// A real writer in dc:creator; only a thumbnail exists, so it is used.
		{"512207", "محمد حسن الساعدي", up + "china-150x150.jpg", "تتصاعد حدة التوتر"},
		// "admin" is no writer.
		{"512150", "", up + "world-pressure.jpg", "يبدو أن العالم"},
		{"512098", "سعد الزبيدي", "", "تتوسع إسرائيل"},
	}
	for _, tt := range tests {
		a, ok := byGUID[tt.id]
		if !ok {
			t.Errorf("missing %s", tt.id)
			continue
		}
		if a.Author != tt.author || a.ImageURL != tt.image || !strings.HasPrefix(a.Summary, tt.summaryStart) {
			t.Errorf("%s: author %q image %q summary %q", tt.id, a.Author, a.ImageURL, a.Summary)
		}
		if strings.ContainsAny(a.Summary, "<>[]") || strings.Contains(a.Summary, "كتب /") {
			t.Errorf("%s: summary %q", tt.id, a.Summary)
		}
	}
	last := byGUID["512098"]
	if strings.Contains(last.Link, "utm_") || strings.Contains(last.Link, "#") {
		t.Errorf("link %s keeps tracking", last.Link)
	}
	if len(last.Categories) != 2 {
		t.Errorf("categories %q: want the duplicate removed", last.Categories)
	}
}

// TestCharsets checks that the Arabic survives every way a feed declares
// its encoding, or fails to.
func TestCharsets(t *testing.T) {
	utf := fixture(t, "almaalouma-articles.rss")
	cp1256 := fixture(t, "almaalouma-articles-1256.rss")
	tests := []struct {
		name, contentType string
		body              []byte
	}{
		{"windows-1256 in the XML declaration", "application/rss+xml", cp1256},
		{"windows-1256 in Content-Type only", "application/rss+xml; charset=windows-1256",
			bytes.Replace(cp1256, []byte(` encoding="windows-1256"`), nil, 1)},
		{"windows-1256 in both", "text/xml; charset=windows-1256", cp1256},
		{"UTF-8 wrongly declared windows-1256", "text/xml; charset=windows-1256",
			bytes.Replace(utf, []byte(`encoding="UTF-8"`), []byte(`encoding="windows-1256"`), 1)},
		{"UTF-8 with a BOM", "application/rss+xml", append([]byte("\xEF\xBB\xBF"), utf...)},
		{"UTF-8 without declaration", "text/xml", bytes.Replace(utf, []byte(` encoding="UTF-8"`), nil, 1)},
		// The site's legacy charset is tried when nothing says what the
		// bytes are, or only UTF-8, which they are not.
		{"windows-1256 declared nowhere", "application/rss+xml",
			bytes.Replace(cp1256, []byte(` encoding="windows-1256"`), nil, 1)},
		{"windows-1256 declared UTF-8", "application/rss+xml; charset=UTF-8",
			bytes.Replace(cp1256, []byte(`encoding="windows-1256"`), []byte(`encoding="UTF-8"`), 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSite(t)
			s.serve("/feed", tt.contentType, tt.body)
			db := newStore(t)
			addFeeds(t, db, "articles", s.URL+"/feed")
			p, _ := newTestPoller(t, db, testConfig())
			if r := pollOne(t, p); r.Err != nil || r.Items != 5 {
				t.Fatalf("result %+v", r)
			}
			as := articles(t, db)
			var found bool
			for _, a := range as {
				if a.Title == firstTitle && a.Author == firstAuthor {
					found = true
				}
				if strings.ContainsRune(a.Title+a.Summary+a.Author, '\uFFFD') {
					t.Errorf("replacement characters stored: %q, %q", a.Title, a.Summary)
				}
			}
			if !found {
				t.Errorf("no article titled %q by %q in %q", firstTitle, firstAuthor, as[0].Title)
			}
		})
	}
}

// TestJSONFeedBOM: gofeed alone rejects a JSON Feed that starts with a BOM.
func TestJSONFeedBOM(t *testing.T) {
	s := newSite(t)
	s.serve("/feed", "application/feed+json", append([]byte("\xEF\xBB\xBF"), fixture(t, "almaalouma-infographics.json")...))
	db := newStore(t)
	addFeeds(t, db, "infographics", s.URL+"/feed")
	p, _ := newTestPoller(t, db, testConfig())
	if r := pollOne(t, p); r.Err != nil || r.Items != 2 {
		t.Fatalf("result %+v", r)
	}
}

// TestGzip checks that the transport asks for gzip and inflates it for us.
func TestGzip(t *testing.T) {
	s := newSite(t)
	body := fixture(t, "almaalouma-articles.rss")
	s.handle("/feed", func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			http.Error(w, "want gzip", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write(body)
		zw.Close()
	})
	db := newStore(t)
	addFeeds(t, db, "articles", s.URL+"/feed")
	p, _ := newTestPoller(t, db, testConfig())
	if r := pollOne(t, p); r.Err != nil || r.Items != 5 {
		t.Fatalf("result %+v", r)
	}
	if ua := s.lastHeader("/feed").Get("User-Agent"); !strings.HasPrefix(ua, "nashra/") {
		t.Errorf("User-Agent %q", ua)
	}
}

// TestConditionalGet: the second poll sends the validators, and the 304
// keeps everything as it was.
func TestConditionalGet(t *testing.T) {
	s := newSite(t)
	body := fixture(t, "almaalouma-articles.rss")
	const etag, modified = `"v1-5f3a"`, "Thu, 20 Feb 2025 12:31:14 GMT"
	var bodies int
	s.handle("/feed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", modified)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		bodies++
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write(body)
	})
	db := newStore(t)
	addFeeds(t, db, "articles", s.URL+"/feed")
	p, clk := newTestPoller(t, db, testConfig())
	pollOne(t, p)
	before := onlyFeed(t, db)
	if before.ETag != etag || before.LastModified != modified {
		t.Fatalf("validators not kept: %+v", before)
	}

	clk.Add(10 * time.Minute)
	r := pollOne(t, p)
	if r.Err != nil || r.Status != http.StatusNotModified || r.StatusText() != "304" || r.Items != 0 {
		t.Fatalf("result %+v", r)
	}
	h := s.lastHeader("/feed")
	if h.Get("If-None-Match") != etag || h.Get("If-Modified-Since") != modified {
		t.Errorf("conditional headers %v", h)
	}
	after := onlyFeed(t, db)
	if bodies != 1 || after.ETag != etag || after.LastModified != modified || after.ErrorCount != 0 ||
		after.LastStatus != 304 || !after.BaselinedAt.Equal(before.BaselinedAt) ||
		!after.LastSuccessAt.Equal(clk.Now()) || !after.NextCheckAt.Equal(clk.Now().Add(5*time.Minute)) {
		t.Errorf("feed after 304: %+v", after)
	}
	if n := len(articles(t, db)); n != 5 {
		t.Errorf("%d articles, want 5", n)
	}
}

// TestScheduleHeaders: Retry-After and Cache-Control set the next check.
func TestScheduleHeaders(t *testing.T) {
	body := fixture(t, "almaalouma-articles.rss")
	tests := []struct {
		name    string
		handler func(now time.Time) http.HandlerFunc
		wait    time.Duration
		failed  bool
	}{
		{"429 Retry-After seconds", func(time.Time) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "3600")
				w.WriteHeader(http.StatusTooManyRequests)
			}
		}, time.Hour, true},
		{"503 Retry-After date", func(now time.Time) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", now.Add(2*time.Hour).Format(http.TimeFormat))
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}, 2 * time.Hour, true},
		{"Cache-Control max-age", func(time.Time) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "public, max-age=1800")
				w.Write(body)
			}
		}, 30 * time.Minute, false},
		{"max-age shorter than the interval", func(time.Time) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=10")
				w.Write(body)
			}
		}, 5 * time.Minute, false},
		{"max-age beyond the maximum", func(time.Time) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=604800")
				w.Write(body)
			}
		}, 6 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSite(t)
			s.handle("/feed", tt.handler(t0))
			db := newStore(t)
			addFeeds(t, db, "articles", s.URL+"/feed")
			p, _ := newTestPoller(t, db, testConfig())
			r := pollOne(t, p)
			if (r.Err != nil) != tt.failed {
				t.Fatalf("err %v", r.Err)
			}
			f := onlyFeed(t, db)
			if got := f.NextCheckAt.Sub(t0); got != tt.wait {
				t.Errorf("next check in %s, want %s", got, tt.wait)
			}
		})
	}
}

// TestFailures: every way a fetch can go wrong is recorded on the feed,
// with a later check, and loses nothing: once the feed is back, its
// articles are all stored.
func TestFailures(t *testing.T) {
	good := fixture(t, "almaalouma-articles.rss")
	big := bytes.Repeat([]byte("<!-- padding padding padding padding padding padding padding -->\n"), 25<<20/64)
	tests := []struct {
		name    string
		timeout time.Duration
		handler http.HandlerFunc
		status  int
		errText string
	}{
		{"truncated XML", 0, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/rss+xml")
			w.Write(good[:len(good)/2])
		}, 200, "parse feed"},
		{"25 MB body streamed", 0, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/rss+xml")
			w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel>`))
			for i := 0; i < len(big); i += 1 << 20 {
				if _, err := w.Write(big[i:min(i+1<<20, len(big))]); err != nil {
					return // the poller hung up, as it should
				}
			}
		}, 200, "feed too large: more than 10485760 bytes"},
		{"25 MB body announced", 0, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "26214400")
			w.Write(big[:1024])
		}, 200, "feed too large"},
		{"redirect loop", 0, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/feed?again="+r.URL.Query().Get("again")+"x", http.StatusFound)
		}, 0, "stopped after 5 redirects"},
		{"server never answers", 300 * time.Millisecond, func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}, 0, "Client.Timeout exceeded"},
		{"500", 0, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, 500, "http 500 Internal Server Error"},
		{"410", 0, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusGone)
		}, 410, "http 410 Gone"},
		{"HTML page", 0, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			w.Write([]byte(`<!DOCTYPE html><html dir="rtl" lang="ar"><head><title>المعلومة</title></head><body>الرئيسية</body></html>`))
		}, 200, "not a feed: got text/html page"},
		{"empty body", 0, func(w http.ResponseWriter, r *http.Request) {}, 200, "not a feed"},
		{"unknown charset", 0, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/xml; charset=x-martian")
			w.Write([]byte("<rss version=\"2.0\"><channel><item><title>\xC7\xE1</title></item></channel></rss>"))
		}, 200, `unsupported charset "x-martian"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSite(t)
			s.handle("/feed", tt.handler)
			db := newStore(t)
			addFeeds(t, db, "articles", s.URL+"/feed")
			cfg := testConfig()
			if tt.timeout > 0 {
				cfg.Poll.Timeout = config.Duration(tt.timeout)
			}
			p, clk := newTestPoller(t, db, cfg)
			start := time.Now()
			r := pollOne(t, p)
			if took := time.Since(start); took > cfg.Poll.Timeout.D()+2*time.Second {
				t.Errorf("poll took %s", took)
			}
			if r.Err == nil || !strings.Contains(r.Err.Error(), tt.errText) || r.Status != tt.status {
				t.Fatalf("result %+v, want error %q", r, tt.errText)
			}
			f := onlyFeed(t, db)
			if f.ErrorCount != 1 || !strings.Contains(f.LastError, tt.errText) || !f.LastErrorAt.Equal(t0) ||
				f.LastStatus != tt.status || !f.NextCheckAt.After(t0) || !f.BaselinedAt.IsZero() {
				t.Errorf("feed %+v", f)
			}
			if tt.status == http.StatusGone && !f.NextCheckAt.Equal(t0.Add(cfg.Poll.MaxInterval.D())) {
				t.Errorf("410: next check %s, want the maximum interval", f.NextCheckAt)
			}

			s.serve("/feed", "application/rss+xml", good)
			clk.Add(time.Hour)
			if r := pollOne(t, p); r.Err != nil || r.Items != 5 {
				t.Fatalf("after recovery: %+v", r)
			}
			if f := onlyFeed(t, db); f.ErrorCount != 0 || f.LastError != "" {
				t.Errorf("after recovery: %+v", f)
			}
			if n := len(articles(t, db)); n != 5 {
				t.Errorf("%d articles after recovery, want 5", n)
			}
		})
	}
}

// TestCancel: a poll stops when its context does, and a shutdown is not
// held against the feed.
func TestCancel(t *testing.T) {
	s := newSite(t)
	s.handle("/feed", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	db := newStore(t)
	addFeeds(t, db, "articles", s.URL+"/feed")
	p, _ := newTestPoller(t, db, testConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	rs, err := p.PollAll(ctx)
	if time.Since(start) > 2*time.Second || err == nil {
		t.Fatalf("PollAll returned %v after %s", err, time.Since(start))
	}
	if len(rs) == 1 && rs[0].Err == nil {
		t.Errorf("result %+v", rs[0])
	}
	if f := onlyFeed(t, db); f.ErrorCount != 0 || !f.CheckedAt.IsZero() {
		t.Errorf("feed marked by a cancelled poll: %+v", f)
	}
}

// TestVideoPost: a post that is only a YouTube embed gets the video's
// thumbnail as image and a link to it in place of the iframe.
func TestVideoPost(t *testing.T) {
	s := newSite(t)
	s.serve("/feed", "application/atom+xml", fixture(t, "almaalouma-news.atom"))
	db := newStore(t)
	addFeeds(t, db, "video", s.URL+"/feed")
	p, _ := newTestPoller(t, db, testConfig())
	pollOne(t, p)
	for _, a := range articles(t, db) {
		if a.GUID != "https://almaalouma.net/?p=512350" {
			continue
		}
		if a.Title != "بالفيديو.. أهالي البصرة يشكون شح المياه" ||
			a.ImageURL != "https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg" ||
			!strings.Contains(a.Content, `<a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ"`) ||
			strings.Contains(a.Content, "iframe") {
			t.Errorf("video post %+v", a)
		}
		return
	}
	t.Fatal("no video post stored")
}
