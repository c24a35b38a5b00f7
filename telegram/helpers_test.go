package telegram_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
)

// baghdad is the site's time zone, as nashra runs by default.
var baghdad = config.Defaults().Site.Location

// catalog is the built-in sections, as nashra runs by default.
func catalog() *nashra.Catalog {
	var secs []nashra.Section
	for _, s := range config.Defaults().Sections {
		secs = append(secs, nashra.Section{Slug: s.Slug, Name: s.Name, Aliases: s.Aliases})
	}
	return nashra.NewCatalog(secs)
}

func mustContain(t testing.TB, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%q does not contain %q", got, w)
		}
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
