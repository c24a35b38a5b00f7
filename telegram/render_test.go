package telegram_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/almaalouma/nashra/telegram"

	"github.com/rivo/uniseg"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/telegram/telegramtest"
)

// siteArticle is the site's seed page, as the feed gives it.
func siteArticle() nashra.Article {
	return nashra.Article{
		ID:    7,
		Link:  "https://almaalouma.net/2025/02/20/russian-american/",
		Title: "التقارب الروسي–الأمريكي: مصالح متبادلة أم تنازلات ستراتيجية ؟",
		Summary: "في ظل التغيرات السياسية المتسارعة، يبدو أن العلاقات بين الولايات المتحدة وروسيا تتجه نحو نوع من التفاهم " +
			"القائم على المصالح المشتركة، وهو ما يُترجم إلى تنازلات متبادلة بين الجانبين.",
		Author:      "كاظم الطائي",
		Sections:    []string{"articles"},
		PublishedAt: time.Date(2025, 2, 20, 12, 30, 0, 0, time.UTC), // 15:30 in Baghdad
	}
}

// checkHTML parses h as Telegram would and returns the visible text,
// failing the test when Telegram would refuse it or it is over limit.
func checkHTML(t testing.TB, h string, limit int) string {
	t.Helper()
	plain, err := telegramtest.ParseHTML(h)
	if err != nil {
		t.Fatalf("Telegram would refuse %q: %v", h, err)
	}
	if n := telegramtest.UTF16Len(plain); n > limit {
		t.Fatalf("%d UTF-16 units, over the limit of %d: %q", n, limit, plain)
	}
	return plain
}

func TestRenderPost(t *testing.T) {
	r := telegram.NewRenderer("المعلومة", baghdad, catalog(), nil)
	long := strings.Repeat("كلمة طويلة نسبيًا في ملخص المقال ", 200)
	cases := []struct {
		name  string
		edit  func(*nashra.Article)
		limit int
		want  []string
		not   []string
		html  []string
		// cut: the summary must end on a whole word of long.
		cut bool
	}{
		{name: "site style", limit: telegram.MaxText,
			want: []string{"التقارب الروسي–الأمريكي", "في ظل التغيرات", "#مقالات · ✍️ كاظم الطائي", "🕒 20 شباط 2025 15:30"},
			html: []string{"<b>التقارب الروسي–الأمريكي: مصالح متبادلة أم تنازلات ستراتيجية ؟</b>"}},
		{name: "feed text escaped", limit: telegram.MaxCaption,
			edit: func(a *nashra.Article) { a.Title = `<script>"x" & y</script>`; a.Summary = "a < b && c > d &nbsp;" },
			want: []string{`<script>"x" & y</script>`, "a < b && c > d &nbsp;"},
			html: []string{"&lt;script&gt;&quot;x&quot; &amp; y&lt;/script&gt;", "&amp;nbsp;"}},
		{name: "section with spaces", limit: telegram.MaxText,
			edit: func(a *nashra.Article) { a.Sections = []string{"news", "special"} },
			want: []string{"#أخبار #تقارير_خاصة"}},
		{name: "long summary cut in a caption", limit: telegram.MaxCaption,
			edit: func(a *nashra.Article) { a.Summary = long },
			want: []string{"كلمة طويلة", "…", "#مقالات"}, cut: true},
		{name: "long summary cut in a text", limit: telegram.MaxText,
			edit: func(a *nashra.Article) { a.Summary = long },
			want: []string{"…", "🕒 20 شباط 2025 15:30"}, cut: true},
		{name: "emoji count twice", limit: telegram.MaxCaption,
			edit: func(a *nashra.Article) { a.Summary = strings.Repeat("😀", 2000) },
			want: []string{"#مقالات"}},
		{name: "no author, no date", limit: telegram.MaxText,
			edit: func(a *nashra.Article) { a.Author, a.PublishedAt = "", time.Time{} },
			not:  []string{"✍️", "🕒"}},
		{name: "video", limit: telegram.MaxText,
			edit: func(a *nashra.Article) {
				a.Content = `<p>شاهد</p><iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ?feature=oembed"></iframe>`
			},
			want: []string{"▶️ شاهد الفيديو"},
			html: []string{`<a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ">شاهد الفيديو</a>`}},
	}
	sections := append(catalog().Sections(), nashra.Section{Slug: "special", Name: "تقارير خاصة"})
	r = telegram.NewRenderer("المعلومة", baghdad, nashra.NewCatalog(sections), nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := siteArticle()
			if c.edit != nil {
				c.edit(&a)
			}
			h := r.Post(a, nashra.MediumTelegram, c.limit)
			plain := checkHTML(t, h, c.limit)
			mustContain(t, plain, c.want...)
			mustContain(t, h, c.html...)
			for _, n := range c.not {
				if strings.Contains(plain, n) {
					t.Errorf("%q contains %q", plain, n)
				}
			}
			if c.cut {
				// Cut on a word boundary: the ellipsis follows a whole word.
				before, _, _ := strings.Cut(plain, "…")
				words := strings.Fields(before)
				if last := words[len(words)-1]; !strings.Contains(long, " "+last+" ") {
					t.Errorf("cut inside a word: …%q", last)
				}
			}
		})
	}
}

