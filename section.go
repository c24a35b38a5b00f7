package nashra

import (
	"slices"
	"strings"

	"github.com/almaalouma/nashra/arabic"
)

// Section is one of the site's sections: what readers call it and where
// its articles come from.
type Section struct {
	Slug string
	// Name is the Arabic name readers know it by: أخبار.
	Name string
	// Aliases are other names readers type for it, such as انفوغرافيك for
	// إنفوجرافيك.
	Aliases []string
	// Feeds are the feeds its articles come from.
	Feeds []string
	// Dormant marks a section the store keeps that left the configuration:
	// its subscribers are kept, in case it comes back.
	Dormant bool
}

// Catalog resolves what readers type — a slug, the Arabic name or an alias,
// spelt any of the usual ways — to a section.
type Catalog struct {
	sections []Section
	byKey    map[string]int
}

// NewCatalog indexes sections in the order given.
func NewCatalog(sections []Section) *Catalog {
	c := &Catalog{sections: sections, byKey: map[string]int{}}
	for i, s := range sections {
		for _, name := range append([]string{s.Slug, s.Name}, s.Aliases...) {
			for _, k := range keys(name) {
				if _, taken := c.byKey[k]; !taken {
					c.byKey[k] = i
				}
			}
		}
	}
	return c
}

// keys are the forms under which a name is found: normalised, with and
// without the definite article, and with '#' or a leading slash dropped.
func keys(name string) []string {
	n := arabic.Normalize(strings.TrimLeft(strings.TrimSpace(name), "#/"))
	if n == "" {
		return nil
	}
	return []string{n, arabic.StripArticle(n)}
}

// Sections returns every section in order.
func (c *Catalog) Sections() []Section { return c.sections }

// Match returns the section a reader meant, if any.
func (c *Catalog) Match(input string) (Section, bool) {
	for _, k := range keys(input) {
		if i, ok := c.byKey[k]; ok {
			return c.sections[i], true
		}
	}
	return Section{}, false
}

// Get returns the section with the given slug.
func (c *Catalog) Get(slug string) (Section, bool) {
	for _, s := range c.sections {
		if s.Slug == slug {
			return s, true
		}
	}
	return Section{}, false
}

// Among returns the slugs of the sections among chosen (every section
// when chosen is empty), in the catalog's order. Slugs of sections no
// longer in the catalog drop out; when none is left, every section is
// returned, so that a subscriber whose sections all left still gets news.
func (c *Catalog) Among(chosen []string) []string {
	out := make([]string, 0, len(c.sections))
	for _, s := range c.sections {
		if len(chosen) == 0 || slices.Contains(chosen, s.Slug) {
			out = append(out, s.Slug)
		}
	}
	if len(out) == 0 && len(chosen) > 0 {
		return c.Among(nil)
	}
	return out
}

// Names returns the Arabic names of slugs joined with the Arabic comma, for
// replies such as "اشتراكاتك: أخبار، مقالات".
func (c *Catalog) Names(slugs []string) string {
	names := make([]string, 0, len(slugs))
	for _, slug := range slugs {
		if s, ok := c.Get(slug); ok {
			names = append(names, s.Name)
		}
	}
	return strings.Join(names, "، ")
}
