package feeds

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"

	"github.com/almaalouma/nashra/config"
)

// legal runs doc through legalChars, reading it in chunks of n bytes so
// that every construct is cut somewhere.
func legal(t testing.TB, doc string, n int) string {
	t.Helper()
	r := transform.NewReader(iotest.OneByteReader(strings.NewReader(doc)), legalChars([]byte(doc)))
	var out bytes.Buffer
	buf := make([]byte, n)
	for {
		k, err := r.Read(buf)
		out.Write(buf[:k])
		if err == io.EOF {
			return out.String()
		}
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
	}
}

func TestLegalChars(t *testing.T) {
	tests := []struct{ in, want string }{
		// Illegal references and raw characters go; a vertical tab or a
		// form feed becomes a space.
		{"<t>a&#8;b&#0;c&#7;d</t>", "<t>abcd</t>"},
		{"<t>a&#11;b&#xC;c&#x0b;d</t>", "<t>a b c d</t>"},
		{"<t>a&#xFFFE;b&#xffff;c&#xD800;d&#1114112;e&#x110000;f</t>", "<t>abcdef</t>"},
		{"<t>a\x00b\x08c\x1fd\ufffee\uffff</t>", "<t>abcde</t>"},
		{"<t>a\vb\fc</t>", "<t>a b c</t>"},
		// Legal ones stay exactly as they were; a "&" that starts none
		// is escaped, shown as the lenient decoder shows it: as text.
		{"<t>&#1575;&#x627;&#9;&#10;&#xD;&#8230;&amp;&lt;&gt;&apos;&quot;</t>", "<t>&#1575;&#x627;&#9;&#10;&#xD;&#8230;&amp;&lt;&gt;&apos;&quot;</t>"},
		{"<t>&nbsp;&#X41;&#;&#12a & x</t>", "<t>&amp;nbsp;&amp;#X41;&amp;#;&amp;#12a &amp; x</t>"},
		// Nothing dropped makes a reference, "]]>" or markup of what it
		// separated.
		{"<t>&#0\x13;&\x01#8;&#&#0;8;]\x01]>]]&#0;></t>", "<t>&amp;#0;&amp;#8;&amp;#8;]]&gt;]]&gt;</t>"},
		{"<t><![CDATA[a]]\x01>b]]></t>", "<t><![CDATA[a]] >b]]></t>"},
		{"<t>x <\x01b> y</t>", "<t>x &lt;b&gt; y</t>"},
		{"<t>\t\n\r\u00a0\u200f\U0001F600</t>", "<t>\t\n\r\u00a0\u200f\U0001F600</t>"},
		// In attribute values too.
		{`<a href="x&#8;y" t='a<b'>`, `<a href="xy" t='a&lt;b'>`},
		// A reference too long to judge becomes text.
		{"<t>&#" + strings.Repeat("0", 40) + "8;</t>", "<t>&amp;#" + strings.Repeat("0", 40) + "8;</t>"},
		// CDATA, comments and processing instructions are literal: a
		// reference there is text, markup is kept; raw bad characters go.
		{"<t><![CDATA[<b>&#8;</b> ]] > ]]></t>", "<t><![CDATA[<b>&#8;</b> ]] > ]]></t>"},
		{"<t><![CDATA[a\x08b]]>&#8;</t>", "<t><![CDATA[a b]]></t>"},
		{"<!-- &#8; <b> -- x --->&#8;<?php echo '&#8;'; ?>", "<!-- &#8; <b> - - x - --><?php echo '&#8;'; ?>"},
		{"<!DOCTYPE rss [<!ENTITY a '>'> <!-- > --> ]>a>b", "<!DOCTYPE rss [<!ENTITY a '>'> <!-- > --> ]>a&gt;b"},
		// A ">" in text, "<" that opens nothing, and what Go reads as
		// broken markup ("<!-", "<![", "<?" without a name) are escaped.
		{"<t>a ]]> b ]]]> c</t>", "<t>a ]]&gt; b ]]]&gt; c</t>"},
		{"<t>a < b <3 <!-x <![x <? </ </t><عنوان>x</عنوان>", "<t>a &lt; b &lt;3 &lt;!-x &lt;![x &lt;? &lt;/ </t><عنوان>x</عنوان>"},
		// Bytes that are not UTF-8 are marked.
		{"<t>a\xffb</t>", "<t>a\ufffdb</t>"},
		// A document that ends mid-construct.
		{"<t>&#12", "<t>&amp;#12"},
		{"<t>&", "<t>&amp;"},
		{"<t>&lt", "<t>&amp;lt"},
		{"<t><![CDATA[a", "<t><![CDATA[a"},
		// JSON: raw control characters, illegal in strings, become spaces.
		{"{\"title\": \"a\x08b\tc\"}\n", "{\"title\": \"a b c\"} "},
	}
	for _, tt := range tests {
		for _, n := range []int{1, 2, 3, 7, 4096} {
			if got := legal(t, tt.in, n); got != tt.want {
				t.Errorf("%q in reads of %d:\n got %q\nwant %q", tt.in, n, got, tt.want)
				break
			}
		}
	}
}

