package telegram

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/arabic"
)

// Telegram's limits, in UTF-16 code units of the text after entities are
// parsed.
const (
	MaxText    = 4096
	MaxCaption = 1024
)

// LinkFunc returns the link a message carries to an article in a medium,
// in the private chat chat (0 for a group or a channel): a private chat's
// links are its own, so that its reader's clicks count once. The default
// is the article's own link; tracked links replace it.
type LinkFunc func(a nashra.Article, medium nashra.Medium, chat int64) string

// ArticleLink is the default LinkFunc: the article's canonical link.
func ArticleLink(a nashra.Article, _ nashra.Medium, _ int64) string { return a.Link }

// Renderer turns articles into Telegram HTML: one post form for readers,
// groups and channels, and a list form for bundles.
type Renderer struct {
	site     string
	loc      *time.Location
	sections *nashra.Catalog
	link     LinkFunc
	breaking map[string]bool // categories, normalised
}

// RenderOption changes how a Renderer is built.
type RenderOption func(*Renderer)

// WithBreaking names the categories (delivery.breaking_categories) whose
// articles are breaking news: their posts open with «🔴 عاجل».
func WithBreaking(categories []string) RenderOption {
	return func(r *Renderer) {
		for _, c := range categories {
			r.breaking[arabic.Normalize(c)] = true
		}
	}
}

