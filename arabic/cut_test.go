package arabic

import (
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

func TestCut(t *testing.T) {
	const (
		family = "👨\u200d👩\u200d👧\u200d👦" // one grapheme, 7 runes, 11 UTF-16 units
		iraq   = "🇮🇶"                     // two regional indicators
		keycap = "#\ufe0f\u20e3"
		// England's flag: a black flag and tag characters (format
		// characters, like RLM, but inside the cluster).
		england = "🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F"
	)
	long := strings.Repeat("كلمة ", 100)
	tests := []struct {
		name, in string
		max      int
		utf16    bool
		want     string
	}{
		{"short", "قصير", 10, false, "قصير"},
		{"at a space", "واحد اثنان ثلاثة أربعة", 14, false, "واحد اثنان…"},
		{"no hanging comma", "واحد، اثنان، ثلاثة، أربعة", 15, false, "واحد، اثنان…"},
		{"one long word", strings.Repeat("ب", 20), 10, false, strings.Repeat("ب", 9) + "…"},
		{"many words", long, 300, false, strings.TrimSpace(long[:len("كلمة ")*60]) + "…"},
		{"ZWJ family whole or not at all", "عائلة" + family + family, 10, false, "عائلة" + "…"},
		{"ZWJ family counted in UTF-16", "ab" + family + "cd", 14, true, "ab" + family + "…"},
		{"flag not split", "العراق " + iraq + iraq + iraq, 11, false, "العراق " + iraq + "…"},
		{"lone regional indicator never", iraq + iraq + iraq, 4, false, iraq + "…"},
		{"keycap whole", "رقم" + keycap + keycap, 7, false, "رقم" + keycap + "…"},
		{"tag flag whole", "x" + england + england + "y", 9, false, "x" + england + "…"},
		{"diacritics stay on their letter", "سَلَامٌ", 4, false, "سَ…"},
		{"RLM not left before the ellipsis", "كلمة\u200f كلمة\u200f كلمة", 12, false, "كلمة\u200f كلمة…"},
		{"only punctuation", "!!!!!!!!!!", 5, false, "!!!!…"},
		{"no room", "كلمة كلمة", 1, false, ""},
		{"blank head", "      xxxxxxxxxxxxxxxxxxxxxxx", 5, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			length := utf8.RuneCountInString
			if tt.utf16 {
				length = utf16Len
			}
			got := Cut(tt.in, tt.max, length)
			if got != tt.want {
				t.Errorf("Cut(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			checkCut(t, tt.in, got, tt.max, length)
		})
	}
}

// checkCut fails unless out is in, or a prefix of in ending between two of
// its grapheme clusters followed by "…", within max.
func checkCut(t *testing.T, in, out string, max int, length func(string) int) {
	t.Helper()
	if n := length(out); n > max {
		t.Fatalf("Cut(%q, %d) = %q: %d units", in, max, out, n)
	}
	if out == in || out == "" {
		return
	}
	head, ok := strings.CutSuffix(out, "…")
	if !ok || !strings.HasPrefix(in, head) {
		t.Fatalf("Cut(%q, %d) = %q: not a prefix of the text and an ellipsis", in, max, out)
	}
	at := 0
	for g := uniseg.NewGraphemes(in); at < len(head) && g.Next(); {
		_, at = g.Positions()
	}
	if at != len(head) {
		t.Fatalf("Cut(%q, %d) = %q: cut inside a grapheme cluster", in, max, out)
	}
}

// FuzzCut: whatever the text and the room, the cut text fits and ends on a
// grapheme cluster boundary of the original, in both units.
func FuzzCut(f *testing.F) {
	f.Add("عائلة 👨\u200d👩\u200d👧\u200d👦 في 🇮🇶🇮🇶", 9)
	f.Add("سَلَامٌ عَلَيْكُمْ", 5)
	f.Add("a\u200d\u200d\u0301 \u200f!", 3)
	f.Add("\xff\xfe\u0300", 2)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1<<12 {
			return
		}
		checkCut(t, s, Cut(s, max, utf8.RuneCountInString), max, utf8.RuneCountInString)
		checkCut(t, s, Cut(s, max, utf16Len), max, utf16Len)
	})
}
