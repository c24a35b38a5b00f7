package feeds

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
)

// withTitle is the feed of items with raw bytes put, unescaped, into the
// title of item n (numbered as news numbers them), as a careless editor or
// a broken plugin would.
func withTitle(items []item, n int, raw string) []byte {
	return bytes.Replace(rss(items...), []byte("رقم "+itoa(n)+" "), []byte("رقم "+itoa(n)+" "+raw), 1)
}

func itoa(n int) string { return string(rune('0' + n)) }

// baselined starts a site serving items at /feed, a store that spies on
// the alerts with that feed in news, and a poller that polled it once.
func baselined(t *testing.T, items []item) (*site, *spyStore, *Poller, *clock) {
	t.Helper()
	s := newSite(t)
	s.serve("/feed", "application/rss+xml", rss(items...))
	spy := &spyStore{DB: newStore(t)}
	addFeeds(t, spy.DB, "news", s.URL+"/feed")
	p, clk := newTestPoller(t, spy, testConfig())
	pollOne(t, p)
	return s, spy, p, clk
}

// TestIllegalCharacterKeepsTheSection: an illegal character reference or
// raw character in one item's title no longer stops the feed: every item
// is stored, that one without the bad character.
func TestIllegalCharacterKeepsTheSection(t *testing.T) {
	for i, bad := range []string{"&#8;", "&#0;", "&#7;", "&#11;", "\uFFFE", "\x08", "\x01"} {
		// Named by number: a "#" in the name would end the path of the
		// test's database.
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			s, spy, p, clk := baselined(t, news(1, 2))
			clk.Add(5 * time.Minute)
			s.serve("/feed", "application/rss+xml", withTitle(news(1, 7), 5, bad))
			r := pollOne(t, p)
			if r.Err != nil || r.Items != 7 || r.New != 5 {
				t.Fatalf("poll %+v", r)
			}
			var titles []string
			for _, a := range articles(t, spy.DB) {
				titles = append(titles, a.Title)
			}
			if !slices.Contains(titles, "خبر عاجل رقم 5 من بغداد") {
				t.Errorf("%q in a title: stored titles %q", bad, titles)
			}
		})
	}
}

// TestHealthyFeedThatStopsParsingAlertsAtOnce: a feed that worked and now
// cannot be parsed is reported at its first failure, not an hour later;
// a feed that never worked waits for the failing alert.
func TestHealthyFeedThatStopsParsingAlertsAtOnce(t *testing.T) {
	truncated := rss(news(1, 3)...)
	truncated = truncated[:len(truncated)/2]

	s, spy, p, clk := baselined(t, news(1, 3))
	s.serve("/feed", "application/rss+xml", truncated)
	for i := range 3 {
		clk.Add(5 * time.Minute)
		if r := pollOne(t, p); r.Err == nil {
			t.Fatal("a truncated feed parsed")
		}
		if got := spy.kinds(); !slices.Equal(got, []string{AlertUnparsable}) {
			t.Fatalf("poll %d: alerts %v, want one %s", i+1, got, AlertUnparsable)
		}
	}
	a := spy.raised[0]
	if a.Subject != s.URL+"/feed" || !strings.Contains(a.Message, "كانت سليمة وصارت لا تُقرأ") ||
		!strings.Contains(a.Message, "ليس خلاصة تُقرأ") || strings.Contains(a.Message, "XML") {
		t.Errorf("alert %+v", a)
	}

	// Never parsed: nothing at once.
	s.serve("/other", "application/rss+xml", truncated)
	spy2 := &spyStore{DB: newStore(t)}
	addFeeds(t, spy2.DB, "news", s.URL+"/other")
	p2, _ := newTestPoller(t, spy2, testConfig())
	pollOne(t, p2)
	if got := spy2.kinds(); len(got) != 0 {
		t.Errorf("a feed that never worked: alerts %v", got)
	}
}

// TestUndecodableItemHeld: an item whose text holds bytes no encoding makes
// sense of is never stored with replacement characters: it is held back,
// the admins told once, and stored as new once the site mends it; the
// other items go through.
func TestUndecodableItemHeld(t *testing.T) {
	s, spy, p, clk := baselined(t, news(1, 2))

	// UTF-8 Arabic with two damaged bytes in item 4's title.
	s.serve("/feed", "application/rss+xml", withTitle(news(1, 5), 4, "\xd8\xff"))
	for range 2 {
		clk.Add(5 * time.Minute)
		r := pollOne(t, p)
		if r.Err != nil || r.Items != 4 {
			t.Fatalf("poll %+v", r)
		}
	}
	for _, a := range articles(t, spy.DB) {
		if strings.ContainsRune(a.Title+a.Summary, '\uFFFD') || strings.Contains(a.Title, "رقم 4") {
			t.Errorf("stored %q", a.Title)
		}
	}
	if got := states(t, spy.DB); got[nashra.ArticleNew] != 2 {
		t.Errorf("states %v: want items 3 and 5 new", got)
	}
	if got := spy.kinds(); !slices.Equal(got, []string{AlertUndecodable}) {
		t.Fatalf("alerts %v, want one %s", got, AlertUndecodable)
	}
	if m := spy.raised[0].Message; !strings.Contains(m, "مادة واحدة تعذّرت قراءة حروفها") ||
		!strings.Contains(m, "https://almaalouma.net/2025/02/20/news-4/") {
		t.Errorf("alert %q", m)
	}

	clk.Add(5 * time.Minute)
	s.serve("/feed", "application/rss+xml", rss(news(1, 5)...))
	if r := pollOne(t, p); r.New != 1 {
		t.Errorf("after the site mended it: %+v", r)
	}
}
