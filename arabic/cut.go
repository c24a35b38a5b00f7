package arabic

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// ellipsis ends a text that was cut; it counts one unit in runes and in
// UTF-16 alike.
const ellipsis = "…"

// Cut shortens s to at most max units, as length counts them (runes for
// what is stored, UTF-16 code units for Telegram), ending with "…" when it
// had to cut. It cuts only between grapheme clusters, so that an emoji
// sequence, a flag or a letter with its diacritics stays whole, and at the
// last line-break opportunity (after a space, a dash) when that keeps more
// than half of the room; the spaces and punctuation a cut leaves hanging
// before the "…" go. It returns "" when not even one cluster fits.
func Cut(s string, max int, length func(string) int) string {
	if length(s) <= max {
		return s
	}
	room := max - length(ellipsis)
	if room <= 0 {
		return ""
	}
	// Step through s itself, not a prefix: whether a break may follow a
	// cluster depends on what comes after it. solid is where the last
	// cluster that is not hanging ends, brk the last break opportunity.
	end, used, solid := 0, 0, 0
	brk, brkUsed, brkSolid := 0, 0, 0
	state := -1
	for rest := s; rest != ""; {
		var cluster string
		var boundaries int
		cluster, rest, boundaries, state = uniseg.StepString(rest, state)
		w := length(cluster)
		if used+w > room {
			if r, _ := utf8.DecodeRuneInString(cluster); unicode.IsSpace(r) {
				brk, brkUsed, brkSolid = end, used, solid // the last word fits whole
			}
			break
		}
		end += len(cluster)
		used += w
		if strings.IndexFunc(cluster, func(r rune) bool { return !hanging(r) }) >= 0 {
			solid = end
		}
		if boundaries&uniseg.MaskLine != uniseg.LineDontBreak {
			brk, brkUsed, brkSolid = end, used, solid
		}
	}
	head, keep := end, solid
	if 2*brkUsed > used {
		head, keep = brk, brkSolid
	}
	// Drop the clusters left hanging before the "…", unless that is all
	// there is.
	if keep > 0 {
		head = keep
	}
	if strings.TrimSpace(s[:head]) == "" {
		return ""
	}
	return s[:head] + ellipsis
}

// hanging reports whether r has no business right before a final "…":
// a space, punctuation, or an invisible mark such as RLM. A cluster is
// left out only when all its runes are.
func hanging(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.Is(unicode.Cf, r)
}
