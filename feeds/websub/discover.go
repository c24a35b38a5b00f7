package websub

import (
	"bytes"
	"encoding/xml"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
)

// Discovery is what a fetched document says of its WebSub hub.
type Discovery struct {
	// Hub is the first hub named, "" when none is.
	Hub string
	// Self is the topic URL to subscribe to, "" when none is named.
	Self string
}

// Discover finds the hub and self URLs of a document fetched from base
// (after redirects): first in its HTTP Link headers, then in the document
// itself: <link> elements of an Atom feed, <atom:link> of an RSS channel,
// <link> tags of an HTML page. Each of the two is taken from the headers
// when they name it. Relative URLs resolve against base; only http and
// https URLs count.
func Discover(header http.Header, body []byte, contentType string, base *url.URL) Discovery {
	var d Discovery
	for _, l := range parseLinks(header.Values("Link")) {
		d.take(l, base)
	}
	if d.Hub != "" && d.Self != "" {
		return d
	}
	var inBody Discovery
	for _, l := range bodyLinks(body, contentType) {
		inBody.take(l, base)
	}
	if d.Hub == "" {
		d.Hub = inBody.Hub
	}
	if d.Self == "" {
		d.Self = inBody.Self
	}
	return d
}

// link is one link of a document: its target and relation types.
type link struct {
	href string
	rels []string
}

// take keeps the first hub and the first self of l.
func (d *Discovery) take(l link, base *url.URL) {
	for _, rel := range l.rels {
		var dst *string
		switch strings.ToLower(rel) {
		case "hub":
			dst = &d.Hub
		case "self":
			dst = &d.Self
		default:
			continue
		}
		if *dst != "" {
			continue
		}
		if u := resolve(l.href, base); u != "" {
			*dst = u
		}
	}
}

// resolve returns href as an absolute http(s) URL against base, or "".
func resolve(href string, base *url.URL) string {
	u, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return ""
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	u.Fragment = ""
	return u.String()
}

// parseLinks reads HTTP Link header values (RFC 8288): `<url>; rel="hub",
// <url>; rel="self"`, several per value and rel possibly a list.
func parseLinks(values []string) []link {
	var out []link
	for _, v := range values {
		for v != "" {
			v = strings.TrimLeft(v, " \t,")
			if !strings.HasPrefix(v, "<") {
				break
			}
			end := strings.IndexByte(v, '>')
			if end < 0 {
				break
			}
			l := link{href: v[1:end]}
			v = v[end+1:]
			// Parameters up to the next link: ; name=value or ; name="value".
			for {
				v = strings.TrimLeft(v, " \t")
				if !strings.HasPrefix(v, ";") {
					break
				}
				v = strings.TrimLeft(v[1:], " \t")
				eq := strings.IndexAny(v, "=;,")
				if eq < 0 || v[eq] != '=' {
					// A parameter without a value.
					if eq < 0 {
						v = ""
					} else {
						v = v[eq:]
					}
					continue
				}
				name := strings.ToLower(strings.TrimSpace(v[:eq]))
				v = strings.TrimLeft(v[eq+1:], " \t")
				var val string
				if strings.HasPrefix(v, `"`) {
					close := strings.IndexByte(v[1:], '"')
					if close < 0 {
						val, v = v[1:], ""
					} else {
						val, v = v[1:close+1], v[close+2:]
					}
				} else {
					stop := strings.IndexAny(v, ";,")
					if stop < 0 {
						stop = len(v)
					}
					val, v = strings.TrimSpace(v[:stop]), v[stop:]
				}
				if name == "rel" {
					l.rels = strings.Fields(val)
				}
			}
			out = append(out, l)
		}
	}
	return out
}

// bodyLinks reads the links of a feed or an HTML page that sit above its
// items: the hub and self of a feed are in its header.
func bodyLinks(body []byte, contentType string) []link {
	mt, _, _ := mime.ParseMediaType(contentType)
	head := bytes.ToLower(body[:min(len(body), 1024)])
	if mt == "text/html" || mt == "application/xhtml+xml" || bytes.Contains(head, []byte("<html")) ||
		bytes.Contains(head, []byte("<!doctype html")) {
		return htmlLinks(body)
	}
	return xmlLinks(body)
}

// xmlLinks reads the <link> elements of an Atom feed and the <atom:link>
// elements of an RSS channel, up to the first item or entry.
func xmlLinks(body []byte) []link {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = false
	dec.CharsetReader = charset.NewReaderLabel
	var out []link
	for {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch strings.ToLower(se.Name.Local) {
		case "item", "entry":
			return out
		case "link":
			// RSS's own <link> holds text, not a href; Atom's, in either
			// namespace use, carries href and rel.
			var l link
			for _, a := range se.Attr {
				switch strings.ToLower(a.Name.Local) {
				case "href":
					l.href = a.Value
				case "rel":
					l.rels = strings.Fields(a.Value)
				}
			}
			if l.href != "" && len(l.rels) > 0 {
				out = append(out, l)
			}
		}
	}
}

// htmlLinks reads the <link> tags of an HTML page, up to its body.
func htmlLinks(body []byte) []link {
	z := html.NewTokenizer(bytes.NewReader(body))
	var out []link
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch atom.Lookup(name) {
			case atom.Body:
				return out
			case atom.Link:
				var l link
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					switch string(k) {
					case "href":
						l.href = string(v)
					case "rel":
						l.rels = strings.Fields(string(v))
					}
				}
				if l.href != "" && len(l.rels) > 0 {
					out = append(out, l)
				}
			}
		}
	}
}