// NewRenderer returns a renderer for the site named site, writing dates in
// loc and hashtags with the catalog's Arabic section names. link may be nil
// for ArticleLink.
func NewRenderer(site string, loc *time.Location, sections *nashra.Catalog, link LinkFunc, opts ...RenderOption) *Renderer {
	if link == nil {
		link = ArticleLink
	}
	if loc == nil {
		loc = time.UTC
	}
	r := &Renderer{site: site, loc: loc, sections: sections, link: link, breaking: map[string]bool{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Breaking reports whether a is breaking news.
func (r *Renderer) Breaking(a nashra.Article) bool {
	for _, c := range a.Categories {
		if r.breaking[arabic.Normalize(c)] {
			return true
		}
	}
	return false
}

// breakingLabel opens the post of breaking news.
const breakingLabel = "🔴 عاجل"

// Button labels the button of a post to its article, by what it leads to:
// a video is watched, a cartoon looked at, the rest read.
func (r *Renderer) Button(a nashra.Article) string {
	for _, slug := range a.Sections {
		switch slug {
		case "video":
			return "شاهد الفيديو"
		case "caricature":
			return "شاهد الكاريكاتير"
		}
	}
	return readMore
}

// Link returns the link to show for a in medium, in the private chat chat
// (0 for a group or a channel).
func (r *Renderer) Link(a nashra.Article, medium nashra.Medium, chat int64) string {
	return r.link(a, medium, chat)
}

// Post renders a as HTML whose visible text fits limit UTF-16 units
// (MaxCaption under a photo, MaxText alone). Only the summary, then the
// title, are shortened, on a word boundary with "…".
func (r *Renderer) Post(a nashra.Article, medium nashra.Medium, limit int) string {
	return r.PostFor(a, medium, limit, "")
}

// PostFor is Post for a chat that gets a because of what it follows:
// reason, the phrase followed or '#' and the tag, is said in one line,
// "لأنك تتابع: الكهرباء".
func (r *Renderer) PostFor(a nashra.Article, medium nashra.Medium, limit int, reason string) string {
	title := arabic.CleanLine(a.Title)
	summary := arabic.CleanText(a.Summary)
	var foot []segment
	if why := whyLine(reason); why != "" {
		foot = append(foot, seg(why+"\n"))
	}
	if v := VideoLink(a.Content); v != "" {
		foot = append(foot, seg("▶️ "), linkSeg("شاهد الفيديو", v), seg("\n"))
	}
	tags := r.hashtags(a.Sections)
	author := Cut(arabic.CleanLine(a.Author), 100)
	switch {
	case tags != "" && author != "":
		foot = append(foot, seg(tags+" · ✍️ "+author+"\n"))
	case tags != "":
		foot = append(foot, seg(tags+"\n"))
	case author != "":
		foot = append(foot, seg("✍️ "+author+"\n"))
	}
	if when := publishedAt(a); !when.IsZero() {
		foot = append(foot, seg("🕒 "+arabic.DateTime(when, r.loc)))
	}

	// Each part is "\u200f" + text + "\n\n": the mark makes a title or
	// summary that starts with Latin letters or digits read right to left.
	const rlm = "\u200f"
	part := func(s string) int {
		if s == "" {
			return 0
		}
		return Len(rlm) + Len(s) + 2
	}
	var head string
	if r.Breaking(a) {
		head = breakingLabel
	}
	room := limit - segmentsLen(foot) - part(head)
	// A summary the site cut itself ("… إلا […]") ends at its last whole
	// sentence too, whatever the room.
	summary = arabic.CutSentence(summary, max(room-part(title)-part("x")+1, 0), Len)
	if part(title)+part(summary) > room || summary != "" && Len(summary) < 40 && strings.HasSuffix(summary, "…") {
		summary = ""
	}
	if part(title)+part(summary) > room {
		title = Cut(title, room-part(summary)-part("x")+1)
	}

	var b strings.Builder
	if head != "" {
		b.WriteString(rlm + "<b>" + Escape(head) + "</b>\n\n")
	}
	if title != "" {
		b.WriteString(rlm + "<b>" + Escape(title) + "</b>\n\n")
	}
	if summary != "" {
		b.WriteString(rlm + Escape(summary) + "\n\n")
	}
	for _, s := range foot {
		b.WriteString(s.html())
	}
	out := strings.TrimRight(b.String(), "\n")
	if out == "" {
		// Telegram refuses an empty message; an article with nothing to
		// show still names its site.
		out = Escape(r.site)
	}
	return out
}

// isSection reports whether a category is the name of a section, which a
// reader follows as a section rather than as a tag.
func (r *Renderer) isSection(category string) bool {
	if r.sections == nil {
		return false
	}
	_, ok := r.sections.Match(category)
	return ok
}

// whyLine says why a chat got a post it does not follow the section of.
func whyLine(reason string) string {
	if tag, ok := strings.CutPrefix(reason, "#"); ok {
		reason = Hashtag(tag)
	}
	reason = Cut(arabic.CleanLine(reason), 100)
	if reason == "" {
		return ""
	}
	return "🔔 لأنك تتابع: " + reason
}

// publishedAt is when the site says a was published, else when nashra
// first saw it.
func publishedAt(a nashra.Article) time.Time {
	if a.PublishedAt.IsZero() {
		return a.FirstSeenAt
	}
	return a.PublishedAt
}

// MaxList is how many titles a bundle or list shows; the rest are counted.
const MaxList = 5

// Bundle renders several articles as one message listing their titles,
// each a link: the form of a coalesced delivery, to chat (0 for a group or
// a channel). reasons, when not nil, says for each article why the chat
// gets it (as PostFor's reason; empty for a section it follows): each
// such item carries the line «🔔 لأنك تتابع: …».
func (r *Renderer) Bundle(as []nashra.Article, reasons []string, medium nashra.Medium, chat int64) string {
	heading := "📰 <b>" + Escape("جديد "+r.site) + "</b> — " + Escape(CountOf(as))
	return r.list(heading, as, reasons, medium, chat, false)
}

// CountOf counts articles as what they are: news as «أخبار», the
// opinion section's pieces as «مقالات», anything else or a mix as «مواد».
func CountOf(as []nashra.Article) string {
	noun := arabic.Item
	switch {
	case allIn(as, "news"):
		noun = arabic.News
	case allIn(as, "articles"):
		noun = arabic.Article
	}
	return arabic.Count(len(as), noun)
}

func allIn(as []nashra.Article, section string) bool {
	for _, a := range as {
		if !slices.Contains(a.Sections, section) {
			return false
		}
	}
	return len(as) > 0
}

// List renders articles as a numbered list under heading (HTML), each
// title a link (to chat, 0 for a group or a channel) followed by its
// hashtags and, withDates, its date. It shows at most five and counts the
// rest, so it always fits MaxText.
func (r *Renderer) List(heading string, as []nashra.Article, medium nashra.Medium, chat int64, withDates bool) string {
	return r.list(heading, as, nil, medium, chat, withDates)
}

// list is List with, for each article that has one, the line saying why
// the chat gets it. Five items of at most 300 units of title, some tags,
// a date and a why line of at most about 115 stay well under MaxText.
func (r *Renderer) list(heading string, as []nashra.Article, reasons []string, medium nashra.Medium, chat int64, withDates bool) string {
	var b strings.Builder
	b.WriteString(heading)
	b.WriteString("\n")
	shown := min(len(as), MaxList)
	for i, a := range as[:shown] {
		b.WriteString("\n\u200f" + strconv.Itoa(i+1) + ". ")
		b.WriteString(linkSeg(Cut(arabic.CleanLine(a.Title), 300), r.link(a, medium, chat)).html())
		if tags := r.hashtags(a.Sections); tags != "" {
			b.WriteString(" " + Escape(tags))
		}
		if when := publishedAt(a); withDates && !when.IsZero() {
			b.WriteString("\n\u200f🕒 " + Escape(arabic.DateTime(when, r.loc)))
		}
		if i < len(reasons) {
			if why := whyLine(reasons[i]); why != "" {
				b.WriteString("\n\u200f" + Escape(why))
			}
		}
	}
	if rest := len(as) - shown; rest > 0 {
		b.WriteString("\n\n\u200f" + Escape("… والمزيد على موقع "+r.site))
	}
	return b.String()
}

// hashtags returns "#أخبار #مقالات" for section slugs: names with spaces
// joined by "_", since a hashtag ends at a space.
func (r *Renderer) hashtags(slugs []string) string {
	var tags []string
	for _, slug := range slugs {
		name := slug
		if r.sections != nil {
			if s, ok := r.sections.Get(slug); ok {
				name = s.Name
			}
		}
		tags = append(tags, Hashtag(name))
	}
	return strings.Join(tags, " ")
}

// Hashtag makes a Telegram hashtag of a name: "#تقارير_خاصة".
func Hashtag(name string) string {
	f := strings.FieldsFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) && r != '_'
	})
	return "#" + strings.Join(f, "_")
}

