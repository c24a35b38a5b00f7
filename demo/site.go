// Package demo provides a sample of the news site on loopback: one RSS feed
// per section, in the shape the real site's WordPress serves, with Arabic
// articles that can be "published" while nashra watches.
package demo

import (
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Item is one sample article.
type Item struct {
	Section string
	Title   string
	Byline  string // the writer, put at the top of the body as the site does; empty for news
	Body    string
	Image   string
	Tags    []string
}

// Site serves the sample feeds.
type Site struct {
	srv *httptest.Server

	mu        sync.Mutex
	published map[string][]published // by section slug, newest last
	next      int
	hub       string // the WebSub hub the feeds name, as WordPress's WebSub plugin does
}

type published struct {
	Item
	id   int
	date time.Time
}

// NewSite starts the sample site on 127.0.0.1 with the first articles of
// every section already published.
func NewSite(now time.Time) *Site {
	s := &Site{published: map[string][]published{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Listener.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("demo: listen on loopback: %v", err))
	}
	s.srv.Listener = ln
	s.srv.Start()
	for i, it := range Initial {
		s.publish(it, now.Add(time.Duration(i-len(Initial))*time.Hour))
	}
	return s
}

// URL is the site's base URL.
func (s *Site) URL() string { return s.srv.URL }

// FeedURL is the feed of one section.
func (s *Site) FeedURL(section string) string {
	return s.srv.URL + "/category/" + section + "/feed/"
}

// SetHub makes every feed name hub in its Link headers, with the feed's own
// URL as its rel="self".
func (s *Site) SetHub(hub string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hub = hub
}

// Close stops the server.
func (s *Site) Close() { s.srv.Close() }

// Publish adds items to their sections' feeds, dated at.
func (s *Site) Publish(at time.Time, items ...Item) {
	for _, it := range items {
		s.publish(it, at)
	}
}

// Retitle changes the title of the published item titled old, as an
// editor correcting it on the site would.
func (s *Site) Retitle(old, title string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, items := range s.published {
		for i := range items {
			if items[i].Title == old {
				items[i].Title = title
			}
		}
	}
}

func (s *Site) publish(it Item, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	s.published[it.Section] = append(s.published[it.Section], published{Item: it, id: 1000 + s.next, date: at})
}

func (s *Site) serve(w http.ResponseWriter, r *http.Request) {
	section, ok := strings.CutPrefix(r.URL.Path, "/category/")
	section, ok2 := strings.CutSuffix(section, "/feed/")
	if !ok || !ok2 {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	items := append([]published(nil), s.published[section]...)
	hub := s.hub
	s.mu.Unlock()
	if hub != "" {
		w.Header().Add("Link", "<"+hub+`>; rel="hub"`)
		w.Header().Add("Link", "<"+s.FeedURL(section)+`>; rel="self"`)
	}
	w.Header().Set("Content-Type", "application/rss+xml; charset=UTF-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>المعلومة</title><link>%s</link><language>ar</language>
`, s.srv.URL)
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		link := fmt.Sprintf("%s/%d/?utm_source=rss&utm_medium=rss", s.srv.URL, it.id)
		content := "<p>" + xmlText(it.Body) + "</p>"
		if it.Byline != "" {
			content = "<p>كتب / " + xmlText(it.Byline) + " ||</p>" + content
		}
		fmt.Fprintf(w, `<item><title>%s</title><link>%s</link><guid isPermaLink="false">%s/?p=%d</guid>
<dc:creator><![CDATA[المعلومة]]></dc:creator><pubDate>%s</pubDate>
`, xmlText(it.Title), xmlText(link), s.srv.URL, it.id, it.date.UTC().Format(time.RFC1123Z))
		for _, t := range it.Tags {
			fmt.Fprintf(w, "<category><![CDATA[%s]]></category>\n", t)
		}
		if it.Image != "" {
			fmt.Fprintf(w, `<media:content url="%s" medium="image"/>`+"\n", xmlText(it.Image))
		}
		fmt.Fprintf(w, "<description>%s</description><content:encoded>%s</content:encoded></item>\n",
			xmlText(it.Body), xmlText(content))
	}
	fmt.Fprint(w, "</channel></rss>\n")
}

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
