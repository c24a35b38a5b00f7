package feeds

import (
	"unicode/utf8"

	"github.com/almaalouma/nashra/arabic"
)

// truncate cuts s to at most n runes, ending with "…" when it had to.
func truncate(s string, n int) string { return arabic.Cut(s, n, utf8.RuneCountInString) }