// TestPostCutOnGraphemes: a summary or title too long for a caption is cut
// between grapheme clusters: no half emoji sequence, no lone half of a
// flag before the "…".
func TestPostCutOnGraphemes(t *testing.T) {
	r := telegram.NewRenderer("المعلومة", baghdad, catalog(), nil)
	for name, text := range map[string]string{
		"ZWJ sequences":        strings.Repeat("👨\u200d👩\u200d👧\u200d👦", 300),
		"flags":                strings.Repeat("🇮🇶", 700),
		"flags after a letter": "x" + strings.Repeat("🇮🇶", 700),
		"keycaps":              strings.Repeat("#\ufe0f\u20e3", 700),
	} {
		for _, field := range []string{"summary", "title"} {
			a := siteArticle()
			if field == "summary" {
				a.Summary = text
			} else {
				a.Title = text
			}
			plain := checkHTML(t, r.Post(a, nashra.MediumChannel, telegram.MaxCaption), telegram.MaxCaption)
			head, _, ok := strings.Cut(plain, "…")
			if !ok {
				t.Fatalf("%s in the %s: not cut: %q", name, field, plain)
			}
			head = strings.TrimPrefix(head[strings.LastIndex(head, "\n")+1:], "\u200f")
			if !strings.HasPrefix(text, head) || !onBoundary(text, len(head)) {
				r := []rune(head)
				t.Errorf("%s in the %s: cut inside a grapheme cluster: …%q", name, field, string(r[max(0, len(r)-8):]))
			}
		}
	}
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

func TestRenderBundleAndLinks(t *testing.T) {
	tracked := func(a nashra.Article, medium nashra.Medium, chat int64) string {
		return fmt.Sprintf("https://nashra.example/r/%s-%s-%d", medium, a.GUID, chat)
	}
	r := telegram.NewRenderer("المعلومة", baghdad, catalog(), tracked)
	var as []nashra.Article
	for i, title := range []string{"أول", "ثان", "ثالث", strings.Repeat("طويل ", 500), "خامس", "سادس", "سابع"} {
		a := siteArticle()
		a.GUID = string(rune('a' + i))
		a.Title = title
		as = append(as, a)
	}
	h := r.Bundle(as, nil, nashra.MediumChannel, 0)
	plain := checkHTML(t, h, telegram.MaxText)
	mustContain(t, plain, "جديد المعلومة", "7 مقالات", "1. أول", "5. خامس", "والمزيد على موقع المعلومة")
	if strings.Contains(plain, "سادس") {
		t.Error("a bundle lists more than five titles")
	}
	mustContain(t, h, `<a href="https://nashra.example/r/channel-a-0">أول</a>`)
	if got := r.Link(as[0], nashra.MediumTelegram, 1009); got != "https://nashra.example/r/telegram-a-1009" {
		t.Errorf("Link = %q", got)
	}

	// Two articles: the dual; a private chat's links are its own.
	dual := r.Bundle(as[:2], nil, nashra.MediumTelegram, 1009)
	mustContain(t, checkHTML(t, dual, telegram.MaxText), "مقالان")
	mustContain(t, dual, `<a href="https://nashra.example/r/telegram-b-1009">ثان</a>`)
}

// A bundle says under each item that came by a word or a tag why it came,
// and, with five items of the longest titles, sections and reasons, still
// fits Telegram's limit.
func TestRenderBundleSaysWhy(t *testing.T) {
	r := telegram.NewRenderer("المعلومة", baghdad, catalog(), nil)
	var as []nashra.Article
	for i := range 6 {
		a := siteArticle()
		a.GUID = string(rune('a' + i))
		a.Title = fmt.Sprintf("عنوان %d ", i+1) + strings.Repeat("😀طويل ", 400)
		a.Sections = []string{"news", "articles", "reports", "translation"}
		as = append(as, a)
	}
	as[1].Title = "جلسة البرلمان"
	reasons := []string{strings.Repeat("الكهرباء ", 200), "", "#النفط", "الكهرباء", "#" + strings.Repeat("وسم", 300), "سادس"}
	plain := checkHTML(t, r.Bundle(as, reasons, nashra.MediumTelegram, 0), telegram.MaxText)
	lines := strings.Split(plain, "\n")
	under := func(prefix string) string {
		for i, l := range lines {
			if strings.HasPrefix(strings.TrimPrefix(l, "\u200f"), prefix) && i+1 < len(lines) {
				return strings.TrimPrefix(lines[i+1], "\u200f")
			}
		}
		return ""
	}
	if got := under("2. جلسة البرلمان"); strings.Contains(got, "لأنك") {
		t.Errorf("a section's item says why: %q", got)
	}
	if got := under("3. "); got != "🔔 لأنك تتابع: #النفط" {
		t.Errorf("a tag's item: %q", got)
	}
	if got := under("4. "); got != "🔔 لأنك تتابع: الكهرباء" {
		t.Errorf("a word's item: %q", got)
	}
	for _, p := range []string{"1. ", "5. "} {
		if got := under(p); !strings.HasPrefix(got, "🔔 لأنك تتابع: ") || !strings.HasSuffix(got, "…") || telegram.Len(got) > 120 {
			t.Errorf("a long reason under %q is not one short line: %q", p, got)
		}
	}
	if strings.Contains(plain, "سادس") {
		t.Error("the sixth item's reason is shown though the item is not")
	}
	// The bot's own lists say nothing of reasons.
	if strings.Contains(checkHTML(t, r.List("آخر ما نُشر", as, nashra.MediumTelegram, 0, true), telegram.MaxText), "لأنك") {
		t.Error("a list without reasons says why")
	}
}

func TestHashtag(t *testing.T) {
	for in, want := range map[string]string{
		"مقالات":          "#مقالات",
		"تقارير خاصة":     "#تقارير_خاصة",
		"  أخبار  محلية ": "#أخبار_محلية",
		"رأي، وتحليل":     "#رأي_وتحليل",
	} {
		if got := telegram.Hashtag(in); got != want {
			t.Errorf("Hashtag(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVideoLink(t *testing.T) {
	for in, want := range map[string]string{
		`<iframe src="https://www.youtube.com/embed/abcdefghijk"></iframe>`: "https://www.youtube.com/watch?v=abcdefghijk",
		`<a href="https://youtu.be/abcdefghijk?t=3">`:                       "https://www.youtube.com/watch?v=abcdefghijk",
		`https://www.youtube.com/watch?feature=share&amp;v=abcdefghijk`:     "https://www.youtube.com/watch?v=abcdefghijk",
		`<p>لا فيديو هنا</p>`:                                               "",
	} {
		if got := telegram.VideoLink(in); got != want {
			t.Errorf("VideoLink(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzRender: whatever a feed puts in a title, summary and author, the
// post is one Telegram accepts, within its limits, as a caption and as a
// text, alone or in a bundle, and shows no replacement character the feed
// did not have.
func FuzzRender(f *testing.F) {
	a := siteArticle()
	f.Add(a.Title, a.Summary, a.Author)
	f.Add("<b>bold</b> & <i>", "&amp; &lt; &#1234; &nbsp; </a>", "<a href=x>")
	f.Add(strings.Repeat("😀", 600), strings.Repeat("x", 5000), "")
	f.Add("\u200f\u202e\x00\x1b", "\xff\xfe invalid", "\x08&#8;")
	f.Add(strings.Repeat("كلمة ", 300), strings.Repeat("مَـا ", 2000), strings.Repeat("اسم ", 60))
	f.Add("", "", "")
	// Cut inside emoji sequences, flags and keycaps.
	f.Add(strings.Repeat("👨\u200d👩\u200d👧\u200d👦", 120), strings.Repeat("🇮🇶", 700), strings.Repeat("🏳️\u200d🌈", 40))
	f.Add("x"+strings.Repeat("🇮🇶", 300), "#\ufe0f\u20e3"+strings.Repeat("#\ufe0f\u20e3", 500), "")
	r := telegram.NewRenderer("المعلومة", baghdad, catalog(), nil)
	f.Fuzz(func(t *testing.T, title, summary, author string) {
		a := siteArticle()
		a.Title, a.Summary, a.Author = title, summary, author
		replaced := strings.ContainsRune(title+summary+author, '\uFFFD')
		for _, c := range []struct {
			html  string
			limit int
		}{
			{r.Post(a, nashra.MediumChannel, telegram.MaxCaption), telegram.MaxCaption},
			{r.Post(a, nashra.MediumTelegram, telegram.MaxText), telegram.MaxText},
			{r.Bundle([]nashra.Article{a, a, a}, []string{"", title, "#" + author}, nashra.MediumTelegram, 0), telegram.MaxText},
		} {
			if plain := checkHTML(t, c.html, c.limit); !replaced && strings.ContainsRune(plain, '\uFFFD') {
				t.Fatalf("replacement character shown: %q", plain)
			}
		}
	})
}