// segment is a piece of a post: plain text, or plain text linked to href.
// Lengths are counted on the plain text, which is what Telegram counts.
type segment struct {
	text string
	href string
}

func seg(text string) segment { return segment{text: text} }

// linkSeg links text to href when href is a web address; otherwise the text
// stands alone, since Telegram refuses other schemes.
func linkSeg(text, href string) segment {
	if !IsWebURL(href) {
		return segment{text: text}
	}
	return segment{text: text, href: href}
}

func (s segment) html() string {
	if s.href == "" {
		return Escape(s.text)
	}
	return `<a href="` + Escape(s.href) + `">` + Escape(s.text) + `</a>`
}

func segmentsLen(ss []segment) int {
	n := 0
	for _, s := range ss {
		n += Len(s.text)
	}
	return n
}

// IsWebURL reports whether s is an absolute http(s) URL, the only kind a
// post links to.
func IsWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Escape makes text safe in Telegram HTML with the only named entities it
// knows.
var Escape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace

// Visible returns the text Telegram shows for the bot's own HTML: what
// a post becomes when it must go without markup.
func Visible(h string) string {
	var b strings.Builder
	in := false
	for _, r := range h {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`).Replace(b.String())
}

// Len counts s as Telegram does: in UTF-16 code units.
func Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// Cut shortens s to at most max UTF-16 units, as Telegram counts,
// ending with "…" when it had to cut.
func Cut(s string, max int) string { return arabic.Cut(s, max, Len) }

var youtubeRe = regexp.MustCompile(`(?i)https?://(?:www\.|m\.)?(?:youtube(?:-nocookie)?\.com/(?:watch\?(?:[^"'\s<>]*&(?:amp;)?)?v=|embed/|shorts/|live/)|youtu\.be/)([A-Za-z0-9_-]{11})`)

// VideoLink returns the watch link of the first YouTube video in an
// article's content, empty when there is none: a message with that link
// previewed shows Telegram's player.
func VideoLink(content string) string {
	m := youtubeRe.FindStringSubmatch(content)
	if m == nil {
		return ""
	}
	return "https://www.youtube.com/watch?v=" + m[1]
}
