package websub

import (
	"net/http"
	"net/url"
	"testing"
)

// The discovery cases of websub.rocks (100–104), and what real feeds do.
func TestDiscover(t *testing.T) {
	base, _ := url.Parse("https://site.example/category/news/feed/")
	const rss = "application/rss+xml"
	cases := []struct {
		name        string
		header      http.Header
		body        string
		contentType string
		want        Discovery
	}{
		{"100 HTTP header discovery",
			http.Header{"Link": {`<https://hub.example/>; rel="hub"`, `<https://site.example/topic>; rel="self"`}},
			"", "text/plain", Discovery{Hub: "https://hub.example/", Self: "https://site.example/topic"}},
		{"100 both links in one header, rel unquoted, other parameters",
			http.Header{"Link": {`<https://hub.example/>; title="x, y"; rel=hub, <https://site.example/topic>;rel="self"`}},
			"", "", Discovery{Hub: "https://hub.example/", Self: "https://site.example/topic"}},
		{"101 HTML tag discovery", nil,
			`<!doctype html><html><head><link rel="hub" href="https://hub.example/"><link rel="self" href="/page"></head><body><link rel="hub" href="https://late.example/"></body></html>`,
			"text/html; charset=utf-8", Discovery{Hub: "https://hub.example/", Self: "https://site.example/page"}},
		{"102 Atom feed discovery", nil,
			`<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><link rel="hub" href="https://hub.example/"/><link rel="self" href="https://site.example/atom"/><entry><link rel="hub" href="https://entry.example/"/></entry></feed>`,
			"application/atom+xml", Discovery{Hub: "https://hub.example/", Self: "https://site.example/atom"}},
		{"103 RSS feed discovery (WordPress's shape)", nil,
			`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>المعلومة</title><atom:link href="https://site.example/category/news/feed/" rel="self" type="application/rss+xml"/><link>https://site.example</link><atom:link rel="hub" href="https://pubsubhubbub.appspot.com"/><item><title>x</title></item></channel></rss>`,
			rss, Discovery{Hub: "https://pubsubhubbub.appspot.com", Self: "https://site.example/category/news/feed/"}},
		{"104 headers win over the body",
			http.Header{"Link": {`<https://header-hub.example/>; rel="hub"`, `<https://site.example/header-self>; rel="self"`}},
			`<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><link rel="hub" href="https://body-hub.example/"/><link rel="self" href="https://site.example/body-self"/></feed>`,
			"application/atom+xml", Discovery{Hub: "https://header-hub.example/", Self: "https://site.example/header-self"}},
		{"a self in the body completes a hub in the headers",
			http.Header{"Link": {`<https://hub.example/>; rel="hub"`}},
			`<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><atom:link rel="self" href="https://site.example/rss"/></channel></rss>`,
			rss, Discovery{Hub: "https://hub.example/", Self: "https://site.example/rss"}},
		{"one link with both relations",
			http.Header{"Link": {`<https://site.example/both>; rel="hub self"`}}, "", "",
			Discovery{Hub: "https://site.example/both", Self: "https://site.example/both"}},
		{"relative hub, in a legacy charset", nil,
			"<?xml version=\"1.0\" encoding=\"windows-1256\"?><rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel><title>\xc7\xe1\xe3\xda\xe1\xe6\xe3\xc9</title><atom:link rel=\"hub\" href=\"/hub\"/></channel></rss>",
			rss, Discovery{Hub: "https://site.example/hub"}},
		{"no hub: RSS's own <link> is no hub", nil,
			`<?xml version="1.0"?><rss version="2.0"><channel><link>https://site.example</link></channel></rss>`, rss, Discovery{}},
		{"schemes other than http(s) are not hubs",
			http.Header{"Link": {`<javascript:alert(1)>; rel="hub"`, `<ftp://hub.example/>; rel="hub"`}}, "", "", Discovery{}},
		{"a broken header and broken XML find nothing and do not fail",
			http.Header{"Link": {`https://hub.example/; rel="hub"`, `<https://x.example/`}}, `<rss><channel><atom:link rel="hub" href=`, rss, Discovery{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.header == nil {
				c.header = http.Header{}
			}
			if got := Discover(c.header, []byte(c.body), c.contentType, base); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func FuzzDiscover(f *testing.F) {
	f.Add(`<https://hub.example/>; rel="hub"`, `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><link rel="hub" href="/h"/></feed>`)
	f.Add(`<a>;rel=hub;;,<b`, `<html><head><link rel=hub href=//x>`)
	base, _ := url.Parse("https://site.example/feed")
	f.Fuzz(func(t *testing.T, link, body string) {
		d := Discover(http.Header{"Link": {link}}, []byte(body), "", base)
		for _, u := range []string{d.Hub, d.Self} {
			if u == "" {
				continue
			}
			p, err := url.Parse(u)
			if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
				t.Fatalf("discovered %q", u)
			}
		}
	})
}
