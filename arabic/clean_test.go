package arabic

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestCleanLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  خبر \n\t عاجل  ", "خبر عاجل"},
		{"\u200fخبر\u200e \u202bعاجل\u202c\u2067!\u2069", "خبر عاجل!"},
		{"عنوان\u202e مقلوب\r\nوسطر\x00 آخر  ", "عنوان مقلوب وسطر آخر"},
		{"a\u00a0b\u2028c", "a b c"},
		{"bad\xff\xfebytes", "badbytes"},
		{"\ufeffBOM\x00nul\x1b", "BOMnul"},
		{"سَلامٌ عَلَيْكُم", "سَلامٌ عَلَيْكُم"},             // diacritics stay
		{"می\u200cخواهم 👩\u200d💻", "می\u200cخواهم 👩\u200d💻"}, // joiners stay
		{"\ufffd real replacement", "\ufffd real replacement"},
	}
	for _, tt := range tests {
		if got := CleanLine(tt.in); got != tt.want {
			t.Errorf("CleanLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"\n\nفقرة أولى\r\nسطرها الثاني\n\n\n\nفقرة  ثانية \n", "فقرة أولى\nسطرها الثاني\n\nفقرة ثانية"},
		{"\u202eمقلوب\u202c\n \n\u2067نص\u2069", "مقلوب\n\nنص"},
		{"bad\xff\nbytes", "bad\nbytes"},
	}
	for _, tt := range tests {
		if got := CleanText(tt.in); got != tt.want {
			t.Errorf("CleanText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Whatever a feed sends, the cleaned text is valid UTF-8 with nothing
// invisible or controlling left, no white space at its ends or doubled,
// paragraphs apart by one empty line at most, and cleaning it again
// changes nothing.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"  خبر \n\t عاجل  ", "\u202eمقلوب\u202c\r\n\r\n\r\nنص", "bad\xff\n \nbytes", "\ufeff\u200d👩\u200d💻\u0085x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line, text := CleanLine(s), CleanText(s)
		for _, out := range []string{line, text} {
			if !utf8.ValidString(out) {
				t.Fatalf("%q: invalid UTF-8 %q", s, out)
			}
			for _, r := range out {
				if r != '\n' && (invisible(r) || unicode.IsSpace(r) && r != ' ') {
					t.Fatalf("%q: %U left in %q", s, r, out)
				}
			}
			if strings.TrimSpace(out) != out || strings.Contains(out, "  ") || strings.Contains(out, " \n") ||
				strings.Contains(out, "\n ") || strings.Contains(out, "\n\n\n") {
				t.Fatalf("%q: white space left in %q", s, out)
			}
		}
		if strings.Contains(line, "\n") {
			t.Fatalf("%q: a line break in the line %q", s, line)
		}
		if again := CleanLine(line); again != line {
			t.Fatalf("CleanLine not stable: %q → %q → %q", s, line, again)
		}
		if again := CleanText(text); again != text {
			t.Fatalf("CleanText not stable: %q → %q → %q", s, text, again)
		}
		if l := CleanLine(text); l != line {
			t.Fatalf("%q: CleanLine %q, but %q from CleanText", s, line, l)
		}
	})
}
