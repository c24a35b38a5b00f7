package digest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/arabic"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/templates"
)

// The labels of a ranking: a list is called most-followed only when
// readers' signals ranked it.
const (
	labelMostFollowed = "الأكثر متابعة"
	labelLatest       = "الأحدث"
)

// hours is the noun of a number of hours after a preposition or in an
// annexation ("في آخر 24 ساعة", "بعد ساعتين"): the dual is genitive.
var hours = arabic.Noun{Zero: "أي ساعة", One: "ساعة واحدة", Two: "ساعتين", Few: "{n} ساعات", Many: "{n} ساعة", Other: "{n} ساعة"}

// edition is what the digest templates show.
type edition struct {
	Site       string
	SiteURL    string
	Subject    string
	Date       string
	Label      string
	Intro      string
	Preheader  string
	ArchiveURL string
	SignupURL  string
	Lead       *item
	Sections   []sectionBlock
	// Web is the archive page: no preheader and no personal footer.
	Web bool
	// Per recipient: placeholders until filled in.
	Address     string
	Preferences string
	Unsubscribe string
}

type item struct {
	Title   string
	Summary string
	Image   string
	Link    string
	// Meta is the article's section and date: "أخبار · 27 تشرين الثاني 2026 18:40".
	Meta string
}

type sectionBlock struct {
	Name  string
	Label string
	Items []item
}

// rendered is one edition of a digest, rendered once with placeholders
// where the per-recipient values go.
type rendered struct {
	subject string
	// articles are the edition's articles; slot i is article i's link.
	articles []nashra.Article
	html     []segment
	text     []segment
}

// segment is literal text followed by the value of a slot (none when
// slot is negative).
type segment struct {
	lit  string
	slot int
}

// The slots after the articles' links.
const (
	slotPreferences = iota
	slotUnsubscribe
	slotAddress
	extraSlots
)

// slots returns how many values a message of r fills in.
func (r *rendered) slots() int { return len(r.articles) + extraSlots }

// fill writes segs with the slots' values: HTML-escaped for the HTML part,
// as they are for the text part.
func fill(dst *bytes.Buffer, segs []segment, vals []string, escape bool) {
	for _, s := range segs {
		dst.WriteString(s.lit)
		if s.slot < 0 {
			continue
		}
		if escape {
			dst.WriteString(html.EscapeString(vals[s.slot]))
		} else {
			dst.WriteString(vals[s.slot])
		}
	}
}

// placeholders are slot markers made of letters and digits only, which
// html/template leaves as they are in text and in URLs, with a random
// nonce that no feed can guess.
type placeholders struct{ prefix string }

func newPlaceholders() placeholders {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return placeholders{prefix: "zq" + hex.EncodeToString(b) + "s"}
}

func (p placeholders) mark(slot int) string { return p.prefix + strconv.Itoa(slot) + "e" }

// split cuts rendered output at its markers.
func (p placeholders) split(s string) ([]segment, error) {
	var out []segment
	for {
		i := strings.Index(s, p.prefix)
		if i < 0 {
			return append(out, segment{lit: s, slot: -1}), nil
		}
		rest := s[i+len(p.prefix):]
		j := strings.IndexByte(rest, 'e')
		n, err := strconv.Atoi(rest[:max(j, 0)])
		if j < 0 || err != nil {
			return nil, errors.New("digest: a placeholder was altered by its template")
		}
		out = append(out, segment{lit: s[:i], slot: n})
		s = rest[j+1:]
	}
}