// TestOneBadItemDoesNotStopTheFeed: whatever bad character one item's
// title carries, the feed parses with all its items and the others intact.
func TestOneBadItemDoesNotStopTheFeed(t *testing.T) {
	bad := []string{"&#8;", "&#0;", "&#7;", "&#11;", "&#xFFFE;", "&#xD800;", "\uFFFE", "\uFFFF", "\x08", "\x00", "\x1b",
		"]]>", "a < b", "&#" + strings.Repeat("0", 50) + "8;"}
	for _, b := range bad {
		t.Run(fmt.Sprintf("%q", b), func(t *testing.T) {
			doc := bytes.Replace(rss(news(1, 5)...), []byte("رقم 3 "), []byte("رقم 3 "+b), 1)
			f, err := parseFeed(doc, "application/rss+xml", nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Items) != 5 {
				t.Fatalf("%d items, want 5", len(f.Items))
			}
			for i, it := range f.Items {
				if i != 2 && it.Title != news(1, 5)[i].title {
					t.Errorf("item %d: %q", i, it.Title)
				}
			}
		})
	}
}

// FuzzOneItem: whatever one item's title holds, short of markup of its own
// (its "<" are escaped) or enough stray bytes to outweigh the whole feed's
// UTF-8, the feed parses with all its items, the others intact.
func FuzzOneItem(f *testing.F) {
	for _, s := range []string{"&#8;", "&#0;", "&#7;", "&#11;", "&#xFFFE;", "\uFFFE", "\x08", "\x00", "]]>",
		"&#xD800;", "&#" + strings.Repeat("0", 40) + "8;", "&", "&#", "&#x", "<![CDATA[", "\xd8\xff", "\xc7\xe1"} {
		f.Add(s)
	}
	want := news(1, 3)
	f.Fuzz(func(t *testing.T, title string) {
		if len(title) > 256 {
			return
		}
		doc := withTitle(want, 2, strings.ReplaceAll(title, "<", "&lt;"))
		feed, err := parseFeed(doc, "application/rss+xml", charmap.Windows1256)
		if err != nil {
			t.Fatalf("%q in one title stopped the feed: %v", title, err)
		}
		if len(feed.Items) != 3 || feed.Items[0].Title != want[0].title || feed.Items[2].Title != want[2].title {
			t.Fatalf("%q in one title: items %+v", title, feed.Items)
		}
	})
}

// FuzzParseFeed: whatever a feed's body and type, reading it neither
// panics nor hangs, and what it gives readers is valid text without
// replacement characters, bounded, with safe HTML.
func FuzzParseFeed(f *testing.F) {
	for _, name := range []string{"almaalouma-articles.rss", "almaalouma-articles-1256.rss", "almaalouma-news.atom",
		"almaalouma-reports.rdf", "almaalouma-infographics.json"} {
		f.Add(fixture(f, name), "application/rss+xml")
	}
	undeclared := bytes.Replace(fixture(f, "almaalouma-articles-1256.rss"), []byte(` encoding="windows-1256"`), nil, 1)
	f.Add(undeclared, "text/xml")
	f.Add(withTitle(news(1, 3), 2, "&#8;\x01\uFFFE]]>"), "application/rss+xml; charset=utf-8")
	f.Add(withTitle(news(1, 3), 2, "\xd8\xff"), "application/rss+xml")
	f.Add([]byte("{\"version\":\"https://jsonfeed.org/version/1.1\",\"items\":[{\"id\":\"1\",\"url\":\"https://a.example/1\",\"title\":\"a\x08b\"}]}"),
		"application/feed+json")
	f.Add([]byte("<rss><channel><item><title>x"), "")
	p, err := NewPoller(nil, config.Defaults(), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		got, err := p.items(&response{body: body, contentType: contentType, url: siteBase}, t0, p.log)
		if err != nil {
			if strings.HasPrefix(err.Error(), "panic:") {
				t.Fatal(err)
			}
			return
		}
		for _, a := range got.items {
			for name, s := range map[string]string{"title": a.Title, "summary": a.Summary, "author": a.Author} {
				if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
					t.Fatalf("%s %q", name, s)
				}
			}
			if utf8.RuneCountInString(a.Title) > maxTitle || utf8.RuneCountInString(a.Summary) > maxSummary || a.GUID == "" || a.Link == "" {
				t.Fatalf("article %+v", a)
			}
			assertSafeHTML(t, a.Content)
		}
	})
}
