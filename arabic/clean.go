package arabic

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// CleanLine makes s fit to show on one line: invalid bytes, control
// characters and invisible formatting characters (bidi embeddings and
// marks, zero-width spaces, BOMs, soft hyphens) are dropped, and every run
// of white space becomes one space. Bidi controls go because a stray RLO in
// a title reverses the text around it in every client; the zero-width
// joiners stay, emoji and Persian spelling need them.
func CleanLine(s string) string { return clean(s, false) }

// CleanText is CleanLine for text in paragraphs: a line break stays one,
// and two or more become one empty line between paragraphs.
func CleanText(s string) string { return clean(s, true) }

func clean(s string, paragraphs bool) string {
	var b strings.Builder
	b.Grow(len(s))
	newlines, space := 0, false
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				continue // an invalid byte, not a real U+FFFD
			}
		case r == '\n' && paragraphs:
			newlines++
			continue
		case unicode.IsSpace(r):
			space = true
			continue
		case invisible(r):
			continue
		}
		if b.Len() > 0 {
			switch {
			case newlines > 1:
				b.WriteString("\n\n")
			case newlines == 1:
				b.WriteByte('\n')
			case space:
				b.WriteByte(' ')
			}
		}
		newlines, space = 0, false
		b.WriteRune(r)
	}
	return b.String()
}

// invisible reports whether r is a control or formatting character that
// has no business in a title, a summary or a name.
func invisible(r rune) bool {
	switch {
	case r == 0x200C || r == 0x200D: // ZWNJ, ZWJ
		return false
	case unicode.IsControl(r),
		r == 0x00AD,                  // soft hyphen
		r == 0x061C,                  // Arabic letter mark
		r >= 0x200B && r <= 0x200F,   // zero-width space, LRM, RLM
		r >= 0x202A && r <= 0x202E,   // LRE, RLE, PDF, LRO, RLO
		r >= 0x2060 && r <= 0x206F,   // word joiner, invisible operators, LRI…PDI
		r == 0xFEFF,                  // BOM
		r == 0xFFFE || r == 0xFFFF,   // non-characters
		r >= 0xE0000 && r <= 0xE007F: // tag characters
		return true
	}
	return false
}
