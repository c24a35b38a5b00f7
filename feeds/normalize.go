package feeds

import (
	"cmp"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/arabic"
)

// Limits on what one item may put in the store, in runes.
const (
	maxTitle      = 500
	maxSummary    = 300
	maxAuthor     = 100
	maxGUID       = 1000
	maxCategory   = 100
	maxCategories = 50
	// untitled is how much of the summary stands in for a missing title.
	untitled = 100
)

// maxGUIDBytes bounds a GUID in bytes too: PostgreSQL's unique index takes
// keys of up to about 2,700 bytes, and maxGUID emoji are 4,000.
const maxGUIDBytes = 2048

// errNoIdentity rejects an item with neither GUID nor usable link: it could
// be neither recognised next time nor stored next to another like it.
var errNoIdentity = errors.New("item has neither guid nor link")

// normalizer turns parsed items into articles ready for the store.
type normalizer struct {
	generic map[string]bool // matchKey of the accounts that are not writers
}

// normalize builds the article for one item of a feed whose links resolve
// against base; now stands in for a missing date. dated reports whether the
// feed gave a date, so that the detection delay is measured on real ones.
func (n *normalizer) normalize(it *gofeed.Item, base *url.URL, now time.Time) (a nashra.Article, dated bool, err error) {
	for _, raw := range append([]string{it.Link}, it.Links...) {
		if a.Link = canonicalLink(raw, base); a.Link != "" {
			break
		}
	}
	a.GUID = capBytes(truncate(arabic.CleanLine(it.GUID), maxGUID), maxGUIDBytes)
	if a.Link == "" {
		// A permalink GUID still gives the article an address.
		a.Link = canonicalLink(a.GUID, base)
	}
	if a.GUID == "" {
		a.GUID = a.Link
	}
	if a.GUID == "" || a.Link == "" {
		return nashra.Article{}, false, errNoIdentity
	}
	linkBase := base
	if u, err := url.Parse(a.Link); err == nil {
		linkBase = u
	}

	// Invalid bytes would pass through the tokenizer and the sanitizer.
	body := strings.ToValidUTF8(capBytes(cmp.Or(it.Content, it.Description), maxContentBytes), "\uFFFD")
	excerpt := strings.ToValidUTF8(capBytes(it.Description, maxContentBytes), "\uFFFD")
	content := scanHTML(body, linkBase, true)
	desc := content
	if excerpt != body {
		desc = scanHTML(excerpt, linkBase, false)
	}

	a.Content = strings.TrimSpace(policy.Sanitize(content.html))
	a.ImageURL = leadImage(it, content, desc, linkBase)
	a.Author = n.author(it, content.text)
	a.Summary = summary(a.Author, desc.text, content.text)
	a.Title = truncate(arabic.CleanLine(scanHTML(it.Title, nil, false).text), maxTitle)
	if a.Title == "" {
		a.Title = truncate(a.Summary, untitled)
	}
	a.Categories = categories(it.Categories)
	a.PublishedAt, a.UpdatedAt, dated = dates(it, now)
	return a, dated, nil
}

// author prefers the byline at the top of the body, the writer's own name,
// to the feed's author, which on the site is often the publishing account.
func (n *normalizer) author(it *gofeed.Item, text string) string {
	for line := range strings.SplitSeq(text, "\n") {
		if line = arabic.CleanLine(line); line != "" {
			if name := byline(line); name != "" {
				return truncate(name, maxAuthor)
			}
			break
		}
	}
	people := it.Authors
	if len(people) == 0 && it.Author != nil {
		people = []*gofeed.Person{it.Author}
	}
	for _, p := range people {
		if p == nil {
			continue
		}
		name := arabic.CleanLine(p.Name)
		if name != "" && !n.generic[matchKey(name)] {
			return truncate(name, maxAuthor)
		}
	}
	return ""
}

// wpFooter is what WordPress and its SEO plugins append to excerpts: the
// "[…]" of a cut excerpt and a "the post first appeared on" line.
var wpFooter = regexp.MustCompile(`(?:The post .{1,600} appeared first on .{1,200}|ظهرت المقالة .{1,600} أول.{0,2} على .{1,200})$`)

// cutMark is the "[…]" that ends a cut WordPress excerpt.
var cutMark = regexp.MustCompile(`\s*\[(?:…|\.\.\.)\]\s*$`)

// summary returns the plain-text opening of the article, near maxSummary
// runes: the excerpt when the feed has one, else the body, without the
// byline and the excerpt's footer.
func summary(author, excerpt, body string) string {
	for _, src := range []string{excerpt, body} {
		s := arabic.CleanLine(src)
		// The footer's pattern is slow to run on every summary: look first.
		if strings.Contains(s, " appeared first on ") || strings.Contains(s, "ظهرت المقالة ") {
			s = strings.TrimSpace(wpFooter.ReplaceAllString(s, ""))
		}
		if loc := cutMark.FindStringIndex(s); strings.HasSuffix(s, "]") && loc != nil {
			// Say the text goes on, unless it ends a sentence anyway.
			if s = s[:loc[0]]; s != "" && !strings.ContainsAny(s[len(s)-1:], ".!?") && !strings.HasSuffix(s, "؟") {
				s += "…"
			}
		}
		s = stripByline(s, author)
		if s != "" && s != "…" {
			return truncate(s, maxSummary)
		}
	}
	return ""
}

// categories cleans the categories and tags, keeping the first spelling of
// each.
func categories(raw []string) []string {
	var out []string
	seen := make(map[string]bool, len(raw))
	for _, c := range raw {
		c = truncate(arabic.CleanLine(scanHTML(c, nil, false).text), maxCategory)
		k := matchKey(c)
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, c)
		if len(out) == maxCategories {
			break
		}
	}
	return out
}

// dates returns when the item was published and last updated, each
// standing in for the other when missing, now for both when the feed gives
// neither; a date in the future, a clock or time zone mistake, becomes now.
func dates(it *gofeed.Item, now time.Time) (published, updated time.Time, dated bool) {
	if it.PublishedParsed != nil {
		published = *it.PublishedParsed
	}
	if it.UpdatedParsed != nil {
		updated = *it.UpdatedParsed
	}
	switch {
	case published.IsZero() && updated.IsZero():
		return now.UTC(), now.UTC(), false
	case published.IsZero():
		published = updated
	case updated.IsZero():
		updated = published
	}
	if published.After(now) {
		published = now
	}
	if updated.After(now) {
		updated = now
	}
	return published.UTC(), updated.UTC(), true
}

// capBytes cuts s to at most n bytes, on a rune boundary.
func capBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// normalizedSet builds the set of the match keys of words.
func normalizedSet(words []string) map[string]bool {
	set := make(map[string]bool, len(words))
	for _, w := range words {
		if k := matchKey(w); k != "" {
			set[k] = true
		}
	}
	return set
}

// matchKey is the form of a category or an account name used to compare
// them: Arabic-normalised, without the definite article.
func matchKey(s string) string {
	return arabic.StripArticle(arabic.Normalize(s))
}
