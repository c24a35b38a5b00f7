package nashra

import (
	"strings"
	"testing"
)

func TestCatalogMatchesWhatReadersType(t *testing.T) {
	c := NewCatalog([]Section{
		{Slug: "news", Name: "أخبار", Aliases: []string{"خبر"}},
		{Slug: "infographics", Name: "إنفوجرافيك", Aliases: []string{"انفوغرافيك"}},
		{Slug: "translation", Name: "ترجمة"},
	})
	cases := map[string]string{
		"news":         "news",
		"NEWS":         "news",
		"أخبار":        "news",
		"الاخبار":      "news",
		"#أخبار":       "news",
		"خبر":          "news",
		"انفوجرافيك":   "infographics",
		"إنفوغرافيك":   "infographics",
		"الإنفوجرافيك": "infographics",
		"ترجمه":        "translation",
		"تَرْجَمَة":    "translation",
		"ترجـــمة":     "translation",
	}
	for in, want := range cases {
		s, ok := c.Match(in)
		if !ok || s.Slug != want {
			t.Errorf("Match(%q) = %q, %v; want %q", in, s.Slug, ok, want)
		}
	}
	for _, in := range []string{"", "رياضة", "ال", "sport"} {
		if s, ok := c.Match(in); ok {
			t.Errorf("Match(%q) = %q, want no match", in, s.Slug)
		}
	}
	if got := c.Names([]string{"news", "translation"}); got != "أخبار، ترجمة" {
		t.Errorf("Names = %q", got)
	}
	if got := c.Among([]string{"translation", "gone", "news"}); strings.Join(got, ",") != "news,translation" {
		t.Errorf("Among = %v, want news and translation in the catalog's order", got)
	}
	if got := c.Among(nil); len(got) != 3 {
		t.Errorf("Among(nil) = %v, want every section", got)
	}
	if got := c.Among([]string{"gone"}); len(got) != 3 {
		t.Errorf("Among(sections all gone) = %v, want every section", got)
	}
}