// renderMail renders the mail edition of picks, with placeholders.
func (s *Service) renderMail(ctx context.Context, d nashra.Digest, picks nashra.DigestPicks) (*rendered, error) {
	ph := newPlaceholders()
	r := &rendered{subject: d.Subject}
	ed, err := s.edition(ctx, d, picks, func(a nashra.Article) string {
		r.articles = append(r.articles, a)
		return ph.mark(len(r.articles) - 1)
	})
	if err != nil {
		return nil, err
	}
	n := len(r.articles)
	ed.Preferences, ed.Unsubscribe, ed.Address = ph.mark(n+slotPreferences), ph.mark(n+slotUnsubscribe), ph.mark(n+slotAddress)
	var h, t bytes.Buffer
	if err := templates.EmailHTML().ExecuteTemplate(&h, "digest.html", ed); err != nil {
		return nil, fmt.Errorf("render digest: %w", err)
	}
	if err := templates.EmailText().ExecuteTemplate(&t, "digest.txt", ed); err != nil {
		return nil, fmt.Errorf("render digest: %w", err)
	}
	if r.html, err = ph.split(h.String()); err != nil {
		return nil, err
	}
	if r.text, err = ph.split(rtlLines(t.String())); err != nil {
		return nil, err
	}
	s.m.renders.Inc()
	return r, nil
}

// renderWeb renders the archive page of a digest: every section, links
// for the web, no personal footer.
func (s *Service) renderWeb(ctx context.Context, d nashra.Digest) ([]byte, error) {
	ed, err := s.edition(ctx, d, d.Picks, func(a nashra.Article) string { return cleanURL(s.links.Article(a, nashra.MediumWeb)) })
	if err != nil {
		return nil, err
	}
	ed.Web, ed.Preheader = true, ""
	var b bytes.Buffer
	if err := templates.EmailHTML().ExecuteTemplate(&b, "digest.html", ed); err != nil {
		return nil, fmt.Errorf("render digest page: %w", err)
	}
	return b.Bytes(), nil
}

// edition loads the picks' articles and fills the template data; link
// gives each article's link, in the order the articles appear.
func (s *Service) edition(ctx context.Context, d nashra.Digest, picks nashra.DigestPicks, link func(nashra.Article) string) (edition, error) {
	loc := s.cfg.Site.Location
	day, err := time.ParseInLocation(dayLayout, d.Day, loc)
	if err != nil {
		return edition{}, fmt.Errorf("digest %d: day %q: %w", d.ID, d.Day, err)
	}
	ed := edition{
		Site: s.cfg.Site.Name, SiteURL: s.cfg.Site.URL, Subject: d.Subject, Date: arabic.Date(day, loc),
		ArchiveURL: s.archiveURL(d.Day), SignupURL: s.cfg.BaseURL + signupPath,
		Label: labelOf(picks.MostFollowed),
	}
	count := 0
	get := func(id int64) (nashra.Article, bool, error) {
		a, err := s.st.Article(ctx, id)
		if errors.Is(err, store.ErrNotFound) || err == nil && a.Retracted() {
			return a, false, nil // deleted or retracted since it was picked
		}
		return a, err == nil, err
	}
	if picks.Lead != 0 {
		a, ok, err := get(picks.Lead)
		if err != nil {
			return ed, err
		}
		if ok {
			it := s.item(a, s.sectionName(a.Sections), link(a), leadSummary)
			ed.Lead, ed.Preheader = &it, arabic.Cut(it.Title, 110, utf8.RuneCountInString)
			count++
		}
	}
	for _, sp := range picks.Sections {
		b := sectionBlock{Name: s.sectionName([]string{sp.Section}), Label: labelOf(sp.MostFollowed)}
		for _, id := range sp.Articles {
			a, ok, err := get(id)
			if err != nil {
				return ed, err
			}
			if ok {
				b.Items = append(b.Items, s.item(a, b.Name, link(a), itemSummary))
				count++
			}
		}
		if len(b.Items) > 0 {
			ed.Sections = append(ed.Sections, b)
		}
	}
	window := max(1, int(d.WindowEnd.Sub(d.WindowStart).Round(time.Hour)/time.Hour))
	ed.Intro = fmt.Sprintf("أبرز ما نشرته %s في آخر %s: %s.", s.cfg.Site.Name, arabic.Count(window, hours), arabic.Count(count, arabic.Item))
	return ed, nil
}

func labelOf(mostFollowed bool) string {
	if mostFollowed {
		return labelMostFollowed
	}
	return labelLatest
}

// sectionName returns the Arabic name of the first configured section
// among slugs.
func (s *Service) sectionName(slugs []string) string {
	for _, sec := range s.sections.Sections() {
		for _, slug := range slugs {
			if sec.Slug == slug {
				return sec.Name
			}
		}
	}
	return ""
}

// Summary lengths, in characters: quoted-printable takes six bytes for an
// Arabic letter, and the whole message must stay under Gmail's 102 KB.
const (
	leadSummary = 200
	itemSummary = 110
)

// item makes an article presentable: feed text is cleaned of control and
// directional-override characters (html/template escapes the rest; the
// feed's HTML content is never used), the summary shortened to summary
// characters, the image kept only when it is an http(s) URL.
func (s *Service) item(a nashra.Article, section, link string, summary int) item {
	when := a.PublishedAt
	if when.IsZero() {
		when = a.FirstSeenAt
	}
	meta := arabic.DateTime(when, s.cfg.Site.Location)
	if section != "" {
		meta = section + " · " + meta
	}
	it := item{Title: arabic.CleanLine(a.Title), Summary: arabic.Cut(arabic.CleanLine(a.Summary), summary, utf8.RuneCountInString), Link: link, Meta: meta}
	if u, err := url.Parse(a.ImageURL); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		it.Image = u.String()
	}
	return it
}

// cleanURL percent-encodes what needs it (an Arabic path, a space), so
// that the link survives every mail client.
func cleanURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.String()
}

// rtlLines starts with a right-to-left mark every line whose first letter
// or digit is Latin or a digit, so that the plain-text part reads right to
// left: a mail client sets each paragraph's direction from its first
// strong character.
func rtlLines(s string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	b.Grow(len(s) + 64)
	for _, l := range lines {
		for _, r := range l {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				if r < 0x80 || unicode.Is(unicode.Latin, r) || unicode.IsDigit(r) {
					b.WriteRune('\u200F')
				}
				break
			}
		}
		b.WriteString(l)
	}
	return b.String()
}

// editionCache keeps the rendered editions of the digests being sent, so
// that each distinct set of sections is rendered once.
type editionCache struct {
	mu sync.Mutex
	m  map[editionKey]*editionEntry
}

type editionKey struct {
	digest int64
	// sections is the set's SectionsKey, with a medium prefix.
	sections string
}

type editionEntry struct {
	once sync.Once
	val  any
	err  error
}

func newEditionCache() *editionCache { return &editionCache{m: map[editionKey]*editionEntry{}} }

// get returns the value kept under k, calling make once for it; an error is
// not kept, so that the next message tries again.
func (c *editionCache) get(k editionKey, make func() (any, error)) (any, error) {
	c.mu.Lock()
	e, ok := c.m[k]
	if !ok {
		e = &editionEntry{}
		c.m[k] = e
		c.evict(k.digest)
	}
	c.mu.Unlock()
	e.once.Do(func() { e.val, e.err = make() })
	if e.err != nil {
		c.mu.Lock()
		if c.m[k] == e {
			delete(c.m, k)
		}
		c.mu.Unlock()
	}
	return e.val, e.err
}

// evict forgets the editions of digests older than the two newest: a
// resumed send of yesterday's digest may overlap today's.
func (c *editionCache) evict(newest int64) {
	var ids []int64
	for k := range c.m {
		if k.digest != newest && !slices.Contains(ids, k.digest) {
			ids = append(ids, k.digest)
		}
	}
	if len(ids) < 2 {
		return
	}
	keep := ids[0]
	for _, id := range ids {
		keep = max(keep, id)
	}
	for k := range c.m {
		if k.digest != newest && k.digest != keep {
			delete(c.m, k)
		}
	}
}
